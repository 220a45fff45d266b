"""Refresh benchmark against the local CBS stand-in (never the real CBS or PDOK).

Prints, for the real tables in ../shared/cbs/mirror (or --mirror) and the real OData v4 tables
in ../shared/cbs/odata_v4 (or --v4):
  - full refresh: wall time, HTTP requests, bytes sent by the stand-in (this includes the
    gemeente boundary maps, which the naive baseline does not fetch), and of those the v4 part
  - naive baseline: cbsodata.get_data of the same whole tables (what a simple script does); for
    a v4 table every Observation of the table
  - no-op refresh (nothing changed at CBS): time and requests, as a ratio of the full refresh

By default the stand-in serves the development mirror that scripts/build_dev_mirror.py builds
(in a temporary folder) from ../shared/cbs, with its catalogue: every table of the shipped
catalogue that has real data there. With --mirror, that folder and the shipped catalogue are used
as they are. When the catalogue has no `api: v4` table, the real 03759ned (bevolking, v4) is added
to it for the benchmark, so the v4 path is always measured.

    python benchmarks/refresh.py [--mirror DIR] [--v4 ../shared/cbs/odata_v4] [--repeat N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import catalog, refresh, runs  # noqa: E402
from pipelines.cbs import CbsClient, CbsConfig  # noqa: E402


class ExternalStandIn:
    """The stand-in in its own process, so its work does not share this process's GIL."""

    def __init__(self, mirror: Path, latency: float = 0.0, bandwidth: float | None = None,
                 v4: Path | None = None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.v4_url = f"{self.url}/odata/v1"
        self.proc = subprocess.Popen([sys.executable, "-m", "standin", "--mirror",
                                      str(mirror), "--geo", str(mirror.parent / "geo"),
                                      "--port", str(port), "--latency", str(latency),
                                      *(["--bandwidth", str(bandwidth)] if bandwidth else []),
                                      *(["--v4", str(v4), "--v4-page-size", "10000"] if v4
                                        else [])],
                                     cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                self.stats(reset=True)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("stand-in did not start")

    def stats(self, reset: bool = False) -> dict:
        with urllib.request.urlopen(f"{self.url}/_standin/stats?reset={int(reset)}") as r:
            return json.load(r)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(10)


def measure(server: ExternalStandIn, fn) -> tuple[float, int, int, int, int]:
    server.stats(reset=True)
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    s = server.stats()
    return dt, s["requests"], s["bytes_sent"], s.get("v4_requests", 0), s.get("v4_bytes_sent", 0)


def with_v4_table(cat):
    """The catalogue plus the real v4 table 03759ned (inwoners per gemeente) when it has none."""
    if any(t.api == "v4" for t in cat.tables.values()):
        return cat
    table = catalog.Table("03759ned", "Bevolking op 1 januari en gemiddeld; geslacht, leeftijd "
                          "en regio", True, "../shared/cbs/odata_v4/03759ned", "yearly", 0, "v4")
    inp = catalog.Input("value", "03759ned", "M000352", (("Geslacht", "T001038"),
                                                        ("Leeftijd", "10000"),
                                                        ("BurgerlijkeStaat", "T001019")))
    ind = catalog.Indicator("benchmark_inwoners_v4", "human_capital", "Inwoners (v4)", "-",
                            "aantal", 0, None, ("NL", "PV", "GM"), (inp,), "value", None, True, 0,
                            kind="size", rankable=False)
    return dataclasses.replace(cat, tables={**cat.tables, "03759ned": table},
                               indicators=(*cat.indicators, ind), _by_id={})


def scenario(mirror: Path, cat, tables, repeat: int, latency: float, bandwidth: float | None,
             v4: Path | None = None):
    full, naive, noop = [], [], []
    with ExternalStandIn(mirror, latency, bandwidth, v4) as server:
        client = CbsClient(CbsConfig(base_url=server.url, v4_url=server.v4_url, retries=0))

        def naive_all():
            for t in tables:
                if t in cat.tables and cat.tables[t].api == "v4":
                    client.v4.meta(t, "DataProperties")
                    client.v4._values(t, "Observations")  # the whole table, every cell
                else:
                    client.naive_get_data(t)
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                code = [None]

                def run(root=root, code=code):
                    code[0] = refresh.refresh(cat, root, client,
                                              geo_url=f"{server.url}/geo/gemeente_{{year}}.geojson")

                full.append(measure(server, run))
                assert code[0] == 0, f"full refresh failed with exit {code[0]}"
                noop.append(measure(server, run))
                assert code[0] == 0 and runs.read_runs(root)[-1]["outcome"] == "noop"
            naive.append(measure(server, naive_all))
    return full, naive, noop


def report(title: str, full, naive, noop) -> None:
    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    print(f"\n== {title}")
    print(f"{'':<28}{'wall s':>9}{'requests':>10}{'MB sent':>10}")
    for name, rows in (("full refresh (pipeline)", full), ("naive get_data, whole tables", naive),
                       ("no-op refresh", noop)):
        print(f"{name:<28}{med(rows, 0):>9.2f}{med(rows, 1):>10.0f}{med(rows, 2) / 1e6:>10.2f}"
              f"   of which v4: {med(rows, 3):.0f} requests, {med(rows, 4) / 1e6:.2f} MB")
    print(f"pipeline / naive:   time {med(full, 0) / med(naive, 0):.2f}x, "
          f"requests {med(full, 1) / med(naive, 1):.2f}x, bytes {med(full, 2) / med(naive, 2):.2f}x")
    pct_t, pct_r = 100 * med(noop, 0) / med(full, 0), 100 * med(noop, 1) / med(full, 1)
    pct_b = 100 * med(noop, 2) / med(full, 2)
    print(f"no-op / full:       time {pct_t:.1f}%, requests {pct_r:.1f}%, bytes {pct_b:.2f}% "
          "(target: time under 5%)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--mirror", default=None,
                    help="v3 mirror folder (default: the development mirror built from "
                         "../shared/cbs, with its catalogue)")
    ap.add_argument("--v4", default=str(ROOT.parent / "shared" / "cbs" / "odata_v4"),
                    help="folder of real OData v4 tables (default ../shared/cbs/odata_v4)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--latency", type=float, default=0.05,
                    help="per-request delay of the simulated distant CBS (default 0.05 s)")
    ap.add_argument("--bandwidth", type=float, default=5e6,
                    help="bytes/s of the simulated distant CBS (default 5 MB/s)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        return run_all(args, Path(tmp))


def dev_mirror(out: Path) -> Path:
    """Build the development mirror (scripts/build_dev_mirror.py) into ``out``."""
    import importlib.util

    script = ROOT / "scripts" / "build_dev_mirror.py"
    spec = importlib.util.spec_from_file_location("build_dev_mirror", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.build(ROOT.parent / "shared" / "cbs", out, catalog.DEFAULT_PATH)
    return out


def run_all(args, tmp: Path) -> int:
    cat_path = catalog.DEFAULT_PATH
    if args.mirror is None:
        if not (ROOT.parent / "shared" / "cbs" / "mirror").is_dir():
            print("../shared/cbs/mirror not found: give --mirror", file=sys.stderr)
            return 2
        dev = dev_mirror(tmp / "dev-mirror")
        mirror, args.v4, cat_path = dev / "v3", str(dev / "v4"), dev / "catalog.yaml"
    else:
        mirror = Path(args.mirror)
    if not mirror.is_dir():
        print(f"mirror not found: {mirror}", file=sys.stderr)
        return 2
    logging.disable(logging.CRITICAL)
    v4 = Path(args.v4) if Path(args.v4).is_dir() else None
    cat = catalog.load(cat_path)
    if v4 is not None:
        cat = with_v4_table(cat)
    else:
        print(f"v4 folder not found ({args.v4}): v4 is not measured", file=sys.stderr)
    tables = list(dict.fromkeys([*cat.gebieden.values(), *cat.data_tables()]))
    print(f"tables: {len(tables)} ({', '.join(tables)}); median of {args.repeat} runs; "
          "stand-in on 127.0.0.1 in its own process")
    report("loopback (no network cost)", *scenario(mirror, cat, tables, args.repeat, 0.0, None,
                                                    v4))
    report(f"simulated distant CBS: {args.latency * 1000:.0f} ms per request, "
           f"{args.bandwidth / 1e6:g} MB/s",
           *scenario(mirror, cat, tables, args.repeat, args.latency, args.bandwidth, v4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
