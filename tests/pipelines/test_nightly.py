"""The unattended nightly job: CBS drift and outages, kill -9, logs. In every case the published
snapshot stays readable and consistent, nothing published is lost, and the outcome is reported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pipelines import runs, snapshot
from pipelines.__main__ import main
from tests.support.world import VEST, WON, write_catalog, write_world

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def night(tmp_path, standin):
    mirror = write_world(tmp_path / "mirror")
    server = standin(mirror, geo_dir=mirror.parent / "geo")
    cat = write_catalog(tmp_path / "catalog.yaml")
    data = tmp_path / "data"

    def args(*extra: str) -> list[str]:
        return ["refresh", "--data-dir", str(data), "--catalog", str(cat), "--cbs-url", server.url,
                "--geo-url", f"{server.url}/geo/gemeente_{{year}}.geojson", "--backoff", "0",
                "--log-format", "json", *extra]

    def run(*extra: str) -> int:
        return main(args(*extra))

    run.args, run.server, run.data, run.mirror = args, server, data, mirror
    assert run() == 0
    run.first_id = snapshot.current_id(data)
    run.first_obs = snapshot.load_snapshot(data).observations
    return run


def _edit(path: Path, fn) -> None:
    body = json.loads(path.read_text())
    fn(body)
    path.write_text(json.dumps(body))


def _bump(mirror: Path, table: str, modified: str = "2026-02-01T02:00:00") -> None:
    _edit(mirror / table / "TableInfos.json", lambda b: b["value"][0].update(Modified=modified))


def test_vanished_measure_keeps_last_good_data_and_says_so(night, caplog):
    # CBS revises the table and drops the measure our catalogue uses
    _edit(night.mirror / VEST / "DataProperties.json",
          lambda b: b.update(value=[p for p in b["value"] if p.get("Key") != "Vestigingen_1"]))
    _bump(night.mirror, VEST)
    assert night() == 3
    run = runs.read_runs(night.data)[-1]
    assert run["outcome"] == "partial"
    t = run["tables"][VEST]
    assert t["action"] == "stale" and t["kind"] == "missing_measure"
    assert "Vestigingen_1" in t["error"]
    assert "DOES NOT EXIST or does not fit the catalogue" in caplog.text
    snap = snapshot.load_snapshot(night.data)
    pd.testing.assert_frame_equal(snap.observations, night.first_obs)
    assert snap.manifest.tables[VEST].stale is True


def test_discontinued_table_is_reported_loudly(night, caplog):
    _edit(night.mirror / WON / "TableInfos.json",
          lambda b: b["value"][0].update(OutputStatus="Gediscontinueerd"))
    assert night() == 0
    warn = runs.read_runs(night.data)[-1]["tables"][WON]["warnings"]
    assert warn and "Gediscontinueerd" in warn[0] and WON in warn[0]
    assert "Gediscontinueerd" in caplog.text


def test_slow_cbs_past_the_timeout_on_every_try(night):
    night.server.add_fault("slow", table=WON, entity="TableInfos", seconds=2.0)
    t0 = time.monotonic()
    assert night("--timeout", "0.5", "--retries", "1") == 3
    assert time.monotonic() - t0 < 15
    run = runs.read_runs(night.data)[-1]
    assert "ReadTimeout" in run["tables"][WON]["error"] and "2 attempt" in run["tables"][WON]["error"]
    pd.testing.assert_frame_equal(snapshot.load_snapshot(night.data).observations, night.first_obs)


def test_one_table_always_failing_night_after_night(night):
    night.server.add_fault("status", table=WON, code=500)
    _bump(night.mirror, VEST)
    assert night() == 3  # new vestigingen published, woningen kept
    assert night() == 3  # nothing new: no new snapshot, still reported partial
    last_two = runs.read_runs(night.data)[-2:]
    assert [r["outcome"] for r in last_two] == ["partial", "partial"]
    assert last_two[0]["snapshot_id"] == last_two[1]["snapshot_id"] != night.first_id
    obs = snapshot.load_snapshot(night.data).observations
    assert set(obs.indicator) == set(night.first_obs.indicator)


def test_no_op_night_downloads_no_data(night):
    night.server.reset_stats()
    assert night() == 0
    paths = [p for _m, p, _s in night.server.stats.log]
    assert len(paths) == 3 and all("/TableInfos" in p for p in paths)  # gebieden + 2 tables
    assert runs.read_runs(night.data)[-1]["outcome"] == "noop"


def test_kill_9_mid_fetch_then_next_run_recovers(night):
    _bump(night.mirror, VEST)
    _bump(night.mirror, WON)
    night.server.add_fault("slow", table=VEST, entity="TypedDataSet", seconds=30, times=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines", *night.args("--workers", "1")],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not any(f"{VEST}/TypedDataSet" in p for _m, p, _s in night.server.stats.log) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        # wait until the other table's raw fetch is being written or done, then kill -9
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert snapshot.current_id(night.data) == night.first_id
    pd.testing.assert_frame_equal(snapshot.load_snapshot(night.data).observations, night.first_obs)
    night.server.clear_faults()
    assert night() == 0  # no manual cleanup: the kernel released the lock
    assert snapshot.current_id(night.data) != night.first_id
    assert not list(night.data.rglob(".tmp-*"))


def test_json_logs_name_the_table_and_count_pages(night, capfd):
    _bump(night.mirror, VEST)
    assert night() == 0
    err = capfd.readouterr().err
    lines = [json.loads(ln) for ln in err.splitlines() if ln.startswith("{")]
    assert any(ln["msg"] == "fetched" and ln.get("table") == VEST for ln in lines)
    assert any(ln["msg"] == "request" and f"/{VEST}/TypedDataSet" in ln.get("url", "") for ln in lines)
    assert lines[-1]["msg"] == "refresh ok"
