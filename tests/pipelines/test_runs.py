"""The run history (``runs.jsonl``) can never break reading (issue 23): a line that is not UTF-8,
not JSON or not a run record is skipped with a warning naming the file and the line, the next
record starts on a line of its own after a line cut off by a crash, ``status`` names the file
and still lists the good runs, and a refresh refused by the lock leaves a record too."""

from __future__ import annotations

import json
import logging

import pytest

from pipelines import runs
from tests.support.world import cli_world, lock_held


def _rec(n: int, outcome: str = "ok") -> dict:
    return {"run_id": f"r{n}", "started": f"2026-01-0{n}T02:00:00Z",
            "ended": f"2026-01-0{n}T02:01:00Z", "outcome": outcome, "exit_code": 0,
            "command": "refresh", "tables": {}}


def _line(rec: dict) -> bytes:
    return (json.dumps(rec) + "\n").encode()


def test_bad_lines_are_skipped_with_a_warning_naming_file_and_line(tmp_path, caplog):
    path = tmp_path / runs.RUNS
    path.write_bytes(_line(_rec(1)) + b'{"outcome": "ok", "error": "caf\xe9"}\n' + _line(_rec(2))
                     + b"[1, 2]\n" + b'{"started": 5}\n' + b'{"tables": {"X": 1}}\n'
                     + _line(_rec(3))[:25])  # the last line cut off by a crash
    with caplog.at_level(logging.WARNING, logger="pipelines.runs"):
        got = runs.read_runs(tmp_path)
    assert [r["run_id"] for r in got] == ["r1", "r2"]
    warned = [r.getMessage() for r in caplog.records]
    assert warned == [f"run history: {path}:2: not UTF-8 (byte 32); line skipped",
                      f"run history: {path}:4: a JSON list, not a run record; line skipped",
                      f"run history: {path}:5: field(s) started not text; line skipped",
                      f"run history: {path}:6: field tables is not a mapping of table records; "
                      "line skipped",
                      f"run history: {path}:7: not a JSON record (cut off by a crash?); line "
                      "skipped"]
    assert runs.last_successful_check(got) == "2026-01-02T02:01:00Z"


def test_the_next_record_starts_on_its_own_line_after_a_cut_off_one(tmp_path):
    path = tmp_path / runs.RUNS
    path.write_bytes(_line(_rec(1)) + _line(_rec(2))[:30])
    runs.append_run(tmp_path, _rec(3))
    assert path.read_bytes().endswith(b"\n" + _line(_rec(3)))
    assert [r["run_id"] for r in runs.read_runs(tmp_path)] == ["r1", "r3"]
    runs.append_run(tmp_path, _rec(4))  # an intact file: no empty lines added
    assert path.read_bytes().count(b"\n\n") == 0
    assert [r["run_id"] for r in runs.read_runs(tmp_path, last=2)] == ["r3", "r4"]


def test_an_unreadable_history_reads_as_none_naming_the_file(tmp_path):
    (tmp_path / runs.RUNS).mkdir()  # a folder where the file should be
    hist = runs.load(tmp_path)
    assert hist.runs == []
    assert hist.problems[0].startswith(f"{tmp_path / runs.RUNS}: cannot be read (")
    assert runs.read_runs(tmp_path) == []
    assert runs.load(tmp_path / "nowhere").problems == []  # no history yet is no problem


@pytest.fixture
def world(tmp_path, standin):
    return cli_world(tmp_path, standin)


def test_status_names_the_damaged_history_and_lists_the_good_runs(world, capsys):
    assert world("refresh") == 0
    path = world.data / runs.RUNS
    good = path.read_bytes()
    path.write_bytes(b"\xff\xfe not a record\n" + good + good[:40])  # + a line cut off
    assert world("refresh") == 0  # nothing new at CBS: noop, recorded on a line of its own
    capsys.readouterr()
    assert world("status") == 0  # the runs that could be read still show a fresh check
    out = capsys.readouterr().out
    assert f"run history {path}: 2 problem(s)" in out
    assert f"{path}:1: not UTF-8 (byte 1); line skipped" in out
    assert f"{path}:3: not a JSON record (cut off by a crash?); line skipped" in out
    assert [r["outcome"] for r in runs.read_runs(world.data)] == ["ok", "noop"]
    recent = out.split("recent runs", 1)[1]
    assert " ok " in recent and " noop " in recent
    assert "last successful check at CBS: 20" in out


def test_a_refresh_refused_by_the_lock_is_recorded(world, caplog):
    with lock_held(world.data):
        assert world("refresh") == 75
    rec = runs.read_runs(world.data)[-1]
    assert rec["outcome"] == "locked" and rec["exit_code"] == 75
    assert rec["error"].startswith("another refresh is running (pid ")
    assert rec["started"] and rec["ended"] and rec["command"].startswith("refresh")
    assert runs.last_successful_check([rec]) is None  # it checked nothing at CBS


def test_leftover_raw_temporary_folders_are_removed_at_the_start_of_a_run(world):
    assert world("refresh") == 0
    raw = world.data / "raw"
    left = [raw / t / ".tmp-20260101T020000Z-4242" for t in ("90001NED", "90002NED")]
    for d in left:  # as a kill -9 during a download leaves them
        d.mkdir()
        (d / "TypedDataSet.json").write_text("{")
    assert world("refresh") == 0  # CBS has nothing new: no table saved, yet they are gone
    assert not any(d.exists() for d in left)
    rec = runs.read_runs(world.data)[-1]
    assert rec["outcome"] == "noop"
    assert rec["removed_temporary"] == sorted(str(d.relative_to(world.data)) for d in left)
