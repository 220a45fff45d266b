"""End-to-end refresh through the real cbsodata client against the local CBS stand-in."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from pipelines import runs, snapshot, store
from pipelines.__main__ import main
from tests.support.world import FORMER, GEBIEDEN, VEST, WON, lock_held, vest_value, write_catalog, write_world


@pytest.fixture
def world(tmp_path, standin):
    mirror = write_world(tmp_path / "mirror")
    server = standin(mirror, geo_dir=mirror.parent / "geo")
    cat = write_catalog(tmp_path / "catalog.yaml")
    data = tmp_path / "data"

    def run(*args: str, catalog=cat) -> int:
        return main([args[0], "--data-dir", str(data), "--catalog", str(catalog),
                     "--log-format", "json", *args[1:],
                     *(["--cbs-url", server.url, "--backoff", "0"]
                       if args[0] in ("refresh", "catalog") else []),
                     *(["--geo-url", f"{server.url}/geo/gemeente_{{year}}.geojson"]
                       if args[0] == "refresh" else [])])

    run.server, run.data, run.mirror, run.catalog = server, data, mirror, cat
    return run


def data_requests(server, table: str) -> list[str]:
    return [p for _m, p, _s in server.stats.log if f"/{table}/TypedDataSet" in p]


def test_refresh_publishes_exact_values_with_codes_and_status(world):
    assert world("refresh") == 0
    snap = snapshot.load_snapshot(world.data)
    obs = snap.observations.set_index(["indicator", "region_code", "period"])
    # values equal the raw CBS values; keys stripped; status from Perioden
    for reg in ("NL01", "PV20", "CR04", "GM0003"):
        for year in ("2019", "2020", "2021"):
            expected = vest_value(reg, f"{year}JJ00", "T001081")
            assert obs.loc[("vestigingen", reg, year), "value"] == expected
    assert obs.loc[("vestigingen", "GM0001", "2021"), "status"] == "Voorlopig"
    assert obs.loc[("vestigingen", "GM0001", "2020"), "status"] == "Definitief"
    # a CBS gap stays a gap, never 0
    assert ("vestigingen", "GM0004", "2021") not in obs.index
    # derived indicator: (totaal - bewoond) / totaal * 100 on the raw numbers
    tot, bew = 1000.0 * 6 + 1, round((1000.0 * 6 + 1) * 0.95)
    assert obs.loc[("onbewoond_pct", "GM0001", "2020"), "value"] == pytest.approx(
        (tot - bew) / tot * 100, rel=1e-12)
    # cross-table derived indicator only at its configured levels
    sub = snap.observations[snap.observations.indicator == "vestigingen_per_1000_woningen"]
    assert set(sub.region_level) == {"NL", "GM"}
    # region levels come from the code; CR not configured for onbewoond_pct
    assert set(snap.observations[snap.observations.indicator == "onbewoond_pct"].region_level) == {
        "NL", "PV", "GM"}
    # provenance travels with the snapshot
    t = snap.manifest.tables[VEST]
    assert t.modified == "2025-04-22T02:00:00" and t.fetched_at and not t.stale
    assert t.filter.startswith("(BedrijfstakkenBranchesSBI2008 eq 'T001081')")


def test_only_needed_rows_and_columns_are_fetched(world):
    assert world("refresh") == 0
    reqs = data_requests(world.server, VEST)
    assert len(reqs) == 1
    assert "%24filter=" in reqs[0] and "%24select=" in reqs[0]
    raw = store.RawStore(world.data).latest(VEST)
    assert {r["BedrijfstakkenBranchesSBI2008"] for r in raw.data} == {"T001081"}
    assert set(raw.data[0]) == {"RegioS", "Perioden", "BedrijfstakkenBranchesSBI2008",
                                "Vestigingen_1"}
    m = raw.manifest
    assert m["files"]["TypedDataSet"]["sha256"] and m["modified"] and m["url"].endswith(
        f"/{VEST}/TypedDataSet")


def test_regions_include_levels_parents_and_former_gemeenten(world):
    assert world("refresh") == 0
    reg = snapshot.load_snapshot(world.data).regions.set_index("code")
    assert reg.loc["GM0002", "provincie_code"] == "PV20"
    assert reg.loc["GM0002", "corop"] == "Oost-Groningen"
    assert reg.loc["GM0002", "arbeidsmarktregio_code"] == "AM01"
    assert reg.loc["GM0002", "size_class"] == "100 000 tot 150 000 inwoners"
    assert reg.loc["GM0002", "urbanity"] == "Sterk stedelijk"
    assert reg.loc["CR04", "level"] == "CR" and reg.loc["CR04", "provincie_code"] == "PV21"
    assert reg.loc["NL01", "level"] == "NL"
    assert reg.loc[FORMER, "is_current"] == False  # noqa: E712 - numpy bool
    assert reg.loc[FORMER, "name"] == "Oudedorp"
    assert reg.loc["GM0001", "is_current"] == True  # noqa: E712


def test_second_run_downloads_nothing_and_force_does(world):
    assert world("refresh") == 0
    first = snapshot.current_id(world.data)
    world.server.reset_stats()
    assert world("refresh") == 0
    entities = {p.split("?")[0].rsplit("/", 1)[-1] for _m, p, _s in world.server.stats.log}
    assert entities == {"TableInfos"}, "a no-op night costs one metadata request per table"
    assert snapshot.current_id(world.data) == first
    assert runs.read_runs(world.data)[-1]["outcome"] == "noop"
    world.server.reset_stats()
    assert world("refresh", "--force") == 0
    assert len(data_requests(world.server, VEST)) == 1


def test_changed_modified_triggers_download_of_that_table_only(world):
    assert world("refresh") == 0
    ti = world.mirror / WON / "TableInfos.json"
    body = json.loads(ti.read_text())
    body["value"][0]["Modified"] = "2026-01-01T02:00:00"
    ti.write_text(json.dumps(body))
    world.server.reset_stats()
    assert world("refresh") == 0
    assert data_requests(world.server, WON) and not data_requests(world.server, VEST)
    run = runs.read_runs(world.data)[-1]
    assert run["tables"][WON]["action"] == "fetched"
    assert run["tables"][VEST]["action"] == "unchanged"
    # same figures: the new snapshot reports no changes since the previous one
    assert snapshot.load_snapshot(world.data).manifest.changes.indicators == {}


def test_revision_at_cbs_is_reported_as_a_change(world):
    assert world("refresh") == 0
    first = snapshot.current_id(world.data)
    td = world.mirror / VEST / "TypedDataSet.json"
    body = json.loads(td.read_text())
    for r in body["value"]:
        if (r["RegioS"], r["Perioden"], r["BedrijfstakkenBranchesSBI2008"]) == (
                "GM0002", "2020JJ00", "T001081"):
            r["Vestigingen_1"] += 7
    td.write_text(json.dumps(body))
    ti = world.mirror / VEST / "TableInfos.json"
    info = json.loads(ti.read_text())
    info["value"][0]["Modified"] = "2026-05-01T02:00:00"
    ti.write_text(json.dumps(info))
    assert world("refresh") == 0
    ch = snapshot.load_snapshot(world.data).manifest.changes
    assert ch.previous_snapshot == first
    assert ch.indicators["vestigingen"].revised == 1
    assert ch.indicators["vestigingen"].revised_examples[0].region_code == "GM0002"
    assert "vestigingen_per_1000_woningen" in ch.indicators  # derived from it


def test_only_refreshes_one_indicator(world):
    assert world("refresh", "--only", "vestigingen") == 0
    snap = snapshot.load_snapshot(world.data)
    assert set(snap.observations.indicator) == {"vestigingen"}
    assert not data_requests(world.server, WON)
    assert "onbewoond_pct" in snap.manifest.indicators_not_yet_fetched
    assert world("refresh", "--only", "nonsense") == 1


def test_export_csv_has_documented_columns(world, tmp_path):
    assert world("refresh") == 0
    out = tmp_path / "export.csv"
    assert world("export", "--out", str(out), "--boundaries", "historical") == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    # fetched from the stand-in on 127.0.0.1, not CBS: every row says so first, in the words of
    # the dashboard's banner and downloads (pipelines/notices.py)
    assert {r.pop("let op") for r in rows} == {
        "Let op: niet rechtstreeks van het CBS. Deze snapshot is opgehaald bij "
        f"{snapshot.load_snapshot(world.data).manifest.cbs_url}, niet bij het CBS zelf."}
    assert list(rows[0]) == ["indicator", "region_code", "region_name", "region_level", "period",
                             "value", "unit", "status", "cbs_table", "measure", "boundaries",
                             "harmonisation", "kwaliteit"]
    row = next(r for r in rows if r["indicator"] == "vestigingen" and r["region_code"] == "GM0002"
               and r["period"] == "2020")
    assert row["region_name"] == "Beekstad" and float(row["value"]) == vest_value(
        "GM0002", "2020JJ00", "T001081")
    assert row["cbs_table"] == VEST and row["measure"] == "Vestigingen_1"
    derived = next(r for r in rows if r["indicator"] == "onbewoond_pct")
    assert derived["measure"].startswith("(totaal - bewoond) / totaal * 100 (totaal=")
    assert derived["unit"] == "%"
    # a computed figure has the indicator's decimals, not 13-16 of floating point
    dec = next(i.decimals for i in snapshot.load_snapshot(world.data).manifest.indicators
               if i.id == "onbewoond_pct")
    assert all(len(r["value"].split(".")[1]) <= dec for r in rows
               if r["indicator"] == "onbewoond_pct" and "." in r["value"])
    assert {r["kwaliteit"] for r in rows} <= {"", "onnauwkeurig"}
    snap = snapshot.load_snapshot(world.data)
    assert len(rows) == len(snap.observations)
    nl = tmp_path / "nl.csv"
    assert world("export", "--out", str(nl), "--dialect", "nl") == 0
    assert nl.read_text(encoding="utf-8").splitlines()[0].count(";") == 13


def test_status_and_catalog_commands(world, capsys):
    assert world("status") == 1  # nothing published yet: monitoring must see a failure
    assert "Geen gepubliceerde snapshot" in capsys.readouterr().out
    assert world("refresh") == 0
    assert world("status") == 0
    out = capsys.readouterr().out
    assert snapshot.current_id(world.data) in out
    assert VEST in out and "2025-04-22T02:00:00" in out
    assert world("catalog", "--check") == 0
    assert "all tables, measures and keys of enabled indicators exist" in capsys.readouterr().out


def test_status_fails_when_no_refresh_succeeded_for_days(world, capsys):
    assert world("refresh") == 0
    runs = world.data / "runs.jsonl"
    old = [json.loads(line) for line in runs.read_text().splitlines()]
    for r in old:  # the only successful check, years ago
        r["started"], r["ended"] = "2020-01-01T02:00:00Z", "2020-01-01T02:01:00Z"
    runs.write_text("".join(json.dumps(r) + "\n" for r in old))
    capsys.readouterr()
    assert world("status") == 1
    assert "NOT FRESH" in capsys.readouterr().out


def test_rollback_and_retention(world):
    assert world("refresh") == 0
    first = snapshot.current_id(world.data)
    assert world("refresh", "--force") == 0
    second = snapshot.current_id(world.data)
    assert second != first
    assert world("rollback") == 0
    assert snapshot.current_id(world.data) == first
    for _ in range(4):
        assert world("refresh", "--force", "--keep", "2") == 0
    assert len(snapshot.snapshot_ids(world.data)) == 2


def test_concurrent_refresh_is_refused(world):
    with lock_held(world.data):
        # flock is per open file description, so a second open in this process conflicts too
        assert world("refresh") == 75
        assert snapshot.current_id(world.data) is None
    assert world("refresh") == 0


def test_snapshot_is_readable_parquet_with_contract_columns(world):
    assert world("refresh") == 0
    path = world.data / "current"
    obs = pd.read_parquet(path / "observations.parquet")
    assert list(obs.columns) == ["indicator", "region_code", "region_level", "period", "year",
                                 "period_type", "value", "status", "cbs_table", "measure",
                                 "uncertainty", "quality"]
    assert set(obs["quality"]) <= {"", "onnauwkeurig"} and (obs["uncertainty"] >= 0).all()
    assert not obs.duplicated(["indicator", "region_code", "period"]).any()
    assert obs.region_code.str.strip().eq(obs.region_code).all()
    assert GEBIEDEN in json.loads((path / "manifest.json").read_text())["tables"]


def test_boundaries_stored_reused_and_failure_keeps_the_old_map(world):
    assert world("refresh") == 0
    snap = snapshot.load_snapshot(world.data)
    meta = snap.manifest.boundaries
    assert meta.year == 2025 and meta.data_year == 2024 and meta.features == 4
    fc = json.loads((snap.path / "gemeenten.geojson").read_text())
    assert fc["features"][0]["geometry"]["coordinates"][0][0] == [5.0, 52.12346]  # rounded
    assert set(fc["features"][0]["properties"]) == {"statcode", "statnaam"}
    # the next publish (a table changed at CBS) reuses the map without a download
    ti = world.mirror / VEST / "TableInfos.json"
    body = json.loads(ti.read_text())
    body["value"][0]["Modified"] = "2026-03-01T02:00:00"
    ti.write_text(json.dumps(body))
    world.server.reset_stats()
    before = snapshot.current_id(world.data)
    assert world("refresh") == 0
    assert snapshot.current_id(world.data) != before
    assert not [p for _m, p, _s in world.server.stats.log if "/geo/" in p]
    assert snapshot.load_snapshot(world.data).manifest.boundaries.year == 2025
    # a map whose gemeenten do not match is refused; the old one is kept, marked stale
    (world.mirror.parent / "geo" / "gemeente_2025.geojson").unlink()
    from tests.support.world import write_geo

    write_geo(world.mirror.parent / "geo", 2024, codes={"GM0001", "GM0002"})
    assert world("refresh", "--force") == 0
    meta = snapshot.load_snapshot(world.data).manifest.boundaries
    assert meta.stale is True and "gemeente codes differ" in meta.error
    assert (snapshot.load_snapshot(world.data).path / "gemeenten.geojson").exists()


def test_data_source_recorded_in_the_manifest():
    from pipelines.refresh import data_source_of

    assert data_source_of("https://opendata.cbs.nl/ODataFeed/odata", None) == "cbs"
    assert data_source_of("http://127.0.0.1:5000", None) == "onbekend"
    assert data_source_of("http://evilcbs.nl.example", None) == "onbekend"
    assert data_source_of("http://127.0.0.1:5000", "mirror") == "mirror"
