#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol (--remote-debugging-pipe, standard library
only) against a running `weir dashboard`, for its browser test and its benchmark.

Usage:
  dashboard_browser.py live CHROMIUM URL OUT_DIR [--timeout S] [--run-done FILE]
      Loads URL at 1280x800 and waits for the page's first state. Prints `READY {...}` (what the
      page shows then: alerts, monitors, the health strip) and keeps the same page open, never
      reloading it, until an opened alert appears (the caller injects drift after READY). With
      --run-done, it then waits for FILE to exist (the caller creates it when its run has
      finished) and for the health strip's consumer lag to show 0. Then it clicks the newest
      drifted window of `merchant` (a real mouse click on its timeline) and waits for its two
      histograms. All along it samples the strip's events/s (the largest value seen is in
      RESULT). Then it measures the
      layout (scrollWidth vs innerWidth) at 1280x800 and at 390x844 (device-metrics
      emulation, so a real 390 px layout, not headless Chromium's 500 px minimum window), saves
      OUT_DIR/dashboard-desktop.png and OUT_DIR/dashboard-phone.png and prints `RESULT {...}`.
  dashboard_browser.py render CHROMIUM URL [--runs N]
      Loads URL N times (fresh page each time) at 1280x800 and prints `RESULT {...}` with the
      page's own first-render time (`data-first-render-ms`: performance.now() when the first
      state was drawn, navigation start = 0) and the bytes of /api/state it fetched first.

Waiting is by polling the page (Runtime.evaluate every 100 ms) up to a deadline, never by
fixed sleeps. Exit status 0 when RESULT was printed, 1 on a timeout or a protocol error (message
on stderr).
"""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time


class CDP:
    """One headless Chromium and one page session, over --remote-debugging-pipe (fd 3 in, fd 4 out)."""

    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="weir-cdp-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + self.profile, "--remote-debugging-pipe",
                "about:blank"]
        # The child reads fd 3 and writes fd 4 (moved above 10 first, so neither dup2 clobbers the other).
        def child():
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
        self.proc = subprocess.Popen(args, close_fds=False, preexec_fn=child,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def close(self):
        try:
            self.call("Browser.close", timeout=10, session=False)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if ready:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe (exit %s)" % self.proc.poll())
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, timeout=60, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def attach(self):
        targets = self.call("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}, session=False)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def size(self, width, height, mobile=False):
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile,
                                                           "screenWidth": width, "screenHeight": height})

    def eval(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s: %s" % (expression[:80], r["exceptionDetails"].get("text")))
        return r["result"].get("value")

    def wait(self, expression, timeout, what, sample=None):
        deadline = time.monotonic() + timeout
        guarded = "(() => { try { return (%s); } catch (e) { return false; } })()" % expression
        while True:
            if sample:
                sample()
            v = self.eval(guarded)
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError("%s: not within %s s" % (what, timeout))
            time.sleep(0.1)

    def navigations(self):
        return sum(1 for e in self.events if e.get("method") == "Page.frameNavigated"
                   and not e["params"]["frame"].get("parentId"))

    def click(self, x, y):
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, path):
        png = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))
        return path


LAYOUT = "({scrollWidth: document.documentElement.scrollWidth, innerWidth: innerWidth, bodyWidth: document.body.scrollWidth})"
FIRST_STATE = "document.getElementById('source').textContent.startsWith('Kafka')"
SHOWN = """(() => ({
  alerts: document.querySelectorAll('#events .event.alert_opened').length,
  timelines: [...document.querySelectorAll('#timelines .monitor.timeline')].map(s => s.getAttribute('data-feature')),
  drifted_points: document.querySelectorAll('#timelines svg .hit').length,
  scores_chart: document.querySelector('#scores svg') !== null,
  scores_text: (document.querySelector('#scores p') || {}).textContent || null,
  tenths: document.querySelectorAll('#scores figure.tenths svg rect.tenth').length,
  tenths_caption: (document.querySelector('#scores figure.tenths figcaption') || {}).textContent || null,
  health: Object.fromEntries([...document.querySelectorAll('#health .card')].map(c =>
    [c.getAttribute('data-key') || c.querySelector('.label').textContent, c.textContent])),
  lag: (() => { const c = document.querySelector('#health .card[data-key="lag"]');
    return c ? {value: c.getAttribute('data-value'), text: c.textContent} : null; })()
}))()"""


EVENTS = """(() => { const c = document.querySelector('#health .card[data-key="events"]');
  return c && c.getAttribute('data-value') !== null ? Number(c.getAttribute('data-value')) : null; })()"""


class Sampler:
    """The largest events/s the health strip showed while the page was watched."""

    def __init__(self, cdp):
        self.cdp = cdp
        self.max = None
        self.samples = 0

    def __call__(self):
        v = self.cdp.eval(EVENTS)
        self.samples += 1
        if v is not None and (self.max is None or v > self.max):
            self.max = v


def layout_after_resize(cdp, width, height, mobile):
    """Resizes, then waits for the page's debounced redraw (the charts' viewBox follows the width)."""
    cdp.size(width, height, mobile)
    cdp.wait("screen.width === %d" % width, 20, "viewport %d px" % width)
    cdp.wait("""(() => { const s = document.querySelector('#timelines svg'); if (!s) return false;
      const vb = Number(s.getAttribute('viewBox').split(' ')[2]); const w = document.getElementById('timelines').clientWidth;
      return Math.abs(vb - Math.min(1000, w)) <= 1 || w <= 200; })()""", 20, "charts redrawn at %d px" % width)
    return cdp.eval(LAYOUT)


def live(chromium, url, out, timeout, run_done=None):
    cdp = CDP(chromium)
    try:
        cdp.attach()
        cdp.size(1280, 800)
        cdp.call("Page.navigate", {"url": url})
        cdp.wait(FIRST_STATE, 60, "the page's first state")
        cdp.eval("window.__weirLoaded = 'once'; true")
        before = cdp.eval(SHOWN)
        print("READY " + json.dumps(before), flush=True)
        started = time.monotonic()
        sample = Sampler(cdp)
        cdp.wait("document.querySelectorAll('#events .event.alert_opened').length > 0", timeout, "an opened alert on the page", sample)
        appeared = time.monotonic() - started
        # Every monitor's timeline with a drifted window of merchant among them.
        cdp.wait("document.querySelector('#timelines .monitor.timeline[data-feature=\"merchant\"] svg .hit title') !== null"
                 " && [...document.querySelectorAll('#timelines .monitor.timeline[data-feature=\"merchant\"] svg .hit title')]"
                 ".some(t => t.textContent.includes('drifted'))", timeout, "a drifted window of merchant", sample)
        cdp.wait("document.querySelector('#scores svg') !== null", timeout, "the scores chart", sample)
        after = cdp.eval(SHOWN)
        same_page = cdp.eval("window.__weirLoaded === 'once'")
        navigations = cdp.navigations()
        finished = None
        if run_done:
            deadline = time.monotonic() + timeout
            while not os.path.exists(run_done):
                if time.monotonic() > deadline:
                    raise TimeoutError("the run did not finish within %s s" % timeout)
                sample()
                time.sleep(0.1)
            cdp.wait("document.querySelector('#health .card[data-key=\"lag\"]').getAttribute('data-value') === '0'",
                     60, "consumer lag 0 on the page after the run", sample)
            finished = cdp.eval(SHOWN)
        # Click the newest drifted window of merchant with the mouse.
        target = cdp.eval("""(() => {
          const hits = [...document.querySelectorAll('#timelines .monitor.timeline[data-feature="merchant"] svg .hit')]
            .filter(r => r.querySelector('title').textContent.includes('drifted'));
          const r = hits[hits.length - 1];
          r.scrollIntoView({block: 'center'});
          const b = r.getBoundingClientRect();
          return {x: b.left + b.width / 2, y: b.top + b.height / 2, title: r.querySelector('title').textContent};
        })()""")
        cdp.click(target["x"], target["y"])
        number = target["title"].split("window #")[1].split(" ")[0]
        cdp.wait("document.querySelectorAll('#histogram figure.hist svg').length === 2"
                 " && document.querySelector('#histogram p').textContent.startsWith('merchant · window #%s ·')" % number,
                 30, "two histograms of merchant window #%s after the click" % number)
        # The mouse leaves the chart, so the screenshots show the selection, not a hover.
        cdp.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": 1, "y": 1})
        hist = cdp.eval("""(() => ({
          header: document.querySelector('#histogram p').textContent,
          figures: [...document.querySelectorAll('#histogram figure.hist')].map(f => f.querySelector('figcaption').textContent),
          bars: [...document.querySelectorAll('#histogram figure.hist svg')].map(s => s.querySelectorAll('rect').length),
          new_categories: [...document.querySelectorAll('#histogram li.newcat')].map(l => l.textContent),
          img_elements: document.querySelectorAll('img').length,
          hash: location.hash
        }))()""")
        desktop = layout_after_resize(cdp, 1280, 800, False)
        cdp.eval("document.getElementById('histogram-panel').scrollIntoView({block: 'start'}); window.scrollTo(0, 0); true")
        shots = [cdp.screenshot(os.path.join(out, "dashboard-desktop.png"))]
        phone = layout_after_resize(cdp, 390, 844, True)
        shots.append(cdp.screenshot(os.path.join(out, "dashboard-phone.png")))
        result = {"before": before, "after": after, "finished": finished, "max_events_per_second": sample.max,
                  "event_samples": sample.samples, "alert_seconds_after_ready": round(appeared, 2), "same_page": same_page,
                  "navigations": navigations, "clicked": target["title"], "histogram": hist,
                  "layout": {"1280x800": desktop, "390x844": phone}, "screenshots": shots}
        print("RESULT " + json.dumps(result), flush=True)
    finally:
        cdp.close()


def render(chromium, url, runs):
    times, sizes = [], []
    for _ in range(runs):
        cdp = CDP(chromium)
        try:
            cdp.attach()
            cdp.size(1280, 800)
            cdp.call("Network.enable", {})
            cdp.call("Page.navigate", {"url": url})
            ms = cdp.wait("document.body && document.body.getAttribute('data-first-render-ms')", 120, "first render")
            times.append(int(ms))
            first = next((e for e in cdp.events if e.get("method") == "Network.loadingFinished"
                          and e["params"]["requestId"] in {x["params"]["requestId"] for x in cdp.events
                                                           if x.get("method") == "Network.responseReceived"
                                                           and "/api/state" in x["params"]["response"]["url"]}), None)
            sizes.append(first["params"]["encodedDataLength"] if first else None)
        finally:
            cdp.close()
    return {"first_render_ms": times, "first_state_bytes_on_wire": sizes}


def main(argv):
    try:
        if len(argv) >= 4 and argv[0] == "live":
            timeout = float(argv[argv.index("--timeout") + 1]) if "--timeout" in argv else 240
            run_done = argv[argv.index("--run-done") + 1] if "--run-done" in argv else None
            live(argv[1], argv[2], argv[3], timeout, run_done)
        elif len(argv) >= 3 and argv[0] == "render":
            runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 3
            print("RESULT " + json.dumps(render(argv[1], argv[2], runs)), flush=True)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (TimeoutError, RuntimeError, StopIteration) as e:
        print("dashboard_browser.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
