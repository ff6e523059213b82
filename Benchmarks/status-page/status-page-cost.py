#!/usr/bin/env python3
"""The status page's cost, measured against the real daemon in headless Chromium (see ../../BENCHMARKS.md,
"Status page"). Standard library only; the browser is driven by Tests/ToolHostServerTests/Python/status_page.py.

usage: Benchmarks/status-page/status-page-cost.py PLUGINS_DIR [TOOLHOST_BINARY] [RUNS]
       (binary default .build/release/toolhost; RUNS default 5; PLUGINS_DIR: e.g. the one
       `scripts/stage-plugins.sh plugins release` makes)

1. First data: RUNS fresh page loads, each in a new browser; prints the median and each run's time from navigation
   to the page's first drawn data (`toolhost-first-data`) and to its first contentful paint.
2. Refresh cost: the daemon's CPU time (utime + stime from /proc/PID/stat) over 60 s idle, then over 60 s with the
   page open and refreshing once a second; prints both as a share of one core.
"""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DRIVER = os.path.join(ROOT, "Tests/ToolHostServerTests/Python/status_page.py")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    plugins = sys.argv[1]
    binary = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, ".build/release/toolhost")
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    chromium = shutil.which("chromium") or raise_missing()
    state = tempfile.mkdtemp(prefix="toolhost-status-bench-")
    daemon = subprocess.Popen(
        [binary, "serve", "--plugins", plugins, "--listen", "127.0.0.1:0", "--state-dir", state,
         "--log-level", "error"], stderr=subprocess.PIPE, text=True)
    port = None
    while port is None:
        line = daemon.stderr.readline()
        if not line:
            raise SystemExit("the daemon did not start")
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        port = int(found.group(1)) if found else None
    url = "http://127.0.0.1:%d/" % port
    try:
        # Some calls, so the page has tools, latencies and a rate to draw.
        tools = json.load(urllib.request.urlopen(url + "v1/tools"))["tools"]
        for tool in tools[:5]:
            request = urllib.request.Request(url + "v1/tools/%s/call" % tool["name"], data=b"{}",
                                             headers={"Content-Type": "application/json"})
            try:
                urllib.request.urlopen(request).read()
            except Exception:
                pass  # a tool that wants arguments answers 400: still a call the page shows
        first, paint = [], []
        shot = os.path.join(state, "shot.png")
        for _ in range(runs):
            report = json.loads(subprocess.run(
                [sys.executable, DRIVER, "--chromium", chromium, "--url", url, "--screenshot", shot],
                check=True, capture_output=True, text=True).stdout)
            first.append(report["firstDataMs"])
            paint.append(report["firstContentfulPaintMs"])
        print("first data (ms): median %.0f, runs %s" % (statistics.median(first), [round(v) for v in first]))
        print("first contentful paint (ms): median %.0f, runs %s"
              % (statistics.median(paint), [round(v) for v in paint]))

        before = cpu_seconds(daemon.pid)
        time.sleep(60)
        idle = cpu_seconds(daemon.pid) - before
        before = cpu_seconds(daemon.pid)
        started = time.monotonic()
        subprocess.run([sys.executable, DRIVER, "--chromium", chromium, "--url", url, "--screenshot", shot,
                        "--hold", "60"], check=True, capture_output=True)
        held = time.monotonic() - started
        open_page = cpu_seconds(daemon.pid) - before
        print("daemon CPU idle: %.2f%% of a core over 60 s" % (idle / 60 * 100))
        print("daemon CPU with the page open: %.2f%% of a core over %.0f s (page load included)"
              % (open_page / held * 100, held))
    finally:
        daemon.terminate()
        daemon.wait()
        shutil.rmtree(state, ignore_errors=True)


def raise_missing():
    raise SystemExit("chromium is not installed (apt-get install chromium)")


if __name__ == "__main__":
    main()
