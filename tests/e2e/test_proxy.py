"""The production layout end to end: `scripts/serve.sh` (what `make serve` runs) with 2 Streamlit
workers behind nginx, driven by headless Chromium through the proxy.

Checks what the layout exists for: a deep link to a kernthema page draws its charts, a gemeente
switch and a CSV download work (the download is served from the memory of the session's worker,
so it only works when the session is sticky), every request of one browser reaches one worker
(the `X-Upstream` header nginx adds), two browsers with different affinity cookies reach
different workers, the websocket carries frames through the proxy, static assets come from
nginx's cache, the page says lang="nl", and nobody runs as root.

Needs nginx (scripts/ensure-nginx.sh, run by `make test`), Debian's chromium and playwright;
skips with the reason otherwise. Bounded: startup 120 s, each wait 60 s.
"""

from __future__ import annotations

import gzip
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# the map (an inline SVG, dashboard/svgmap.py) and the series (plotly) are on the page
CHARTS = ("() => (document.querySelectorAll('.js-plotly-plot').length"
          " + document.querySelectorAll('.regio-svg svg').length) >= 2")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} missing (apt-get install chromium)"),
    pytest.mark.skipif(NGINX is None, reason="nginx missing (make nginx / apt-get install nginx)"),
]
playwright_api = pytest.importorskip("playwright.sync_api",
                                     reason="the playwright python package is not installed")


def free_port_pair() -> int:
    """A port p with p and p+1 both free on loopback (the two workers)."""
    for _ in range(100):
        base = random.randint(20000, 40000)
        socks = []
        try:
            for port in (base, base + 1):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no two consecutive free ports")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, cookie: str | None = None):
    req = urllib.request.Request(url, headers={"Cookie": f"regio_worker={cookie}"} if cookie
                                 else {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, r.headers


@pytest.fixture(scope="module")
def layout(snapshot_builder, tmp_path_factory):
    # the workers run as an unprivileged user when the tests run as root: the data must be
    # readable for them (pytest's own tmp folders are private to root)
    data = Path(tempfile.mkdtemp(prefix="regio-proxy-data-"))
    data.chmod(0o755)
    snapshot_builder(data, geo="real")
    base, port = free_port_pair(), free_port()
    log = tmp_path_factory.mktemp("proxy-log") / "serve.log"
    env = {**os.environ, "REGIO_DATA_DIR": str(data), "WORKERS": "2", "BASE_PORT": str(base),
           "PORT": str(port), "HOST": "127.0.0.1", "STARTUP_TIMEOUT": "120",
           "VENV_BIN": str(Path(sys.executable).parent)}
    proc = subprocess.Popen(["scripts/serve.sh"], cwd=REPO, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 150
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve.sh exited: {log.read_text()[-3000:]}")
            try:
                if get(f"{url}/_stcore/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"layout not up in time: {log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"url": url, "workers": [f"127.0.0.1:{base}", f"127.0.0.1:{base + 1}"],
               "proc": proc, "log": log, "base": base}
    finally:
        proc.send_signal(signal.SIGTERM)  # serve.sh stops nginx and the workers itself
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def cookie_for(url: str, worker: str) -> str:
    """An affinity cookie value that nginx hashes to `worker` (found by asking nginx)."""
    for _ in range(64):
        value = uuid.uuid4().hex
        if get(f"{url}/_stcore/health", value)[1]["X-Upstream"] == worker:
            return value
    raise AssertionError(f"no cookie value reached {worker} in 64 tries")


class Session:
    """One browser context: records which worker answered each request, and websocket frames."""

    def __init__(self, browser, url: str, cookie: str | None = None):
        self.ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="nl-NL",
                                       accept_downloads=True)
        if cookie:
            self.ctx.add_cookies([{"name": "regio_worker", "value": cookie, "url": url}])
        self.page = self.ctx.new_page()
        self.upstreams: list[tuple[str, str]] = []
        self.cache: list[str] = []
        self.frames = 0
        self.ws_urls: list[str] = []
        self.errors: list[str] = []
        self.page.on("response", self._response)
        self.page.on("websocket", self._websocket)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _response(self, response):
        headers = response.headers
        if "x-upstream" in headers:
            self.upstreams.append((response.url, headers["x-upstream"]))
        if "x-cache-status" in headers:
            self.cache.append(headers["x-cache-status"])

    def _websocket(self, ws):
        self.ws_urls.append(ws.url)

        def count(_payload):
            self.frames += 1
        ws.on("framereceived", count)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("h1", timeout=60_000)
        self.page.wait_for_selector(IDLE, timeout=60_000)
        self.page.wait_for_function(CHARTS, timeout=60_000)

    def workers(self, skip_first: bool = False) -> set[str]:
        rows = self.upstreams[1:] if skip_first else self.upstreams
        return {w for _, w in rows}


def test_two_workers_behind_nginx_deep_link_switch_download(layout, browser, tmp_path):
    url, (w0, w1) = layout["url"], layout["workers"]
    deep = f"{url}/human_capital?gemeente=GM0362&indicator=werkloosheid_pct"

    # --- a fresh browser: nginx gives it an affinity cookie, and from then on one worker
    a = Session(browser, url)
    a.open(deep)
    assert a.page.locator("h1").first.inner_text() == "Human Capital"
    # the key figures (Streamlit loads the metric's code when the first one arrives)
    a.page.get_by_text("Amstelveen, 2023", exact=True).wait_for(timeout=10_000)
    assert a.page.evaluate("document.documentElement.lang") == "nl"
    cookies = {c["name"]: c["value"] for c in a.ctx.cookies()}
    assert "regio_worker" in cookies, "nginx did not set the affinity cookie"
    # the very first request (the page, sent before the cookie existed) may be hashed elsewhere;
    # everything after it, the websocket's session included, is on one worker
    seen = a.workers(skip_first=True)
    assert len(seen) == 1, f"one browser reached several workers: {a.upstreams}"
    (worker_a,) = seen
    assert worker_a in (w0, w1)
    assert a.ws_urls and all("/_stcore/stream" in u for u in a.ws_urls)
    assert a.frames > 0, "no websocket frames came through the proxy"

    # gemeente switch through the sidebar picker
    sidebar = a.page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stSelectbox"]').first.click()
    a.page.keyboard.type("Zeist")
    a.page.get_by_role("option", name="Zeist", exact=True).click()
    a.page.wait_for_url("**gemeente=GM0355**", timeout=60_000)
    a.page.wait_for_selector(IDLE, timeout=60_000)
    a.page.wait_for_function(CHARTS, timeout=60_000)
    a.page.get_by_text("Zeist, 2023", exact=True).wait_for(timeout=10_000)

    # CSV download: the file is made on click in the session's worker and fetched over HTTP
    # from that worker's memory (/media/...): it arrives only because the session is sticky
    with a.page.expect_download(timeout=60_000) as dl:
        # the page's own CSV of ranking + series (key "thema-csv"), not a chart's table CSV
        a.page.locator(".st-key-thema-csv button").click()
    target = tmp_path / "download.csv"
    dl.value.save_as(target)
    text = target.read_text(encoding="utf-8-sig")
    assert dl.value.suggested_filename.endswith(".csv")
    assert "Zeist" in text and len(text.splitlines()) >= 3, text[:500]
    assert a.workers(skip_first=True) == {worker_a}, a.upstreams
    assert not a.errors, a.errors

    # --- a second browser whose cookie hashes to the other worker: sessions spread out
    other = w1 if worker_a == w0 else w0
    b = Session(browser, url, cookie_for(url, other))
    b.open(f"{url}/ruimtelijke_economie?gemeente=GM0344")
    assert b.workers() == {other}, b.upstreams
    assert b.frames > 0
    # static assets: served from nginx's cache for the second browser
    assert "HIT" in b.cache, b.cache
    assert not b.errors, b.errors
    a.ctx.close()
    b.ctx.close()

    # nobody serves as root
    if os.geteuid() == 0:
        ps = subprocess.run(["ps", "-ww", "-eo", "user:20,args"], capture_output=True, text=True,
                            timeout=10).stdout
        nginx = [ln for ln in ps.splitlines() if "nginx: master" in ln and "regio-serve." in ln]
        workers = [ln for ln in ps.splitlines() if f"--server.port {layout['base']}" in ln]
        assert workers and nginx, ps
        assert all(not ln.startswith("root ") for ln in nginx), nginx
        if "WARNING" not in layout["log"].read_text():
            assert all(not ln.startswith("root ") for ln in workers), workers


def test_health_passes_through_and_one_cookie_always_reaches_one_worker(layout):
    url, (w0, w1) = layout["url"], layout["workers"]
    status, headers = get(f"{url}/_stcore/health")
    assert status == 200 and headers["X-Upstream"] in (w0, w1)
    # the same cookie always reaches the same worker
    value = cookie_for(url, w1)
    assert {get(f"{url}/_stcore/health", value)[1]["X-Upstream"] for _ in range(5)} == {w1}


def test_page_in_dutch_and_static_files_compressed_and_cached(layout):
    url = layout["url"]
    with urllib.request.urlopen(f"{url}/mkb_innovatie?gemeente=GM0344", timeout=10) as r:
        html = r.read().decode()
        assert "regio_worker=" in (r.headers.get("Set-Cookie") or "")
    assert '<html lang="nl">' in html and '<html lang="en">' not in html
    script = re.search(r'src="\./(static/js/[^"]+\.js)"', html).group(1)
    statuses = []
    for _ in range(2):
        req = urllib.request.Request(f"{url}/{script}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            assert r.headers["Content-Encoding"] == "gzip"
            assert "immutable" in r.headers["Cache-Control"]
            statuses.append(r.headers["X-Cache-Status"])
    assert gzip.decompress(body)
    assert statuses[-1] == "HIT", statuses


def test_sigterm_stops_nginx_and_every_worker_and_cleans_up(layout):
    """Runs last in this module: `make serve` under systemd or Ctrl-C leaves nothing behind."""
    proc, base = layout["proc"], layout["base"]
    log = layout["log"].read_text()
    m = re.search(r"nginx access log (\S+)/access\.log", log)
    assert m, log[-2000:]
    run_dir = Path(m.group(1))
    assert run_dir.is_dir()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143  # 128 + SIGTERM: stopped on request
    ps = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True,
                        timeout=10).stdout
    left = [ln for ln in ps.splitlines()
            if f"--server.port {base} " in ln or f"--server.port {base + 1} " in ln
            or str(run_dir) in ln]
    assert not left, left
    assert not run_dir.exists()
    assert "serve: stopped" in layout["log"].read_text()
