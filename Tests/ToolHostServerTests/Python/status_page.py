"""Drives headless Chromium (the DevTools protocol over --remote-debugging-pipe, standard library only) through
toolhost's status page and prints what it saw as one JSON object: the page's text, console errors and uncaught
exceptions, the URLs it requested and whether each carried a bearer token, the page's timings, and where the
screenshot went. The caller decides what is right; this script only reports (exit 0), unless Chromium cannot be
driven at all (exit 2, with the reason on stderr).

    status_page.py --chromium /usr/bin/chromium --url http://127.0.0.1:PORT/ --screenshot out.png
        [--token TOKEN] [--wait-text TEXT ...] [--wait-js EXPRESSION ...] [--hold SECONDS] [--timeout SECONDS]
"""

import argparse
import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time


class Browser:
    def __init__(self, chromium, profile):
        # fd 3: commands to the browser; fd 4: its answers and events, each a JSON text ended by a NUL byte.
        to_browser_read, self.to_browser = os.pipe()
        self.from_browser, from_browser_write = os.pipe()

        def descriptors():
            # Through fresh copies first: either end may already be 3 or 4, and dup2 onto itself would keep its
            # close-on-exec flag.
            reading, writing = os.dup(to_browser_read), os.dup(from_browser_write)
            os.dup2(reading, 3)
            os.dup2(writing, 4)

        self.process = subprocess.Popen(
            [
                chromium, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1100", "--user-data-dir=" + profile, "about:blank",
            ],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=descriptors, close_fds=False)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self.next_id = 0
        self.answers = {}
        self.events = queue.Queue()
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        pending = b""
        while True:
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                with self.lock:
                    self.answers[None] = "closed"
                    self.lock.notify_all()
                return
            pending += chunk
            while b"\0" in pending:
                text, pending = pending.split(b"\0", 1)
                message = json.loads(text)
                if "id" in message:
                    with self.lock:
                        self.answers[message["id"]] = message
                        self.lock.notify_all()
                else:
                    self.events.put(message)

    def send(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        ident = self.next_id
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self.lock:
            while ident not in self.answers:
                if None in self.answers:
                    raise RuntimeError("Chromium closed its DevTools pipe during " + method)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("no answer from Chromium to " + method)
                self.lock.wait(left)
            answer = self.answers.pop(ident)
        if "error" in answer:
            raise RuntimeError(method + ": " + json.dumps(answer["error"]))
        return answer.get("result", {})

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--token")
    parser.add_argument("--wait-text", action="append", default=[])
    parser.add_argument("--wait-js", action="append", default=[])
    parser.add_argument("--hold", type=float, default=0)
    parser.add_argument("--timeout", type=float, default=90)
    options = parser.parse_args()

    profile = tempfile.mkdtemp(prefix="toolhost-chromium-")
    browser = None
    report = {"console": [], "exceptions": [], "requests": [], "timedOut": False}
    try:
        browser = Browser(options.chromium, profile)
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ["Runtime", "Log", "Page", "Network"]:
            browser.send(domain + ".enable", session=session)

        def drain():
            while True:
                try:
                    event = browser.events.get_nowait()
                except queue.Empty:
                    return
                method, params = event.get("method"), event.get("params", {})
                if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                    text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                    report["console"].append({"level": params["type"], "text": text})
                elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                    entry = params["entry"]
                    report["console"].append({"level": entry["level"], "text": entry.get("text", ""),
                                              "url": entry.get("url", "")})
                elif method == "Runtime.exceptionThrown":
                    details = params["exceptionDetails"]
                    description = details.get("exception", {}).get("description", details.get("text", ""))
                    report["exceptions"].append(description)
                elif method == "Network.requestWillBeSent":
                    request = params["request"]
                    headers = {k.lower(): v for k, v in request.get("headers", {}).items()}
                    report["requests"].append({"url": request["url"], "method": request["method"],
                                               "authorization": headers.get("authorization", "")})

        def evaluate(expression):
            result = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                  session=session)
            if "exceptionDetails" in result:
                raise RuntimeError("evaluating " + expression + ": " + json.dumps(result["exceptionDetails"]))
            return result["result"].get("value")

        browser.send("Page.navigate", {"url": options.url}, session=session)
        deadline = time.monotonic() + options.timeout
        conditions = ["document.body && document.body.dataset.ready === 'true'"]
        conditions += ["document.body.innerText.includes(%s)" % json.dumps(text) for text in options.wait_text]
        conditions += ["(%s)" % expression for expression in options.wait_js]
        check = " && ".join("(%s)" % c for c in conditions)
        token_given = False
        while True:
            drain()
            if options.token and not token_given and evaluate(
                    "!!document.getElementById('login') && !document.getElementById('login').hidden"):
                # As a person would: type the token into the page's form and send it.
                evaluate("document.getElementById('token').value = %s;"
                         "document.getElementById('login').requestSubmit(); true" % json.dumps(options.token))
                token_given = True
            if evaluate("!!(document.body && (%s))" % check):
                break
            if time.monotonic() > deadline:
                report["timedOut"] = True
                break
            time.sleep(0.05)
        if options.hold > 0:
            end = time.monotonic() + options.hold
            while time.monotonic() < end:
                drain()
                time.sleep(0.2)
        report["text"] = evaluate("document.body ? document.body.innerText : ''")
        report["firstDataMs"] = evaluate(
            "(performance.getEntriesByName('toolhost-first-data')[0] || {}).startTime ?? null")
        report["firstContentfulPaintMs"] = evaluate(
            "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime ?? null")
        report["rate"] = evaluate("document.getElementById('rate') ? document.getElementById('rate').textContent : ''")
        report["loginShown"] = token_given
        report["url"] = evaluate("location.href")
        shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                            session=session)
        with open(options.screenshot, "wb") as file:
            file.write(base64.b64decode(shot["data"]))
        report["screenshot"] = options.screenshot
        drain()
    except Exception as error:
        print("status_page.py: " + str(error), file=sys.stderr)
        sys.exit(2)
    finally:
        if browser:
            browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
