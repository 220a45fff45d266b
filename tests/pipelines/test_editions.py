"""Yearly table editions: measure stems resolved per edition (shifting suffixes), editions
combined into one series with the edition per value, Gebieden in Nederland as a series, and a
newer CBS edition detected and reported (catalog --check and the nightly refresh)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pipelines import catalog as catalog_mod
from pipelines import runs, snapshot
from pipelines.__main__ import main
from pipelines.catalog import CatalogError, Series
from pipelines.editions import (
    EditionError,
    editions_in_listing,
    new_editions,
    resolve_measure,
    search_text,
)
from tests.support.cbs_factory import write_gebieden, write_table
from tests.support.world import GEBIEDEN, GEMEENTEN, write_catalog, write_world

SERIES = Series("kwb", "Kerncijfers wijken en buurten {year}", {2023: "91023NED", 2024: "91024NED"},
                True, "", "yearly", 0)


def props(*keys_titles):
    return [{"Key": "WijkenEnBuurten", "Type": "GeoDimension"}] + [
        {"Key": k, "Type": "Topic", "Title": t} for k, t in keys_titles]


# --------------------------------------------------------------------------- pure

def test_stem_resolves_to_each_editions_own_suffix():
    e2023 = props(("AantalInwoners_5", "Aantal inwoners"), ("Bevolkingsdichtheid_33", "Dichtheid"))
    e2024 = props(("AantalInwoners_5", "Aantal inwoners"), ("Bevolkingsdichtheid_34", "Dichtheid"))
    assert resolve_measure("Bevolkingsdichtheid", e2023, "A") == "Bevolkingsdichtheid_33"
    assert resolve_measure("Bevolkingsdichtheid", e2024, "B") == "Bevolkingsdichtheid_34"
    assert resolve_measure("AantalInwoners_5", e2024, "B") == "AantalInwoners_5"  # a full key
    # a stem that is a prefix of another key does not match it
    assert resolve_measure("Aantal", props(("Aantal_1", "x"), ("AantalInwoners_5", "y")),
                           "C") == "Aantal_1"


def test_title_is_the_fallback_and_ambiguity_is_an_error():
    p = props(("Nederland_17", "Nederland"), ("Nederland_20", "Nederland"),
              ("WOZ_39", "Gemiddelde WOZ-waarde van woningen"))
    assert resolve_measure("gemiddelde  woz-waarde van woningen", p, "T") == "WOZ_39"
    with pytest.raises(EditionError, match=r"T: measure stem 'Nederland' is ambiguous "
                                           r"\(Nederland_17, Nederland_20\)"):
        resolve_measure("Nederland", p, "T")
    with pytest.raises(EditionError, match="T: no measure 'Bestaatniet'"):
        resolve_measure("Bestaatniet", p, "T")


def test_newer_editions_are_found_in_v3_and_v4_listings():
    listing = [
        {"Identifier": "91023NED", "Title": "Kerncijfers wijken en buurten 2023"},
        {"Identifier": "91024NED", "Title": "Kerncijfers wijken en buurten 2024"},
        {"Identifier": "91025NED", "Title": "Kerncijfers  wijken en buurten 2025",
         "Modified": "2025-07-01T02:00:00"},  # v3 ODataCatalog record
        {"Identifier": "91026ned", "Title": "kerncijfers wijken en buurten 2026",
         "Status": "Regulier"},  # v4 Datasets record
        {"Identifier": "91099NED", "Title": "Kerncijfers wijken en buurten 2025; extra"},
        {"Identifier": "91022NED", "Title": "Kerncijfers wijken en buurten 2022"},
    ]
    assert sorted(editions_in_listing(SERIES, listing)) == [2022, 2023, 2024, 2025, 2026]
    new = new_editions(SERIES, listing)
    assert [(n["year"], n["table"]) for n in new] == [(2025, "91025NED"), (2026, "91026ned")]
    assert new[0]["modified"] == "2025-07-01T02:00:00"
    assert new_editions(SERIES, listing[:2]) == []
    assert search_text(SERIES) == "Kerncijfers wijken en buurten"


@pytest.mark.parametrize("bad,msg", [
    ("title: \"Kerncijfers\"", "title needs {year}"),
    ("editions: {2023: KWB2023}", "'KWB2023' is not a CBS table id"),
    ("editions: {2023: 91023NED, 2024: 91023NED}", "the same table id is given for two years"),
])
def test_series_errors_name_the_line(tmp_path, bad, msg):
    text = CATALOG_SERIES.replace("title: \"Kerncijfers wijken en buurten {year}\"", bad) \
        if bad.startswith("title") else CATALOG_SERIES.replace(
            "editions: {2023: 91023NED, 2024: 91024NED}", bad)
    path = write_catalog(tmp_path / "c.yaml", text)
    with pytest.raises(CatalogError, match=msg) as exc:
        catalog_mod.load(path)
    assert f"{path}:" in str(exc.value)


# --------------------------------------------------------------------------- refresh world

def write_kwb(mirror: Path, table: str, year: int, shift: int, title_year: int | None = None):
    """A KWB-like edition: regions keyed by WijkenEnBuurten (padded to 10), no Perioden, measure
    suffixes shifted by ``shift``."""
    dens = f"Bevolkingsdichtheid_{33 + shift}"
    regions = ["NL00      ", *(f"{g['code']}    " for g in GEMEENTEN), "WK000101  "]
    rows = [{"RegioS": r, "Perioden": f"{year}JJ00", "AantalInwoners_5": inw(r, year),
             dens: None if r.startswith("GM0004") and year == 2024 else dichtheid(r, year)}
            for r in regions]
    folder = write_table(mirror, table, title=f"Kerncijfers wijken en buurten {title_year or year}",
                         dimensions={}, measures=[("AantalInwoners_5", "Aantal inwoners", "aantal", 0),
                                                  (dens, "Bevolkingsdichtheid", "aantal per km2", 0)],
                         periods=[(f"{year}JJ00", "Definitief")], rows=rows)
    for name in ("TypedDataSet", "DataProperties", "root"):
        f = folder / f"{name}.json"
        doc = json.loads(f.read_text())
        if name == "TypedDataSet":
            doc["value"] = [{("WijkenEnBuurten" if k == "RegioS" else k): v for k, v in r.items()
                             if k != "Perioden"} for r in doc["value"]]
        elif name == "DataProperties":
            doc["value"] = [dict(p, Key="WijkenEnBuurten") if p["Key"] == "RegioS" else p
                            for p in doc["value"] if p["Key"] != "Perioden"]
        else:
            doc["value"] = [dict(e, name="WijkenEnBuurten") if e["name"] == "RegioS" else e
                            for e in doc["value"] if e["name"] != "Perioden"]
        f.write_text(json.dumps(doc))
    (folder / "RegioS.json").rename(folder / "WijkenEnBuurten.json")
    (folder / "Perioden.json").unlink()


def inw(region: str, year: int) -> float:
    return float(1000 * (1 + int(region.strip()[2:] or 0)) + year)


def dichtheid(region: str, year: int) -> float:
    return float(100 + int(region.strip()[2:] or 0) + (year - 2000))


CATALOG_SERIES = f"""
version: 1
regions:
  reference_year: latest
  gebieden: gebieden
tables:
  gebieden:
    title: "Gebieden in Nederland {{year}}"
    verified: true
    editions: {{2023: 95385NED, 2024: {GEBIEDEN}}}
  kwb:
    title: "Kerncijfers wijken en buurten {{year}}"
    verified: true
    editions: {{2023: 91023NED, 2024: 91024NED}}
indicators:
  - id: bevolkingsdichtheid
    theme: ruimtelijke_economie
    title: "Bevolkingsdichtheid"
    description: "Inwoners per km2 land."
    unit: "per km2"
    kind: rate
    higher_is_better: null
    levels: [NL, GM]
    source: {{table: kwb, measure: Bevolkingsdichtheid}}
  - id: inwoners_kwb
    theme: human_capital
    title: "Inwoners"
    description: "Aantal inwoners."
    unit: aantal
    kind: size
    higher_is_better: null
    levels: [GM]
    source: {{table: kwb, measure: AantalInwoners}}
"""


@pytest.fixture
def world(tmp_path, standin, caplog):
    caplog.set_level(logging.INFO)
    mirror = write_world(tmp_path / "mirror")
    write_gebieden(mirror, "95385NED", gemeenten=GEMEENTEN)
    _retitle(mirror / "95385NED", "Gebieden in Nederland 2023")
    _retitle(mirror / GEBIEDEN, "Gebieden in Nederland 2024")
    write_kwb(mirror, "91023NED", 2023, shift=0)
    write_kwb(mirror, "91024NED", 2024, shift=1)  # Bevolkingsdichtheid_34 in 2024
    server = standin(mirror, geo_dir=mirror.parent / "geo")
    data = tmp_path / "data"

    def run(*args: str, catalog: str = CATALOG_SERIES) -> int:
        cat = write_catalog(tmp_path / "catalog.yaml", catalog)
        return main([args[0], "--data-dir", str(data), "--catalog", str(cat), "--log-format",
                     "json", *args[1:], "--cbs-url", server.url, "--backoff", "0",
                     "--timeout", "2",
                     *(["--geo-url", f"{server.url}/geo/gemeente_{{year}}.geojson"]
                       if args[0] == "refresh" else [])])

    run.server, run.data, run.mirror = server, data, mirror
    return run


def _retitle(folder: Path, title: str) -> None:
    f = folder / "TableInfos.json"
    doc = json.loads(f.read_text())
    doc["value"][0]["Title"] = title
    f.write_text(json.dumps(doc))


def test_editions_combine_into_one_series_with_the_edition_per_value(world):
    assert world("refresh") == 0
    snap = snapshot.load_snapshot(world.data)
    obs = snap.observations
    d = obs[obs.indicator == "bevolkingsdichtheid"].set_index(["region_code", "period"])
    for code in ("NL00", "GM0001", "GM0003"):
        key = "NL01" if code == "NL00" else code  # KWB's NL00 is the NL01 of other tables
        assert d.loc[(key, "2023"), "value"] == dichtheid(code, 2023)
        assert d.loc[(key, "2024"), "value"] == dichtheid(code, 2024)
        assert d.loc[(key, "2023"), "cbs_table"] == "91023NED"
        assert d.loc[(key, "2024"), "cbs_table"] == "91024NED"
    assert "NL00" not in set(snap.regions.code) and "NL00" not in set(obs.region_code)
    assert ("GM0004", "2024") not in d.index and ("WK000101", "2023") not in d.index
    assert snap.manifest.reference_year == 2024 and snap.manifest.gebieden_table == GEBIEDEN
    ind = next(i for i in snap.manifest.indicators if i.id == "bevolkingsdichtheid")
    # the manifest names the fetched editions (newest first) and the series they belong to, so
    # the dashboard links to real tables and gives a missing value its true reason
    assert ind.tables == ("91024NED", "91023NED") and ind.series == ("kwb",)
    assert ind.verified
    from dashboard.core import presentation as pr

    gap = pr.gap_reason(snap.manifest, ind, "GM0004", "Gemeente 4")
    assert gap.code == "ontbreekt_bron" and "91024NED" in gap.text, gap
    assert snap.manifest.tables["91024NED"].select == (
        "WijkenEnBuurten", "AantalInwoners_5", "Bevolkingsdichtheid_34")
    assert snap.manifest.new_editions == ()


def test_a_newer_edition_at_cbs_is_reported_by_refresh_and_check(world, caplog, capsys):
    write_kwb(world.mirror, "91025NED", 2025, shift=2)  # CBS publishes KWB 2025
    assert world("refresh") == 0
    run = runs.read_runs(world.data)[-1]
    assert [(n["series"], n["year"], n["table"]) for n in run["new_editions"]] == [
        ("kwb", 2025, "91025NED")]
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("'2025: 91025NED' under tables.kwb.editions" in m for m in logged)
    obs = snapshot.load_snapshot(world.data).observations
    assert "2025" not in set(obs.period)  # not used until the catalogue says so

    assert world("catalog", "--check") == 0
    out = capsys.readouterr().out
    assert "NEW EDITION kwb: CBS has published 'Kerncijfers wijken en buurten 2025' (91025NED" in out
    assert "ok       gebieden: newest edition in use (2024: 95755NED)" in out
    lines = {ln.split()[1]: ln for ln in out.splitlines() if ln.startswith("ok ")}
    assert "Bevolkingsdichtheid=Bevolkingsdichtheid_33" in lines["91023NED"]
    assert "Bevolkingsdichtheid=Bevolkingsdichtheid_34" in lines["91024NED"]

    # adding the edition is configuration only
    added = CATALOG_SERIES.replace("2024: 91024NED}", "2024: 91024NED, 2025: 91025NED}")
    assert world("refresh", catalog=added) == 0
    d = snapshot.load_snapshot(world.data).observations
    d = d[(d.indicator == "bevolkingsdichtheid") & (d.region_code == "GM0002")]
    assert dict(zip(d.period, d.value, strict=True)) == {
        str(y): dichtheid("GM0002", y) for y in (2023, 2024, 2025)}
    assert runs.read_runs(world.data)[-1]["new_editions"] == []


def test_a_stem_missing_in_one_edition_names_that_edition(world, capsys):
    bad = CATALOG_SERIES.replace("measure: Bevolkingsdichtheid}", "measure: Dichtheid}")
    assert world("refresh", catalog=bad) == 1
    run = runs.read_runs(world.data)[-1]
    assert run["tables"]["91023NED"]["kind"] == "missing_measure"
    assert "no measure 'Dichtheid'" in run["tables"]["91023NED"]["error"]
    assert world("catalog", "--check", catalog=bad) == 1
    assert "MISSING  91024NED" in capsys.readouterr().out


def test_overlapping_editions_take_the_newest_value(tmp_path):
    """Editions that repeat earlier years (Arbeidsdeelname; regionale indeling <year>)."""
    from pipelines.transform import RawTable, series_frame

    def edition(tid, key, values):
        return RawTable(tid, {
            "DataProperties": [{"Key": "RegioS", "Type": "GeoDimension"},
                               {"Key": "Perioden", "Type": "TimeDimension"},
                               {"Key": key, "Type": "Topic", "Title": "Werkloosheid"}],
            "Perioden": [{"Key": p, "Status": s} for p, s in
                         [("2022JJ00", "Definitief"), ("2023JJ00", "Voorlopig")]],
            "TypedDataSet": [{"RegioS": "GM0001", "Perioden": p, key: v}
                             for p, v in values.items()]})

    ser = Series("ad", "Arbeidsdeelname; regionale indeling {year}",
                 {2023: "92023NED", 2024: "92024NED"}, True, "", "yearly", 0)
    raws = {"92023NED": edition("92023NED", "Werkloos_12", {"2022JJ00": 4.0, "2023JJ00": 4.4}),
            "92024NED": edition("92024NED", "Werkloos_13", {"2023JJ00": 4.5})}
    inp = catalog_mod.Input("w", "ad", "Werkloos")
    frame, status = series_frame(ser, raws, inp, "w")
    got = {r.period_key: (r.value, r.edition) for r in frame.itertuples()}
    assert got == {"2022JJ00": (4.0, "92023NED"), "2023JJ00": (4.5, "92024NED")}
    assert status == {"2022JJ00": "Definitief", "2023JJ00": "Voorlopig"}


def test_only_takes_a_series_name(world):
    assert world("refresh") == 0
    world.server.reset_stats()
    assert world("refresh", "--only", "kwb", "--force") == 0
    tables = {p.split("/")[3] for _m, p, _s in world.server.stats.log if "/ODataFeed/" in p}
    assert tables == {"91023NED", "91024NED"}


def test_check_catches_an_edition_id_of_the_wrong_year(world, capsys):
    swapped = CATALOG_SERIES.replace("{2023: 95385NED, 2024: 95755NED}",
                                     "{2023: 95755NED, 2024: 95385NED}")
    assert swapped != CATALOG_SERIES
    assert world("catalog", "--check", catalog=swapped) == 1
    out = capsys.readouterr().out
    assert ("MISSING  95755NED: CBS calls it 'Gebieden in Nederland 2024', not 'Gebieden in "
            "Nederland 2023': wrong id for this edition") in out
