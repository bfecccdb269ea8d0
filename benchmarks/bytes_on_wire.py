"""Bytes on the wire: what a phone's browser receives from the production server, page by page.

Not a test: it prints a table. Run from the project root (Debian's chromium and Playwright needed):

    python benchmarks/bytes_on_wire.py [--pages 4] [--app-dir DIR] [--port 8765]

It sets up a fresh instance on the demo data (`flask setup`, as `make run` does) in a temporary
folder, starts gunicorn exactly as `make run` does (`-c python:survey.gunicorn_config --workers 2
wsgi:app`), and opens the demo citizen (SIPAS) invitation in headless Chromium at 360×740 with its
cache on: the landing page, "Bắt đầu" to the first question page, then "Tiếp tục" through the
following pages (answering the first option of each question, the screening questions so that the
service pages follow).

Each step's figures come from the Chrome DevTools Protocol's Network events: every HTTP request
the browser sends (a redirect hop counts as one), and the bytes it received for each
(`encodedDataLength`: headers plus the body as sent, compressed or not). A file the cache answers
without asking the server costs no request and no byte. "page" is what loading the page itself
costs (the GET after the post's 303/302, and the files it loads); "post" is the form post with its
redirect. Budgets (issue 13): the first question page ≤ 15 KB in ≤ 3 requests, each later page
≤ 5 KB in 1 request.

Last, the first question page is opened again in a new browser context (an empty cache), as when
the link is reopened on another device.

`--app-dir` measures another checkout's code (e.g. `--app-dir /work/main` for the figures before
a change) with this project's virtualenv.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"width": 360, "height": 740}
SECRET = "bytes-on-wire-benchmark-secret-key-0123456789abcdef"
SCREENING = {"s1_field": "1", "s2_place": "2", "s3_result_when": "1", "s4_feedback_given": "2"}
FIRST_BUDGET, LATER_BUDGET = (15 * 1024, 3), (5 * 1024, 1)
ANSWER = """(screening) => {
  const names = new Set([...document.querySelectorAll('form.page input[type=radio]')].map((e) => e.name));
  for (const name of names) {
    const options = [...document.querySelectorAll(`input[type=radio][name="${name}"]`)];
    const wanted = options.find((o) => o.value === screening[name]) || options[0];
    if (wanted && !options.some((o) => o.checked) && wanted.offsetParent !== null) wanted.click();
  }
  for (const box of document.querySelectorAll('form.page input[type=checkbox]')) {
    const group = document.querySelectorAll(`input[type=checkbox][name="${box.name}"]`);
    if (group[0] === box && ![...group].some((b) => b.checked) && box.offsetParent !== null) box.click();
  }
  for (const input of document.querySelectorAll('form.page input[type=number], form.page input[inputmode]')) {
    if (!input.value && input.offsetParent !== null) input.value = '30';
  }
}"""


class Recorder:
    """Collects the Network events of one page's CDP session, step by step."""

    def __init__(self, cdp):
        self.requests, self.bytes = {}, {}
        self.hops = []  # (method, url, status, bytes) of each request, redirect hops included
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.requestServedFromCache", self._cached)

    def _sent(self, event):
        redirect = event.get("redirectResponse")
        if redirect is not None:  # the previous hop of this request ended with a redirect
            previous = self.requests.pop(event["requestId"])
            size = int(redirect["encodedDataLength"])
            self.hops.append((previous[0], previous[1], redirect["status"], size))
        self.requests[event["requestId"]] = [event["request"]["method"], event["request"]["url"], None, 0]

    def _received(self, event):
        entry = self.requests.get(event["requestId"])
        if entry is not None and entry[2] != "cache":  # requestServedFromCache comes first
            entry[2] = event["response"]["status"]
            if event["response"].get("fromDiskCache") or event["response"].get("fromPrefetchCache"):
                entry[2] = "cache"

    def _cached(self, event):
        entry = self.requests.get(event["requestId"])
        if entry is not None:
            entry[2] = "cache"

    def _finished(self, event):
        entry = self.requests.pop(event["requestId"], None)
        if entry is not None:
            self.hops.append((entry[0], entry[1], entry[2], int(event["encodedDataLength"])))

    def take(self) -> list[tuple]:
        """Return the hops finished since the last call (requests answered from cache left out)."""
        hops, self.hops = [h for h in self.hops if h[2] != "cache" and not h[1].startswith("data:")], []
        return hops


def serve(app_dir: Path, port: int, instance: Path) -> tuple[subprocess.Popen, str]:
    """Set up the demo instance, start gunicorn as `make run` does; return it and the citizen's link."""
    env = os.environ | {"SURVEY_INSTANCE_PATH": str(instance), "SURVEY_SECRET_KEY": SECRET,
                        "PYTHONPATH": str(app_dir)}
    env.pop("DATABASE_URL", None)
    binary = Path(sys.executable).parent
    setup = subprocess.run([str(binary / "flask"), "--app", "survey", "setup", "--port", str(port)],
                           cwd=app_dir, env=env, capture_output=True, text=True, check=True)
    link = re.search(r"Citizen \(SIPAS\) invitation:\s+(\S+)", setup.stdout).group(1)
    server = subprocess.Popen(
        [str(binary / "gunicorn"), "-c", "python:survey.gunicorn_config", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "wsgi:app"],
        cwd=app_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return server, link
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not answer /healthz")


def settle(page) -> None:
    """Wait until the page and everything it loads are done."""
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # a late request (a favicon) would come now


def summary(name: str, hops: list[tuple]) -> tuple[str, int, int, str]:
    """Return (step, bytes, requests, detail)."""
    detail = ", ".join(f"{m} {re.sub(r'^https?://[^/]+', '', u)[:48]} {s} {b} B" for m, u, s, b in hops)
    return name, sum(h[3] for h in hops), len(hops), detail


def open_recorded(browser, url: str):
    """Open a URL in a new phone-sized context whose network is recorded; return (context, page, recorder)."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    recorder = Recorder(cdp)
    page.goto(url)
    settle(page)
    return context, page, recorder


def measure(link: str, pages: int) -> list[tuple]:
    """Walk the demo invitation in Chromium; return one summary per step."""
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context, page, recorder = open_recorded(browser, link)
        rows.append(summary("landing", recorder.take()))
        page.locator("form button[type=submit]").first.click()
        settle(page)
        rows.append(split("first question page", recorder.take()))
        first_page = page.url
        for number in range(2, pages + 2):
            page.evaluate(ANSWER, SCREENING)
            before = page.url
            page.locator("button[name=action][value=next], button[name=action][value=submit]").first.click()
            settle(page)
            if page.url == before:
                raise RuntimeError(f"page {number - 1} was not accepted: {page.url}")
            rows.append(split(f"question page {number}", recorder.take()))
            if "/done" in page.url:
                break
        first_url = link.split("/r/")[0] + urlsplit(first_page).path
        context.close()
        context, page, recorder = open_recorded(browser, first_url)  # a new context: an empty cache
        rows.append(summary("first question page, empty cache", recorder.take()))
        browser.close()
    return [r for row in rows for r in (row if isinstance(row, list) else [row])]


def split(name: str, hops: list[tuple]) -> list[tuple]:
    """Split a step into the post with its redirect and the page it leads to."""
    posts = [h for h in hops if h[0] == "POST"]
    rest = [h for h in hops if h[0] != "POST"]
    return [summary(f"{name}: post", posts), summary(f"{name}: page", rest)]


def main() -> None:
    """Parse the options, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=4, help="later pages to walk through")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout whose code is served")
    parser.add_argument("--port", type=int, default=8765)
    options = parser.parse_args()
    instance = Path(tempfile.mkdtemp(prefix="bytes-on-wire-"))
    server, link = serve(options.app_dir.resolve(), options.port, instance)
    try:
        rows = measure(link, options.pages)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(instance, ignore_errors=True)
    print(f"{'step':<34} {'bytes':>8} {'KB':>6} {'requests':>8}  detail")
    for name, size, count, detail in rows:
        print(f"{name:<34} {size:>8} {size / 1024:>6.1f} {count:>8}  {detail}")
    pages = {name: (size, count) for name, size, count, _ in rows}
    first = pages["first question page: page"]
    later = [v for k, v in pages.items() if k.endswith(": page") and not k.startswith("first")]
    print(f"\nfirst question page: {first[0] / 1024:.1f} KB in {first[1]} requests "
          f"(budget {FIRST_BUDGET[0] // 1024} KB, {FIRST_BUDGET[1]}): "
          + ("met" if first[0] <= FIRST_BUDGET[0] and first[1] <= FIRST_BUDGET[1] else "NOT met"))
    if later:
        worst = max(later)
        met = all(s <= LATER_BUDGET[0] and c <= LATER_BUDGET[1] for s, c in later)
        print(f"later pages: at most {worst[0] / 1024:.1f} KB, at most {max(c for _, c in later)} request(s) "
              f"(budget {LATER_BUDGET[0] // 1024} KB, {LATER_BUDGET[1]}): " + ("met" if met else "NOT met"))


if __name__ == "__main__":
    main()
