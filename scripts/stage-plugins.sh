#!/usr/bin/env bash
# Stages the bundled plugins: for each folder in Plugins/, copies its manifest.json and the library that
# `swift build` made into DEST/<name>/, and pins the library's sha256 in the staged manifest. A plugin with a
# Cargo.toml (Rust, on plugin-sdk/rust) is built here with `cargo build --release --offline` (no crates registry is
# needed) and staged from its target/release/; without cargo on PATH it is skipped with a warning.
#
#   scripts/stage-plugins.sh [DEST] [debug|release]     (defaults: ./plugins debug)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-plugins}"
config="${2:-debug}"
bin="$(cd "$root" && swift build -c "$config" --show-bin-path)"
mkdir -p "$dest"
for dir in "$root"/Plugins/*/; do
    name="$(basename "$dir")"
    manifest="$dir/manifest.json"
    [ -f "$manifest" ] || continue
    lib="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["library"].get("file", ""))' "$manifest")"
    mkdir -p "$dest/$name"
    if [ -z "$lib" ]; then
        # A manifest-only plugin over a system library: the manifest is the whole plugin.
        cp "$manifest" "$dest/$name/.manifest.json.tmp" && mv -f "$dest/$name/.manifest.json.tmp" "$dest/$name/manifest.json"
        echo "staged $name -> $dest/$name (manifest only)"
        continue
    fi
    from="$bin"
    if [ -f "$dir/Cargo.toml" ]; then
        if ! command -v cargo >/dev/null 2>&1; then
            rmdir "$dest/$name" 2>/dev/null || true
            echo "stage-plugins: warning: skipped $name: cargo is not on PATH (install Rust to build it)" >&2
            continue
        fi
        cargo build --release --offline --quiet --manifest-path "$dir/Cargo.toml"
        from="$dir/target/release"
    elif [ ! -f "$bin/$lib" ]; then
        echo "stage-plugins: $bin/$lib is missing: run 'swift build -c $config' first" >&2
        exit 1
    fi
    # Library first, manifest last: the manifest is the commit point a running daemon watches for.
    cp "$from/$lib" "$dest/$name/.$lib.tmp" && mv -f "$dest/$name/.$lib.tmp" "$dest/$name/$lib"
    sum="$(sha256sum "$dest/$name/$lib" | cut -d' ' -f1)"
    python3 - "$manifest" "$sum" "$dest/$name/.manifest.json.tmp" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
manifest["library"]["sha256"] = sys.argv[2]
with open(sys.argv[3], "w") as out:
    json.dump(manifest, out, indent=2)
    out.write("\n")
PY
    mv -f "$dest/$name/.manifest.json.tmp" "$dest/$name/manifest.json"
    echo "staged $name -> $dest/$name"
done
