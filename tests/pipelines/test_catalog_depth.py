"""Depth per gemeente (issue 12): the shipped catalogue has at least 8 enabled gemeente-level
indicators per kernthema; every key of an enabled indicator exists in the real CBS metadata in
../shared; the indicators whose values ../shared lacks (Kerncijfers wijken en buurten 2024: real
metadata, values for 8 measures only) run end to end on a fixture in the real shape."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pipelines import catalog, snapshot
from pipelines.__main__ import main
from pipelines.editions import resolve_measure
from pipelines.query import is_dimension
from tests.support.paths import SHARED_CBS

SHARED = SHARED_CBS
KWB = SHARED / "kwb" / "85984NED"
needs_shared = pytest.mark.skipif(not (SHARED / "mirror" / "85755NED").is_dir(),
                                  reason=f"real CBS data not found at {SHARED} (../shared is absent)")
MIN_PER_THEME = 8


def test_at_least_eight_enabled_gemeente_indicators_per_kernthema():
    cat = catalog.load()
    gm = {t: sorted(i.id for i in cat.enabled if i.theme == t and "GM" in i.levels)
          for t in catalog.THEMES}
    assert all(len(v) >= MIN_PER_THEME for v in gm.values()), {t: len(v) for t, v in gm.items()}
    for ind in cat.indicators:  # the catalogue semantics hold for every entry
        assert ind.title and ind.description and ind.kind in catalog.KINDS, ind.id
        assert ind.enabled or ind.disabled_reason, ind.id


def test_disabled_entries_say_why():
    cat = catalog.load()
    off = {i.id: i.disabled_reason for i in cat.indicators if not i.enabled}
    assert {"leegstaande_woningen_pct", "woningen_in_pijplijn_per_1000_woningen"} <= set(off)
    assert all(len(r) > 40 for r in off.values()), off


# --------------------------------------------------------------------------- real metadata

def _values(path: Path) -> list:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc["value"] if isinstance(doc, dict) and "value" in doc else doc


def _code_titles(path: Path, key: str = "Identifier") -> dict[str, str]:
    return {str(c[key]).strip(): " ".join(str(c["Title"]).split()) for c in _values(path)}


# Tables whose only real copy is a CSV dump (titles, no keys): the measure keys are the CSV
# header; a filter key is verified when a real CBS code list gives it the title the CSV shows.
CSV_TABLES = {
    "86008NED": {
        "csv": SHARED / "csv" / "dertje_cbs_datasets" / "86008NED.csv",
        "codes": {"Geslacht": SHARED / "odata_v4" / "03759ned" / "codes-Geslacht.json",
                  "GeboortelandOuders": SHARED / "odata_v4" / "85615NED" / "codes-GeboortelandOuders.json",
                  "Herkomstland": SHARED / "odata_v4" / "85615NED" / "codes-Herkomstland.json",
                  "Persoonskenmerken": SHARED / "mirror" / "86088NED" / "Persoonskenmerken.json"},
    },
}


def real_metadata(table: str) -> tuple[list[dict] | set[str], dict[str, dict[str, str]], str]:
    """(DataProperties or measure keys, {dimension: {key: title}}, where) from ../shared."""
    src = catalog.load().files.get(table)
    if src is not None:  # a CBS workbook: its layout as a public loader read the real file
        schema = SHARED / "lml" / "cbs_lml_2015_2024_tabel5_schema_from_loader.txt"
        text = " ".join(schema.read_text(encoding="utf-8").split())
        props = {m.key for m in src.measures if m.column in text}
        dims = {d.name: {c.key: c.label for c in d.categories if c.label in text}
                for d in src.dimensions if d.column in text}
        return props, dims, str(schema)
    mirror = SHARED / "mirror" / table
    if (mirror / "DataProperties.json").is_file():
        props = _values(mirror / "DataProperties.json")
        dims = {p["Key"]: _code_titles(mirror / f"{p['Key']}.json", "Key") for p in props
                if is_dimension(p) and (mirror / f"{p['Key']}.json").is_file()}
        return props, dims, str(mirror)
    if table == "85984NED":
        return _values(KWB / "DataProperties.json"), {}, str(KWB)
    v4 = SHARED / "odata_v4" / table
    if (v4 / "measure-codes.json").is_file():
        dims = {f.stem.removeprefix("codes-"): _code_titles(f) for f in v4.glob("codes-*.json")}
        return {m["Identifier"] for m in _values(v4 / "measure-codes.json")}, dims, str(v4)
    if table in CSV_TABLES:
        spec = CSV_TABLES[table]
        with spec["csv"].open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f, delimiter=";")
            header = reader.fieldnames or []
            seen: dict[str, set[str]] = {d: set() for d in spec["codes"]}
            for row in reader:
                for d in seen:
                    seen[d].add(" ".join(row[d].split()))
        dims = {}
        for d, path in spec["codes"].items():
            key = "Key" if path.parent.parent.name == "mirror" else "Identifier"
            dims[d] = {k: t for k, t in _code_titles(path, key).items() if t in seen[d]}
        return set(header), dims, str(spec["csv"])
    raise LookupError(table)


@needs_shared
def test_every_key_of_every_enabled_indicator_exists_in_real_cbs_metadata():
    cat = catalog.load()
    checked, skipped = 0, {}
    for ind in cat.enabled:
        for inp in ind.inputs:
            for table in cat.tables_of(inp.table):
                try:
                    props, dims, where = real_metadata(table)
                except LookupError:
                    skipped[table] = f"no real metadata of {table} in ../shared"
                    continue
                if isinstance(props, list):
                    measure = (resolve_measure(inp.measure, props, table)
                               if inp.table in cat.series else inp.measure)
                    assert measure in {p["Key"] for p in props if p.get("Type") == "Topic"}, (
                        ind.id, table, measure, where)
                else:
                    assert inp.measure in props, (ind.id, table, inp.measure, where)
                for dim, key in inp.filters:
                    assert key in dims.get(dim, {}), (ind.id, table, dim, key, where)
                checked += 1
    assert not skipped, skipped  # every table of an enabled indicator has real metadata here
    assert checked >= 60


# --------------------------------------------------------------------------- KWB fixture

def _write(folder: Path, name: str, value: list) -> None:
    (folder / f"{name}.json").write_text(json.dumps({"odata.metadata": "fixture", "value": value}),
                                         encoding="utf-8")


def kwb_fixture(mirror: Path) -> dict[str, dict[str, float]]:
    """85984NED in its real shape: the real DataProperties (region dimension of Type
    ``GeoDetail``), TableInfos and CategoryGroups; WijkenEnBuurten keys padded to 10 (NL00, the
    342 gemeenten of 2024, one wijk); generated values for every numeric topic."""
    folder = mirror / "85984NED"
    folder.mkdir(parents=True)
    props = _values(KWB / "DataProperties.json")
    numeric = [p["Key"] for p in props if p.get("Type") == "Topic"
               and p.get("Unit") not in ("naam", "omschrijving", "code")]
    gm = sorted(str(r["RegioS"]).strip() for r in _values(SHARED / "mirror" / "85755NED"
                                                          / "TypedDataSet.json"))
    regions = ["NL00", *gm, "WK036300"]
    totals = {"BedrijfsvestigingenTotaal_102": 1000.0, "AantalInwoners_5": 20000.0,
              "Woningvoorraad_35": 9000.0}  # denominators above their parts
    values = {}
    for n, code in enumerate(regions):
        values[code] = {k: totals.get(k, 0.0) + n + float(10 + (7 * n + 3 * i) % 90)
                        for i, k in enumerate(numeric)}
    _write(folder, "TypedDataSet", [{"ID": n, "WijkenEnBuurten": code.ljust(10), **values[code]}
                                    for n, code in enumerate(regions)])
    _write(folder, "WijkenEnBuurten", [{"Key": c.ljust(10), "Title": c, "Description": None}
                                       for c in regions])
    _write(folder, "DataProperties", props)
    _write(folder, "TableInfos", _values(KWB / "TableInfos.json"))
    _write(folder, "CategoryGroups", _values(KWB / "CategoryGroups.json"))
    root = [{"name": e, "url": f"https://opendata.cbs.nl/ODataFeed/odata/85984NED/{e}"}
            for e in ("TableInfos", "UntypedDataSet", "TypedDataSet", "DataProperties",
                      "CategoryGroups", "WijkenEnBuurten")]
    _write(folder, "root", root)
    for ed in ("85755NED", "86059NED"):
        (mirror / ed).symlink_to(SHARED / "mirror" / ed, target_is_directory=True)
    return values


@needs_shared
def test_kwb_indicators_end_to_end_on_a_fixture_in_the_real_shape(tmp_path):
    from pipelines.transform import evaluate
    from standin import StandIn

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    values = kwb_fixture(mirror)
    data = tmp_path / "data"
    with StandIn(mirror) as server:
        code = main(["refresh", "--data-dir", str(data), "--only", "kerncijfers_wijken_en_buurten",
                     "--cbs-url", server.url, "--geo-url", f"{server.url}/geo/none_{{year}}.json",
                     "--log-format", "json"])
    assert code == 0
    snap = snapshot.load_snapshot(data)
    cat = catalog.load()
    kwb_inds = [i for i in cat.enabled if i.tables == ("kerncijfers_wijken_en_buurten",)]
    assert len(kwb_inds) >= 12
    props = _values(KWB / "DataProperties.json")
    obs = snap.observations.set_index(["indicator", "region_code", "period"])["value"]
    for ind in kwb_inds:
        cov = snap.manifest.coverage[ind.id]
        assert (cov.covered, cov.latest_period) == (342, "2024"), ind.id
        for code in ("NL00", "GM0363", "GM1680"):
            inputs = {i.name: values[code][resolve_measure(i.measure, props, "85984NED")] * i.scale
                      for i in ind.inputs}
            region = "NL01" if code == "NL00" else code  # KWB's NL00 is Nederland
            assert obs[(ind.id, region, "2024")] == pytest.approx(evaluate(ind.formula, inputs)), (
                ind.id, code)
    assert not any(snap.observations.region_code.str.startswith("WK"))  # levels: NL and GM only
