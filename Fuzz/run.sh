#!/usr/bin/env bash
# Builds the libFuzzer harnesses (debug, AddressSanitizer, in .build-fuzz/) and runs each for a bounded time.
#
#   Fuzz/run.sh [SECONDS] [HARNESS...]      default: 30 seconds each, every harness
#
# Each run starts from the committed seeds (Fuzz/Seeds/<harness>/), the bundled plugins' manifests and, when
# JSONSCHEMA_TEST_SUITE names the official suite's draft2020-12 folder, its schemas. Before fuzzing, every input
# under Fuzz/Regressions/<harness>/ (each a past finding) is replayed once. A crash, a failed check or an input
# that runs past the per-input timeout fails the script, which prints the input and how to keep it. Leak detection
# is off (below).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
shift || true
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
    harnesses=(FuzzJSON FuzzSchema FuzzManifest FuzzWorkerFrame FuzzMCP)
fi

# LeakSanitizer reports the lazily initialised Swift globals (the compiled manifest schema) as leaks at exit.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

build=(swift build --build-path .build-fuzz -Xswiftc -sanitize=fuzzer,address)
for harness in "${harnesses[@]}"; do
    echo "fuzz: building $harness"
    if ! TOOLHOST_FUZZ=1 "${build[@]}" --product "$harness" >"$work/build.log" 2>&1; then
        grep -v "warning: Cannot export local symbol" "$work/build.log" | tail -40
        echo "fuzz: building $harness failed" >&2
        exit 1
    fi
done
bin="$(TOOLHOST_FUZZ=1 "${build[@]}" --show-bin-path)"

seed() {  # seed HARNESS DIR: the starting corpus
    local harness="$1" corpus="$2"
    mkdir -p "$corpus"
    cp Fuzz/Seeds/"$harness"/* "$corpus"/ 2>/dev/null || true
    case "$harness" in
    FuzzJSON | FuzzSchema | FuzzManifest)
        for manifest in Plugins/*/manifest.json; do cp "$manifest" "$corpus/$(basename "$(dirname "$manifest")").json"; done
        ;;
    esac
    if [ "$harness" = FuzzSchema ] && [ -n "${JSONSCHEMA_TEST_SUITE:-}" ] && [ -d "$JSONSCHEMA_TEST_SUITE" ]; then
        python3 - "$JSONSCHEMA_TEST_SUITE" "$corpus" <<'PY'
import json, os, sys
suite, corpus = sys.argv[1], sys.argv[2]
count = 0
for name in sorted(os.listdir(suite)):
    if not name.endswith(".json"):
        continue
    with open(os.path.join(suite, name), encoding="utf-8") as f:
        for index, case in enumerate(json.load(f)):
            with open(os.path.join(corpus, f"suite-{name[:-5]}-{index}.json"), "w", encoding="utf-8") as out:
                json.dump(case["schema"], out)
            count += 1
print(f"fuzz: {count} schemas from the official suite")
PY
    fi
}

failed=()
for harness in "${harnesses[@]}"; do
    regressions=(Fuzz/Regressions/"$harness"/*)
    if [ -e "${regressions[0]}" ]; then
        echo "fuzz: $harness: replaying ${#regressions[@]} past findings"
        if ! "$bin/$harness" -timeout=20 "${regressions[@]}" >"$work/$harness-replay.log" 2>&1; then
            tail -40 "$work/$harness-replay.log"
            failed+=("$harness (a past finding is back)")
            continue
        fi
    fi
    corpus="$work/$harness-corpus"
    seed "$harness" "$corpus"
    echo "fuzz: $harness for ${seconds}s from $(ls "$corpus" | wc -l) seeds"
    if "$bin/$harness" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$work/$harness-" -print_final_stats=1 "$corpus" >"$work/$harness.log" 2>&1; then
        grep -E "^stat::number_of_executed_units|^Done" "$work/$harness.log" | sed "s/^/fuzz: $harness: /" || true
    else
        tail -40 "$work/$harness.log"
        for artifact in "$work/$harness"-*; do
            case "$artifact" in *.log | *-corpus) continue ;; esac
            [ -f "$artifact" ] || continue
            echo "fuzz: $harness found $(basename "$artifact"), base64: $(base64 -w0 "$artifact")"
            echo "fuzz: keep it as Fuzz/Regressions/$harness/<name>, fix the code, add a test for it"
        done
        failed+=("$harness")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ${#harnesses[@]} harnesses ran ${seconds}s each with no finding"
