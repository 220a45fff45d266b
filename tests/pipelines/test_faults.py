"""Bad input and CBS faults: each gives a clear error naming the table/indicator/line, a non-zero
exit, and leaves the published snapshot as it was."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

from pipelines import fileio, runs, snapshot, store
from pipelines.__main__ import main
from tests.support.world import CATALOG, VEST, WON, write_catalog, write_world


@pytest.fixture
def world(tmp_path, standin, caplog):
    caplog.set_level(logging.INFO)
    mirror = write_world(tmp_path / "mirror")
    server = standin(mirror, geo_dir=mirror.parent / "geo")
    data = tmp_path / "data"

    def run(*args: str, catalog: str = CATALOG, extra=()) -> int:
        cat = write_catalog(tmp_path / "catalog.yaml", catalog)
        return main([args[0], "--data-dir", str(data), "--catalog", str(cat), "--log-format",
                     "json", *args[1:], "--cbs-url", server.url, "--backoff", "0",
                     "--timeout", "1",
                     *(["--geo-url", f"{server.url}/geo/gemeente_{{year}}.geojson"]
                       if args[0] == "refresh" else []), *extra])

    run.server, run.data, run.mirror, run.tmp = server, data, mirror, tmp_path
    return run


def published(data) -> pd.DataFrame:
    return snapshot.load_snapshot(data).observations


def last_run(data) -> dict:
    return runs.read_runs(data)[-1]


def assert_unchanged(world, before_id, before_obs):
    assert snapshot.current_id(world.data) == before_id
    pd.testing.assert_frame_equal(published(world.data), before_obs)


@pytest.fixture
def good(world):
    assert world("refresh") == 0
    return snapshot.current_id(world.data), published(world.data)


def test_unknown_table_id_is_reported_and_nothing_published(world, good, caplog):
    bad = CATALOG.replace(f"{WON}:", "90009NED:").replace(f"table: {WON}", "table: 90009NED")
    assert world("refresh", catalog=bad) == 1
    assert_unchanged(world, *good)
    run = last_run(world.data)
    assert run["tables"]["90009NED"]["kind"] == "not_found"
    assert "90009NED" in run["error"]
    assert "DOES NOT EXIST" in caplog.text and "90009NED" in caplog.text


def test_catalog_check_reports_missing_table_and_measure(world, capsys):
    bad = CATALOG.replace("measure: Vestigingen_1", "measure: Vestigingen_99", 1)
    bad = bad.replace(f"{WON}:", "90009NED:").replace(f"table: {WON}", "table: 90009NED")
    assert world("catalog", "--check", catalog=bad) == 1
    out = capsys.readouterr().out
    assert "MISSING  90009NED: DOES NOT EXIST" in out
    assert f"MISSING  {VEST}" in out and "Vestigingen_99" in out


def test_unknown_measure_names_table_and_measure(world, good, caplog):
    bad = CATALOG.replace("measure: Vestigingen_1", "measure: Vestigingen_99", 1)
    # the table was fetched before with the old measure: keep last good data, say it loudly
    assert world("refresh", catalog=bad) == 1
    assert_unchanged(world, *good)
    run = last_run(world.data)
    assert run["tables"][VEST]["kind"] == "missing_measure"
    assert "Vestigingen_99" in run["tables"][VEST]["error"]


def test_unknown_category_key_is_reported(world):
    bad = CATALOG.replace("StatusVanBewoning: A028725", "StatusVanBewoning: A999999")
    assert world("refresh", catalog=bad) == 1
    run = last_run(world.data)
    assert run["tables"][WON]["kind"] == "missing_category"
    assert "A999999" in run["tables"][WON]["error"]
    assert snapshot.current_id(world.data) is None


def test_500_on_one_table_keeps_last_good_data_and_reports_partial(world, good):
    world.server.add_fault("status", table=WON, entity="TableInfos", code=500)
    assert world("refresh", "--force") == 3
    run = last_run(world.data)
    assert run["outcome"] == "partial"
    assert run["tables"][WON]["action"] == "stale" and "HTTP 500" in run["tables"][WON]["error"]
    assert run["tables"][VEST]["action"] == "fetched"
    snap = snapshot.load_snapshot(world.data)
    assert snap.manifest.stale_tables == (WON,)
    assert snap.manifest.tables[WON].stale is True
    pd.testing.assert_frame_equal(snap.observations, good[1])  # nothing lost
    # the old snapshot is still there, untouched
    assert good[0] in snapshot.snapshot_ids(world.data)


def test_500_on_first_run_publishes_nothing(world):
    world.server.add_fault("status", table=WON, code=503)
    assert world("refresh") == 1
    assert snapshot.current_id(world.data) is None
    assert "90002NED" in last_run(world.data)["error"]


@pytest.mark.parametrize("kind", ["truncate", "reset", "status"])
def test_transient_faults_are_retried(world, kind):
    world.server.add_fault(kind, table=VEST, entity="TypedDataSet", times=2)
    assert world("refresh") == 0
    fetched = [p for _m, p, _s in world.server.stats.log if f"{VEST}/TypedDataSet" in p]
    assert len(fetched) == 3
    assert published(world.data)["indicator"].eq("vestigingen").any()


def test_truncated_json_every_time_fails_naming_the_table(world, good):
    world.server.add_fault("truncate", table=VEST, entity="TypedDataSet")
    assert world("refresh", "--force", "--retries", "2") == 3  # stale, old data kept
    err = last_run(world.data)["tables"][VEST]["error"]
    assert VEST in err and "truncated or invalid JSON" in err and "3 attempt" in err


def test_slow_answer_times_out_and_is_retried(world):
    world.server.add_fault("slow", table=VEST, entity="TypedDataSet", seconds=2.5, times=1)
    assert world("refresh") == 0
    assert snapshot.current_id(world.data)


def test_empty_table_fails_check_non_empty(world, tmp_path):
    write_world(world.mirror, vest_rows=False)
    assert world("refresh") == 1
    run = last_run(world.data)
    assert any("[non_empty]" in v and "vestigingen" in v for v in run["violations"])
    assert snapshot.current_id(world.data) is None


def test_region_code_not_in_region_table_fails(world, good):
    rows = [{"BedrijfstakkenBranchesSBI2008": "T001081", "RegioS": "GM9999", "Perioden": p,
             "Vestigingen_1": 5.0} for p in ("2019JJ00",)]
    write_world(world.mirror, extra_rows=rows, modified="2026-02-01T02:00:00")
    # GM9999 is in the data but neither in Gebieden nor in the table's own RegioS list
    regios = world.mirror / VEST / "RegioS.json"
    body = json.loads(regios.read_text())
    body["value"] = [r for r in body["value"] if r["Key"] != "GM9999"]
    regios.write_text(json.dumps(body))
    assert world("refresh") == 1
    run = last_run(world.data)
    assert any("[known_regions]" in v and "GM9999" in v and VEST in v for v in run["violations"])
    assert_unchanged(world, *good)


def test_percentage_out_of_range_fails(world, good):
    bad = CATALOG.replace('formula: "(totaal - bewoond) / totaal * 100"',
                          'formula: "(totaal - bewoond) / totaal * 10000"')
    assert world("refresh", catalog=bad) == 1
    assert any("[range]" in v and "onbewoond_pct" in v for v in last_run(world.data)["violations"])
    assert_unchanged(world, *good)


def test_malformed_catalogue_names_the_line(world, good, caplog):
    bad = CATALOG.replace("    theme: ruimtelijke_economie\n", "    theme: wonen\n")
    assert world("refresh", catalog=bad) == 1
    line = next(i for i, ln in enumerate(bad.splitlines(), 1) if "id: onbewoond_pct" in ln)
    assert f"catalog.yaml:{line}: indicator 'onbewoond_pct': theme 'wonen'" in caplog.text
    assert_unchanged(world, *good)


def test_killed_publish_leaves_current_intact_and_next_run_recovers(world, good, monkeypatch):
    real_rename = store.os.rename

    def crash(src, dst, *a, **kw):
        if "snapshots" in str(dst):
            raise KeyboardInterrupt("killed mid-publish")
        return real_rename(src, dst, *a, **kw)

    monkeypatch.setattr(store.os, "rename", crash)
    monkeypatch.setattr(fileio, "remove", lambda path: None)  # a kill runs no cleanup code
    with pytest.raises(KeyboardInterrupt):
        world("refresh", "--force")
    monkeypatch.undo()
    assert_unchanged(world, *good)
    assert list((world.data / "snapshots").glob(".tmp-*")), "the half-written snapshot is left"
    assert world("refresh", "--force") == 0
    assert not list((world.data / "snapshots").glob(".tmp-*")), "and cleaned by the next run"
