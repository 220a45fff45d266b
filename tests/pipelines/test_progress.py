"""What a refresh prints. Text mode (a person at a terminal): a line per table, warnings in plain
words once, a summary, no per-request lines; bars only on a terminal. JSON mode (the nightly):
one object per line with every detail, a line per request included."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from pipelines import logs, snapshot
from pipelines.__main__ import main
from tests.support.world import GEBIEDEN, VEST, WON, write_catalog, write_world


@pytest.fixture
def world(tmp_path, standin):
    mirror = write_world(tmp_path / "mirror")  # boundary files: 2025 only
    server = standin(mirror, geo_dir=mirror.parent / "geo", page_size=7)
    cat = write_catalog(tmp_path / "catalog.yaml")

    def run(fmt: str, *extra: str) -> int:
        return main(["refresh", "--data-dir", str(tmp_path / "data"), "--catalog", str(cat),
                     "--cbs-url", server.url, "--backoff", "0", "--log-format", fmt,
                     "--geo-url", f"{server.url}/geo/gemeente_{{year}}.geojson", *extra])

    run.server, run.data = server, tmp_path / "data"
    return run


def test_text_mode_prints_a_line_per_table_and_a_summary(world, capfd):
    world.server.add_fault("truncate", table=VEST, entity="TypedDataSet", times=1)
    assert world("text") == 0
    err = capfd.readouterr().err
    lines = err.splitlines()
    for table, rows in ((GEBIEDEN, 4), (VEST, 30), (WON, 42)):
        assert len([ln for ln in lines if re.fullmatch(rf"{table}\s+{rows} rows\s+\d+\.\d s",
                                                       ln)]) == 1, err
    assert not [ln for ln in lines if "request" in ln or "/ODataFeed/" in ln], "per request"
    assert not [ln for ln in lines if ln.startswith("{")], "no JSON for a person"
    assert "\r" not in err, "no progress bars when stderr is not a terminal"
    # the retry, in words
    assert [ln for ln in lines if ln.startswith("WARNING")][0].startswith(
        f"WARNING {VEST}: TypedDataSet failed (JSONDecodeError")
    assert "retry 1 of 4 in 0.0 s" in err
    # the boundary files of earlier years are missing: one explanation, not one line per year
    maps = [ln for ln in lines if "map" in ln.lower()]
    assert len([ln for ln in maps if ln.startswith("WARNING No gemeente map for ")]) == 1
    assert "has no file for them (HTTP 404)" in err and "The dashboard shows" in err
    assert "boundaries not updated" not in err
    sid = snapshot.current_id(world.data)
    assert lines[-1] == (f"Published snapshot {sid}: 62 figures from 3 tables (3 downloaded) "
                         f"in {lines[-1].rsplit(' in ', 1)[1]}")

    assert world("text") == 0  # nothing new: said so, no warnings about maps again
    err = capfd.readouterr().err
    assert err.count("unchanged at CBS since 2025-04-22T02:00:00: not downloaded") == 3
    assert "WARNING" not in err
    assert err.splitlines()[-1].startswith(f"Nothing new at CBS: snapshot {sid} stays current")


def test_json_mode_keeps_every_detail_on_one_line_each(world, capfd):
    assert world("json") == 0
    lines = [json.loads(ln) for ln in capfd.readouterr().err.splitlines()]  # all JSON
    pages = [ln for ln in lines if ln["msg"] == "request" and f"/{VEST}/TypedDataSet" in ln["url"]]
    assert len(pages) == 5 and all(p["table"] == VEST for p in pages)  # 30 rows, 7 a page
    assert [p["url"].endswith("(next page)") for p in pages] == [False] + [True] * 4
    down = next(ln for ln in lines if ln["msg"] == "downloading" and ln["table"] == VEST)
    assert down["filter"].startswith("(BedrijfstakkenBranchesSBI2008 eq 'T001081')")
    assert any(ln["msg"] == "fetched" and ln["table"] == VEST and ln["rows"] == 30 for ln in lines)
    per_year = [ln for ln in lines if ln["msg"] == "boundaries not updated"]
    summary = [ln for ln in lines if ln["msg"] == "no map for earlier years"]
    assert len(summary) == 1 and summary[0]["missing_files"] is True
    assert per_year and {ln["year"] for ln in per_year} <= set(summary[0]["years"])
    assert all(ln["level"] == "WARNING" and "404" in ln["error"] for ln in per_year)
    assert lines[-1]["msg"] == "refresh ok" and "_text" not in json.dumps(lines)


def test_detail_lines_show_in_text_mode_at_debug_only(capsys):
    log = logging.getLogger("pipelines.test")
    try:
        logs.setup("text", "INFO")
        logs.detail(log, "request", url="http://x/T/TypedDataSet")
        log.info("fetched", extra={"_text": "T  1 rows"})
        assert capsys.readouterr().err == "T  1 rows\n"
        logs.setup("text", "DEBUG")
        logs.detail(log, "request", url="http://x/T/TypedDataSet")
        assert capsys.readouterr().err == "DEBUG   request  url=http://x/T/TypedDataSet\n"
    finally:
        logs.setup("json", "INFO")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [True, False])
def test_bars_only_on_a_terminal(monkeypatch, tty):
    stream = Terminal() if tty else io.StringIO()
    monkeypatch.setattr(logs._mode, "stream", stream)
    monkeypatch.setattr(logs._mode, "people", True)
    with logs.progress("CBS tables", 2) as bars, bars.table(VEST) as bar:
        bar.page("TypedDataSet", 7, True)
    out = stream.getvalue()
    assert ("CBS tables" in out and VEST in out and "rows" in out) is tty
    assert out == "" or tty
