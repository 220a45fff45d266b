"""Series on current gemeente boundaries: merge, absorb, rename, split, successive changes."""

from __future__ import annotations

import csv

import pandas as pd
import pytest
import yaml

from pipelines import catalog
from pipelines.history import History, HistoryError, harmonise
from pipelines.transform import Boundaries, RawTable, tidy_indicator
from tests.support.paths import SHARED_CBS
from tests.support.snapshot_factory import published_manifest

HIST = """
history_from: 2019
changes:
  - {year: 2020, kind: merge, into: {GM0100: "Nieuwstad"}, from: {GM0001: "Aa", GM0002: "Bee"}}
  - {year: 2021, kind: rename, into: {GM0200: "Nieuwe Naam"}, from: {GM0003: "Oude Naam"}}
  - {year: 2021, kind: split, from: {GM0004: "Deeldorp"}, into: {GM0005: 60, GM0006: 40},
     weights: "inwoners 2020"}
  - {year: 2022, kind: absorb, into: {GM0007: "Groot"}, from: {GM0100: "Nieuwstad"}}
  - {year: 2022, kind: split, from: {GM0008: "Onbekend"}, into: [GM0005, GM0009]}
"""
CURRENT = {"GM0007", "GM0200", "GM0005", "GM0006", "GM0009"}
REF = 2024


@pytest.fixture
def history(tmp_path) -> History:
    p = tmp_path / "h.yaml"
    p.write_text(HIST)
    return History.load(p)


# gemeente values per year (on that year's boundaries, like CBS publishes)
DATA = {
    2018: {"GM0001": 10, "GM0002": 5, "GM0003": 7, "GM0004": 100, "GM0005": 50, "GM0006": 20,
           "GM0007": 1000, "GM0008": 30, "GM0009": 3},
    2019: {"GM0001": 11, "GM0002": 6, "GM0003": 8, "GM0004": 100, "GM0005": 50, "GM0006": 20,
           "GM0007": 1000, "GM0008": 30, "GM0009": 3},
    2020: {"GM0100": 18, "GM0003": 9, "GM0004": 110, "GM0005": 55, "GM0006": 22, "GM0007": 1010,
           "GM0008": 31, "GM0009": 4},
    2021: {"GM0100": 19, "GM0200": 10, "GM0005": 121, "GM0006": 67, "GM0007": 1020,
           "GM0008": 32, "GM0009": 5},
    2022: {"GM0200": 11, "GM0005": 140, "GM0006": 70, "GM0007": 1060, "GM0009": 20},
    2017: {"GM0007": 990},
}


def frame(data=DATA):
    rows = [{"region_code": c, "period_key": f"{y}JJ00", "value": float(v)}
            for y, vals in data.items() for c, v in vals.items()]
    rows.append({"region_code": "NL01", "period_key": "2020JJ00", "value": 5.0})
    return pd.DataFrame(rows)


def run(history, additive=True, data=DATA):
    f = frame(data)
    years = f["period_key"].str[:4].astype(int)
    out, problems = harmonise(f, years, history, CURRENT, REF, additive)
    got = {(r.region_code, int(r.period_key[:4])): (r.value, r.flag) for r in out.itertuples()}
    return got, problems


def test_merge_then_absorb_sums_all_predecessors(history):
    got, _ = run(history)
    # 2019: Aa + Bee (-> Nieuwstad 2020 -> Groot 2022) + Groot itself
    assert got[("GM0007", 2019)] == (1000 + 11 + 6, "opgeteld")
    assert got[("GM0007", 2021)] == (1020 + 19, "opgeteld")  # two successive changes
    assert got[("GM0007", 2022)] == (1060, "gepubliceerd")


def test_rename_is_the_same_series(history):
    got, _ = run(history)
    assert got[("GM0200", 2019)] == (8, "gepubliceerd")
    assert got[("GM0200", 2021)] == (10, "gepubliceerd")


def test_split_is_weighted_and_flagged_as_estimate(history):
    got, problems = run(history)
    assert got[("GM0006", 2020)] == pytest.approx((22 + 0.4 * 110, "geschat"))
    assert got[("GM0006", 2019)][1] == "geschat"
    # GM0005 also receives part of a split without weights (2022): not harmonisable before 2022
    assert ("GM0005", 2021) not in got
    assert any(p["region_code"] == "GM0005" and p["period_key"] == "2021JJ00"
               and "Onbekend" in p["reason"] for p in problems)
    assert got[("GM0005", 2022)] == (140, "gepubliceerd")


def test_totals_are_unchanged_by_harmonisation(history):
    got, _ = run(history)
    # 2021: everything harmonisable except GM0005/GM0009 (unknown split): compare the rest
    published = sum(DATA[2021][c] for c in ("GM0100", "GM0200", "GM0006", "GM0007"))
    harmonised = sum(got[(c, 2021)][0] for c in ("GM0007", "GM0200", "GM0006"))
    assert harmonised == pytest.approx(published)
    # 2020 with the weighted split: the split gemeente's total is preserved over its parts
    total_2020 = sum(v for c, v in DATA[2020].items() if c not in ("GM0008", "GM0009", "GM0005"))
    parts = got[("GM0007", 2020)][0] + got[("GM0200", 2020)][0] + got[("GM0006", 2020)][0]
    assert parts + 0.6 * 110 == pytest.approx(total_2020)


def test_non_gemeente_rows_pass_through(history):
    got, _ = run(history)
    assert got[("NL01", 2020)] == (5.0, "gepubliceerd")


def test_missing_predecessor_and_before_history_are_reported(history):
    data = {y: dict(v) for y, v in DATA.items()}
    del data[2019]["GM0002"]
    got, problems = run(history, data=data)
    assert ("GM0007", 2019) not in got
    assert any(p["region_code"] == "GM0007" and "Bee (GM0002)" in p["reason"] for p in problems)
    assert ("GM0007", 2017) not in got
    assert any(p["period_key"] == "2017JJ00" and "vóór 2018" in p["reason"] for p in problems)


def test_non_additive_measure_only_where_nothing_changed(history):
    got, problems = run(history, additive=False)
    assert ("GM0007", 2019) not in got and got[("GM0200", 2019)] == (8, "gepubliceerd")
    assert any("niet optelbaar" in p["reason"] for p in problems)


def test_ratio_is_recomputed_from_harmonised_inputs(history):
    rows = []
    for y, vals in DATA.items():
        for c, v in vals.items():
            rows.append({"RegioS": c, "Perioden": f"{y}JJ00", "Teller_1": float(v),
                         "Noemer_2": float(v) * 4 if c != "GM0007" else float(v)})
    raw = RawTable("11111NED", {"TypedDataSet": rows,
                                "Perioden": [{"Key": f"{y}JJ00", "Status": "Definitief"} for y in DATA],
                                "DataProperties": [{"Key": "Teller_1", "Type": "Topic"},
                                                   {"Key": "Noemer_2", "Type": "Topic"}]})
    spec = {"id": "r", "theme": "mkb_innovatie", "title": "r", "description": "r", "unit": "%",
            "kind": "rate",
            "higher_is_better": None, "levels": ["GM"], "formula": "t / n * 100",
            "inputs": yaml.safe_load("{t: {table: 11111NED, measure: Teller_1, additive: true},"
                                     " n: {table: 11111NED, measure: Noemer_2, additive: true}}")}
    ind = catalog._indicator(spec, {"11111NED": catalog.Table("11111NED", "x", True, "", "yearly", 0)}, 1)
    b = Boundaries(history, frozenset(CURRENT), REF, {"11111NED": "yearly"})
    out = tidy_indicator(ind, {"11111NED": raw}, b).set_index(["region_code", "period"])
    # sum of numerators over sum of denominators, not a sum or mean of ratios
    t, n = 1000 + 11 + 6, 1000 + 11 * 4 + 6 * 4
    assert out.loc[("GM0007", "2019"), "value"] == pytest.approx(t / n * 100)
    assert out.loc[("GM0007", "2019"), "harmonisation"] == "opgeteld"


def test_validate_against_editions(history):
    ed = {2019: {"GM0001", "GM0002", "GM0003", "GM0004", "GM0005", "GM0006", "GM0007", "GM0008",
                 "GM0009"}}
    ed[2020] = (ed[2019] - {"GM0001", "GM0002"}) | {"GM0100"}
    assert history.validate(ed) == []
    ed[2020] = ed[2020] - {"GM0003"}
    assert history.validate(ed) == ["GM0003 disappears between 2019 and 2020 without a recorded change"]


def test_note_for_affected_gemeente(history):
    assert history.note_for("GM0100", REF).startswith(
        "Nieuwstad is op 1 januari 2020 ontstaan uit Aa en Bee")
    assert "opgegaan in Groot" in history.note_for("GM0007", REF)
    assert history.note_for("GM0009", REF).startswith("GM0009 kreeg op 1 januari 2022 een deel")
    assert history.note_for("GM0009", REF, {"GM0009": "Negendorp"}).startswith(
        "Negendorp kreeg op 1 januari 2022 een deel van Onbekend")


def test_malformed_history_is_named(tmp_path):
    p = tmp_path / "h.yaml"
    p.write_text("history_from: 2019\nchanges:\n  - {year: 2020, kind: fuse, into: {GM1: x}, from: {}}\n")
    with pytest.raises(HistoryError, match=r"change #1 \(2020, fuse\): kind must be one of"):
        History.load(p)


CSV = SHARED_CBS / "csv" / "dertje_cbs_datasets"
EDITIONS = {2020: "84721NED", 2021: "84929NED", 2022: "85067NED", 2023: "85385NED",
            2024: "85755NED", 2025: "86059NED"}


@pytest.mark.skipif(not CSV.is_dir(), reason=f"real Gebieden in Nederland CSVs not found at {CSV}")
def test_shipped_history_matches_the_real_gebieden_editions_2020_2025():
    editions = {}
    for year, table in EDITIONS.items():
        with open(CSV / f"{table}.csv", encoding="utf-8-sig") as fh:
            editions[year] = {r["Code_1"].strip() for r in csv.DictReader(fh, delimiter=";")}
    h = History.load()
    assert h.validate(editions) == []
    # and every successor of a 2018/2019 change exists in the 2020 edition, no predecessor does
    for ch in h.changes:
        if ch.year in (2018, 2019):
            assert {c for c, _ in ch.targets} <= editions[2020], ch
            assert not {c for c, _ in ch.sources} & editions[2020], ch


def test_maps_for_earlier_boundary_years(history, tmp_path, standin):
    import json
    from types import SimpleNamespace

    from pipelines import geo, maps
    from pipelines.cbs import CbsClient, CbsConfig

    geo_dir = tmp_path / "geo"
    geo_dir.mkdir()
    codes_2021 = history.codes_in_year(2021, CURRENT, REF)
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"statcode": c, "statnaam": c},
         "geometry": {"type": "Polygon", "coordinates": [[[5, 52], [5.1, 52], [5.1, 52.1], [5, 52]]]}}
        for c in sorted(codes_2021)]}
    (geo_dir / "gemeente_2021.geojson").write_text(json.dumps(fc))
    server = standin(tmp_path, geo_dir=geo_dir)
    client = CbsClient(CbsConfig(base_url=server.url, backoff=0))
    source = geo.Source(f"{server.url}/geo/gemeente_{{year}}.geojson", client.boundary_file)
    regions = pd.DataFrame({"code": sorted(CURRENT), "level": "GM", "is_current": True})
    cat = SimpleNamespace(reference_year=REF)
    files, metas = maps.historical_boundaries(cat, regions, history, None, tmp_path, source, False)
    # 2022 and 2023 have today's gemeenten: no extra map; 2021, 2020 and 2019 differ, and 2018
    # had the same gemeenten as 2019, so the 2019 entry serves both
    assert set(metas) == {"2021", "2020", "2019"} and metas["2019"].years == (2019, 2018)
    assert metas["2021"].file == "gemeenten_2021.geojson" and metas["2021"].year == 2021
    assert set(files) == {"gemeenten_2021.geojson"}
    assert metas["2019"].file is None and "2019: 404" in metas["2019"].error
    # a year known to be unavailable is not asked again on the next run
    server.reset_stats()
    manifest = published_manifest(snapshot_id="none", boundaries_by_year=metas)
    maps.historical_boundaries(cat, regions, history, manifest, tmp_path, source, False)
    assert not [p for _m, p, _s in server.stats.log if "2019" in p or "2018" in p]


BANEN_CSV = CSV / "83582NED.csv"


@pytest.mark.skipif(not BANEN_CSV.is_file(), reason=f"real CBS banen CSV not found at {BANEN_CSV}")
def test_shipped_history_explains_every_gemeente_that_stops_or_starts_in_real_data():
    """The CSV names every gemeente, former ones included, with its banen per year 2010-2023:
    a gemeente whose data stop after year L must be a recorded predecessor in year L + 1, and one
    whose data start in year F > 2010 a recorded new gemeente of year F."""
    last: dict[str, int] = {}
    first: dict[str, int] = {}
    with open(BANEN_CSV, encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh, delimiter=";"):
            if not r["BedrijfstakkenBranchesSBI2008"].startswith("A-U") or not r[
                    "BanenVanWerknemersInDecember_1"]:
                continue
            name, year = r["RegioS"], int(r["Perioden"][:4])
            if name.endswith(")") or "Nederland" in name or "niet in te delen" in name:
                continue
            last[name] = max(last.get(name, 0), year)
            first[name] = min(first.get(name, 9999), year)
    h = History.load()
    ended = {(n, c.year) for c in h.changes for _code, n in c.sources}
    created = {(dict(c.target_names)[t], c.year) for c in h.changes for t in c.creates}
    stopped = {(n, y + 1) for n, y in last.items() if y < 2023}
    started = {(n, y) for n, y in first.items() if y > 2010}
    assert stopped - ended == set(), "gemeenten that stop without a recorded change"
    assert started - created == set(), "gemeenten that start without a recorded change"
    assert {(n, y) for n, y in ended if y <= 2023} - stopped == set(), "recorded but not in data"
