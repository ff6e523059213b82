#!/usr/bin/env bash
# Builds the core libraries and their tests with a sanitizer (debug, in .build-tsan/ or .build-asan/) and runs them.
#
#   Sanitizers/run.sh [thread|address]...      default: thread, then address
#
# What is built is what TOOLHOST_SANITIZE leaves in Package.swift: ToolHostJSON, ToolHost (the executor, scheduler,
# caches, loader, worker isolation, signing) and the bundled plugins, with ToolHostJSONTests and ToolHostTests; not the
# server, the toolhost executable or their tests (README, "Sanitizers", says why). Each test target runs in a
# process of its own: on a 2-core machine the JSON property tests, ~15 times slower under TSan, would otherwise hold
# both threads of the cooperative pool for half a minute and time out the host's calls in the other target.
#
# Process-isolated workers and the tests' child processes run the ordinary .build/debug/toolhost (not sanitized; or
# the one TOOLHOST_TEST_BINARY names), so `swift build` must have run first. A sanitizer report, a failed test or a run past its time limit
# (TOOLHOST_SANITIZE_MINUTES per test target, default 15) fails the script. Suppressions, each with its reason:
# Sanitizers/tsan.supp (the Swift runtime's continuation hand-off) and Sanitizers/asan.supp (none today) when present.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=("$@")
if [ ${#sanitizers[@]} -eq 0 ]; then
    sanitizers=(thread address)
fi
minutes="${TOOLHOST_SANITIZE_MINUTES:-15}"

worker="${TOOLHOST_TEST_BINARY:-$PWD/.build/debug/toolhost}"
if [ ! -x "$worker" ]; then
    echo "sanitize: $worker is missing: run \`swift build\` first (process-isolated workers run it)" >&2
    exit 1
fi
export TOOLHOST_TEST_BINARY="$worker"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failed=()
for sanitizer in "${sanitizers[@]}"; do
    case "$sanitizer" in
    thread)
        scratch=.build-tsan
        pattern="WARNING: ThreadSanitizer"
        # A report does not stop the run (all of them are printed); any report makes the process exit 66.
        export TSAN_OPTIONS="second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
        [ -f Sanitizers/tsan.supp ] && TSAN_OPTIONS="$TSAN_OPTIONS:suppressions=$PWD/Sanitizers/tsan.supp"
        ;;
    address)
        scratch=.build-asan
        pattern="ERROR: AddressSanitizer|ERROR: LeakSanitizer"
        # LeakSanitizer: off, as in Fuzz/run.sh; the lazily initialised Swift globals (compiled schemas, shared
        # pools, the deadline timer) and the plugins' images, which are never unloaded by design, are live at exit.
        export ASAN_OPTIONS="detect_leaks=0:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
        [ -f Sanitizers/asan.supp ] && ASAN_OPTIONS="$ASAN_OPTIONS:suppressions=$PWD/Sanitizers/asan.supp"
        ;;
    *)
        echo "sanitize: unknown sanitizer '$sanitizer' (thread or address)" >&2
        exit 64
        ;;
    esac

    echo "sanitize: $sanitizer: building ToolHost, ToolHostJSON and their tests in $scratch"
    start=$SECONDS
    if ! TOOLHOST_SANITIZE="$sanitizer" swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" \
        >"$work/build.log" 2>&1; then
        grep -v "warning: Cannot export local symbol" "$work/build.log" | tail -40
        echo "sanitize: $sanitizer: the build failed" >&2
        exit 1
    fi
    echo "sanitize: $sanitizer: built in $((SECONDS - start))s"

    for target in ToolHostJSONTests ToolHostTests; do
        log="$work/$sanitizer-$target.log"
        start=$SECONDS
        status=0
        TOOLHOST_SANITIZE="$sanitizer" timeout --kill-after=30 "$((minutes * 60))" \
            swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --filter "^$target\." \
            >"$log" 2>&1 || status=$?
        reports=$(grep -cE "$pattern" "$log" || true)
        summary=$(grep -E "Test run with [0-9]+ tests?" "$log" | tail -1 || true)
        if [ "$status" -eq 0 ] && [ "$reports" -eq 0 ] && [ -n "$summary" ]; then
            echo "sanitize: $sanitizer: $target: ${summary#* } ($((SECONDS - start))s, no report)"
            continue
        fi
        # The reports first (each in full), then the failed tests, then the end of the log.
        awk -v pattern="$pattern" '$0 ~ pattern { on = 1 } on { print; if (++n >= 400) exit }' "$log"
        grep -E "^✘ " "$log" | head -40 || true
        tail -15 "$log"
        if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
            echo "sanitize: $sanitizer: $target: stopped after ${minutes} minutes" >&2
        fi
        echo "sanitize: $sanitizer: $target: FAILED (exit $status, $reports sanitizer report(s)): ${summary:-no summary}" >&2
        failed+=("$sanitizer/$target")
    done
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "sanitize: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "sanitize: ${sanitizers[*]}: no report, every test passed"
