"""How long a plugin's progress report takes to reach an MCP client (issue 14: p99 within 50 ms under 8 concurrent
long calls).

usage: python3 Benchmarks/progress_latency.py TOOLHOST PLUGINS [CALLS] [REPORTS] [EVERY_MS]

Spawns `TOOLHOST mcp --plugins PLUGINS` (PLUGINS must hold the test fixture `probe`, built from
Tests/ToolHostTests/Fixtures/probe.c), starts CALLS concurrent `tools/call`s of `probe.progress_ticks` with a
progressToken each (REPORTS reports per call, one every EVERY_MS ms, each stamped with the plugin's
CLOCK_MONOTONIC time), and for every `notifications/progress` that arrives computes now - stamp on the same
clock. Prints the count and the percentiles in milliseconds. Plain stdlib: no MCP SDK.
"""

import json
import subprocess
import sys
import time


def main(argv):
    toolhost, plugins = argv[1], argv[2]
    calls = int(argv[3]) if len(argv) > 3 else 8
    reports = int(argv[4]) if len(argv) > 4 else 100
    every = int(argv[5]) if len(argv) > 5 else 100
    child = subprocess.Popen(
        [toolhost, "mcp", "--plugins", plugins], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
    )

    def send(message):
        child.stdin.write((json.dumps(message) + "\n").encode())

    def read():
        return json.loads(child.stdout.readline())

    send({"jsonrpc": "2.0", "id": 0, "method": "initialize",
          "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                     "clientInfo": {"name": "bench", "version": "1"}}})
    read()
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    for index in range(1, calls + 1):
        send({"jsonrpc": "2.0", "id": index, "method": "tools/call",
              "params": {"name": "probe.progress_ticks", "arguments": {"count": reports, "every_ms": every},
                         "_meta": {"progressToken": index}}})
    latencies = []
    answered = 0
    while answered < calls:
        message = read()
        now = time.monotonic_ns()
        if message.get("method") == "notifications/progress":
            stamp = int(message["params"]["message"][2:])
            latencies.append((now - stamp) / 1e6)
        elif "id" in message:
            answered += 1
    child.stdin.close()
    child.wait()
    latencies.sort()

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    print(json.dumps({
        "calls": calls, "reportsPerCall": reports, "everyMs": every, "notifications": len(latencies),
        "p50Ms": round(percentile(50), 2), "p90Ms": round(percentile(90), 2), "p99Ms": round(percentile(99), 2),
        "maxMs": round(latencies[-1], 2),
    }))


main(sys.argv)
