"""Resource errors (disk full, permission denied, read-only folder): one error line naming the
path, a failed ``runs.jsonl`` record (or a stderr line when even that cannot be written), exit 1,
no temporary leftovers, and the published snapshot untouched. Simulated deterministically by
making the store's writes fail with the errno the kernel would give."""

from __future__ import annotations

import errno
import logging
import threading
from pathlib import Path

import pandas as pd
import pytest

from pipelines import fileio, runs, snapshot, store
from tests.support.world import cli_world


@pytest.fixture
def world(tmp_path, standin, caplog):
    caplog.set_level(logging.INFO)
    run = cli_world(tmp_path, standin)
    assert run("refresh") == 0
    run.good = snapshot.current_id(run.data), snapshot.load_snapshot(run.data).observations
    return run


def leftovers(data: Path) -> list[str]:
    return [str(p.relative_to(data)) for p in data.rglob("*") if ".tmp" in p.name]


def assert_untouched(world) -> None:
    sid, obs = world.good
    assert snapshot.current_id(world.data) == sid and snapshot.verify_snapshot(world.data, sid) == []
    pd.testing.assert_frame_equal(snapshot.load_snapshot(world.data).observations, obs)
    assert leftovers(world.data) == []


def error_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_disk_full_in_the_worker_threads_saving_raw_data(world, monkeypatch, caplog):
    real, threads = Path.write_bytes, set()

    def full(self, data):
        if "raw" in self.parts:
            threads.add(threading.current_thread().name)
            raise OSError(errno.ENOSPC, "No space left on device")  # a write() names no file
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    caplog.clear()
    assert world("refresh", "--force") == 1
    assert threads and "MainThread" not in threads  # raised in the fetch workers
    run = runs.read_runs(world.data)[-1]
    assert run["outcome"] == "failed" and run["exit_code"] == 1 and run["kind"] == "storage"
    assert run["seconds"] >= 0 and run["started"] <= run["ended"]
    assert "No space left on device" in run["error"] and "/raw/" in run["path"]
    msgs = [m for m in error_lines(caplog) if "cannot write" in m]
    assert len(msgs) == 1 and "No space left on device" in msgs[0] and "/raw/" in msgs[0]
    assert "\n" not in msgs[0]
    assert_untouched(world)


def test_disk_full_while_publishing(world, monkeypatch, caplog):
    real = pd.DataFrame.to_parquet

    def full(self, path, *a, **kw):
        if "snapshots" in Path(path).parts and Path(path).name == "peers.parquet":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *a, **kw)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    assert world("refresh", "--force") == 1
    run = runs.read_runs(world.data)[-1]
    assert run["kind"] == "storage" and run["path"].endswith("peers.parquet")
    assert "snapshots" in run["path"]
    assert_untouched(world)  # the half-written .tmp snapshot folder is gone


def test_permission_denied_when_switching_to_the_new_snapshot(world, monkeypatch):
    real = store.os.rename

    def denied(src, dst, *a, **kw):
        if "snapshots" in Path(dst).parts:
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(store.os, "rename", denied)
    assert world("refresh", "--force") == 1
    run = runs.read_runs(world.data)[-1]
    assert run["error"].startswith("cannot write ") and "Permission denied" in run["error"]
    assert "snapshots" in run["path"]
    assert_untouched(world)


def test_read_only_data_folder_says_so_on_stderr(world, monkeypatch, capsys, caplog):
    real = open

    def read_only(file, mode="r", *a, **kw):
        if any(c in mode for c in "wax+"):
            raise OSError(errno.EROFS, "Read-only file system", str(file))
        return real(file, mode, *a, **kw)

    for writer in (store, runs, fileio, snapshot):  # every module that writes the data folder
        monkeypatch.setattr(writer, "open", read_only, raising=False)
    runs_before = runs.read_runs(world.data)
    caplog.clear()
    capsys.readouterr()
    assert world("refresh") == 1
    err = capsys.readouterr().err
    assert "Read-only file system" in err and "runs.jsonl" in err and ".refresh.lock" in err
    assert "Traceback" not in err
    assert any(".refresh.lock: Read-only file system" in m for m in error_lines(caplog))
    assert runs.read_runs(world.data) == runs_before
    assert_untouched(world)


def test_storage_error_names_the_file_when_the_os_does_not():
    err = store.StorageError("/data/x.json", OSError(errno.ENOSPC, "No space left on device"))
    assert str(err) == "cannot write /data/x.json: No space left on device"
    err = store.StorageError("/data", PermissionError(errno.EACCES, "Permission denied", "/data/y"))
    assert str(err) == "cannot write /data/y: Permission denied"
    assert store.is_resource_error(OSError(errno.EROFS, "ro"))
    assert not store.is_resource_error(OSError(errno.ECONNRESET, "reset"))


def test_storage_error_survives_a_process_boundary():
    import pickle

    err = pickle.loads(pickle.dumps(store.StorageError("/d/x.pdf", OSError(errno.ENOSPC, "full"))))
    assert isinstance(err, store.StorageError) and str(err) == "cannot write /d/x.pdf: full"
    assert err.errno == errno.ENOSPC


def test_briefing_cli_disk_full_is_one_line_and_leaves_nothing(tmp_path, snapshot_builder,
                                                               monkeypatch, capsys):
    from dashboard.core import briefing

    data = snapshot_builder(tmp_path / "data")
    out = tmp_path / "out"
    real = Path.write_bytes

    def full(self, body):
        if self.parent == out:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, body)

    monkeypatch.setattr(Path, "write_bytes", full)
    capsys.readouterr()
    assert briefing.main(["GM0355", "GM0344", "--out", str(out), "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err  # other lines may come from loggers set up by earlier tests
    lines = [ln for ln in err.splitlines() if "No space left" in ln]  # a traceback would repeat it
    assert len(lines) == 1, err
    assert lines[0].startswith(f"briefing: cannot write {out}/briefing-GM0355")
    assert lines[0].endswith("No space left on device")
    assert list(out.iterdir()) == []  # no .tmp left behind
