#!/usr/bin/env python3
"""What gzip costs the daemon per MB of JSON answered (issue 14's "report the CPU per MB"; see ../../BENCHMARKS.md,
"Result budgets and compression"). Standard library only.

usage: Benchmarks/compression/gzip-cost.py [TOOLHOST_BINARY] [REQUESTS]
       (default .build/release/toolhost, 200 requests per series)

Starts the daemon with the probe fixture plugin and sends probe.echo the same 1.04 MB of JSON arguments (answered as 0.96 MB of canonical JSON) (a cache hit after
the first call, so the tool's own work is out of it) REQUESTS times with `Accept-Encoding: identity`, then with
`gzip`, then with `deflate`, interleaved in rounds of 20; reads the daemon's CPU time (utime + stime of
/proc/PID/stat) around each request and prints, per series, the bytes on the wire and the daemon's CPU per request
and per MB of JSON. The difference to identity is what compression costs.
"""

import gzip
import http.client
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TICKS = os.sysconf("SC_CLK_TCK")


def load_agents_load():
    # The probe plugin and the daemon's start, as the agents load run makes them.
    spec = importlib.util.spec_from_file_location("agents_load", os.path.join(ROOT, "Benchmarks/agents/agents-load.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/release/toolhost")
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    agents = load_agents_load()
    work = tempfile.mkdtemp(prefix="toolhost-gzip-bench-")
    plugins = os.path.join(work, "plugins")
    os.makedirs(plugins)
    agents.build_probe(plugins)
    daemon, port = agents.start_daemon(binary, plugins, os.path.join(work, "state"))
    try:
        records = [{"id": n, "name": "listing %d" % n, "price": n * 3 % 997, "tags": ["a", "b", "c"],
                    "description": "a record of the kind a search tool returns, number %d" % n} for n in range(6900)]
        body = json.dumps({"records": records}).encode()
        connection = http.client.HTTPConnection("127.0.0.1", port)
        totals = {coding: {"cpu": 0.0, "wire": 0, "json": 0, "n": 0} for coding in ["identity", "gzip", "deflate"]}
        for _ in range(requests // 20):
            for coding in totals:
                for _ in range(20):
                    before = cpu_seconds(daemon.pid)
                    connection.request("POST", "/v1/tools/probe.echo/call", body=body,
                                       headers={"Content-Type": "application/json", "Accept-Encoding": coding})
                    response = connection.getresponse()
                    data = response.read()
                    totals[coding]["cpu"] += cpu_seconds(daemon.pid) - before
                    assert response.status == 200, data[:200]
                    encoding = response.getheader("Content-Encoding") or "identity"
                    assert encoding == coding, (encoding, coding)
                    plain = {"gzip": gzip.decompress, "deflate": zlib.decompress}.get(coding, lambda b: b)(data)
                    totals[coding]["wire"] += len(data)
                    totals[coding]["json"] += len(plain)
                    totals[coding]["n"] += 1
        base = totals["identity"]["cpu"] / totals["identity"]["n"]
        for coding, total in totals.items():
            per_request = total["cpu"] / total["n"]
            megabytes = total["json"] / total["n"] / 1e6
            print("%-8s %d requests: %.0f bytes JSON -> %.0f on the wire (%.1fx); daemon CPU %.2f ms per request, "
                  "%.2f ms per MB; over identity %+.2f ms per MB"
                  % (coding, total["n"], total["json"] / total["n"], total["wire"] / total["n"],
                     total["json"] / total["wire"], per_request * 1e3, per_request * 1e3 / megabytes,
                     (per_request - base) * 1e3 / megabytes))
    finally:
        daemon.terminate()
        daemon.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
