"""Snapshot integrity: every published file carries its size and sha256 in the manifest; a
damaged ``current`` is detected by ``status``, repaired by the next ``refresh`` and never shown by
the dashboard (which falls back to the newest intact snapshot with a visible notice)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.core import format as fmt
from dashboard.ui import data as dataio
from pipelines import runs, snapshot, store
from pipelines.__main__ import main
from tests.support.world import VEST, cli_world

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def overwrite_same_size(path: Path) -> None:
    """Flip bytes in the middle of the column data: same size, parquet may still load."""
    body = bytearray(path.read_bytes())
    mid = len(body) // 2
    body[mid:mid + 16] = bytes(b ^ 0xFF for b in body[mid:mid + 16])
    path.write_bytes(bytes(body))


DAMAGE = {"truncated": truncate, "overwritten": overwrite_same_size,
          "garbage": lambda p: p.write_bytes(b"\0garbage" * 64), "deleted": Path.unlink}


# --------------------------------------------------------------------------- store

@pytest.fixture
def two_snapshots(tmp_path, snapshot_builder):
    snapshot_builder(tmp_path)
    first = snapshot.current_id(tmp_path)
    snapshot_builder(tmp_path)
    second = snapshot.current_id(tmp_path)
    assert first != second
    return tmp_path, first, second


def test_manifest_lists_size_and_sha256_of_every_file(two_snapshots):
    root, _first, sid = two_snapshots
    files = snapshot.read_manifest(root).files
    assert {"observations.parquet", "regions.parquet", "peers.parquet"} <= set(files)
    for name, meta in files.items():
        assert meta.model_dump() == store.file_digest(root / "snapshots" / sid / name)
    assert snapshot.verify_snapshot(root, sid) == []


@pytest.mark.parametrize("how", list(DAMAGE))
def test_damage_is_named_and_the_earlier_snapshot_is_intact(two_snapshots, how):
    root, first, second = two_snapshots
    DAMAGE[how](root / "current" / "observations.parquet")
    problems = snapshot.verify_snapshot(root, second)
    assert len(problems) == 1 and "observations.parquet" in problems[0]
    assert snapshot.newest_intact(root) == first
    assert snapshot.newest_intact(root, before=first) is None


def test_unreadable_manifest_is_damage(two_snapshots):
    root, first, second = two_snapshots
    (root / "current" / "manifest.json").write_text("{not json")
    assert "manifest.json" in snapshot.verify_snapshot(root, second)[0]
    assert snapshot.newest_intact(root) == first


def test_snapshot_without_file_hashes_is_checked_for_presence(two_snapshots):
    root, _first, sid = two_snapshots
    m = json.loads((root / "current" / "manifest.json").read_text())
    del m["files"]
    (root / "current" / "manifest.json").write_text(json.dumps(m))
    assert snapshot.read_manifest(root).files is None
    assert snapshot.verify_snapshot(root, sid) == []
    (root / "current" / "regions.parquet").unlink()
    assert "regions.parquet" in snapshot.verify_snapshot(root, sid)[0]


# --------------------------------------------------------------------------- dashboard

def test_dashboard_serves_the_newest_intact_snapshot_with_a_notice(two_snapshots, monkeypatch):
    root, first, second = two_snapshots
    overwrite_same_size(root / "current" / "observations.parquet")
    monkeypatch.setenv("REGIO_DATA_DIR", str(root))
    data, reason = dataio.load_current()
    assert reason is None and data.snapshot_id == first
    published = fmt.datetime_nl(snapshot.read_manifest(root, first).published_at)
    assert "nieuwste cijfers zijn beschadigd" in data.notice and published in data.notice
    pd.testing.assert_frame_equal(data.observations,
                                  snapshot.load_snapshot(root, first).observations)

    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    assert any("beschadigd" in e.value and published in e.value for e in at.error)
    assert any(first in c.value for c in at.caption)  # the footer names what is shown


def test_dashboard_without_any_intact_snapshot_says_so(tmp_path, snapshot_builder, monkeypatch):
    snapshot_builder(tmp_path)
    truncate(tmp_path / "current" / "regions.parquet")
    monkeypatch.setenv("REGIO_DATA_DIR", str(tmp_path))
    data, reason = dataio.load_current()
    assert data is None and "beschadigd" in reason


def test_intact_current_has_no_notice(two_snapshots, monkeypatch):
    root, _first, second = two_snapshots
    monkeypatch.setenv("REGIO_DATA_DIR", str(root))
    data, _ = dataio.load_current()
    assert data.snapshot_id == second and data.notice is None


# --------------------------------------------------------------------------- refresh + status

@pytest.fixture
def world(tmp_path, standin, caplog):
    caplog.set_level(logging.INFO)
    return cli_world(tmp_path, standin)


@pytest.mark.parametrize("how", ["truncated", "overwritten"])
def test_refresh_republishes_a_damaged_current_and_status_reports_it(world, capsys, how):
    assert world("refresh") == 0
    good = snapshot.current_id(world.data)
    expected = snapshot.load_snapshot(world.data).observations
    assert world("refresh") == 0 and runs.read_runs(world.data)[-1]["outcome"] == "noop"
    DAMAGE[how](world.data / "current" / "observations.parquet")

    capsys.readouterr()
    assert world("status") == 1
    out = capsys.readouterr().out
    assert "DAMAGED" in out and "observations.parquet" in out and good in out

    assert world("refresh") == 0  # same CBS data, but not a no-op: current is damaged
    run = runs.read_runs(world.data)[-1]
    assert run["outcome"] == "ok" and "observations.parquet" in run["current_damaged"][0]
    repaired = snapshot.current_id(world.data)
    assert repaired != good and snapshot.verify_snapshot(world.data, repaired) == []
    pd.testing.assert_frame_equal(snapshot.load_snapshot(world.data).observations, expected)

    capsys.readouterr()
    assert world("status") == 0
    out = capsys.readouterr().out
    assert "integrity  ok" in out and "current was damaged: republished" in out
    assert world("refresh") == 0 and runs.read_runs(world.data)[-1]["outcome"] == "noop"


# --------------------------------------------------------------------------- other readers

def test_export_and_rollback_refuse_damaged_snapshots(tmp_path, snapshot_builder, caplog):
    for _ in range(3):
        snapshot_builder(tmp_path)
    first, second, third = snapshot.snapshot_ids(tmp_path)
    truncate(tmp_path / "snapshots" / second / "regions.parquet")
    with pytest.raises(snapshot.NoSnapshot, match="damaged: .*regions.parquet"):
        snapshot.load_snapshot(tmp_path, second)
    assert snapshot.rollback(tmp_path) == first  # skips the damaged one
    truncate(tmp_path / "current" / "observations.parquet")
    caplog.set_level(logging.INFO)
    out = tmp_path / "x.csv"
    assert main(["export", "--data-dir", str(tmp_path), "--out", str(out)]) == 1
    assert not out.exists()
    assert any("damaged" in r.getMessage() and "pipelines refresh" in r.getMessage()
               for r in caplog.records if r.levelno >= logging.ERROR)
    snapshot.switch_current(tmp_path, third)  # now both earlier snapshots are damaged
    with pytest.raises(snapshot.NoSnapshot, match="no intact earlier"):
        snapshot.rollback(tmp_path)
    assert snapshot.current_id(tmp_path) == third


def damage_raw(world) -> Path:
    folder = Path(snapshot.read_manifest(world.data).tables[VEST].raw_folder)
    body = world.data / folder / "TypedDataSet.json"
    body.write_bytes(body.read_bytes().replace(b'"GM0002', b'"GM0009', 1))  # still valid JSON
    return folder


def test_a_damaged_raw_fetch_is_downloaded_again(world):
    assert world("refresh") == 0
    good = snapshot.load_snapshot(world.data).observations
    folder = damage_raw(world)
    assert world("refresh") == 0  # CBS has not changed, but the stored copy is no good
    run = runs.read_runs(world.data)[-1]
    assert "TypedDataSet.json: sha256 differs" in run["raw_damaged"][VEST][0]
    assert run["tables"][VEST]["action"] == "fetched" and run["outcome"] == "ok"
    now = snapshot.read_manifest(world.data).tables[VEST].raw_folder
    assert now != str(folder)  # the snapshot now rests on the new, intact fetch
    pd.testing.assert_frame_equal(snapshot.load_snapshot(world.data).observations, good)
    assert world("refresh") == 0 and runs.read_runs(world.data)[-1]["outcome"] == "noop"


def test_a_damaged_raw_fetch_that_cannot_be_replaced_fails_clearly(world):
    assert world("refresh") == 0
    damage_raw(world)
    truncate(world.data / "current" / "observations.parquet")  # forces a rebuild from raw
    world.server.add_fault("status", table=VEST, code=503)
    assert world("refresh") == 1
    run = runs.read_runs(world.data)[-1]
    assert run["kind"] == "raw_damaged" and VEST in run["error"] and "--force" in run["error"]
    world.server.clear_faults()
    assert world("refresh") == 0
    assert snapshot.verify_snapshot(world.data, snapshot.current_id(world.data)) == []
