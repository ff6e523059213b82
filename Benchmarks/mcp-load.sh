#!/bin/sh
# MCP over stdio and Streamable HTTP: tools/call per second and latency at concurrency 1 and 8, and the time
# from spawning `toolhost mcp` to an answered initialize (BENCHMARKS.md, "Daemon: MCP").
#
#   swift build -c release --product toolhost              # in the repository root
#   Benchmarks/mcp-load.sh [RUNS] [CALLS]                  # defaults: 5 runs of 50000 calls per scenario
#
# Builds the probe fixture plugin exactly as the tests do, with `probe.echo` not deterministic (so every call
# runs the plugin: no cache), and the native load client (Benchmarks/Sources/MCPLoad, C) with SwiftPM.
set -eu
runs=${1:-5}
calls=${2:-50000}
root=$(cd "$(dirname "$0")/.." && pwd)
toolhost="$root/.build/release/toolhost"
[ -x "$toolhost" ] || { echo "build it first: swift build -c release --product toolhost" >&2; exit 1; }

work="${TMPDIR:-/tmp}/toolhost-mcpload-$$"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/plugins/probe" "$work/state"
export TOOLHOST_STATE_DIR="$work/state"
source="$root/Tests/ToolHostTests/Fixtures/probe.c"
cc -std=c11 -O2 -shared -fPIC -fvisibility=hidden -I "$root/plugin-sdk/include" "$source" \
    -o "$work/plugins/probe/libprobe.so" -lpthread
# Every tool in probe.c's tools[] table (a manifest must list exactly what the library registers).
tools=$(sed -n '/ tools\[\] = {/,/};/p' "$source" | sed -n 's/^ *{"\([a-z_]*\)".*/\1/p' |
    sed 's/.*/{"name":"&","description":"probe &","inputSchema":{"type":"object"}}/' | paste -sd, -)
printf '{"name":"probe","version":"1.0.0","abi":{"major":1,"minor":0},"library":{"file":"libprobe.so"},"tools":[%s]}\n' \
    "$tools" > "$work/plugins/probe/manifest.json"

(cd "$root/Benchmarks" && swift build -c release --product MCPLoad >/dev/null)
load="$root/Benchmarks/.build/release/MCPLoad"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$load" spawn "$toolhost" "$work/plugins" 50
for concurrency in 1 8; do
    "$load" stdio "$toolhost" "$work/plugins" "$concurrency" "$calls" "$runs"
    "$load" http "$toolhost" "$work/plugins" "$concurrency" "$calls" "$runs"
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
