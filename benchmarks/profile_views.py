"""Where does server time go per page view? Prints figures (not a timed test).

Runs the dashboard in-process with Streamlit's AppTest (the same script run a browser session
triggers: widgets, data, compute, figure building and Plotly/Arrow serialisation; not the
websocket write) under cProfile, for:
  * a bare Streamlit page with one Plotly line chart (the baseline of issue 13),
  * a deep link to each kernthema page (a new session each time; the snapshot already cached),
  * a gemeente switch on a kernthema page (a rerun of an open session),
and prints the CPU time per view and the top costs per kind of view, grouped by our functions.

    .venv/bin/python benchmarks/profile_views.py --data-dir /tmp/regio-bench-data [--views 5]

Make the snapshot first with ``scripts/mirror-snapshot.sh /tmp/regio-bench-data``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streamlit.components.v2.component_manager import BidiComponentManager  # noqa: E402
from streamlit.runtime.scriptrunner import script_runner  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from dashboard.ui import data as dataio  # noqa: E402

APP = str(REPO / "dashboard" / "app.py")
THEMA_PAGES = {
    "mkb_innovatie": "app_pages/mkb_innovatie.py",
    "human_capital": "app_pages/human_capital.py",
    "ruimtelijke_economie": "app_pages/ruimtelijke_economie.py",
}
OTHER_PAGES = {"overzicht": "app_pages/overzicht.py"}
BARE = """
import plotly.express as px
import streamlit as st

st.title("Kale pagina")
st.plotly_chart(px.line(x=list(range(2013, 2025)), y=[4.1, 4.3, 4.0, 3.9, 3.5, 3.2, 3.0, 3.4,
                                                       3.6, 3.5, 3.6, 3.8]))
"""
SWITCH = ["GM0363", "GM0344", "GM0014", "GM0935", "GM0772", "GM0080", "GM0153", "GM0202"]
# deep links each to a gemeente the pass has not shown yet
GEMEENTEN = ["GM0518", "GM0599", "GM0034", "GM0758", "GM0193", "GM0200", "GM0796", "GM0855",
             "GM0268", "GM0150", "GM0503", "GM0917", "GM0439", "GM0479", "GM0361", "GM0307",
             "GM0394", "GM0402", "GM0637", "GM0664", "GM0717", "GM0777", "GM0820", "GM0828"]


class ScriptThread:
    """Profiles and times the script runs themselves (they run in Streamlit's script thread,
    which a cProfile enabled in the main thread would not see)."""

    profile: cProfile.Profile | None = None
    cpu = 0.0
    wall = 0.0

    @classmethod
    def install(cls) -> None:
        orig = script_runner.ScriptRunner._run_script

        def run_script(self, rerun_data):
            c0, t0 = time.thread_time(), time.perf_counter()
            if cls.profile is not None:
                cls.profile.enable()
            try:
                return orig(self, rerun_data)
            finally:
                if cls.profile is not None:
                    cls.profile.disable()
                cls.cpu += time.thread_time() - c0
                cls.wall += time.perf_counter() - t0

        script_runner.ScriptRunner._run_script = run_script
        # AppTest scans the installed packages for components on every new AppTest (~0.2 s);
        # a server does that once at start-up, so do it once here too
        scan = BidiComponentManager.discover_and_register_components
        done: set[int] = set()

        def once(self, *a, **k):
            if not done:
                done.add(1)
                return scan(self, *a, **k)
            return None

        BidiComponentManager.discover_and_register_components = once


def view(profile: cProfile.Profile | None, make, *steps) -> tuple[float, float]:
    """(script CPU s, script wall s) of the script runs of ``steps`` on ``make()``."""
    at = make()
    ScriptThread.profile, ScriptThread.cpu, ScriptThread.wall = profile, 0.0, 0.0
    for step in steps:
        at = step(at)
    ScriptThread.profile = None
    if at.exception:
        raise SystemExit(f"exception in the app: {[e.value for e in at.exception]}")
    return ScriptThread.cpu, ScriptThread.wall


def top(profile: cProfile.Profile, n: int, per: int, filt: str | None = None) -> str:
    s = io.StringIO()
    st = pstats.Stats(profile, stream=s)
    st.sort_stats("cumulative")
    if filt:
        st.print_stats(filt, n)
    else:
        st.print_stats(n)
    lines = s.getvalue().splitlines()
    # keep the table only, with cumulative time per view
    out = []
    started = False
    for line in lines:
        if line.strip().startswith("ncalls"):
            started = True
            out.append("    cum s/view  calls/view  function")
            continue
        if started and line.strip():
            parts = line.split(None, 5)
            if len(parts) < 6:
                continue
            calls = parts[0].split("/")[0]
            try:
                out.append(f"    {float(parts[3]) / per:9.3f}  {int(calls) / per:10.0f}  "
                           f"{_short(parts[5])}")
            except ValueError:
                continue
    return "\n".join(out)


def _short(where: str) -> str:
    for marker in ("site-packages/", str(REPO) + "/"):
        if marker in where:
            return where.split(marker, 1)[1]
    return where


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--views", type=int, default=4, help="views per kind (default 4, max 6)")
    ap.add_argument("--top", type=int, default=25, help="rows per profile table")
    ap.add_argument("--indicator", default="werkloosheid_pct")
    ap.add_argument("--device", choices=["desktop", "phone", "unknown"], default="desktop",
                    help="what the browser says it is (AppTest sends no User-Agent; every "
                    "browser does, and the dashboard draws the one ranking table for it)")
    args = ap.parse_args()
    if args.device != "unknown":
        from dashboard.ui import components  # noqa: PLC0415

        components.device = lambda: args.device
    os.environ["REGIO_DATA_DIR"] = str(args.data_dir.resolve())
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    ScriptThread.install()
    bare = Path(tempfile.mkdtemp(prefix="profile-bare-")) / "bare.py"
    bare.write_text(BARE)

    def app(page: str, **params: str):
        def make() -> AppTest:
            at = AppTest.from_file(APP, default_timeout=120)
            for k, v in params.items():
                at.query_params[k] = v
            at.switch_page(page)
            return at
        return make

    def run(at: AppTest) -> AppTest:
        return at.run()

    def switch(code: str):
        def step(at: AppTest) -> AppTest:
            return at.sidebar.selectbox(key="w_gemeente").set_value(code).run()
        return step

    # warm up: imports, the snapshot load (once per process), the bare page
    t0 = time.perf_counter()
    view(None, app(THEMA_PAGES["human_capital"], gemeente="GM0363"), run)
    print(f"first view (imports + snapshot load): {time.perf_counter() - t0:.2f} s wall")
    view(None, lambda: AppTest.from_file(str(bare), default_timeout=60), run)

    def measure(profiled: bool):
        """One pass over every kind of view; the shared caches start empty (the snapshot stays
        loaded), so 'new gemeente' views pay for their own per-view work."""
        for shared in ("_per_view", "_per_snapshot", "_per_view_large", "_per_snapshot_large"):
            if hasattr(dataio, shared):
                getattr(dataio, shared).clear()
        rows, profiles = [], {}

        def prof() -> cProfile.Profile | None:
            return cProfile.Profile() if profiled else None

        p = prof()
        res = [view(p, lambda: AppTest.from_file(str(bare), default_timeout=60), run)
               for _ in range(args.views)]
        rows.append(("bare Streamlit + 1 Plotly line", res))
        profiles["bare"] = (p, len(res))

        p, n = prof(), 0
        for k, (name, page) in enumerate(THEMA_PAGES.items()):
            gms = GEMEENTEN[k * args.views:(k + 1) * args.views]
            res = [view(p, app(page, gemeente=g), run) for g in gms]
            n += len(res)
            rows.append((f"deep link {name}, new gemeente", res))
        profiles["deep link kernthema, new gemeente"] = (p, n)

        p = prof()
        page = THEMA_PAGES["human_capital"]
        res = [view(p, app(page, gemeente=GEMEENTEN[0]), run) for _ in range(args.views)]
        rows.append(("deep link human_capital, same link", res))
        profiles["deep link kernthema, same link (a meeting)"] = (p, len(res))

        p = prof()
        res = [view(p, app(OTHER_PAGES["overzicht"], gemeente=g), run)
               for g in GEMEENTEN[-args.views:]]
        rows.append(("deep link overzicht, new gemeente", res))
        profiles["deep link overzicht, new gemeente"] = (p, len(res))

        # gemeente switches in one open session, each to a gemeente not shown before
        p = prof()
        at = app(page, gemeente="GM0599", indicator=args.indicator)().run()
        res = []
        for g in SWITCH[:args.views]:
            ScriptThread.profile, ScriptThread.cpu, ScriptThread.wall = p, 0.0, 0.0
            at = switch(g)(at)
            ScriptThread.profile = None
            res.append((ScriptThread.cpu, ScriptThread.wall))
            assert not at.exception, [e.value for e in at.exception]
        rows.append(("gemeente switch human_capital", res))
        profiles["gemeente switch"] = (p, len(res))
        return rows, profiles

    rows, _ = measure(False)
    bare_cpu = rows[0][1]
    base = sum(c for c, _ in bare_cpu) / len(bare_cpu)
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work on the "
          "machine inflates wall time; CPU time is the script thread's own)")
    print("script runs only: websocket, static files and the browser are not in these figures")
    print(f"{'view':36s} {'CPU s/view':>10s} {'wall s/view':>11s} {'CPU vs bare':>11s}")
    for name, res in rows:
        c = sum(r[0] for r in res) / len(res)
        w = sum(r[1] for r in res) / len(res)
        print(f"{name:36s} {c:10.3f} {w:11.3f} {c / base:10.2f}x")
    print("\n(profiled pass: cProfile slows every call, so the times below are inflated; "
          "compare them with each other)")
    _, profiles = measure(True)
    for name, (prof, n) in profiles.items():
        print(f"\n== {name}: top cumulative costs (all code) ==")
        print(top(prof, args.top, n))
        print(f"-- {name}: our code (dashboard/, pipelines/) --")
        print(top(prof, args.top, n, r"/(dashboard|pipelines)/"))


if __name__ == "__main__":
    main()
