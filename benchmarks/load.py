"""Load benchmark of issue 13: a meeting opens the dashboard at once. Prints figures (not a test).

For each serving layout (a bare Streamlit page with one Plotly chart as the baseline; the
dashboard with 1 worker; the dashboard with 2 workers behind nginx, started with the product's
``scripts/serve.sh``), measured in one run:

* sequential views: server CPU per page view and time from opening the link to the charts
  received (the same for the bare page, so the ratios come from one run);
* N concurrent sessions (default 10, 20, 50), each a deep link to a kernthema page plus three
  gemeente switches: time to charts p50/p95, switch p50/p95, errors, sessions that got their
  charts, server CPU per view, server RSS before, at the peak and after the sessions closed (+ a
  wait);
* with ``--browser`` (default when /usr/bin/chromium and Playwright are there): one real
  browser, deep link -> charts *drawn* against the bare page, and gemeente switch -> charts
  drawn, p50 (benchmarks/dashboard.py's measurement).

The sessions are simulated by a client that speaks Streamlit's own websocket protocol (the
``streamlit.proto`` messages a browser sends: a ``rerun_script`` BackMsg with the page and the
query string; a gemeente switch is a ``rerun_script`` with the selectbox's new widget state) and
first fetches every static file a real browser fetches for that page (recorded once with
Chromium, else taken from index.html), so the server does the same work as for a browser. It
does not draw the charts: 50 Chromiums on 2 cores would measure the browsers, not the server.
The browser measurement above covers drawing.

Bounded: every session has a timeout, the whole run has ``--max-seconds``; loopback only.

    .venv/bin/python benchmarks/load.py --data-dir /tmp/regio-bench-data      # full (~10 min)
    .venv/bin/python benchmarks/load.py --data-dir DIR --quick                # smoke (~1 min)

Make the snapshot first with ``scripts/mirror-snapshot.sh /tmp/regio-bench-data``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines import snapshot  # noqa: E402

BARE = """
import plotly.express as px
import streamlit as st

st.title("Kale pagina")
st.plotly_chart(px.line(x=list(range(2013, 2025)), y=[4.1, 4.3, 4.0, 3.9, 3.5, 3.2, 3.0, 3.4,
                                                       3.6, 3.5, 3.6, 3.8]))
"""
PAGE = "human_capital"
INDICATOR = "werkloosheid_pct"
# deep links and switches go to many different gemeenten (no help from a warm per-gemeente cache)
GEMEENTEN = ["GM0363", "GM0344", "GM0014", "GM0935", "GM0772", "GM0080", "GM0153", "GM0202",
             "GM0518", "GM0599", "GM0034", "GM0758", "GM0193", "GM0200", "GM0796", "GM0855",
             "GM0268", "GM0150", "GM0503", "GM0917", "GM0439", "GM0479", "GM0361", "GM0307",
             "GM0394", "GM0402", "GM0637", "GM0664", "GM0717", "GM0777", "GM0820", "GM0828"]
TICK = os.sysconf("SC_CLK_TCK")
# what a desktop browser sends with the websocket upgrade (every browser sends one): the
# dashboard draws the one ranking table for the device at hand (components.device); without it
# it sends both, the phone's and the desktop's, and lets CSS choose
BROWSER_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0 Safari/537.36")
CHROMIUM = "/usr/bin/chromium"


# --------------------------------------------------------------------------- server side

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}) before {url} was healthy")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} not healthy within {timeout} s")


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen
    page: str  # url path of the page the sessions open ('' = main page)
    charts: int  # plotly charts a view draws
    params: dict[str, str]
    switches: bool

    def pids(self) -> list[int]:
        """The server's processes: the Streamlit workers and nginx (not the launcher)."""
        out = []
        for pid in _descendants(self.proc.pid) | {self.proc.pid}:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"streamlit" in cmd or b"nginx" in cmd:
                out.append(pid)
        return out

    def cpu(self) -> float:
        """CPU seconds (user + system) of the server processes so far."""
        total = 0.0
        for pid in self.pids():
            try:
                f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(f[11]) + int(f[12])) / TICK
        return total

    def rss_mb(self) -> float:
        """RSS of the Streamlit workers (nginx's few MB not counted), MB."""
        total = 0.0
        for pid in self.pids():
            try:
                if b"nginx" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
            except OSError:
                continue
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def start_streamlit(name: str, script: Path, data_dir: Path, log: Path, **kw) -> Server:
    port = free_port()
    env = {**os.environ, "REGIO_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    return Server(name, url, proc, **kw)


def start_proxied(workers: int, data_dir: Path, log: Path, **kw) -> Server:
    """The product's multi-worker layout (scripts/serve.sh: N workers behind nginx)."""
    port, base = free_port(), free_port()
    while base + workers > 65535 or abs(base - port) <= workers:
        base = free_port()
    env = {**os.environ, "REGIO_DATA_DIR": str(data_dir), "WORKERS": str(workers),
           "PORT": str(port), "HOST": "127.0.0.1", "BASE_PORT": str(base)}
    proc = subprocess.Popen([str(REPO / "scripts" / "serve.sh")], cwd=REPO, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, timeout=240)
    return Server(f"dashboard, {workers} workers behind nginx", url, proc, **kw)


# --------------------------------------------------------------------------- client side

STATIC = re.compile(r'(?:src|href)="(\./)?(static/[^"]+)"')


def static_paths(url: str, page: str, params: dict[str, str], use_browser: bool) -> list[str]:
    """The same-origin files a browser fetches for a deep link (recorded with Chromium once),
    or, without a browser, the scripts and styles named in index.html."""
    if use_browser:
        try:
            from playwright.sync_api import sync_playwright

            seen: list[str] = []
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=["--no-sandbox", "--disable-gpu"])
                pg = b.new_page()
                # what the server answered with 200 (not the session's own /media/ files)
                pg.on("response", lambda r: seen.append(r.url) if r.status == 200 and
                      "/media/" not in r.url else None)
                pg.goto(f"{url}/{page}?{urllib.parse.urlencode(params)}")
                pg.wait_for_function(DRAWN_ANY, timeout=120_000)
                b.close()
            paths = []
            for u in seen:
                parsed = urllib.parse.urlparse(u)
                if (u.startswith(url) and "/_stcore/stream" not in u
                        and parsed.path not in paths):
                    paths.append(parsed.path + (f"?{parsed.query}" if parsed.query else ""))
            return paths
        except Exception as exc:  # noqa: BLE001 - fall back, and say so
            print(f"  (could not record the static files with Chromium: {exc}; using index.html)")
    with urllib.request.urlopen(f"{url}/{page}") as r:
        html = r.read().decode()
    return [f"/{page}", "/_stcore/health", "/_stcore/host-config"] + \
        [f"/{m.group(2)}" for m in STATIC.finditer(html)]


DRAWN_ANY = """() => {
  if (!document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]'))
    return false;
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  const svgs = document.querySelectorAll('.regio-svg svg').length;
  const metrics = document.querySelectorAll('[data-testid="stMetricValue"]').length;
  if (plots.length + svgs === 0 || !plots.every(p => p._fullLayout)) return false;
  return svgs === 0 || metrics > 0;  // a kernthema page: its key figures drawn as well
}"""


BROWSER_CONNECTIONS = 6  # per host, as browsers do over HTTP/1.1


async def fetch_all(base: str, paths: list[str], cookie: str | None = None,
                    connections: int = BROWSER_CONNECTIONS) -> str | None:
    """GET ``paths`` like a browser: keep-alive HTTP/1.1 over at most ``connections``
    connections, gzip accepted, ``cookie`` sent. Returns the proxy's affinity cookie when a
    response set one. (asyncio streams: 50 visitors x 6 connections without 300 threads.)"""
    u = urllib.parse.urlparse(base)
    found: list[str] = []

    async def worker(part: list[str]) -> None:
        reader, writer = await asyncio.open_connection(u.hostname, u.port)
        try:
            for path in part:
                head = (f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nUser-Agent: regio-load/1"
                        "\r\nAccept-Encoding: gzip, br\r\nConnection: keep-alive\r\n"
                        + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n")
                writer.write(head.encode())
                await writer.drain()
                status = int((await reader.readline()).split()[1])
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    k, _, v = line.decode("latin-1").partition(":")
                    k, v = k.strip().lower(), v.strip()
                    if k == "set-cookie" and v.startswith("regio_worker="):
                        found.append(v.split(";", 1)[0])
                    headers[k] = v
                if "content-length" in headers:
                    await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding", "").lower() == "chunked":
                    while size := int((await reader.readline()).split(b";")[0], 16):
                        await reader.readexactly(size + 2)
                    await reader.readline()
                if status >= 400:
                    raise RuntimeError(f"HTTP {status} for {path}")
                if headers.get("connection", "").lower() == "close":
                    writer.close()
                    reader, writer = await asyncio.open_connection(u.hostname, u.port)
        finally:
            writer.close()

    parts = [paths[k::connections] for k in range(connections)]
    await asyncio.gather(*[worker(p) for p in parts if p])
    return found[0] if found else None


@dataclass
class Result:
    ok: bool = False
    error: str = ""
    open_s: float | None = None  # link opened -> every chart of the page received
    switch_s: list[float] = field(default_factory=list)
    views: int = 0


class Barrier:
    """Sessions stay open (like people keeping the page open in a meeting) until every session
    has done its views; a failed session only arrives."""

    def __init__(self, n: int):
        self.n, self.count, self.event = n, 0, asyncio.Event()

    def arrive(self) -> None:
        self.count += 1
        if self.count >= self.n:
            self.event.set()

    async def arrive_and_wait(self) -> None:
        self.arrive()
        await self.event.wait()


async def session(srv: Server, gemeenten: list[str], statics: list[str], timeout: float,
                  switches: int, think: float, names: dict[str, str],
                  barrier: Barrier | None = None) -> Result:
    """One visitor: static files, websocket, the deep link's script run, then ``switches``
    gemeente switches, each waited for until its charts arrived."""
    res = Result()
    arrived = False
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            # like a browser: the page first; behind nginx it sets the affinity cookie that
            # every later request and the websocket carry (sticky sessions, deploy/nginx)
            cookie = None
            if statics:
                cookie = await fetch_all(srv.url, statics[:1], connections=1)
            # without the page fetch (--no-static): a random value, as nginx would have set
            cookie = cookie or f"regio_worker={uuid.uuid4().hex}"
            await fetch_all(srv.url, statics[1:], cookie)
            ws_url = srv.url.replace("http://", "ws://") + "/_stcore/stream"
            async with connect(ws_url, subprotocols=["streamlit"], origin=srv.url,
                               max_size=None, open_timeout=timeout,
                               additional_headers={"Cookie": cookie,
                                                   "User-Agent": BROWSER_UA}) as ws:
                params = {**srv.params, "gemeente": gemeenten[0]} if srv.switches else srv.params
                state = {"qs": urllib.parse.urlencode(params), "hash": "", "gemeente_id": None,
                         "names": names}
                await rerun(ws, srv, state)
                await until_drawn(ws, srv, state)
                res.open_s = time.perf_counter() - t0
                res.views = 1
                for g in gemeenten[1:switches + 1]:
                    await asyncio.sleep(think)
                    t1 = time.perf_counter()
                    await rerun(ws, srv, state, gemeente=g)
                    await until_drawn(ws, srv, state)
                    res.switch_s.append(time.perf_counter() - t1)
                    res.views += 1
                if barrier is not None:
                    arrived = True
                    await barrier.arrive_and_wait()
        res.ok = True
    except TimeoutError:
        res.error = "timeout"
    except Exception as exc:  # noqa: BLE001 - counted and reported
        res.error = f"{type(exc).__name__}: {exc}"[:200]
    finally:
        if barrier is not None and not arrived:
            barrier.arrive()
    return res


async def rerun(ws, srv: Server, state: dict, gemeente: str | None = None) -> None:
    msg = BackMsg()
    cs = msg.rerun_script
    cs.query_string = state["qs"]
    cs.page_name = srv.page
    cs.page_script_hash = state["hash"]
    cs.context_info.timezone = "Europe/Amsterdam"
    cs.context_info.locale = "nl-NL"
    cs.context_info.url = f"{srv.url}/{srv.page}?{state['qs']}"
    if gemeente is not None:
        if not state["gemeente_id"]:
            raise RuntimeError("no gemeente selectbox on the page")
        w = cs.widget_states.widgets.add()
        w.id = state["gemeente_id"]
        w.string_value = state["names"][gemeente]
    await ws.send(msg.SerializeToString())


async def until_drawn(ws, srv: Server, state: dict) -> None:
    """Read ForwardMsgs until the script run finished; it must have sent every chart."""
    charts = 0
    while True:
        fm = ForwardMsg()
        fm.ParseFromString(await ws.recv())
        kind = fm.WhichOneof("type")
        if kind == "navigation":  # the page now shown: the browser reruns that page
            state["hash"] = fm.navigation.page_script_hash
        elif kind == "page_info_changed":
            state["qs"] = fm.page_info_changed.query_string
        elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
            el = fm.delta.new_element
            t = el.WhichOneof("type")
            if t == "plotly_chart" or (t == "html" and "regio-svg" in el.html.body):
                charts += 1  # a plotly chart, or an SVG chart (dashboard/svgmap.py, svgseries.py)
            elif t == "exception":
                raise RuntimeError(f"exception on the page: {el.exception.message[:100]}")
            elif t == "selectbox" and el.selectbox.label == "Gemeente":
                state["gemeente_id"] = el.selectbox.id
        elif kind == "script_finished":
            if fm.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue
            if charts < srv.charts:
                raise RuntimeError(f"{charts} of {srv.charts} charts")
            return


def gemeente_names(data_dir: Path) -> dict[str, str]:
    from dashboard.ui.data import build

    d = build(snapshot.load_snapshot(data_dir))
    return dict(d.names)


# --------------------------------------------------------------------------- measurements

def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def sequential(srv: Server, statics: list[str], n: int, names: dict, timeout: float,
               gemeenten: list[str]) -> dict:
    """``n`` visitors one after another (deep link only, to ``gemeenten`` in turn): CPU per
    view and time to charts."""
    c0 = srv.cpu()
    times, errors = [], 0
    for i in range(n):
        g = gemeenten[i % len(gemeenten)]
        r = asyncio.run(run_sessions(srv, [[g]], statics, timeout, 0, 0, names))[0]
        if r.ok:
            times.append(r.open_s)
        else:
            errors += 1
    time.sleep(0.5)  # let the server finish the session's bookkeeping
    return {"cpu": (srv.cpu() - c0) / n, "open_p50": pct(times, .5), "errors": errors}


async def run_sessions(srv: Server, plans: list[list[str]], statics: list[str], timeout: float,
                       switches: int, think: float, names: dict, ramp: float = 0.0,
                       hold: bool = False) -> list[Result]:
    barrier = Barrier(len(plans)) if hold else None

    async def one(i: int, plan: list[str]) -> Result:
        await asyncio.sleep(ramp * i / max(1, len(plans)))
        return await session(srv, plan, statics, timeout, switches, think, names, barrier)

    return list(await asyncio.gather(*[one(i, p) for i, p in enumerate(plans)]))


def concurrent(srv: Server, statics: list[str], n: int, names: dict, args) -> dict:
    plans = [[GEMEENTEN[(i * 4 + k) % len(GEMEENTEN)] for k in range(4)] for i in range(n)]
    rss0, c0 = srv.rss_mb(), srv.cpu()
    peak = [rss0]
    stop = False

    async def sample() -> None:
        while not stop:
            peak.append(srv.rss_mb())
            await asyncio.sleep(0.5)

    async def main() -> list[Result]:
        nonlocal stop
        sampler = asyncio.create_task(sample())
        try:
            return await run_sessions(srv, plans, statics, args.session_timeout,
                                      3 if srv.switches else 0, args.think, names,
                                      ramp=args.ramp, hold=True)
        finally:
            stop = True
            await sampler

    t0 = time.perf_counter()
    results = asyncio.run(main())
    wall = time.perf_counter() - t0
    cpu = srv.cpu() - c0
    time.sleep(args.settle)
    after = srv.rss_mb()
    views = sum(r.views for r in results)
    opened = [r.open_s for r in results if r.open_s is not None]
    sw = [s for r in results for s in r.switch_s]
    errs = [r.error for r in results if not r.ok]
    return {"n": n, "wall": wall, "open_p50": pct(opened, .5), "open_p95": pct(opened, .95),
            "switch_p50": pct(sw, .5), "switch_p95": pct(sw, .95), "errors": len(errs),
            "error_kinds": sorted(set(errs))[:3], "drawn": len(opened),
            "cpu_per_view": cpu / max(1, views), "views": views, "rss0": rss0,
            "rss_peak": max(peak), "rss_after": after}


def browser_checks(app: Server, bare: Server, repeats: int) -> dict | None:
    """One real browser: deep link -> charts drawn vs the bare page; switch p50 (drawn)."""
    if not (Path(CHROMIUM).exists()):
        return None
    import importlib.util

    spec = importlib.util.spec_from_file_location("dash_bench", REPO / "benchmarks" /
                                                  "dashboard.py")
    db = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(db)
    from playwright.sync_api import sync_playwright

    deep = f"{app.url}/{app.page}?{urllib.parse.urlencode({**app.params, 'gemeente': 'GM0363'})}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=db.ARGS)
        full = {"n": 2, "m": 3}  # map + series, and the key figures (3 or 4 cards)
        db.load_time(browser, deep, full)
        db.load_time(browser, bare.url, 1)
        d, b = [], []
        for _ in range(repeats):
            d.append(db.load_time(browser, deep, full))
            b.append(db.load_time(browser, bare.url, 1))
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        page = ctx.new_page()
        page.goto(deep)
        page.wait_for_function(db.DRAWN, arg=2, timeout=60_000)
        # a switch is timed in the page, from the user's click on the option to the moment the
        # script run finished with the new gemeente on screen and every chart drawn (Playwright's
        # own waits before its click, for the option to stand still, are not the user's time)
        page.evaluate(SWITCH_CLOCK)
        sw = []
        for name in db.GEMEENTEN[1:1 + max(5, repeats)]:
            page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
            page.keyboard.type(name)
            option = page.get_by_role("option", name=name, exact=True)
            option.wait_for()
            page.evaluate("window.__clicked = null")
            option.click()
            ms = page.wait_for_function(SWITCHED, arg=name, timeout=30_000, polling="raf")
            sw.append(ms.json_value() / 1000)
        ctx.close()
        browser.close()
    return {"deep": statistics.median(d), "bare": statistics.median(b),
            "switch_p50": pct(sw, .5), "switch_p95": pct(sw, .95), "switches": len(sw)}


SWITCH_CLOCK = """() => document.addEventListener('click',
  () => { window.__clicked = performance.now(); }, true)"""
# ms from the click until the new gemeente's figures are shown, the run finished and all drawn
SWITCHED = """(n) => {
  if (window.__clicked == null) return false;
  if (![...document.querySelectorAll('[data-testid="stMetric"]')]
        .some(m => m.innerText.startsWith(n + ','))) return false;
  if (!document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]'))
    return false;
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  if (!plots.every(p => p._fullLayout)) return false;
  const map = document.querySelector('.regio-kaart svg');
  if (!map || !map.querySelector('path[stroke="#e4002b"] title')?.textContent.startsWith(n))
    return false;
  return performance.now() - window.__clicked;
}"""


# --------------------------------------------------------------------------- report

def verdict(ok: bool) -> str:
    return "ok" if ok else "NOT MET"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--sessions", default="10,20,50", help="concurrent sessions per step")
    ap.add_argument("--workers", default="1,2", help="dashboard layouts: 1 = one Streamlit "
                    "process, N>1 = N workers behind nginx (scripts/serve.sh)")
    ap.add_argument("--sequential", type=int, default=8, help="sequential views per layout")
    ap.add_argument("--session-timeout", type=float, default=240)
    ap.add_argument("--think", type=float, default=0.5, help="seconds between switches")
    ap.add_argument("--ramp", type=float, default=5.0,
                    help="sessions start spread over this many seconds")
    ap.add_argument("--settle", type=float, default=15.0,
                    help="seconds after the sessions closed before RSS is read again")
    ap.add_argument("--ttl-wait", type=float, default=135.0,
                    help="after the last step, wait this long (Streamlit's default "
                    "server.disconnectedSessionTTL is 120 s) and read RSS again; 0 = skip")
    ap.add_argument("--max-seconds", type=float, default=1800, help="bound of the whole run")
    ap.add_argument("--browser", action=argparse.BooleanOptionalAction, default=None,
                    help="real-browser checks and static-file recording (default: when "
                    "Chromium is installed)")
    ap.add_argument("--static", action=argparse.BooleanOptionalAction, default=True,
                    help="each session first fetches the static files a browser fetches "
                    "(--no-static: websocket and script runs only)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 3 sessions, 1 worker, 3 sequential views, no browser")
    args = ap.parse_args()
    if args.quick:
        args.sessions, args.workers, args.sequential = "3", "1", 3
        args.settle, args.ramp, args.ttl_wait = 2.0, 0.5, 0.0
        args.browser = False if args.browser is None else args.browser
        args.max_seconds = min(args.max_seconds, 300)
    if args.browser is None:
        args.browser = Path(CHROMIUM).exists()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(
        SystemExit(f"load benchmark exceeded --max-seconds {args.max_seconds:.0f}")))
    signal.alarm(int(args.max_seconds))

    data_dir = args.data_dir.resolve()
    sid = snapshot.current_id(data_dir)
    if not sid:
        raise SystemExit(f"no published snapshot in {data_dir}; see the docstring")
    names = gemeente_names(data_dir)
    tmp = Path(tempfile.mkdtemp(prefix="load-bench-"))
    bare_script = tmp / "bare.py"
    bare_script.write_text(BARE)
    sizes = [int(x) for x in args.sessions.split(",") if x]
    layouts = [int(x) for x in args.workers.split(",") if x]
    app_kw = {"page": PAGE, "charts": 2, "params": {"indicator": INDICATOR}, "switches": True}
    t_start = time.perf_counter()
    load0 = os.getloadavg()
    print(f"snapshot {sid}; {os.cpu_count()} cores; load average at start "
          f"{load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f} (other work on the machine "
          "shares the cores: take the ratios, not the absolute times)")
    servers: list[Server] = []
    rows: dict[str, dict] = {}
    failed = 0
    try:
        bare = start_streamlit("bare Streamlit + 1 Plotly chart", bare_script, data_dir,
                               tmp / "bare.log", page="", charts=1, params={}, switches=False)
        servers.append(bare)
        # the production entry point (serve.py: the Dutch page shell, also in scripts/serve.sh)
        one = start_streamlit("dashboard, 1 worker", REPO / "dashboard" / "serve.py", data_dir,
                              tmp / "app.log", **app_kw)
        servers.append(one)
        deep_params = {**app_kw["params"], "gemeente": GEMEENTEN[0]}
        statics = {
            "bare": static_paths(bare.url, "", {}, args.browser),
            "app": static_paths(one.url, PAGE, deep_params, args.browser),
        }
        if not args.static:
            statics = {"bare": [], "app": []}
        print(f"static files per visit: bare page {len(statics['bare'])}, dashboard "
              f"{len(statics['app'])} (recorded {'with Chromium' if args.browser else 'from index.html'})")
        # warm-up: the first view of a process loads the snapshot
        for srv, st_ in ((bare, statics["bare"]), (one, statics["app"])):
            asyncio.run(run_sessions(srv, [[GEMEENTEN[0]]], st_, args.session_timeout, 0, 0,
                                     names))
        print(f"\n== sequential views ({args.sequential} visitors one after another, deep link "
              "only; each a new session) ==")
        # interleaved, so both see the same machine load: with the static files (Streamlit
        # serves them: 1 worker without a proxy) and without (websocket + script runs only:
        # what a worker does when the proxy serves and caches the static files)
        # "new gemeente": every visitor a gemeente not shown before (its per-gemeente work is
        # done for it; the map and ranking are shared); "same link": everyone opens the link
        # that was shared (the meeting case: everything shared)
        half = max(1, args.sequential // 2)
        blocks = max(2, len(GEMEENTEN) // half)
        fresh = (1 + i % (blocks - 1) for i in range(10_000))
        seq: dict[str, list[dict]] = {k: [] for k in ("bare", "app", "same", "bare_ws",
                                                      "app_ws", "same_ws")}
        for _ in range(2):
            for key, srv, st_ in (("bare", bare, statics["bare"]), ("app", one, statics["app"]),
                                  ("same", one, statics["app"]), ("bare_ws", bare, []),
                                  ("app_ws", one, []), ("same_ws", one, [])):
                k = next(fresh) if key.startswith("app") else 0
                gms = GEMEENTEN[k * half:(k + 1) * half] if k else GEMEENTEN[:1]
                seq[key].append(sequential(srv, st_, half, names, args.session_timeout, gms))

        def merged(parts: list[dict]) -> dict:
            return {"cpu": statistics.mean(p["cpu"] for p in parts),
                    "open_p50": statistics.median(p["open_p50"] for p in parts),
                    "errors": sum(p["errors"] for p in parts)}

        seq_bare, seq_one, seq_same = merged(seq["bare"]), merged(seq["app"]), merged(seq["same"])
        ws_bare, ws_one, ws_same = (merged(seq["bare_ws"]), merged(seq["app_ws"]),
                                    merged(seq["same_ws"]))
        for name, r in (("bare page", seq_bare), ("kernthema, new gemeente", seq_one),
                        ("kernthema, same link", seq_same),
                        ("bare page, websocket only", ws_bare),
                        ("kernthema, new gemeente, ws only", ws_one),
                        ("kernthema, same link, ws only", ws_same)):
            print(f"  {name:33s} server CPU/view {r['cpu']:.3f} s; link -> charts received "
                  f"p50 {r['open_p50']:.2f} s; errors {r['errors']}")

        browser = browser_checks(one, bare, 5) if args.browser else None
        if browser:
            print(f"  real browser: deep link -> map + series drawn {browser['deep']:.2f} s, bare "
                  f"page drawn {browser['bare']:.2f} s (median of 5); gemeente switch -> drawn "
                  f"p50 {browser['switch_p50']:.2f} s, p95 {browser['switch_p95']:.2f} s "
                  f"({browser['switches']} switches)")

        for w in layouts:
            if w == 1:
                srv = one
            else:
                srv = start_proxied(w, data_dir, tmp / f"serve{w}.log", **app_kw)
                servers.append(srv)
                # every worker loads the snapshot before "start" is read: 8 visitors (their
                # random affinity cookies spread them like real visitors)
                asyncio.run(run_sessions(srv, [[g] for g in GEMEENTEN[:8]], statics["app"],
                                         args.session_timeout, 0, 0, names))
                # the production layout one visitor after another: nginx serves the static
                # files from its cache, the workers the websocket; CPU of workers and nginx
                time.sleep(1)
                px = sequential(srv, statics["app"], args.sequential, names,
                                args.session_timeout, GEMEENTEN[8:8 + args.sequential])
                rows[f"{w}:seq"] = px
                print(f"\n  {srv.name}, sequential views (new gemeente, static files from "
                      f"nginx's cache): server CPU/view {px['cpu']:.3f} s (workers + nginx); "
                      f"link -> charts received p50 {px['open_p50']:.2f} s; errors {px['errors']}")
            time.sleep(1)
            print(f"\n== {srv.name}: concurrent sessions (deep link + 3 gemeente switches, "
                  f"{args.think} s apart; start spread over {args.ramp:.0f} s) ==")
            print(f"  {'sessions':>8s} {'errors':>6s} {'charts':>7s} {'open p50':>8s} "
                  f"{'p95':>6s} {'switch p50':>10s} {'p95':>6s} {'CPU/view':>8s} "
                  f"{'RSS start':>9s} {'peak':>6s} {'after':>6s}  (MB; s)")
            base_rss = srv.rss_mb()
            for n in sizes:
                r = concurrent(srv, statics["app"], n, names, args)
                rows[f"{w}:{n}"] = {**r, "base_rss": base_rss}
                print(f"  {n:8d} {r['errors']:6d} {r['drawn']:4d}/{n:<2d} {r['open_p50']:8.2f} "
                      f"{r['open_p95']:6.2f} {r['switch_p50']:10.2f} {r['switch_p95']:6.2f} "
                      f"{r['cpu_per_view']:8.3f} {r['rss0']:9.0f} {r['rss_peak']:6.0f} "
                      f"{r['rss_after']:6.0f}"
                      + (f"  errors: {r['error_kinds']}" if r["errors"] else ""))
            after = srv.rss_mb()
            print(f"  RSS of the workers: {base_rss:.0f} MB after warm-up, {after:.0f} MB after "
                  f"all steps + {args.settle:.0f} s ({(after / base_rss - 1) * 100:+.0f}%)")
            if args.ttl_wait:  # Streamlit keeps a closed session for server.disconnectedSessionTTL
                time.sleep(args.ttl_wait)
                expired = srv.rss_mb()
                rows[f"{w}:expired"] = {"rss": expired, "base": base_rss}
                print(f"  ... and {expired:.0f} MB {args.ttl_wait:.0f} s later, when the closed "
                      f"sessions have expired ({(expired / base_rss - 1) * 100:+.0f}%)")

        # ------------------------------------------------------------------ targets
        print("\n== issue 13 targets (ratios from this run) ==")
        for label, a, b, how in (
                ("new gemeente", seq_one, seq_bare, "static files served by Streamlit"),
                ("same link", seq_same, seq_bare, "static files served by Streamlit"),
                ("new gemeente", ws_one, ws_bare, "websocket + script only (proxy serves "
                 "the static files)"),
                ("same link", ws_same, ws_bare, "websocket + script only")):
            ratio = a["cpu"] / b["cpu"]
            print(f"  server CPU per kernthema view / bare, {label:12s} {ratio:5.2f}x  (<= 1.2x) "
                  f"{verdict(ratio <= 1.2)}  ({how})")
        for w in layouts:
            if f"{w}:seq" in rows:
                ratio = rows[f"{w}:seq"]["cpu"] / seq_bare["cpu"]
                print(f"  server CPU per kernthema view / bare, {w} workers behind nginx "
                      f"{ratio:5.2f}x  (<= 1.2x) {verdict(ratio <= 1.2)}  (the production layout: "
                      "workers + nginx, static files from nginx's cache; bare: Streamlit alone)")
        open_ratio = seq_one["open_p50"] / seq_bare["open_p50"]
        print(f"  link -> charts received / bare (protocol)   {open_ratio:5.2f}x  (<= 1.3x) "
              f"{verdict(open_ratio <= 1.3)}")
        if browser:
            br = browser["deep"] / browser["bare"]
            print(f"  deep link -> charts drawn / bare (browser)  {br:5.2f}x  (<= 1.3x) "
                  f"{verdict(br <= 1.3)}")
            print(f"  gemeente switch p50 (browser, drawn)        {browser['switch_p50']:5.2f} s  "
                  f"(<= 0.3 s) {verdict(browser['switch_p50'] <= 0.3)}")
        sw = [rows[f"1:{n}"]["switch_p50"] for n in sizes if f"1:{n}" in rows]
        if sw:
            print(f"  gemeente switch p50 (protocol, 1 worker, {sizes[0]} sessions) {sw[0]:5.2f} s "
                  f" (<= 0.3 s) {verdict(sw[0] <= 0.3)}")
        for w in layouts:
            key = f"{w}:{max(sizes)}"
            if key not in rows:
                continue
            r = rows[key]
            # "start": the workers after warm-up (snapshot loaded), before the first step
            start = r["base_rss"]
            end = rows.get(f"{w}:expired", {}).get("rss", r["rss_after"])
            mem = end / start - 1
            ok = r["errors"] == 0 and r["drawn"] == r["n"] and mem <= 0.2
            print(f"  {r['n']} sessions, {w} worker(s): {r['errors']} errors, {r['drawn']}/{r['n']} "
                  f"drew their charts; RSS {start:.0f} MB at the start, peak {r['rss_peak']:.0f}, "
                  f"{end:.0f} after the sessions closed"
                  + (" and expired" if f"{w}:expired" in rows else "")
                  + f" ({mem * 100:+.0f}%)  (0 errors, all, <= +20%) {verdict(ok)}")
        load1 = os.getloadavg()
        print(f"\nrun took {time.perf_counter() - t_start:.0f} s; load average at the end "
              f"{load1[0]:.1f} / {load1[1]:.1f} / {load1[2]:.1f}")
        # the exit code says whether every session worked (the timing targets depend on the
        # machine and are only printed): a smoke run in CI fails on errors, not on slowness
        failed = sum(p["errors"] for parts in seq.values() for p in parts) + sum(
            r["errors"] + r.get("n", 0) - r.get("drawn", 0) for r in rows.values()
            if "errors" in r)
    finally:
        signal.alarm(0)
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        raise SystemExit(f"{failed} sessions or views failed")


if __name__ == "__main__":
    main()
