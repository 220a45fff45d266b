"""The production layout end to end: `scripts/serve.sh` (what `make serve` runs) with 2 Streamlit
workers behind nginx, driven by headless Chromium through the proxy.

Checks what the layout exists for: a deep link to a kernthema page draws its charts, a gemeente
switch and a CSV download work (the download is served from the memory of the session's worker,
so it only works when the session is sticky), every request of one browser reaches one worker,
two browsers with different affinity cookies reach different workers, the websocket carries
frames through the proxy, static assets come from nginx's cache, the page says lang="nl", and
nobody runs as root.

Which worker answered is read from nginx's access log (format regio_upstream: upstream= and
affinity=), matched to a browser by a marker in its user agent: no response names a worker.
Through the proxy every page carries the security headers (the app's Content-Security-Policy,
X-Frame-Options, ...), draws its charts (server-drawn SVG and plotly) with no CSP violation
reported, and axe-core finds no serious or critical WCAG problem.

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

from tests.support.browser import AXE_JS, blocking, describe, run_axe

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
# a plotly page: the chart is drawn (plotly's own SVG inside the chart element)
PLOTLY_DRAWN = "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 1"
# every CSP violation the page reports, collected before any page script runs
CSP_LISTENER = """window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
  e.effectiveDirective + ' blocked ' + e.blockedURI + ' (' + (e.sample || '') + ')'));"""
# one line of the regio_upstream access log format (deploy/nginx/regio-dashboard.conf.in)
LOG_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) \S+ '
                      r'"[^"]*" "(?P<agent>[^"]*)" upstream=(?P<upstream>.*?) '
                      r'affinity=(?P<affinity>\w+) cache=(?P<cache>\S+)')

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


def get(url: str, cookie: str | None = None, agent: str = "regio-proxy-test"):
    headers = {"User-Agent": agent}
    if cookie:
        headers["Cookie"] = f"regio_worker={cookie}"
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
        return r.status, r.headers


def logged(layout, marker: str, least: int = 1, path: str = "") -> list[dict]:
    """The access-log entries of the requests whose user agent carries ``marker`` (nginx writes
    an entry when the response is done, a websocket's when it closes: waits for ``least`` entries
    whose path contains ``path``)."""
    deadline = time.monotonic() + 15
    while True:
        text = layout["access_log"].read_text()
        rows = [m.groupdict() for m in map(LOG_LINE.search, text.splitlines())
                if m and marker in m["agent"]]
        if sum(path in r["path"] for r in rows) >= least:
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {least} log entries for {marker} {path}: {rows}")
        time.sleep(0.1)


def worker_of(row: dict) -> str:
    """The worker that answered (after a failed one, nginx lists both: the last answered)."""
    return row["upstream"].split(", ")[-1]


def workers_of(rows: list[dict]) -> set[str]:
    """The workers that answered the requests that carried the affinity cookie (nginx's cache
    hits reach none)."""
    return {worker_of(r) for r in rows if r["affinity"] == "cookie" and r["upstream"] != "-"}


def names_no_worker(layout, headers) -> None:
    ports = (str(layout["base"]), str(layout["base"] + 1))
    for name, value in headers.items():
        assert "upstream" not in name.lower(), (name, value)
        assert not any(f":{p}" in value for p in ports), (name, value)


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
        while not (m := re.search(r"nginx access log (\S+/access\.log)", log.read_text())):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no access log announced: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield {"url": url, "workers": [f"127.0.0.1:{base}", f"127.0.0.1:{base + 1}"],
               "proc": proc, "log": log, "base": base, "access_log": Path(m.group(1))}
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


# a small file every worker serves, through `location /` (whose requests are logged; the health
# check's are not)
PROBE = "/favicon.png"


def cookie_for(layout, worker: str) -> str:
    """An affinity cookie value that nginx hashes to `worker` (found by asking nginx and reading
    its access log)."""
    for _ in range(64):
        value = uuid.uuid4().hex
        get(f"{layout['url']}{PROBE}", value, agent=f"regio-proxy-test/{value}")
        (row,) = logged(layout, value)
        assert row["affinity"] == "cookie", row
        if worker_of(row) == worker:
            return value
    raise AssertionError(f"no cookie value reached {worker} in 64 tries")


class Session:
    """One browser context, marked in its user agent so that its requests can be found in
    nginx's access log; records the responses' headers, websocket frames, page errors and CSP
    violations."""

    def __init__(self, browser, layout, cookie: str | None = None):
        self.marker = f"regio-proxy-test/{uuid.uuid4().hex[:12]}"
        probe = browser.new_context()
        agent = probe.new_page().evaluate("navigator.userAgent")
        probe.close()
        self.layout = layout
        self.ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="nl-NL",
                                       accept_downloads=True, user_agent=f"{agent} {self.marker}")
        self.ctx.add_init_script(CSP_LISTENER)
        if cookie:
            self.ctx.add_cookies([{"name": "regio_worker", "value": cookie,
                                   "url": layout["url"]}])
        self.page = self.ctx.new_page()
        self.documents: list = []  # the page responses (text/html)
        self.headers: list[dict] = []
        self.cache: list[str] = []
        self.frames = 0
        self.ws_urls: list[str] = []
        self.errors: list[str] = []
        self.csp_console: list[str] = []
        self.page.on("response", self._response)
        self.page.on("websocket", self._websocket)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.csp_console.append(m.text)
                     if "Content Security Policy" in m.text else None)

    def _response(self, response):
        headers = response.headers
        self.headers.append(headers)
        if "x-cache-status" in headers:
            self.cache.append(headers["x-cache-status"])
        if response.request.resource_type == "document":
            self.documents.append(response)

    def _websocket(self, ws):
        self.ws_urls.append(ws.url)

        def count(_payload):
            self.frames += 1
        ws.on("framereceived", count)

    def open(self, url: str, drawn: str = CHARTS) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("h1", timeout=60_000)
        self.page.wait_for_selector(IDLE, timeout=60_000)
        self.page.wait_for_function(drawn, timeout=60_000)

    def csp_violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations || []") + self.csp_console

    def rows(self, least: int = 1, path: str = "") -> list[dict]:
        return logged(self.layout, self.marker, least, path)

    def workers(self, rows: list[dict] | None = None) -> set[str]:
        return workers_of(self.rows() if rows is None else rows)

    def close(self) -> list[dict]:
        """Close the browser context; returns its access-log entries, the websocket's (logged
        when it closes) included."""
        self.ctx.close()
        return self.rows(path="/_stcore/stream")


def assert_security_headers(response) -> None:
    """The headers of a page served through the proxy: each once, the app's policy strict for
    scripts, no HSTS over plain http."""
    arr = response.headers_array()
    values = {}
    for h in arr:
        values.setdefault(h["name"].lower(), []).append(h["value"])
    (csp,) = values["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"] and directives["form-action"] == ["'self'"]
    script = directives["script-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert any(s.startswith("'sha256-") for s in script)
    # the websocket: 'self', and for older WebKit ws:// and wss:// of this host only
    connect = directives["connect-src"]
    assert connect[0] == "'self'" and connect[1:] == ["ws://127.0.0.1", "wss://127.0.0.1"]
    assert values["x-frame-options"] == ["DENY"]
    assert values["x-content-type-options"] == ["nosniff"]
    assert values["referrer-policy"] == ["strict-origin-when-cross-origin"]
    assert "strict-transport-security" not in values  # plain http: HSTS is for the TLS end


def test_two_workers_behind_nginx_deep_link_switch_download(layout, browser, tmp_path):
    url, (w0, w1) = layout["url"], layout["workers"]
    deep = f"{url}/human_capital?gemeente=GM0362&indicator=werkloosheid_pct"

    # --- a fresh browser: nginx gives it an affinity cookie, and from then on one worker
    a = Session(browser, layout)
    a.open(deep)
    assert a.page.locator("h1").first.inner_text() == "Human Capital"
    # the key figures (Streamlit loads the metric's code when the first one arrives)
    a.page.get_by_text("Amstelveen, 2023", exact=True).wait_for(timeout=10_000)
    assert a.page.evaluate("document.documentElement.lang") == "nl"
    cookies = {c["name"]: c["value"] for c in a.ctx.cookies()}
    assert "regio_worker" in cookies, "nginx did not set the affinity cookie"
    # only the very first request (the page, sent before the cookie existed) was hashed on
    # address + user agent; everything after it carried the cookie and reached one worker
    rows = a.rows()
    assert [r["path"] for r in rows if r["affinity"] == "address"] == [deep[len(url):]], rows
    seen = a.workers(rows)
    assert len(seen) == 1, f"one browser reached several workers: {rows}"
    (worker_a,) = seen
    assert worker_a in (w0, w1)
    assert a.ws_urls and all("/_stcore/stream" in u for u in a.ws_urls)
    assert a.frames > 0, "no websocket frames came through the proxy"
    # the page as served through nginx: the security headers, no worker named anywhere
    assert_security_headers(a.documents[0])
    for headers in a.headers:
        names_no_worker(layout, headers)
    assert not a.csp_violations(), a.csp_violations()

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
    rows = a.rows(path="/media/")
    # every file from the session's memory (the download, media of the page) from its worker
    assert {worker_of(r) for r in rows if "/media/" in r["path"]} == {worker_a}, rows
    assert a.workers(rows) == {worker_a}, rows
    assert not a.errors, a.errors
    assert not a.csp_violations(), a.csp_violations()

    # --- a second browser whose cookie hashes to the other worker: sessions spread out
    other = w1 if worker_a == w0 else w0
    b = Session(browser, layout, cookie_for(layout, other))
    b.open(f"{url}/ruimtelijke_economie?gemeente=GM0344")
    assert b.workers() == {other}, b.rows()
    assert b.frames > 0
    # static assets: served from nginx's cache for the second browser
    assert "HIT" in b.cache, b.cache
    assert not b.errors, b.errors
    assert not b.csp_violations(), b.csp_violations()
    # closed: the websockets are logged too; each session stayed on its worker to the end
    rows_a, rows_b = a.close(), b.close()
    for rows, worker in ((rows_a, worker_a), (rows_b, other)):
        (ws,) = [r for r in rows if r["path"] == "/_stcore/stream"]
        assert ws["status"] == "101" and worker_of(ws) == worker, ws
        assert workers_of(rows) == {worker}, rows
    assert all(r["affinity"] == "cookie" for r in rows_b), rows_b

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
    assert status == 200
    names_no_worker(layout, headers)
    status, headers = get(f"{url}{PROBE}", agent="regio-proxy-test/no-cookie")
    assert status == 200 and "regio_worker=" in headers["Set-Cookie"]
    names_no_worker(layout, headers)
    (row,) = logged(layout, "regio-proxy-test/no-cookie")
    assert worker_of(row) in (w0, w1) and row["affinity"] == "address"
    # the same cookie always reaches the same worker
    value = cookie_for(layout, w1)
    for _ in range(5):
        get(f"{url}{PROBE}", value, agent=f"regio-proxy-test/again-{value}")
    rows = logged(layout, f"again-{value}", least=5)
    assert len(rows) == 5 and {worker_of(r) for r in rows} == {w1}, rows


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


@pytest.mark.skipif(not AXE_JS.exists(),
                    reason=f"{AXE_JS} missing: run `npm ci` in the repository (make test does)")
def test_pages_through_the_proxy_draw_under_the_policy_and_pass_axe(layout, browser):
    """The Content-Security-Policy as served through nginx lets every kind of page draw: the
    server-drawn SVG charts (map, series), the plotly charts, the trend lines (data: URI
    images); no violation is reported, and axe finds no serious or critical problem."""
    url = layout["url"]
    s = Session(browser, layout)
    pages = [
        ("human_capital?gemeente=GM0362&indicator=werkloosheid_pct",
         "() => document.querySelectorAll('.regio-svg svg').length >= 2", True),
        ("vergelijken?gemeente=GM0344", PLOTLY_DRAWN, True),
        ("?gemeente=GM0344", "() => document.querySelectorAll('img[src^=\"data:\"]').length >= 1",
         False),
    ]
    for path, drawn, axe in pages:
        s.open(f"{url}/{path}", drawn)
        s.page.wait_for_timeout(500)  # anything the charts do after drawing
        assert_security_headers(s.documents[-1])
        assert not s.csp_violations(), (path, s.csp_violations())
        if axe:
            found = blocking(run_axe(s.page))
            assert not found, describe(path, found)
    assert not s.errors, s.errors
    s.close()


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
