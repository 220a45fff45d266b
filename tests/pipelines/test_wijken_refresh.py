"""End to end: the refresh takes KWB wijk rows served by the stand-in (a v3 folder with CBS's
suffixed measure keys), publishes them with the wijk map, and ``export --level WK`` writes them."""

from __future__ import annotations

import csv
import json
import shutil

import pandas as pd
import pytest

from pipelines import runs, snapshot
from tests.support.apptest import run_app, texts
from tests.support.world import cli_world, square, with_wijken, write_catalog

TABLE = "85318NED"  # KWB 2022 (the test catalogue's wijk section)
# one more wijk indicator, added in the catalogue only (no code): what the issue asks of them
PER_1000 = """
  - id: vestigingen_per_1000_inwoners
    title: "Bedrijfsvestigingen per 1.000 inwoners"
    description: "Per 1.000 inwoners."
    unit: "per 1.000 inwoners"
    kind: rate
    decimals: 0
    higher_is_better: null
    inputs:
      v: {table: kerncijfers_wijken_en_buurten, measure: BedrijfsvestigingenTotaal,
          additive: true, rounding: 5}
      inw: {table: kerncijfers_wijken_en_buurten, measure: AantalInwoners, additive: true}
    formula: "v / inw * 1000"
"""


def wijk_world(tmp_path, standin, extra: str = ""):
    """``cli_world`` with the wijk section in its catalogue (and ``extra`` wijk indicators)."""
    run = cli_world(tmp_path, standin)
    write_catalog(tmp_path / "catalog.yaml", with_wijken(extra=extra))
    return run
FEED = "https://opendata.cbs.nl/ODataFeed/OData"
# (code, title, inwoners, vestigingen, G+I, land ha, address density)
ROWS = [("GM0001", "Aadorp", 184000, 16000, 3000, 12000, 1800),
        ("WK000100", "Aadorp centrum", 15000, 3475, 940, 200, 3900),
        ("WK000101", "Aadorp noord", 25000, 2840, 600, 850, 2400),
        ("WK000102", "Klein", 300, 20, 5, 90, 300)]


def _doc(name: str, value) -> dict:
    return {"odata.metadata": f"{FEED}/{TABLE}/$metadata#Cbs.OData.WebAPI.{name}", "value": value}


def write_kwb_2022(mirror, geo) -> None:
    folder = mirror / TABLE
    folder.mkdir(parents=True)
    keys = {"AantalInwoners": "AantalInwoners_5", "BedrijfsvestigingenTotaal":
            "BedrijfsvestigingenTotaal_97", "GIHandelEnHoreca": "GIHandelEnHoreca_100",
            "OppervlakteLand": "OppervlakteLand_111", "Omgevingsadressendichtheid":
            "Omgevingsadressendichtheid_116"}
    props = [{"ID": 0, "Type": "GeoDetail", "Key": "WijkenEnBuurten", "Title": "Regio's"}] + [
        {"ID": i, "Type": "Topic", "Key": k, "Title": s, "Unit": "aantal", "Decimals": 0}
        for i, (s, k) in enumerate(keys.items(), 1)]
    props.append({"ID": 99, "Type": "Topic", "Key": "Mannen_6", "Title": "Mannen"})
    typed = [{"ID": i, "WijkenEnBuurten": c.ljust(10), "Mannen_6": 1,
              **dict(zip(keys.values(), (inw, vest, gi, land, oad), strict=True))}
             for i, (c, _t, inw, vest, gi, land, oad) in enumerate(ROWS)]
    typed.append({"ID": 9, "WijkenEnBuurten": "BU00010000", "Mannen_6": 1,
                  "AantalInwoners_5": 10, "BedrijfsvestigingenTotaal_97": 5,
                  "GIHandelEnHoreca_100": 0, "OppervlakteLand_111": 1,
                  "Omgevingsadressendichtheid_116": 1})
    codes = [{"Key": c.ljust(10), "Title": t} for c, t, *_ in ROWS]
    for name, value in (("DataProperties", props), ("TypedDataSet", typed),
                        ("WijkenEnBuurten", codes), ("CategoryGroups", []),
                        ("TableInfos", [{"ID": 0, "Identifier": TABLE, "Modified":
                                         "2023-06-30T02:00:00", "OutputStatus": "Regulier",
                                         "Title": "Kerncijfers wijken en buurten 2022"}])):
        (folder / f"{name}.json").write_text(json.dumps(_doc(name, value)))
    entities = ["TableInfos", "UntypedDataSet", "TypedDataSet", "DataProperties",
                "CategoryGroups", "WijkenEnBuurten"]
    (folder / "root.json").write_text(json.dumps({"odata.metadata": f"{FEED}/{TABLE}/$metadata",
        "value": [{"name": e, "url": f"{FEED}/{TABLE}/{e}"} for e in entities]}))
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"statcode": c, "statnaam": t},
         "geometry": {"type": "Polygon", "coordinates": square(4.7 + i / 50, 51.58)}}
        for i, (c, t, *_) in enumerate(ROWS[1:])]}
    (geo / "wijk_2022.geojson").write_text(json.dumps(fc))


def test_refresh_publishes_wijk_rows_and_map_and_export_writes_them(tmp_path, standin):
    run = wijk_world(tmp_path, standin)
    write_kwb_2022(tmp_path / "mirror", tmp_path / "geo")
    assert run("refresh") == 0
    snap = snapshot.load_snapshot(run.data)
    wk = snap.frame("wijk_observations")
    assert wk is not None
    assert sorted(wk["region_code"].unique()) == ["WK000100", "WK000101", "WK000102"]  # no BU
    # suffixes resolved to stems; only what the wijk indicators need (and the land area and
    # address density every wijk year needs): not AantalInwoners, which none of them uses here
    assert set(wk["measure"]) == {"BedrijfsvestigingenTotaal", "GIHandelEnHoreca",
                                  "OppervlakteLand", "Omgevingsadressendichtheid"}
    assert set(wk["gemeente_name"]) == {"Aadorp"}
    vest = wk[wk["measure"] == "BedrijfsvestigingenTotaal"].set_index("region_code")
    assert vest.loc["WK000100", "value"] == 3475
    assert vest.loc["WK000102", "quality"] == "onnauwkeurig"  # 20 rounded to 5
    mp = json.loads((snap.path / "wijken_2022.geojson").read_text())
    assert {f["properties"]["statcode"] for f in mp["features"]} == set(vest.index)
    assert "wijken_2022.geojson" in snap.manifest.files

    assert [i.id for i in snap.manifest.wijken.indicators] == [
        "vestigingen_per_km2", "vestigingen", "aandeel_gi"]

    out = tmp_path / "wijken.csv"
    assert run("export", "--level", "WK", "--out", str(out)) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 3 * 3  # 3 wijken x 3 wijk indicators
    centre = {r["indicator"]: r for r in rows if r["region_code"] == "WK000100"}
    assert (centre["vestigingen"]["gemeente_code"], centre["vestigingen"]["region_level"],
            centre["vestigingen"]["period"], float(centre["vestigingen"]["value"])) == (
        "GM0001", "WK", "2022", 3475.0)
    assert float(centre["vestigingen_per_km2"]["value"]) == 1738  # 3475 / 2 km², rounded
    assert float(centre["aandeel_gi"]["value"]) == 27  # 940 / 3475
    small = next(r for r in rows if r["region_code"] == "WK000102"
                 and r["indicator"] == "vestigingen_per_km2")
    assert small["kwaliteit"] == "onnauwkeurig"  # 20 rounded to 5, on 0.9 km²
    # a selection by gemeente and indicator; an unknown one is refused, naming it
    sel = tmp_path / "sel.csv"
    assert run("export", "--level", "WK", "--gemeenten", "gm0001", "--indicatoren",
               "aandeel_gi", "--out", str(sel)) == 0
    assert {r["indicator"] for r in csv.DictReader(sel.open(encoding="utf-8"))} == {"aandeel_gi"}
    for bad in (("--indicatoren", "bestaat_niet"), ("--gemeenten", "GM0363"),
                ("--regio", "PV30")):
        sel.unlink(missing_ok=True)
        assert run("export", "--level", "WK", *bad, "--out", str(sel)) != 0
        assert not sel.exists()


def test_a_wijk_indicator_added_in_the_catalogue_only_reaches_export_and_page(
        tmp_path, standin, monkeypatch):
    run = wijk_world(tmp_path, standin, PER_1000)
    write_kwb_2022(tmp_path / "mirror", tmp_path / "geo")
    assert run("refresh") == 0
    snap = snapshot.load_snapshot(run.data)
    assert "vestigingen_per_1000_inwoners" in {i.id for i in snap.manifest.wijken.indicators}
    out = tmp_path / "w.csv"
    assert run("export", "--level", "WK", "--indicatoren", "vestigingen_per_1000_inwoners",
               "--out", str(out)) == 0
    got = {r["region_code"]: float(r["value"]) for r in csv.DictReader(out.open())}
    assert got == {"WK000100": 232.0, "WK000101": 114.0, "WK000102": 67.0}  # 3475/15000 ...
    at = run_app(run.data, monkeypatch, "wijken", gemeente="GM0001")
    assert not at.exception
    shown = at.dataframe[0].value
    assert "Bedrijfsvestigingen per 1.000 inwoners" in shown.columns
    assert shown.set_index("Code").loc["WK000100", "Bedrijfsvestigingen per 1.000 inwoners"] \
        == "232"
    at.selectbox(key="wijk_cijfer").select("vestigingen_per_1000_inwoners").run()
    assert "bedrijfsvestigingen per 1.000 inwoners 232" in texts(at)


def test_refresh_without_wijk_table_publishes_and_says_so(tmp_path, standin):
    run = wijk_world(tmp_path, standin)  # the stand-in has no KWB 2022
    assert run("refresh") == 0
    snap = snapshot.load_snapshot(run.data)
    assert snap.frame("wijk_observations") is None
    assert run("export", "--level", "WK", "--out", str(tmp_path / "w.csv")) != 0
    last = runs.read_runs(run.data, last=1)[0]
    assert any(TABLE in w for w in last.get("wijken_warnings", []))


def _serve_scaled(mirror, factor: float) -> None:
    """The stand-in's KWB 2022 with every wijk figure ``factor`` times (a unit slip at CBS)."""
    path = mirror / TABLE / "TypedDataSet.json"
    doc = json.loads(path.read_text())
    for r in doc["value"]:
        if r["WijkenEnBuurten"].startswith("WK"):
            r.update({k: v * factor for k, v in r.items() if k not in ("ID", "WijkenEnBuurten")})
    path.write_text(json.dumps(doc))


def _add_gemeente_without_wijken(mirror) -> None:
    """A gemeente row (Amsterdam) in the stand-in's KWB 2022 without any wijk row."""
    for name, row in (("TypedDataSet", {"ID": 20, "WijkenEnBuurten": "GM0363    ",
                                        "AantalInwoners_5": 880000}),
                      ("WijkenEnBuurten", {"Key": "GM0363    ", "Title": "Amsterdam"})):
        path = mirror / TABLE / f"{name}.json"
        doc = json.loads(path.read_text())
        doc["value"].append(row)
        path.write_text(json.dumps(doc))


def test_implausible_wijk_rows_keep_the_published_ones_and_say_so(tmp_path, standin, capsys):
    run = wijk_world(tmp_path, standin)
    write_kwb_2022(tmp_path / "mirror", tmp_path / "geo")
    _add_gemeente_without_wijken(tmp_path / "mirror")
    assert run("refresh") == 0
    first = snapshot.load_snapshot(run.data)
    last = runs.read_runs(run.data, last=1)[0]
    assert last["wijken"] == {"2022": {"wijken": 3, "gemeenten": 1,
                                       "gemeenten_without_wijken": ["GM0363 Amsterdam"]}}
    assert last["wijken_warnings"] == [f"{TABLE} (2022): 1 gemeente(n) without wijken: "
                                       "GM0363 Amsterdam"]

    _serve_scaled(tmp_path / "mirror", 1000)  # a new edition (Modified) with a unit slip
    info = tmp_path / "mirror" / TABLE / "TableInfos.json"
    info.write_text(info.read_text().replace("2023-06-30T02:00:00", "2023-12-15T02:00:00"))
    assert run("refresh", "--force") == 0  # never fatal: the gemeente figures are published
    snap = snapshot.load_snapshot(run.data)
    assert snap.id != first.id
    wk = snap.frame("wijk_observations")  # what the dashboard reads (dashboard/ui/data.py)
    vest = wk[wk["measure"] == "BedrijfsvestigingenTotaal"].set_index("region_code")["value"]
    assert vest.to_dict() == {"WK000100": 3475, "WK000101": 2840, "WK000102": 20}
    assert (snap.path / "wijken_2022.geojson").read_bytes() == (
        first.path / "wijken_2022.geojson").read_bytes()  # the map of the kept year stays
    last = runs.read_runs(run.data, last=1)[0]
    warned = [w for w in last["wijken_warnings"] if "without wijken" not in w]
    assert len(warned) == 1
    assert warned[0].startswith(f"{TABLE} (2022): new wijk rows not plausible, published rows "
                                "of 2022 kept: wijken 2022: year 2022: ")

    capsys.readouterr()
    run("status")
    assert f"wijken: {TABLE} (2022): new wijk rows not plausible" in capsys.readouterr().out
    # the refused edition is not news the next night: no new snapshot until CBS changes it
    refused = snapshot.load_snapshot(run.data).id
    assert run("refresh") == 0
    assert runs.read_runs(run.data, last=1)[0]["outcome"] == "noop"
    assert snapshot.load_snapshot(run.data).id == refused

    _serve_scaled(tmp_path / "mirror", 1 / 1000)  # CBS serves the right figures again
    assert run("refresh", "--force") == 0
    last = runs.read_runs(run.data, last=1)[0]
    assert [w for w in last["wijken_warnings"] if "without wijken" not in w] == []
    wk = snapshot.load_snapshot(run.data).frame("wijk_observations")
    assert set(wk.loc[wk["measure"] == "BedrijfsvestigingenTotaal", "value"]) == {3475, 2840, 20}


def test_a_night_without_one_wijk_table_keeps_that_published_wijk_year(tmp_path, standin):
    """CBS does not serve one KWB year one night (an outage, a table being replaced) while it
    serves another: the published rows and map of the missing year stay on the dashboard, with
    a warning saying so."""
    run = cli_world(tmp_path, standin)
    two_years = with_wijken().replace("  editions: {2022: 85318NED}\n  years: [2022]",
                                      "  editions: {2021: 85039NED, 2022: 85318NED}\n"
                                      "  years: [2021, 2022]")
    write_catalog(tmp_path / "catalog.yaml", two_years)
    write_kwb_2022(tmp_path / "mirror", tmp_path / "geo")
    old = tmp_path / "mirror" / "85039NED"  # KWB 2021: the same wijken a year earlier
    shutil.copytree(tmp_path / "mirror" / TABLE, old)
    for f in old.iterdir():
        f.write_text(f.read_text().replace(TABLE, "85039NED").replace("2022", "2021"))
    assert run("refresh") == 0
    first = snapshot.load_snapshot(run.data)
    assert sorted(first.frame("wijk_observations")["year"].unique()) == [2021, 2022]
    shutil.rmtree(tmp_path / "mirror" / TABLE)
    assert run("refresh", "--force") == 0
    snap = snapshot.load_snapshot(run.data)
    assert snap.id != first.id
    pd.testing.assert_frame_equal(snap.frame("wijk_observations"),
                                  first.frame("wijk_observations"))
    assert "wijken_2022.geojson" in snap.manifest.files
    last = runs.read_runs(run.data, last=1)[0]
    assert any(w.startswith(f"{TABLE} (2022): ") and w.endswith(
        "published rows of that year kept") for w in last["wijken_warnings"])


def test_a_new_kwb_edition_makes_a_new_snapshot_on_an_otherwise_quiet_night(tmp_path, standin):
    """Nothing new for the gemeenten, but CBS changed the KWB table (its business counts per
    wijk came out): the night publishes a snapshot with the new wijk rows; with nothing new at
    all it stays a no-op."""
    run = wijk_world(tmp_path, standin)
    write_kwb_2022(tmp_path / "mirror", tmp_path / "geo")
    assert run("refresh") == 0
    first = snapshot.load_snapshot(run.data)
    assert first.manifest.wijken.tables == {TABLE: "2023-06-30T02:00:00"}
    assert run("refresh") == 0
    assert snapshot.load_snapshot(run.data).id == first.id  # nothing new: no new snapshot
    assert runs.read_runs(run.data, last=1)[0]["outcome"] == "noop"
    _serve_scaled(tmp_path / "mirror", 1.1)  # a revision, inside the plausibility bounds
    info = tmp_path / "mirror" / TABLE / "TableInfos.json"
    info.write_text(info.read_text().replace("2023-06-30T02:00:00", "2023-12-15T02:00:00"))
    assert run("refresh") == 0
    snap = snapshot.load_snapshot(run.data)
    assert snap.id != first.id
    assert snap.manifest.wijken.tables == {TABLE: "2023-12-15T02:00:00"}
    wk = snap.frame("wijk_observations")
    assert wk.loc[(wk["region_code"] == "WK000100")
                  & (wk["measure"] == "BedrijfsvestigingenTotaal"), "value"].iloc[0] == \
        pytest.approx(3475 * 1.1)
    assert runs.read_runs(run.data, last=1)[0]["wijken_news"] == [TABLE]


def test_a_catalogue_without_a_wijk_section_publishes_no_wijk_rows(tmp_path, standin):
    """Wijk figures are configuration: taking the section out takes them out of the next
    snapshot, rather than carrying old rows without their indicators along."""
    run = wijk_world(tmp_path, standin)
    write_kwb_2022(tmp_path / "mirror", tmp_path / "geo")
    assert run("refresh") == 0
    assert snapshot.load_snapshot(run.data).frame("wijk_observations") is not None
    write_catalog(tmp_path / "catalog.yaml")  # the test catalogue without wijken
    assert run("refresh") == 0  # a changed catalogue is always republished
    snap = snapshot.load_snapshot(run.data)
    assert snap.frame("wijk_observations") is None and snap.manifest.wijken is None
    assert not [n for n in snap.manifest.files if n.startswith("wijken_")]


def test_catalog_check_names_each_wijk_edition_and_a_wrong_id(tmp_path, standin, capsys):
    run = wijk_world(tmp_path, standin)
    write_kwb_2022(tmp_path / "mirror", tmp_path / "geo")
    capsys.readouterr()
    assert run("catalog", "--check", "--cbs-url", run.server.url) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith(f"ok       {TABLE}"))
    # the stand-in's edition has 5 of the stems the wijk figures need; the change indicator not
    assert "wijken 2022, 4 of 5 measures; not in this edition: Indeling" in line
    info = tmp_path / "mirror" / TABLE / "TableInfos.json"
    info.write_text(info.read_text().replace("buurten 2022", "buurten 2023"))
    assert run("catalog", "--check", "--cbs-url", run.server.url) == 1
    assert "wrong id for this wijk year" in capsys.readouterr().out


def test_an_unverified_wijk_section_publishes_no_wijk_figures(tmp_path, standin):
    run = cli_world(tmp_path, standin)
    text = with_wijken().replace("series: kerncijfers_wijken_en_buurten\n  verified: true",
                                 "series: kerncijfers_wijken_en_buurten\n  verified: false")
    assert "verified: false" in text
    write_catalog(tmp_path / "catalog.yaml", text)
    write_kwb_2022(tmp_path / "mirror", tmp_path / "geo")
    assert run("refresh") == 0
    assert snapshot.load_snapshot(run.data).frame("wijk_observations") is None
    assert "not verified" in " ".join(runs.read_runs(run.data, last=1)[0]["wijken_warnings"])
