"""Headless Chromium for the report tests: Debian's chromium, a page measured inside an iframe of a
chosen width (headless windows are at least 500 px wide), screenshots cropped to that width.

The harness page and the page it frames are both file: URLs; --allow-file-access-from-files makes
them one origin, so the harness can read the framed document. Every wait is on a condition the
page sets (its self-check), never on a fixed delay: --dump-dom runs are bounded by
--virtual-time-budget (their pages poll on timers, which virtual time runs); the Snakemake report,
whose inner frame loads outside any timer, is driven over the DevTools protocol instead.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import struct
import subprocess
import time
from pathlib import Path

import matplotlib.image as mpimg

CHROMIUM = "/usr/bin/chromium"
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-extensions",
    "--mute-audio",
    "--allow-file-access-from-files",
    # no name resolves: a page that needed the network would show broken images
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=30000",
]


def ensure_chromium() -> str | None:
    """The browser's path; installed with apt-get when missing (needs root). None when impossible."""
    if not Path(CHROMIUM).exists():
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            return None
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return CHROMIUM


def run_browser(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    profile.mkdir(parents=True, exist_ok=True)
    overridden = {a.split("=")[0] for a in args if a.startswith("--")}
    flags = [f for f in BROWSER_FLAGS if f.split("=")[0] not in overridden]
    proc = subprocess.run(
        [chromium, *flags, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


# Measures the compiled report framed at the iframe's width, once its self-check has run: document
# vs viewport width, the elements that stick out (outside any scrolling box), each image's shown
# width, and that clicking a figure opens it at full size.
MEASURE_JS = r"""
var frame = document.getElementById("frame");
function scrolls(el, win) {
  for (var p = el.parentElement; p; p = p.parentElement) {
    var ox = win.getComputedStyle(p).overflowX;
    if (ox === "auto" || ox === "scroll" || ox === "hidden") return true;
  }
  return false;
}
function measure() {
  var doc = frame.contentDocument, win = frame.contentWindow;
  var check = doc && doc.getElementById("selfcheck");
  if (!check || check.getAttribute("data-status") === "pending") { setTimeout(measure, 20); return; }
  var width = doc.documentElement.clientWidth, out = [];
  doc.querySelectorAll("body *").forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 0.5 && !scrolls(el, win) && out.length < 10)
      out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : "")
               + " right=" + Math.round(r.right));
  });
  var images = Array.prototype.map.call(doc.querySelectorAll("img[data-enlarge]"), function (img) {
    return {alt: img.alt, shown: Math.round(img.getBoundingClientRect().width), natural: img.naturalWidth,
            wide: img.closest("figure").classList.contains("wide")};
  });
  var enlarged = null, first = doc.querySelector("img[data-enlarge]");
  if (first) {
    first.parentNode.click();
    var box = doc.getElementById("lightbox"), big = box.querySelector("img");
    enlarged = {open: box.classList.contains("open"), natural: big.naturalWidth,
                shown: Math.round(big.getBoundingClientRect().width), expected: first.naturalWidth};
    box.click();
  }
  var section = doc.querySelector("section");
  var result = {scrollWidth: doc.documentElement.scrollWidth, clientWidth: width, overflowing: out,
                status: check.getAttribute("data-status"), images: +check.getAttribute("data-images"),
                imagesOk: +check.getAttribute("data-images-ok"), tables: +check.getAttribute("data-tables"),
                tablesOk: +check.getAttribute("data-tables-ok"), shown: images, enlarged: enlarged,
                selfcheckShown: win.getComputedStyle(check).display !== "none",
                sectionWidth: section ? Math.round(section.getBoundingClientRect().width) : 0};
  document.getElementById("result").textContent = JSON.stringify(result);
}
frame.addEventListener("load", measure);
"""


def frame_page(tmp: Path, target: Path, width: int, height: int, script: str, name: str) -> Path:
    page = tmp / f"{name}-{width}.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0;background:#888}'
        f"iframe{{border:0;width:{width}px;height:{height}px;display:block;background:#fff}}</style></head><body>"
        f'<iframe id="frame" src="{target.resolve().as_uri()}"></iframe><pre id="result">pending</pre>'
        f"<script>{script}</script></body></html>",
        encoding="utf-8",
    )
    return page


def read_result(dom: str) -> dict:
    match = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert match, "harness result missing"
    text = match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert text != "pending", "the framed page never finished its self-check"
    return json.loads(text)


def measure_at(chromium: str, tmp: Path, target: Path, width: int) -> dict:
    page = frame_page(tmp, target, width, 900, MEASURE_JS, "measure")
    return read_result(run_browser(chromium, tmp / f"profile-measure-{width}", "--dump-dom", page.as_uri()).stdout)


def screenshot_at(chromium: str, tmp: Path, target: Path, width: int, height: int, shot: Path) -> Path:
    """A screenshot of ``target`` framed at ``width``, cropped to it (the window is at least 500 wide)."""
    page = frame_page(tmp, target, width, height, "", "shot")
    window = max(width, 500)
    run_browser(
        chromium,
        tmp / f"profile-shot-{width}",
        f"--window-size={window},{height}",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    if window != width:
        mpimg.imsave(shot, mpimg.imread(shot)[:, :width])
    return shot


# Opens Snakemake's report (framed), shows the compiled report's entry as a click on it would,
# and waits for the compiled report inside to post its self-check. Snakemake's app exists only once
# React has first rendered, which can come after the frame's load: the view is set when #app has
# children (a MutationObserver), not at load.
SNAKEMAKE_REPORT_JS = r"""
var frame = document.getElementById("frame");
frame.addEventListener("load", function () {
  var doc = frame.contentDocument, s = doc.createElement("script");
  s.textContent = 'function hw2done(v) { window.parent.document.getElementById("result").textContent = v; }' +
    'window.addEventListener("message", function (ev) {' +
    '  if (ev.data && ev.data.hw2report === "selfcheck") hw2done(JSON.stringify(ev.data)); });' +
    'function hw2show() {' +
    '  if (typeof app === "undefined") return false;' +
    '  var key = Object.keys(results).find(function (k) { return k.endsWith("report/figureless.html"); });' +
    '  if (key === undefined) hw2done(JSON.stringify({missing: Object.keys(results)}));' +
    '  else app.setView({content: "html", contentPath: results[key].data_uri});' +
    '  return true; }' +
    'if (!hw2show()) new MutationObserver(function (m, seen) { if (hw2show()) seen.disconnect(); })' +
    '  .observe(document.getElementById("app"), {childList: true, subtree: true});';
  doc.body.appendChild(s);
});
"""


def snakemake_report_frame(chromium: str, tmp: Path, report_html: Path) -> dict:
    """What the compiled report, opened from Snakemake's report, posted as its self-check.

    Driven over the DevTools protocol rather than --dump-dom: the dump is taken when virtual
    time runs out, which could come before the frame Snakemake's app creates had loaded (one run
    in three); here the harness waits for the message itself, bounded only by a wall-clock timeout.
    """
    page = frame_page(tmp, report_html, 1400, 900, SNAKEMAKE_REPORT_JS, "smk")
    with DevTools(chromium, tmp / "profile-smk") as devtools:
        return json.loads(devtools.result_of(page.as_uri()))


# Resolves with the harness page's result once it is written (a MutationObserver, no polling).
AWAIT_RESULT_JS = r"""
new Promise(function (resolve) {
  var el = document.getElementById("result");
  function done() { if (el.textContent !== "pending") { resolve(el.textContent); return true; } return false; }
  if (!done()) new MutationObserver(done).observe(el, {childList: true, characterData: true, subtree: true});
})
"""


class DevTools:
    """Headless Chromium driven over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-framed JSON)."""

    def __init__(self, chromium: str, profile: Path, timeout: float = 180.0):
        self.chromium, self.profile, self.timeout = chromium, profile, timeout
        self.next_id, self.buffer, self.events = 0, b"", []

    def __enter__(self) -> DevTools:
        self.profile.mkdir(parents=True, exist_ok=True)
        to_child, self.writer = os.pipe()
        self.reader, from_child = os.pipe()
        flags = [f for f in BROWSER_FLAGS if not f.startswith("--virtual-time-budget")]

        def pipes_on_3_and_4() -> None:
            os.dup2(to_child, 3)
            os.dup2(from_child, 4)

        self.proc = subprocess.Popen(
            [self.chromium, *flags, "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=pipes_on_3_and_4,
            pass_fds=(3, 4),
        )
        os.close(to_child)
        os.close(from_child)
        self.deadline = time.monotonic() + self.timeout
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.send("Browser.close")
        except (OSError, AssertionError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.writer)
        os.close(self.reader)
        self.proc.stderr.close()

    def _message(self) -> dict:
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            ready, _, _ = select.select([self.reader], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"Chromium did not answer within {self.timeout:.0f} s")
            chunk = os.read(self.reader, 1 << 16)
            if not chunk:
                raise AssertionError(f"Chromium exited: {self.proc.stderr.read().decode()[-3000:]}")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        """Sends one command and returns its result; events met meanwhile are kept for wait_for."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.writer, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._message()
            if answer.get("id") == self.next_id:
                assert "error" not in answer, f"{method}: {answer['error']}"
                return answer["result"]
            self.events.append(answer)

    def wait_for(self, event: str, session: str) -> dict:
        while True:
            for i, seen in enumerate(self.events):
                if seen.get("method") == event and seen.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._message())

    def result_of(self, url: str) -> str:
        """Loads a harness page and returns its #result text once the page has written it."""
        self.events = []
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.send("Page.enable", session)
        self.send("Page.navigate", session, url=url)
        self.wait_for("Page.loadEventFired", session)
        value = self.send(
            "Runtime.evaluate", session, expression=AWAIT_RESULT_JS, awaitPromise=True, returnByValue=True
        )
        assert "exceptionDetails" not in value, value["exceptionDetails"]
        return value["result"]["value"]
