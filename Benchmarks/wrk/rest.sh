#!/usr/bin/env bash
# REST benchmark: wrk against a release `toolhost serve` calling the probe fixture's `echo`
# (a JSON handler that copies its arguments), declared non-deterministic so every call runs the plugin.
#
#   swift build -c release --product toolhost
#   Benchmarks/wrk/rest.sh [SECONDS] [RUNS]        (defaults: 10 s, 3 runs per connection count)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-10}"
runs="${2:-3}"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/plugins/probe"
cc -std=c11 -O2 -shared -fPIC -fvisibility=hidden -I "$root/plugin-sdk/include" \
    "$root/Tests/ToolHostTests/Fixtures/probe.c" -o "$work/plugins/probe/libprobe.so" -lpthread
tools="$(sed -n 's/^ *{"\([a-z_]*\)", *[a-z_]*, *[A-Z_0-9|]*},.*/\1/p' "$root/Tests/ToolHostTests/Fixtures/probe.c" |
    python3 -c 'import json,sys; print(json.dumps([{"name": n, "description": n, "inputSchema": {"type": "object"}} for n in sys.stdin.read().split()]))')"
cat > "$work/plugins/probe/manifest.json" <<JSON
{"name": "probe", "version": "1.0.0", "abi": {"major": 1, "minor": 0}, "library": {"file": "libprobe.so"}, "tools": $tools}
JSON
TOOLHOST_STATE_DIR="$work/state" "$root/.build/release/toolhost" serve --plugins "$work/plugins" \
    --listen 127.0.0.1:0 --log-level warning 2>"$work/stderr" &
server=$!
for _ in $(seq 200); do grep -q "listening on" "$work/stderr" 2>/dev/null && break; sleep 0.05; done
# The startup line is logged at notice even at --log-level warning.
port="$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/stderr" | head -1)"
url="http://127.0.0.1:$port/v1/tools/probe.echo/call"
curl -sf -XPOST -d '{"a":1}' "$url" >/dev/null
for connections in 1 8 64; do
    threads=$(( connections < 2 ? 1 : 2 ))
    for run in $(seq "$runs"); do
        line="$(wrk -t "$threads" -c "$connections" -d "${seconds}s" -s "$root/Benchmarks/wrk/call.lua" "$url" |
            grep RESULT)"
        echo "connections=$connections run=$run $line"
        # The floor: Hummingbird answering GET /healthz (no body, no pipeline) under the same load.
        line="$(wrk -t "$threads" -c "$connections" -d "${seconds}s" -s "$root/Benchmarks/wrk/get.lua" \
            "http://127.0.0.1:$port/healthz" | grep RESULT)"
        echo "connections=$connections run=$run healthz $line"
    done
done
echo "resident memory after the runs: $(curl -sf "http://127.0.0.1:$port/metrics" | grep '^process_resident_memory_bytes')"
