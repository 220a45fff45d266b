"""The Landelijke Monitor Leegstand end to end through the stand-in's web area: the catalogue's
real file source and leegstand indicators (from pipelines/indicators.yaml) on the small test
world, a landing page -> the workbook -> raw stage (file + sha256) -> snapshot; the nightly no-op
(the landing page and the workbook's headers, nothing downloaded); a newer edition found by
discovery and reported; a broken workbook and one with half the gemeenten refused with the last
good data kept. The workbook is a fixture built from the documented layout (standin/web.py)."""

from __future__ import annotations

import csv as _csv
import datetime as dt
import io
import json

import pytest
import yaml

from pipelines import catalog, runs, snapshot
from pipelines.__main__ import main
from standin.web import fixture_value, write_lml_fixture
from tests.support.paths import REPO
from tests.support.world import CATALOG, GEMEENTEN, write_world

TABLE = "landelijke_monitor_leegstand"
YEAR = dt.date.today().year
LISTED, NEW = YEAR - 2, YEAR - 1  # discovery looks at this year and the last: NEW is found
GMS = [(g["code"], g["name"]) for g in GEMEENTEN]
YEARS = list(range(2018, LISTED + 1))  # across the method break of 2020


def lml_catalog() -> str:
    """The test world's catalogue plus the real file source (its edition set to the stand-in's
    listed one) and the real leegstand indicators."""
    real = yaml.safe_load((REPO / "pipelines" / "indicators.yaml").read_text(encoding="utf-8"))
    doc = yaml.safe_load(CATALOG)
    src = dict(real["tables"][TABLE])
    src["editions"] = {LISTED: {"page": f"/nl-nl/maatwerk/{LISTED}/49/"
                                        f"landelijke-monitor-leegstand-{LISTED}"}}
    doc["tables"][TABLE] = src
    doc["indicators"] += [i for i in real["indicators"] if i["id"].startswith("leegstand_")
                          and i.get("source", i.get("inputs", {})) and TABLE in json.dumps(i)]
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@pytest.fixture
def world(tmp_path, standin):
    mirror = write_world(tmp_path / "mirror")
    web = tmp_path / "web"
    write_lml_fixture(web, LISTED, 49, GMS, years=YEARS)
    server = standin(mirror, geo_dir=mirror.parent / "geo", web_dir=web)
    cat = tmp_path / "catalog.yaml"
    cat.write_text(lml_catalog(), encoding="utf-8")
    data = tmp_path / "data"

    def run(*args: str) -> int:
        return main(["refresh", "--data-dir", str(data), "--catalog", str(cat), "--log-format",
                     "json", "--cbs-url", server.url, "--cbs-web-url", server.url, "--backoff",
                     "0", "--geo-url", f"{server.url}/geo/gemeente_{{year}}.geojson", *args])

    run.data, run.server, run.web, run.catalog = data, server, web, cat
    return run


def web_log(server) -> list[tuple[str, str, int]]:
    return [e for e in server.stats.log if e[1].startswith(("/nl-nl/", "/-/media/"))]


def tm_file(tm) -> str:
    return f"/-/media/_excel/{tm.edition}/49/{tm.original}"


def obs_of(data, ind: str):
    obs = snapshot.load_snapshot(data).observations
    return obs[obs["indicator"] == ind]


def test_landing_page_to_workbook_to_snapshot(world):
    assert world() == 0
    snap = snapshot.load_snapshot(world.data)
    tm = snap.manifest.tables[TABLE]
    assert tm.api == "file" and tm.edition == LISTED and tm.page.endswith(
        f"landelijke-monitor-leegstand-{LISTED}")
    assert tm.original == f"Leegstandsmonitor_2015_{LISTED}_tabel5.xlsx"
    raw = world.data / tm.raw_folder
    import hashlib
    assert hashlib.sha256((raw / tm.original).read_bytes()).hexdigest() == tm.original_sha256
    # every request sent the identifying User-Agent and only the needed pages were asked
    got = [(m, p) for m, p, s in web_log(world.server) if s == 200]
    assert got == [("GET", tm.page.removeprefix(world.server.url)), ("HEAD", tm_file(tm)),
                   ("GET", tm_file(tm))]
    agents = set(world.server.web.agents)
    assert len(agents) == 1 and "regio" in agents.pop().lower()
    # the figures: leeg / onderzoekspopulatie * 100 of the workbook's own counts
    w = obs_of(world.data, "leegstand_winkels_pct").set_index(["region_code", "year"])
    v = fixture_value("GM0002", LISTED, "Winkels", "Aantal")
    expect = v["Leegstand (aantal)"] / v["Onderzoekspopulatie"] * 100
    assert w.loc[("GM0002", LISTED), "value"] == pytest.approx(expect)
    ook = obs_of(world.data, "leegstand_kantoren_jaar_eerder_pct").set_index(["region_code", "year"])
    v = fixture_value("GM0003", LISTED, "Kantoren", "Aantal")
    assert ook.loc[("GM0003", LISTED), "value"] == pytest.approx(
        v["Leegstand, jaar eerder ook al leeg (percentage t.o.v. totale leegstand)"])
    ind = next(i for i in snap.manifest.indicators if i.id == "leegstand_winkels_pct")
    assert ind.higher_is_better is False and [b.year for b in ind.breaks] == [2020]
    assert "administratieve leegstand (CBS)" in ind.title


def test_nightly_no_op_downloads_nothing_when_the_edition_is_unchanged(world):
    assert world() == 0
    world.server.reset_stats()
    assert world() == 0
    log = web_log(world.server)
    assert not [e for e in log if e[0] == "GET" and e[1].endswith(".xlsx")], log
    assert [e for e in log if e[0] == "HEAD" and e[1].endswith(".xlsx")]
    # discovery is bounded: at most pages x weeks x years landing pages
    src = catalog.load(world.catalog).files[TABLE]
    probes = [e for e in log if "/maatwerk/" in e[1]]
    assert len(probes) <= len(src.discover_pages) * len(src.discover_weeks) * \
        src.discover_years + 1


def test_new_edition_is_found_used_and_reported(world):
    assert world() == 0
    write_lml_fixture(world.web, NEW, 48, GMS, years=[*YEARS, NEW])
    assert world() == 0
    m = snapshot.load_snapshot(world.data).manifest
    assert m.tables[TABLE].edition == NEW
    new = [n for n in m.new_editions if n.series == TABLE]
    assert [n.year for n in new] == [NEW]
    assert obs_of(world.data, "leegstand_winkels_pct")["year"].max() == NEW


def test_renamed_column_fails_the_table_and_keeps_the_published_data(world):
    assert world() == 0
    before = obs_of(world.data, "leegstand_winkels_pct")
    write_lml_fixture(world.web, LISTED, 49, GMS, years=YEARS,
                      rename={"Onderzoekspopulatie": "Populatie"})
    world()
    m = snapshot.load_snapshot(world.data).manifest
    tm = m.tables[TABLE]
    assert tm.stale and "Leegstandsmonitor_2015" in tm.error and "sheet 'Tabel 5'" in tm.error
    assert "'Onderzoekspopulatie'" in tm.error and "\n" not in tm.error
    after = obs_of(world.data, "leegstand_winkels_pct")
    assert after["value"].tolist() == before["value"].tolist()


def test_half_the_gemeenten_is_refused_by_plausibility(world):
    assert world() == 0
    before = obs_of(world.data, "leegstand_kantoren_pct")
    write_lml_fixture(world.web, LISTED, 49, GMS[:2], years=YEARS)
    assert world() != 0
    after = obs_of(world.data, "leegstand_kantoren_pct")
    assert sorted(after["region_code"].unique()) == sorted(before["region_code"].unique())
    last = runs.read_runs(world.data)[-1]
    assert last["outcome"] == "partial" and last["tables"][TABLE]["action"] == "rejected", last


def test_export_page_and_briefing(world, monkeypatch, tmp_path):
    """The figures reach the export (with the CC BY credit in the product's exports), the
    Ruimtelijke economie page (map, series with the method break, ranking) and the briefing."""
    from dashboard.core import briefing, exports
    from tests.support.apptest import run_app, texts

    assert world() == 0
    out = tmp_path / "export.csv"
    assert main(["export", "--data-dir", str(world.data), "--catalog", str(world.catalog),
                 "--out", str(out), "--boundaries", "historical"]) == 0
    csv = out.read_text(encoding="utf-8")
    # a snapshot from the stand-in is not CBS: every row starts with the 'let op' notice column
    assert csv.splitlines()[0].startswith("let op,")
    fields = [r[1:] for r in _csv.reader(io.StringIO(csv))]  # without the notice column
    fields = [f for f in fields if f[:2] == ["leegstand_winkels_pct", "GM0002"]]
    assert [int(f[4]) for f in fields] == YEARS  # the series across the 2020 break
    assert all(float(f[5]) > 0 and f[8] == TABLE for f in fields)
    manifest = snapshot.load_snapshot(world.data).manifest
    sources = exports.sources_frame(manifest, ["leegstand_winkels_pct"])
    row = sources[sources["CBS-tabel"] == TABLE].iloc[0]
    assert row["StatLine"].endswith(f"/nl-nl/maatwerk/{LISTED}/49/landelijke-monitor-leegstand-"
                                    f"{LISTED}")  # the edition's landing page, not StatLine
    assert any("CC BY 4.0" in str(t) for t in sources["titel"])

    at = run_app(world.data, monkeypatch, "ruimtelijke_economie", gemeente="GM0002",
                 indicator="leegstand_winkels_pct")
    shown = texts(at)
    assert "administratieve leegstand (CBS)" in shown
    assert "Trendbreuk in 2020" in shown and "Landelijke Voorziening WOZ" in shown
    assert "CBS-publicatie [Landelijke Monitor Leegstand" in shown

    src = briefing.Source.load(world.data)
    doc = briefing.content(src, "GM0002", charts=False)
    rows = [r for t in doc["themes"] for r in t["rows"]]
    assert any("administratieve leegstand (CBS)" in r["title"] for r in rows)
    assert any("Trendbreuk in 2020" in n for n in doc["notes"])
    assert "CBS-publicatie Landelijke Monitor Leegstand" in doc["credit"]


def test_catalog_check_downloads_the_workbook_and_checks_its_header(world, capsys):
    def check() -> tuple[int, str]:
        code = main(["catalog", "--check", "--catalog", str(world.catalog), "--cbs-url",
                     world.server.url, "--cbs-web-url", world.server.url, "--backoff", "0"])
        return code, capsys.readouterr().out

    code, out = check()
    line = next(x for x in out.splitlines() if TABLE in x and not x.startswith("NEW"))
    assert code == 0 and line.startswith(f"ok       {TABLE}") and f"edition {LISTED}" in line
    assert "(not yet verified in the catalogue)" in line  # the test catalogue says verified: no
    write_lml_fixture(world.web, LISTED, 49, GMS, years=YEARS, drop_functie="Kantoren")
    code, out = check()
    line = next(x for x in out.splitlines() if TABLE in x and not x.startswith("NEW"))
    assert code != 0 and line.startswith(f"MISSING  {TABLE}") and "'Kantoren'" in line
    assert "sheet 'Tabel 5'" in line
