"""Dashboard benchmark: prints figures (not a timed test).

Measured in one run against a real-data snapshot:
  (a) deep link -> all charts drawn, as a ratio to a bare Streamlit page with one Plotly line
      chart measured in the same run (target <= 2x);
  (b) switching gemeente -> updated charts, p50 (target <= 1 s);
  (c) server memory (RSS) with 1 and with N concurrent browser sessions (target growth
      <= 10 MB per extra session), and whether every session rendered without errors;
  (d) map payload per page view (websocket bytes of a thema page view, and the map figure JSON).

Make the real-data snapshot first (a few seconds; it builds the development mirror from
../shared/cbs and refreshes from it through the stand-in):
  scripts/mirror-snapshot.sh /tmp/dash-data
Then:
  .venv/bin/python benchmarks/dashboard.py --data-dir /tmp/dash-data \
      [--geojson ../shared/cbs/geo/gemeente_2025.geojson]
``--geojson`` is only used when the snapshot has no gemeenten.geojson yet: the snapshot is then
copied to a temporary data folder with the boundaries added (the given folder is not changed).
Needs /usr/bin/chromium and the playwright package.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines import snapshot  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
BARE = """
import plotly.express as px
import streamlit as st

st.title("Kale pagina")
st.plotly_chart(px.line(x=list(range(2013, 2025)), y=[4.1, 4.3, 4.0, 3.9, 3.5, 3.2, 3.0, 3.4,
                                                       3.6, 3.5, 3.6, 3.8]))
"""
# n charts drawn: every plotly plot with its traces (svg) or canvas, plus the map, which the
# dashboard draws as inline SVGs (dashboard/svgmap.py, svgseries.py)
# arg: the number of charts, or {n: charts, m: metrics} (a page is drawn when its key figures
# are shown too: Streamlit loads each kind of element's code when the first one arrives)
DRAWN = """(a) => {
  const n = a.n ?? a, m = a.m ?? 0;
  if (!document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]'))
    return false;
  if (document.querySelectorAll('[data-testid="stMetricValue"]').length < m) return false;
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  if (!plots.every(p => p._fullLayout && (p.querySelector('canvas') ||
                                          p.querySelector('.scatterlayer .trace, .barlayer'))))
    return false;
  const maps = [...document.querySelectorAll('.regio-svg svg')]
    .filter(m => m.querySelector('path, polyline, circle')).length;
  return plots.length + maps >= n;
}"""
GEMEENTEN = ["Utrecht", "Zwolle", "Groningen", "Maastricht", "Eindhoven", "Leeuwarden",
             "Tilburg", "Almere", "Vlissingen", "Enschede", "Delft", "Heerlen",
             "Apeldoorn"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(script: Path, data_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "REGIO_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{script} did not start; see {log}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def prepare_data(data_dir: Path, geojson: Path | None, tmp: Path) -> Path:
    sid = snapshot.current_id(data_dir)
    if not sid:
        raise SystemExit(f"no published snapshot in {data_dir}; see the docstring")
    snap = data_dir / "snapshots" / sid
    if (snap / "gemeenten.geojson").exists() or geojson is None:
        return data_dir
    copy = tmp / "data"
    shutil.copytree(snap, copy / "snapshots" / sid)
    shutil.copy(geojson, copy / "snapshots" / sid / "gemeenten.geojson")
    os.symlink(Path("snapshots") / sid, copy / "current")
    if (data_dir / "runs.jsonl").exists():
        shutil.copy(data_dir / "runs.jsonl", copy / "runs.jsonl")
    return copy


def load_time(browser, url: str, plots: int | dict) -> float:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(DRAWN, arg=plots, timeout=60_000, polling=20)
    dt = time.perf_counter() - t0
    ctx.close()
    return dt


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--geojson", type=Path,
                    default=REPO.parent / "shared" / "cbs" / "geo" / "gemeente_2025.geojson")
    ap.add_argument("--gemeente", default="GM0363")
    ap.add_argument("--indicator", default="werkloosheid_pct")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--sessions", type=int, default=20)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="dash-bench-"))
    geo = args.geojson if args.geojson and args.geojson.exists() else None
    data_dir = prepare_data(args.data_dir.resolve(), geo, tmp)
    bare_script = tmp / "bare.py"
    bare_script.write_text(BARE)
    app, app_url = serve(REPO / "dashboard" / "app.py", data_dir, tmp / "app.log")
    bare, bare_url = serve(bare_script, data_dir, tmp / "bare.log")
    deep = (f"{app_url}/human_capital?gemeente={args.gemeente}&indicator={args.indicator}")
    print(f"snapshot {snapshot.current_id(data_dir)} in {data_dir}")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            load_time(browser, deep, 2)  # warm-up: first load of the snapshot into the cache
            load_time(browser, bare_url, 1)
            dash_t, bare_t = [], []
            for _ in range(args.repeats):  # interleaved, so both see the same machine load
                dash_t.append(load_time(browser, deep, 2))
                bare_t.append(load_time(browser, bare_url, 1))
            d50, b50 = statistics.median(dash_t), statistics.median(bare_t)
            print(f"(a) deep link -> map + series drawn: median {d50:.2f} s; bare page with one "
                  f"plotly line chart: median {b50:.2f} s; ratio {d50 / b50:.2f}x (target <= 2x)")

            # (b) switching gemeente on the thema page
            ctx = browser.new_context(viewport={"width": 1400, "height": 900})
            page = ctx.new_page()
            page.goto(deep)
            page.wait_for_function(DRAWN, arg=2, timeout=60_000)
            switch_t = []
            for name in GEMEENTEN:
                page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
                page.keyboard.type(name)
                option = page.get_by_role("option", name=name, exact=True)
                option.wait_for()
                t0 = time.perf_counter()  # the switch starts with the click on the option
                option.click()
                page.wait_for_function(
                    "(n) => [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
                    ".some(m => m.innerText.startsWith(n + ','))", arg=name, timeout=30_000,
                    polling=20)
                page.wait_for_function(DRAWN, arg=2, timeout=30_000, polling=20)
                switch_t.append(time.perf_counter() - t0)
            ctx.close()
            print(f"(b) switch gemeente -> updated charts: p50 {pct(switch_t, .5):.2f} s, "
                  f"p90 {pct(switch_t, .9):.2f} s, max {max(switch_t):.2f} s over "
                  f"{len(switch_t)} switches (target p50 <= 1 s)")

            # (c) memory with 1 and with N concurrent sessions
            ctxs = []
            time.sleep(1)
            base = rss_mb(app.pid)
            ctx = browser.new_context()
            first = ctx.new_page()
            first.goto(deep)
            first.wait_for_function(DRAWN, arg=2, timeout=60_000)
            ctxs.append(ctx)
            time.sleep(1)
            one = rss_mb(app.pid)
            pages = [first]
            for _ in range(args.sessions - 1):
                c = browser.new_context()
                pg = c.new_page()
                pg.goto(deep, wait_until="commit")
                ctxs.append(c)
                pages.append(pg)
            errors = 0
            for pg in pages:
                try:
                    pg.wait_for_function(DRAWN, arg=2, timeout=120_000)
                    if pg.locator('[data-testid="stException"]').count():
                        errors += 1
                except Exception:  # noqa: BLE001 - counted and reported
                    errors += 1
            time.sleep(2)
            many = rss_mb(app.pid)
            per = (many - one) / max(1, args.sessions - 1)
            print(f"(c) server RSS: {base:.0f} MB before, {one:.0f} MB with 1 session, "
                  f"{many:.0f} MB with {args.sessions} concurrent sessions -> {per:.1f} MB per "
                  f"extra session (target <= 10 MB); sessions with errors: {errors}")
            for c in ctxs:
                c.close()

            # (d) map payload of one thema page view
            ctx = browser.new_context()
            page = ctx.new_page()
            received = []
            page.on("websocket", lambda ws: ws.on(
                "framereceived",
                lambda payload: received.append(len(payload) if payload else 0)))
            page.goto(deep)
            page.wait_for_function(DRAWN, arg=2, timeout=60_000)
            ctx.close()
            browser.close()
        print(f"(d) websocket bytes for one thema page view (all elements): "
              f"{sum(received) / 1024:.0f} kB; map figure alone: {map_figure_kb(data_dir, args):.0f} kB")
    finally:
        for proc in (app, bare):
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def map_figure_kb(data_dir: Path, args) -> float:
    from dashboard.core import compute
    from dashboard.core.charts import figures as charts
    from dashboard.ui.data import build

    dd = build(snapshot.load_snapshot(data_dir))
    if dd.geo is None:
        return 0.0
    ind = dd.by_indicator[args.indicator]
    period = str(ind.loc[ind["region_level"] == "GM", "period"].max())
    fig = charts.choropleth(compute.map_frame(ind, dd.regions, period), dd.geo,
                            dd.indicators[args.indicator], selected=args.gemeente, title="t",
                            source="s", bounds=dd.geo_bounds)
    return len(fig.to_json()) / 1024


if __name__ == "__main__":
    main()
