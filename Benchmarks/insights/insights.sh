#!/usr/bin/env bash
# GET /v1/insights against a release `toolhost serve` holding 1,000 tools and 100,000 recorded calls (issue 13's
# number: ≤ 5 ms). The plugin `many` registers 1,000 tools with one C handler that answers `{}`, or fails when the
# arguments carry "fail" (1 call in 100, so the error patterns fill up to their caps too). The calls go in through
# POST /v1/batch, 1,000 at a time; then curl times sequential GETs (time_total: connect, request, full answer), with
# no calls between them, then with 100 tools called before each.
#
#   swift build -c release --product toolhost
#   Benchmarks/insights/insights.sh [REQUESTS]          (default 300; TOOLHOST_BINARY names another binary)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
requests="${1:-300}"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/plugins/many"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
names = [f"t{i:04d}" for i in range(1000)]
rows = "\n".join(f'    {{"{n}"}},' for n in names)
open(f"{work}/many.c", "w").write(f"""#define _GNU_SOURCE
#include <string.h>
#include <toolhost/toolhost.h>
static const struct {{ const char *name; }} tools[] = {{
{rows}
}};
static int32_t answer(const toolhost_call *call, const char *args, size_t len) {{
    if (len >= 6 && memmem(args, len, "fail", 4)) return TOOLHOST_ERR_FAILED;
    return call->host->write_result(call, "{{}}", 2) == 0 ? TOOLHOST_OK : TOOLHOST_ERR_FAILED;
}}
static int32_t init(const toolhost_host_api *host, const toolhost_registrar *reg, void **state) {{
    (void)host; (void)state;
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {{
        toolhost_tool_desc tool = {{sizeof tool, TOOLHOST_TOOL_THREAD_SAFE, tools[i].name, "bench", answer, NULL}};
        if (reg->register_tool(reg, &tool) != 0) return TOOLHOST_ERR_FAILED;
    }}
    return TOOLHOST_OK;
}}
static const toolhost_plugin_desc many = {{sizeof many, TOOLHOST_ABI_MAJOR, TOOLHOST_ABI_MINOR, 0, "many", "1.0.0", init, NULL}};
TOOLHOST_EXPORT const toolhost_plugin_desc *toolhost_plugin_entry(uint32_t major, uint32_t minor) {{
    (void)major; (void)minor; return &many;
}}
""")
manifest = {"name": "many", "version": "1.0.0", "abi": {"major": 1, "minor": 0}, "library": {"file": "libmany.so"},
            "tools": [{"name": n, "description": "bench", "inputSchema": {"type": "object"}} for n in names]}
json.dump(manifest, open(f"{work}/plugins/many/manifest.json", "w"))
for batch in range(100):
    calls = [{"tool": f"many.{n}", "arguments": {"fail": 1} if (batch * 1000 + i) % 100 == 0 else {"n": batch}}
             for i, n in enumerate(names)]
    json.dump(calls, open(f"{work}/batch{batch}.json", "w"))
PY
cc -std=c11 -O2 -shared -fPIC -fvisibility=hidden -I "$root/plugin-sdk/include" "$work/many.c" \
    -o "$work/plugins/many/libmany.so"
TOOLHOST_STATE_DIR="$work/state" "${TOOLHOST_BINARY:-$root/.build/release/toolhost}" serve --plugins "$work/plugins" \
    --listen 127.0.0.1:0 --log-level warning 2>"$work/stderr" &
server=$!
for _ in $(seq 200); do grep -q "listening on" "$work/stderr" 2>/dev/null && break; sleep 0.05; done
port="$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/stderr" | head -1)"
base="http://127.0.0.1:$port"
for batch in $(seq 0 99); do
    curl -sf -XPOST -H 'Content-Type: application/json' --data-binary "@$work/batch$batch.json" "$base/v1/batch" \
        >/dev/null
done
curl -sf "$base/v1/insights" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("recorded calls:", d["calls"]["total"], " tools called:", d["busiestPlugins"][0]["tools"],
      " errors:", d["errors"]["total"], " error keys by tool:", len(d["errors"]["byTool"]), "(limit 10)")'
echo "answer bytes: $(curl -sf "$base/v1/insights" | wc -c) (default limit), $(curl -sf "$base/v1/insights?limit=1000" | wc -c) (limit=1000)"
for query in "" "?limit=1000"; do
    for _ in $(seq "$requests"); do curl -sf -o /dev/null -w '%{time_total}\n' "$base/v1/insights$query"; done |
        python3 -c '
import sys
times = sorted(float(line) * 1000 for line in sys.stdin)
pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"GET /v1/insights'"$query"': n={len(times)} p50={pick(0.5):.2f} ms p90={pick(0.9):.2f} ms p99={pick(0.99):.2f} ms")'
done
# Under calls: before each read, one call to each of 100 tools (another 100 each time), so a tenth of the tools have
# new figures to read at every GET (a tool with no new call since the last read answers its cached percentiles).
python3 - "$work" <<'PY'
import json, sys
for k in range(10):
    json.dump([{"tool": f"many.t{(k * 100 + i):04d}", "arguments": {"again": k}} for i in range(100)],
              open(f"{sys.argv[1]}/hundred{k}.json", "w"))
PY
for i in $(seq "$requests"); do
    curl -sf -XPOST -H 'Content-Type: application/json' --data-binary "@$work/hundred$((i % 10)).json" \
        "$base/v1/batch" >/dev/null
    curl -sf -o /dev/null -w '%{time_total}\n' "$base/v1/insights"
done | python3 -c '
import sys
times = sorted(float(line) * 1000 for line in sys.stdin)
pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"GET /v1/insights after 100 tools had new calls: n={len(times)} p50={pick(0.5):.2f} ms p90={pick(0.9):.2f} ms p99={pick(0.99):.2f} ms")'
# The floor: the same curl against /healthz (no work in the handler).
for _ in $(seq "$requests"); do curl -sf -o /dev/null -w '%{time_total}\n' "$base/healthz"; done | python3 -c '
import sys
times = sorted(float(line) * 1000 for line in sys.stdin)
print(f"GET /healthz (floor): n={len(times)} p50={times[len(times)//2]:.2f} ms p99={times[min(len(times)-1, int(0.99*len(times)))]:.2f} ms")'
echo "resident memory: $(curl -sf "$base/metrics" | grep '^process_resident_memory_bytes')"
