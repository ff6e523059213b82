#!/usr/bin/env python3
"""Load runs for issue 12 against the real daemon (stdlib only; see ../../BENCHMARKS.md, "Agents").

usage: Benchmarks/agents/agents-load.py [TOOLHOST_BINARY]   (default .build/release/toolhost, else .build/debug)

1. Fairness: agent B's 20 calls of a 20 ms tool alone; then agent A sends 2,000 such calls at once (each on a
   connection opened beforehand, so they arrive together and wait in the daemon's queue, not in the client) and B
   its 20 right after; then the same with B's calls sent under A's name (one agent: first come first served, what
   the daemon did before fair turns). Prints B's latencies from its send (p50, p90, max), the queue depth B met,
   and the ratio to B alone.
2. Bounded agent names: 10,000 calls, each with another X-Toolhost-Agent, on one keep-alive connection; prints the
   label values of toolhost_agent_calls_total in /metrics and the daemon's resident memory before and after.
"""

import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def build_probe(directory):
    plugin = os.path.join(directory, "probe")
    os.makedirs(plugin)
    subprocess.run(
        ["cc", "-std=c11", "-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-I",
         os.path.join(ROOT, "plugin-sdk/include"), os.path.join(ROOT, "Tests/ToolHostTests/Fixtures/probe.c"),
         "-o", os.path.join(plugin, "libprobe.so"), "-lpthread"], check=True)
    # Every tool in probe.c's table (a library that registers undeclared tools is refused).
    with open(os.path.join(ROOT, "Tests/ToolHostTests/Fixtures/probe.c")) as source:
        table = source.read().split("tools[] = {", 1)[1].split("};", 1)[0]
    names = re.findall(r'\{"([a-z_]+)",', table)
    tools = [{"name": name, "description": name, "inputSchema": {"type": "object"}} for name in names]
    manifest = {"name": "probe", "version": "1.0.0", "abi": {"major": 1, "minor": 0},
                "library": {"file": "libprobe.so"}, "tools": tools}
    with open(os.path.join(plugin, "manifest.json"), "w") as handle:
        json.dump(manifest, handle)


def start_daemon(binary, plugins, state):
    process = subprocess.Popen(
        [binary, "serve", "--plugins", plugins, "--listen", "127.0.0.1:0", "--max-connections", "4000",
         "--idle-timeout-seconds", "600", "--state-dir", state, "--log-level", "error"],
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if found:
            return process, int(found.group(1))
    raise SystemExit("the daemon did not start")


async def request(port, method, path, body=b"", headers=None):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
    head += "Content-Type: application/json\r\n"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


async def queued(port):
    _, body = await request(port, "GET", "/v1/insights")
    return json.loads(body)["calls"]["queued"]


def summary(latencies):
    ordered = sorted(latencies)
    return {"p50": statistics.median(ordered), "p90": ordered[int(len(ordered) * 0.9) - 1], "max": ordered[-1]}


async def open_connections(port, count):
    return await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(count)))


def send_calls(connections, agent):
    """Sends one call of `agent` on each open connection at once; returns the tasks that read the answers, each
    giving its latency in ms from the send."""
    body = b'{"ms":20}'
    head = (f"POST /v1/tools/probe.sleep/call HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nX-Toolhost-Agent: {agent}\r\n\r\n")
    started = time.monotonic()

    async def answer(reader, writer):
        data = await reader.read()
        latency = (time.monotonic() - started) * 1000
        writer.close()
        if int(data.split(b" ", 2)[1]) != 200:
            raise SystemExit(f"a call answered: {data[:300]}")
        return latency

    for _, writer in connections:
        writer.write(head.encode() + body)
    return [asyncio.create_task(answer(reader, writer)) for reader, writer in connections]


async def fairness(port):
    results = {"B alone": summary(await asyncio.gather(*send_calls(await open_connections(port, 20), "B")))}
    for label, b_name in (("B after A's 2000 (fair turns)", "B"), ("B's calls as A (one agent, FIFO)", "A")):
        # Every connection is open first, so that the calls arrive within milliseconds of each other: A's 2,000,
        # then B's 20, which meet A's calls waiting in the daemon's queue (64 run at once by default).
        flooding, late = await open_connections(port, 2000), await open_connections(port, 20)
        flood = send_calls(flooding, "A")
        await asyncio.sleep(0)
        b = send_calls(late, b_name)
        depth = await queued(port)
        results[label] = summary(await asyncio.gather(*b))
        results[label]["queued"] = depth
        await asyncio.gather(*flood)
    base = results["B alone"]["p50"]
    for label, figures in results.items():
        depth = f"(queued: {figures['queued']})" if "queued" in figures else ""
        print(f"{label:36s} {depth:14s} p50 {figures['p50']:8.1f} ms  p90 {figures['p90']:8.1f} ms  max "
              f"{figures['max']:8.1f} ms  ({figures['p50'] / base:5.1f}x B alone at p50, {figures['max'] / base:5.1f}x"
              " at max)", flush=True)


def resident_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


def names(port, pid):
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port)
    before = resident_kb(pid)
    for index in range(10_000):
        connection.request("POST", "/v1/tools/probe.echo/call", b'{"n":1}',
                           {"Content-Type": "application/json", "X-Toolhost-Agent": f"agent-{index}"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"call {index} answered {response.status}")
        if index == 999:
            after_first_thousand = resident_kb(pid)
    connection.request("GET", "/metrics")
    metrics = connection.getresponse().read().decode()
    labels = set(re.findall(r'toolhost_agent_calls_total\{agent="([^"]*)"', metrics))
    connection.request("GET", "/v1/agents")
    agents = json.loads(connection.getresponse().read())["agents"]
    after = resident_kb(pid)
    print(f"10,000 agent names: {len(labels)} label values of toolhost_agent_calls_total, {len(agents)} agents in"
          f" /v1/agents ('other': {next(a['calls'] for a in agents if a['agent'] == 'other')} calls);"
          f" resident {before} KiB before, {after_first_thousand} after 1,000, {after} after 10,000")


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else next(
        path for path in (os.path.join(ROOT, ".build/release/toolhost"), os.path.join(ROOT, ".build/debug/toolhost"))
        if os.path.exists(path))
    work = tempfile.mkdtemp(prefix="toolhost-agents-load-")
    try:
        plugins = os.path.join(work, "plugins")
        build_probe(plugins)
        process, port = start_daemon(binary, plugins, os.path.join(work, "state"))
        try:
            print(f"toolhost: {binary}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}", flush=True)
            asyncio.run(fairness(port))
            names(port, process.pid)
        finally:
            process.terminate()
            process.wait(30)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
