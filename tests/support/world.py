"""A small, hand-made CBS world for pipeline tests: four gemeenten, two tables, a catalogue.

Table ids are made up (9000xNED) so nobody mistakes them for real CBS tables.
"""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path

from tests.support.cbs_factory import write_gebieden, write_table

GEBIEDEN = "95755NED"
VEST = "90001NED"
WON = "90002NED"

GEMEENTEN = [
    {"code": "GM0001", "name": "Aadorp", "provincie": ("PV20", "Groningen"),
     "corop": ("CR01", "Oost-Groningen"), "am": ("AM01", "Groningen"),
     "landsdeel": ("LD01", "Noord-Nederland"), "size": ("4", "20 000 tot 50 000 inwoners"),
     "urbanity": ("5", "Niet stedelijk"), "inwoners": 25000, "density": 300},
    {"code": "GM0002", "name": "Beekstad", "provincie": ("PV20", "Groningen"),
     "corop": ("CR01", "Oost-Groningen"), "am": ("AM01", "Groningen"),
     "landsdeel": ("LD01", "Noord-Nederland"), "size": ("6", "100 000 tot 150 000 inwoners"),
     "urbanity": ("2", "Sterk stedelijk"), "inwoners": 120000, "density": 2000},
    {"code": "GM0003", "name": "Cee", "provincie": ("PV21", "Fryslân"),
     "corop": ("CR04", "Noord-Friesland"), "am": ("AM02", "Friesland"),
     "landsdeel": ("LD01", "Noord-Nederland"), "size": ("4", "20 000 tot 50 000 inwoners"),
     "urbanity": ("5", "Niet stedelijk"), "inwoners": 30000, "density": 250},
    {"code": "GM0004", "name": "Dorp", "provincie": ("PV21", "Fryslân"),
     "corop": ("CR04", "Noord-Friesland"), "am": ("AM02", "Friesland"),
     "landsdeel": ("LD01", "Noord-Nederland"), "size": ("3", "10 000 tot 20 000 inwoners"),
     "urbanity": ("4", "Weinig stedelijk"), "inwoners": 15000, "density": 600},
]

REGIONS = ["NL01  ", "PV20  ", "PV21  ", "CR01  ", "CR04  ", "GM0001", "GM0002", "GM0003",
           "GM0004"]
FORMER = "GM0099"  # merged away in 2020: only has 2019 data
PERIODS = [("2019JJ00", "Definitief"), ("2020JJ00", "Definitief"), ("2021JJ00", "Voorlopig")]


def vest_value(region: str, period: str, sbi: str) -> float | None:
    """Deterministic values; GM0004 lacks 2021 (CBS gap), the former gemeente only 2019."""
    r = region.strip()
    if r == FORMER:
        return 50.0 if period == "2019JJ00" else None
    if r == "GM0004" and period == "2021JJ00":
        return None
    base = {"NL01": 10000, "PV20": 3000, "PV21": 2000, "CR01": 3000, "CR04": 2000}.get(
        r, 100 * int(r[2:]) if r.startswith("GM") else 0)
    return float(base + 10 * int(period[:4]) - 20190 + (1 if sbi == "301000 " else 0))


def square(x: float, y: float) -> list:
    return [[[x, y], [x + 0.1, y], [x + 0.1, y + 0.1], [x, y + 0.1], [x, y]]]


def write_geo(folder: Path, year: int = 2024, codes=None) -> Path:
    """A tiny boundary file shaped like PDOK's (statcode/statnaam per feature)."""
    folder.mkdir(parents=True, exist_ok=True)
    gms = [g for g in GEMEENTEN if codes is None or g["code"] in codes]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"statcode": g["code"], "statnaam": g["name"],
                                           "jrstatcode": f"{year}{g['code']}", "rubriek": "gemeente"},
         "geometry": {"type": "Polygon", "coordinates": square(5 + i / 10, 52.123456789)}}
        for i, g in enumerate(gms)]}
    path = folder / f"gemeente_{year}.geojson"
    path.write_text(json.dumps(fc))
    return path


def write_world(root: Path, *, modified: str = "2025-04-22T02:00:00",
                extra_rows: list[dict] | None = None, vest_rows: bool = True) -> Path:
    mirror = Path(root)
    write_geo(mirror.parent / "geo", 2025)  # like ../shared/cbs/geo: no 2024 file, 2025 fits
    write_gebieden(mirror, GEBIEDEN, gemeenten=GEMEENTEN)
    rows = []
    if vest_rows:
        for sbi in ("T001081", "301000 "):
            for reg in [*REGIONS, FORMER]:
                for p, _ in PERIODS:
                    rows.append({"BedrijfstakkenBranchesSBI2008": sbi, "RegioS": reg,
                                 "Perioden": p, "Vestigingen_1": vest_value(reg, p, sbi)})
    rows += extra_rows or []
    write_table(
        mirror, VEST, title="Vestigingen (test)",
        dimensions={"BedrijfstakkenBranchesSBI2008": [("T001081", "A-U Alle economische activiteiten"),
                                                      ("301000 ", "A Landbouw")]},
        measures=[("Vestigingen_1", "Vestigingen", "aantal", 0)], periods=PERIODS, rows=rows,
        modified=modified,
        regions=[(r, r.strip()) for r in REGIONS] + [(FORMER, "Oudedorp")],
    )
    wrows = []
    for status in ("T001235", "A028725"):
        for reg in REGIONS:
            for p, _ in PERIODS:
                tot = 1000.0 * (1 + REGIONS.index(reg)) + int(p[:4]) - 2019
                val = tot if status == "T001235" else round(tot * 0.95)
                wrows.append({"StatusVanBewoning": status, "RegioS": reg, "Perioden": p,
                              "TotaleWoningvoorraad_1": val, "Koopwoningen_2": round(val / 2)})
    write_table(
        mirror, WON, title="Woningen (test)",
        dimensions={"StatusVanBewoning": [("T001235", "Totaal"), ("A028725", "Bewoonde woningen")]},
        measures=[("TotaleWoningvoorraad_1", "Totale woningvoorraad", "aantal", 0),
                  ("Koopwoningen_2", "Koopwoningen", "aantal", 0)],
        periods=PERIODS, rows=wrows, modified=modified,
    )
    return mirror


CATALOG = f"""
version: 1
regions:
  reference_year: 2024
  gebieden: {{2024: {GEBIEDEN}}}
tables:
  {VEST}: {{title: "Vestigingen (test)", verified: true, boundaries: yearly}}
  {WON}: {{title: "Woningen (test)", verified: true, boundaries: yearly}}
indicators:
  - id: vestigingen
    theme: mkb_innovatie
    title: "Vestigingen"
    description: "Aantal vestigingen."
    unit: aantal
    kind: size
    decimals: 0
    higher_is_better: true
    levels: [NL, PV, CR, GM]
    source: {{table: {VEST}, measure: Vestigingen_1, filters: {{BedrijfstakkenBranchesSBI2008: T001081}}}}
  - id: onbewoond_pct
    theme: ruimtelijke_economie
    title: "Onbewoonde woningen"
    description: "(totaal - bewoond) / totaal."
    unit: "%"
    kind: rate
    decimals: 1
    higher_is_better: false
    levels: [NL, PV, GM]
    inputs:
      totaal: {{table: {WON}, measure: TotaleWoningvoorraad_1, filters: {{StatusVanBewoning: T001235}}}}
      bewoond: {{table: {WON}, measure: TotaleWoningvoorraad_1, filters: {{StatusVanBewoning: A028725}}}}
    formula: "(totaal - bewoond) / totaal * 100"
  - id: vestigingen_per_1000_woningen
    theme: mkb_innovatie
    title: "Vestigingen per 1.000 woningen"
    description: "Over twee tabellen."
    unit: "per 1.000 woningen"
    kind: rate
    decimals: 1
    higher_is_better: true
    levels: [NL, GM]
    inputs:
      vest: {{table: {VEST}, measure: Vestigingen_1, filters: {{BedrijfstakkenBranchesSBI2008: T001081}}}}
      won: {{table: {WON}, measure: TotaleWoningvoorraad_1, filters: {{StatusVanBewoning: T001235}}}}
    formula: "vest / won * 1000"
"""


# the wijk section of a test catalogue (pipelines/wijken.py): KWB 2022 per wijk, three wijk
# indicators; append it to CATALOG where a test wants wijk rows (``write_catalog``)
WIJK_SECTION = """
  kerncijfers_wijken_en_buurten:
    title: "Kerncijfers wijken en buurten {year}"
    verified: true
    editions: {2022: 85318NED}
wijken:
  series: kerncijfers_wijken_en_buurten
  verified: true
  editions: {2022: 85318NED}
  years: [2022]
  map: vestigingen_per_km2
  headline: [vestigingen, vestigingen_per_km2, aandeel_gi]
wijk_indicators:
  - id: vestigingen_per_km2
    title: "Bedrijfsvestigingen per km² land"
    description: "Per km² land."
    unit: "per km²"
    kind: rate
    decimals: 0
    higher_is_better: null
    inputs:
      v: {table: kerncijfers_wijken_en_buurten, measure: BedrijfsvestigingenTotaal,
          additive: true, rounding: 5}
      land: {table: kerncijfers_wijken_en_buurten, measure: OppervlakteLand, additive: true}
    formula: "v / (land / 100)"
  - id: vestigingen
    title: "Bedrijfsvestigingen"
    description: "Aantal."
    unit: aantal
    kind: size
    decimals: 0
    higher_is_better: null
    source: {table: kerncijfers_wijken_en_buurten, measure: BedrijfsvestigingenTotaal,
             additive: true, rounding: 5}
  - id: aandeel_gi
    title: "Aandeel handel en horeca (G+I)"
    description: "Aandeel."
    unit: "%"
    kind: rate
    decimals: 0
    higher_is_better: null
    inputs:
      gi: {table: kerncijfers_wijken_en_buurten, measure: GIHandelEnHoreca, additive: true,
           rounding: 5}
      v: {table: kerncijfers_wijken_en_buurten, measure: BedrijfsvestigingenTotaal,
          additive: true, rounding: 5}
    formula: "gi / v * 100"
"""


def with_wijken(catalog_text: str = CATALOG, extra: str = "") -> str:
    """``catalog_text`` with :data:`WIJK_SECTION` (the series goes under ``tables``, the wijk
    section at the end) and ``extra`` wijk indicators (YAML list items) appended."""
    head, rest = catalog_text.split("indicators:\n", 1)
    series, wijk = WIJK_SECTION.split("wijken:\n", 1)
    return head + series.lstrip("\n") + "indicators:\n" + rest + "wijken:\n" + wijk + extra


def write_catalog(path: Path, text: str = CATALOG) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def load_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def cli_world(tmp_path: Path, standin):
    """The world served by the CBS stand-in, and ``run("refresh" | "status" | ..., *args)``: the
    pipeline's command line against it with one data folder (``run.data``, ``run.server``)."""
    from pipelines.__main__ import main  # noqa: PLC0415 - the pipeline only where it is used

    mirror = write_world(tmp_path / "mirror")
    server = standin(mirror, geo_dir=mirror.parent / "geo")
    cat = write_catalog(tmp_path / "catalog.yaml", CATALOG)
    data = tmp_path / "data"

    def run(*args: str) -> int:
        extra = (["--cbs-url", server.url, "--backoff", "0",
                  "--geo-url", f"{server.url}/geo/gemeente_{{year}}.geojson"]
                 if args[0] == "refresh" else [])
        return main([args[0], "--data-dir", str(data), "--catalog", str(cat), "--log-format",
                     "json", *args[1:], *extra])

    run.data, run.server = data, server
    return run


@contextlib.contextmanager
def lock_held(data):
    """Another refresh holding ``data``'s lock (a thread in this process: flock is per open
    file description, so it conflicts like another process) for the ``with`` block."""
    from pipelines import store  # noqa: PLC0415

    data.mkdir(parents=True, exist_ok=True)
    held, release = threading.Event(), threading.Event()

    def hold():
        with store.refresh_lock(data):
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert held.wait(5), "the lock was not taken"
        yield
    finally:
        release.set()
        t.join()
