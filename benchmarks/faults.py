"""Fault matrix of the nightly refresh (issue 10) against the local CBS stand-in, on real data.

Serves the development mirror (scripts/build_dev_mirror.py, from ../shared/cbs) with the CBS
stand-in on 127.0.0.1, publishes a first snapshot, and then per case: copies that data folder,
injects the fault (stand-in faults, a table served changed, kill -9, a full disk, a damaged
snapshot, ...), runs the real commands (``python -m pipelines refresh|status|export`` as
subprocesses, as cron or systemd would) and prints

    case | exit code(s) (expected) | published export byte-identical | what `status` says | verdict

Nothing leaves the machine; every run is bounded (timeouts, small retry delays).

    python benchmarks/faults.py [--cases 1,4,9] [--keep-tmp]

Exit status 0 when every case behaved as expected, 1 otherwise, 2 without ../shared/cbs.
Runtime: all 14 cases 16 minutes on the shared 2-core development machine under load (each case
copies the data folder and runs one to three real refreshes of about 15-45 s); `--cases` for a few.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import runs, snapshot  # noqa: E402
from pipelines.__main__ import main as cli_main  # noqa: E402
from standin import StandIn  # noqa: E402

SHARED = ROOT.parent / "shared" / "cbs"
NEWER = "2026-12-01T02:00:00"
VEST, ARBEID, GEBIEDEN = "81575NED", "86088NED", "86059NED"


@dataclass
class Result:
    codes: list[int] = field(default_factory=list)
    expected: list[int] = field(default_factory=list)
    identical: bool | None = None
    expect_identical: bool | None = True
    status: str = ""
    notes: list[str] = field(default_factory=list)
    ok: bool = True


class Lab:
    def __init__(self, tmp: Path):
        import importlib.util

        spec = importlib.util.spec_from_file_location(
            "build_dev_mirror", ROOT / "scripts" / "build_dev_mirror.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        self.dev = tmp / "dev-mirror"
        mod.build(SHARED, self.dev, ROOT / "pipelines" / "indicators.yaml")
        self.tmp = tmp
        self.catalog = self.dev / "catalog.yaml"
        self.server = StandIn(self.dev / "v3", geo_dir=self.dev / "geo",
                              v4_dir=self.dev / "v4").start()
        self.base = tmp / "base"

    def close(self) -> None:
        self.server.stop()

    # -- commands, as the scheduler runs them ------------------------------------------------
    def pipe(self, data: Path, *args: str, hook: str = "", timeout: float = 600) -> int:
        cmd = args[0]
        extra = []
        if cmd == "refresh":
            extra = ["--cbs-url", self.server.url, "--cbs4-url", f"{self.server.url}/odata/v1",
                     "--geo-url", f"{self.server.url}/geo/gemeente_{{year}}.geojson",
                     "--backoff", "0.05", "--data-source", "mirror"]
        argv = [*args, "--data-dir", str(data), "--catalog", str(self.catalog),
                "--log-format", "json", *extra]
        script = "import sys\n" + textwrap.dedent(hook) + (
            "\nfrom pipelines.__main__ import main\nsys.exit(main(sys.argv[1:]))\n")
        with open(data.parent / "log.jsonl", "a") as log:
            proc = subprocess.run([sys.executable, "-c", script, *argv], cwd=ROOT,
                                  stdout=log, stderr=log, timeout=timeout)
        return proc.returncode

    def export(self, data: Path) -> bytes | None:
        """``pipelines export`` (in this process: the same code, without the start-up cost)."""
        out = data.parent / f"export-{time.monotonic_ns()}.csv"
        code = self.cli("export", "--out", str(out), "--data-dir", str(data))[0]
        return out.read_bytes() if code == 0 and out.exists() else None

    def cli(self, *argv: str) -> tuple[int, str]:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            code = cli_main([*argv, "--catalog", str(self.catalog), "--log-format", "json"])
        return code, buf.getvalue()

    def status(self, data: Path) -> str:
        lines = self.cli("status", "--data-dir", str(data))[1].splitlines()
        keep = [" ".join(ln.split()) for ln in lines if any(w in ln for w in (
            "rejected:", "DAMAGED", "stale:", "failed:", "NOT FRESH"))]
        if not keep:
            keep = [" ".join(ln.split()) for ln in lines if "STALE" in ln]
        runs = [ln.strip() for ln in lines if ln.startswith("  20")]
        line = runs[-1] if runs else "no runs"
        last = " ".join(line.split()[1:5])  # outcome, exit, seconds
        if "error: " in line:
            last += " error: " + line.split("error: ", 1)[1]
        return "; ".join([last, *keep[:2]])[:200]

    # -- CBS serving something else ---------------------------------------------------------
    @contextlib.contextmanager
    def served_changed(self, table: str, rows=None, props=None, modified: str = NEWER):
        """CBS serves ``table`` changed: TypedDataSet rows through ``rows(list)``, DataProperties
        through ``props(list)``, and a newer Modified. Restored afterwards."""
        link = self.dev / "v3" / table
        target = link.resolve()
        link.unlink()
        shutil.copytree(target, link)
        try:
            for name, fn in (("TypedDataSet", rows), ("DataProperties", props)):
                if fn is not None:
                    path = link / f"{name}.json"
                    body = json.loads(path.read_text(encoding="utf-8"))
                    body["value"] = fn(body["value"])
                    path.write_text(json.dumps(body), encoding="utf-8")
            self.server.set_modified(table, modified)
            yield
        finally:
            self.server.set_modified(table, None)
            shutil.rmtree(link)
            link.symlink_to(target)

    def reset(self) -> None:
        self.server.clear_faults()
        for t in (VEST, ARBEID, GEBIEDEN):
            self.server.set_modified(t, None)


# --------------------------------------------------------------------------- the cases

KILL = """
    import os, signal
    from pipelines import snapshot
    def _kill(*a, **kw):
        os.kill(os.getpid(), signal.SIGKILL)
    snapshot.switch_current = _kill
"""
DISK_FULL = """
    import errno
    import pandas as pd
    def _full(self, path, *a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")
    pd.DataFrame.to_parquet = _full
"""


def _scale(key: str, factor: float):
    return lambda rows: [{**r, key: None if r.get(key) is None else r[key] * factor}
                         for r in rows]


def c_truncated(lab, d, r):
    lab.server.add_fault("partial", table=VEST, entity="TypedDataSet", fraction=0.1)
    lab.server.set_modified(VEST, NEWER)
    r.codes.append(lab.pipe(d, "refresh"))
    r.expected = [3]


def c_jump(lab, d, r):
    with lab.served_changed(VEST, rows=_scale("Vestigingen_1", 1000)):
        r.codes.append(lab.pipe(d, "refresh"))
    r.expected = [3]


def c_check_fails_twice(lab, d, r):
    with lab.served_changed(ARBEID, rows=_scale("NettoArbeidsparticipatie_16", 3.5)):
        r.codes += [lab.pipe(d, "refresh"), lab.pipe(d, "refresh")]
    r.expected = [1, 1]
    r.notes.append("second night with the same CBS data: not a no-op")


def c_kill_publish(lab, d, r):
    lab.server.set_modified(VEST, NEWER)
    r.codes += [lab.pipe(d, "refresh", hook=KILL), lab.pipe(d, "refresh")]
    r.expected = [-9, 0]
    m = snapshot.read_manifest(d)
    good = m.tables[VEST].modified == NEWER
    r.notes.append(f"update published after the kill: {'yes' if good else 'NO'}")
    r.ok &= good


def c_kill_fetch(lab, d, r):
    lab.server.set_modified(VEST, NEWER)
    lab.server.add_fault("slow", table=VEST, entity="TypedDataSet", seconds=60, times=1)
    argv = [sys.executable, "-m", "pipelines", "refresh", "--data-dir", str(d), "--catalog",
            str(lab.catalog), "--cbs-url", lab.server.url, "--cbs4-url",
            f"{lab.server.url}/odata/v1", "--log-format", "json", "--workers", "1"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
            f"{VEST}/TypedDataSet" in p for _m, p, _s in lab.server.stats.log):
        time.sleep(0.1)
    proc.kill()
    proc.wait(30)
    lab.server.clear_faults()
    r.codes += [proc.returncode, lab.pipe(d, "refresh")]
    r.expected = [-9, 0]
    leftovers = list(d.rglob(".tmp-*"))
    r.notes.append(f"temp leftovers: {len(leftovers)}")
    r.ok &= not leftovers


def c_flaky(lab, d, r):
    fault = lab.server.add_fault("status", code=500, rate=0.3, seed=1)
    r.codes.append(lab.pipe(d, "refresh", "--force", "--retries", "4"))
    r.expected = [0]
    run = runs.read_runs(d)[-1]
    fetched = sum(1 for t in run["tables"].values() if t["action"] == "fetched")
    r.notes.append(f"{fault.fired} HTTP 500s; {fetched}/{len(run['tables'])} tables fetched")
    r.ok &= fetched == len(run["tables"])


def c_outage(lab, d, r):
    lab.server.add_fault("status", code=503)
    r.codes.append(lab.pipe(d, "refresh", "--retries", "1"))
    r.expected = [1]


def c_one_table_500(lab, d, r):
    lab.server.add_fault("status", table=ARBEID, code=500)
    lab.server.set_modified(VEST, NEWER)
    r.codes.append(lab.pipe(d, "refresh", "--retries", "1"))
    r.expected = [3]


def c_slow(lab, d, r):
    lab.server.add_fault("slow", table=ARBEID, entity="TableInfos", seconds=3)
    r.codes.append(lab.pipe(d, "refresh", "--timeout", "1", "--retries", "1"))
    r.expected = [3]


def c_vanished_measure(lab, d, r):
    with lab.served_changed(VEST, props=lambda ps: [p for p in ps
                                                   if p.get("Key") != "Vestigingen_1"]):
        r.codes.append(lab.pipe(d, "refresh"))
    r.expected = [3]


def c_corrupt(lab, d, r):
    path = d / "current" / "observations.parquet"
    body = path.resolve().read_bytes()
    path.resolve().write_bytes(body[: len(body) // 2])
    r.codes.append(lab.pipe(d, "refresh"))
    r.expected = [0]
    r.notes.append("current republished from the raw store")


def c_disk_full(lab, d, r):
    lab.server.set_modified(VEST, NEWER)
    r.codes.append(lab.pipe(d, "refresh", hook=DISK_FULL))
    r.expected = [1]
    leftovers = list(d.rglob(".tmp-*"))
    r.notes.append(f"ENOSPC while publishing; temp leftovers: {len(leftovers)}")
    r.ok &= not leftovers


def c_quiet_nights(lab, d, r):
    r.codes += [lab.pipe(d, "refresh") for _ in range(3)]
    r.expected = [0, 0, 0]
    from dashboard.core.compute import freshness_warnings

    history = runs.read_runs(d)
    snap = snapshot.read_manifest(d)
    later = datetime.now(UTC).replace(microsecond=0)
    old = snap.model_copy(update={"published_at": "2026-01-01T00:00:00Z"})
    warn = freshness_warnings(old, history, later)
    r.notes.append(f"footer after quiet nights (snapshot published long ago): {warn or 'none'}")
    r.ok &= not warn


def c_export(lab, d, r):
    evil = '=HYPERLINK("http://example.org","x")'

    def rename(rows):
        return [{**row, "Naam_2": evil} if row.get("RegioS", "").strip() == "GM0014" else row
                for row in rows]
    with lab.served_changed(GEBIEDEN, rows=rename):
        r.codes.append(lab.pipe(d, "refresh"))
    body = (lab.export(d) or b"").decode("utf-8", "replace")
    raw_formula = any(cell.startswith("=") for ln in body.splitlines() for cell in ln.split(","))
    r.notes.append(f"formula text in CSV neutralised: {'no' if raw_formula else 'yes'}")
    folder = d.parent / "existing-folder"
    folder.mkdir()
    r.codes.append(lab.pipe(d, "export", "--out", str(folder)))
    r.expected = [0, 1]
    left = [p for p in d.parent.iterdir() if p.name.startswith(".") and "tmp" in p.name]
    r.notes.append(f"export --out <folder>: temp leftovers {len(left)}")
    r.ok &= not raw_formula and not left
    r.expect_identical = None  # a region name changed on purpose


CASES = [  # (number, defect in issue 10, title, function)
    (1, "1", "81575NED served with 10% of its rows, newer Modified", c_truncated),
    (2, "1", "81575NED values x1000 (another unit), newer Modified", c_jump),
    (3, "2", "check fails (participation 350%), then the same data again", c_check_fails_twice),
    (4, "2", "kill -9 during publish, then the next night", c_kill_publish),
    (5, "2", "kill -9 mid-fetch, then the next night", c_kill_fetch),
    (6, "3", "30% of requests HTTP 500 (retries 4 per request)", c_flaky),
    (7, "3", "total outage: every request HTTP 503", c_outage),
    (8, "3", "one table HTTP 500 every time", c_one_table_500),
    (9, "3", "one table slower than the timeout", c_slow),
    (10, "3", "a measure vanished from a table", c_vanished_measure),
    (11, "4", "current observations.parquet truncated", c_corrupt),
    (12, "5", "disk full while publishing", c_disk_full),
    (13, "6", "three quiet nights (nothing new at CBS)", c_quiet_nights),
    (14, "7", "region name '=HYPERLINK(...)'; export --out an existing folder", c_export),
]


def run_case(lab: Lab, case, tmp: Path) -> Result:
    num, _defect, _title, fn = case
    cdir = tmp / f"case{num:02d}"
    data = cdir / "data"
    shutil.copytree(lab.base, data, symlinks=True)
    before = lab.export(data)
    r = Result()
    try:
        fn(lab, data, r)
    finally:
        lab.reset()
    after = lab.export(data)
    r.identical = before is not None and before == after
    r.status = lab.status(data)
    r.ok &= r.codes == r.expected and (r.expect_identical is None
                                       or r.identical == r.expect_identical)
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", help="comma-separated case numbers (default: all)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the work folder and print it")
    args = ap.parse_args()
    if not (SHARED / "mirror").is_dir():
        print(f"{SHARED}/mirror not found: the fault matrix needs the real-data mirror",
              file=sys.stderr)
        return 2
    wanted = {int(c) for c in args.cases.split(",")} if args.cases else None
    tmp = Path(tempfile.mkdtemp(prefix="faults-"))
    t0 = time.monotonic()
    lab = Lab(tmp)
    failures = 0
    try:
        code = lab.pipe(lab.base, "refresh")
        if code != 0:
            print(f"first refresh failed (exit {code}); see {tmp}/log.jsonl", file=sys.stderr)
            return 1
        print(f"baseline snapshot {snapshot.current_id(lab.base)} "
              f"({time.monotonic() - t0:.0f} s incl. mirror build)\n")
        print(f"{'#':>2} {'defect':<6} {'case':<62} {'exit (expected)':<17} {'export same':<11} "
              "verdict")
        for case in CASES:
            if wanted and case[0] not in wanted:
                continue
            t1 = time.monotonic()
            r = run_case(lab, case, tmp)
            failures += not r.ok
            codes = ",".join(map(str, r.codes)) + f" ({','.join(map(str, r.expected))})"
            same = {True: "yes", False: "NO", None: "-"}[r.identical]
            if r.expect_identical is None:
                same += " (n/a)"
            print(f"{case[0]:>2} {case[1]:<6} {case[2]:<62} {codes:<17} {same:<11} "
                  f"{'ok' if r.ok else 'FAILED'}  [{time.monotonic() - t1:.0f} s]")
            print(f"{'':>10}status: {r.status}")
            for n in r.notes:
                print(f"{'':>10}{n}")
    finally:
        lab.close()
        if args.keep_tmp:
            print(f"\nwork folder kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    total = time.monotonic() - t0
    print(f"\n{'all cases survived' if not failures else f'{failures} case(s) FAILED'} "
          f"in {total:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
