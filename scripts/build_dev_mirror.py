#!/usr/bin/env python3
"""Build the development CBS mirror from the real CBS data in ../shared/cbs, outside git.

``../shared/cbs/mirror`` (v3) and ``../shared/cbs/odata_v4`` (v4) are served by the CBS stand-in
as they are. Some real data in ../shared is not in that folder shape: a CSV dump (86008NED
arbeidsdeelname per gemeente) and the Kerncijfers wijken en buurten 2024 files (complete real
metadata, values for 8 measures). This script turns those into v3 mirror folders, keeping
provenance, so that ``make run`` shows the indicators they feed with real values::

    OUT/v3/<TABLE>/...         every table of ../shared/cbs/mirror (symlinked) + the built ones
    OUT/v4/<table>/...         every table of ../shared/cbs/odata_v4 (symlinked)
    OUT/geo/                   ../shared/cbs/geo (symlinked): gemeente boundaries
    OUT/PROVENANCE.json        per built table: CBS id, source files (path, sha256), what is
                               real, what was reconstructed, what was cut
    OUT/catalog.yaml           the catalogue for this mirror: indicators whose inputs have no
                               real value here are disabled, with the reason
    OUT/availability.json      per catalogue indicator: served with real values, or why not

Nothing is invented: keys come from real CBS metadata (titles looked up in real code lists);
a title without a key is dropped and reported. Usage::

    scripts/build_dev_mirror.py --out DIR [--shared ../shared/cbs] [--catalog indicators.yaml]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import catalog as catalog_mod  # noqa: E402
from pipelines.editions import EditionError, resolve_measure  # noqa: E402

FEED = "https://opendata.cbs.nl/ODataFeed/OData"
CSV_SNAPSHOT_DATE = "2025-04-22T02:00:00"  # the dertje/cbs_datasets snapshot (PROVENANCE.md §3)
# shown to users in "Over de data": plain words, no developer paths
DEMO_REASON = ("Niet in de demo-gegevens: de ontwikkelkopie heeft voor {what} alleen de "
               "beschrijving van het CBS, geen cijfers. De nachtelijke verversing bij het CBS "
               "haalt dit cijfer wel op.")
# A workbook CBS publishes on www.cbs.nl (the Landelijke Monitor Leegstand): ../shared has its
# layout but no real workbook, and the stand-in's workbook is a fixture whose values must never
# be shown as CBS figures.
FILE_REASON = ("Niet in de demo-gegevens: van de {what} is in de ontwikkelkopie geen echt "
               "werkboek van het CBS beschikbaar (alleen de kolomindeling). Het testwerkboek van "
               "de stand-in toont het dashboard niet als CBS-cijfers. De nachtelijke verversing "
               "haalt het werkboek bij het CBS op.")


class BuildError(RuntimeError):
    """Real data in ../shared is missing or not in the expected shape (names the file)."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BuildError(f"{path}: cannot read JSON ({exc})") from None


def _values(path: Path) -> list:
    doc = _read_json(path)
    return doc["value"] if isinstance(doc, dict) and "value" in doc else doc


def _write(folder: Path, name: str, table: str, value: list) -> None:
    doc = {"odata.metadata": f"{FEED}/{table}/$metadata#Cbs.OData.WebAPI.{name}", "value": value}
    (folder / f"{name}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _root_doc(folder: Path, table: str, entities: list[str]) -> None:
    value = [{"name": e, "url": f"https://opendata.cbs.nl/ODataFeed/odata/{table}/{e}"}
             for e in ["TableInfos", "UntypedDataSet", "TypedDataSet", "DataProperties",
                       "CategoryGroups", *entities]]
    (folder / "root.json").write_text(json.dumps(
        {"odata.metadata": f"{FEED}/{table}/$metadata", "value": value}, ensure_ascii=False),
        encoding="utf-8")


def _source(path: Path, shared: Path) -> dict:
    return {"path": str(path.relative_to(shared.parent)) if path.is_relative_to(shared.parent)
            else str(path), "sha256": sha256(path)}


def _titles_to_keys(codes: list[dict], key: str = "Identifier") -> dict[str, str]:
    return {" ".join(str(c.get("Title", "")).split()): str(c[key]) for c in codes}


def _camel_title(key: str) -> str:
    stem = re.sub(r"_\d+$", "", key)
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem).split()
    return " ".join([words[0]] + [w.lower() for w in words[1:]]) if words else key


# --------------------------------------------------------------------------- 86008NED (CSV)

def build_86008(shared: Path, out: Path) -> dict:
    """Arbeidsdeelname; gemeenten (regio-indeling 2024) from the real CSV dump (labels, not keys).
    Region keys from the real 86088NED mirror (same 2024 division, same CBS titles); the totals'
    category keys from real CBS code lists with the same title."""
    table = "86008NED"
    src = shared / "csv" / "dertje_cbs_datasets" / f"{table}.csv"
    regio_src = shared / "mirror" / "86088NED" / "RegioS.json"
    pk_src = shared / "mirror" / "86088NED" / "Persoonskenmerken.json"
    geslacht_src = shared / "odata_v4" / "03759ned" / "codes-Geslacht.json"
    gbo_src = shared / "odata_v4" / "85615NED" / "codes-GeboortelandOuders.json"
    herk_src = shared / "odata_v4" / "85615NED" / "codes-Herkomstland.json"
    for p in (src, regio_src, pk_src, geslacht_src, gbo_src, herk_src):
        if not p.is_file():
            raise BuildError(f"{p}: not found (needed for {table})")
    regio = {" ".join(r["Title"].split()): r["Key"] for r in _values(regio_src)}
    dims = {
        "Geslacht": _titles_to_keys(_values(geslacht_src)),
        "Persoonskenmerken": _titles_to_keys(_values(pk_src), "Key"),
        "GeboortelandOuders": _titles_to_keys(_values(gbo_src)),
        "Herkomstland": _titles_to_keys(_values(herk_src)),
    }
    with src.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f, delimiter=";")
        header = reader.fieldnames or []
        rows = list(reader)
    measures = [c for c in header if re.search(r"_\d+$", c)]
    dim_cols = [c for c in header if c not in measures and c not in ("ID", "RegioS", "Perioden")]
    if set(dim_cols) != set(dims):
        raise BuildError(f"{src}: dimensions {dim_cols} are not the expected {sorted(dims)}")
    typed, dropped, used = [], {}, {d: {} for d in dims}
    periods: set[str] = set()
    for r in rows:
        reg = regio.get(" ".join(r["RegioS"].split()))
        miss = [f"RegioS={r['RegioS']!r}"] if reg is None else []
        cats = {}
        for d in dim_cols:
            title = " ".join(r[d].split())
            key = dims[d].get(title)
            if key is None:
                miss.append(f"{d}={title!r}")
            else:
                cats[d] = key
                used[d][key] = title
        if not re.fullmatch(r"\d{4}", r["Perioden"].strip()):
            miss.append(f"Perioden={r['Perioden']!r}")
        if miss:
            why = "; ".join(miss)
            dropped[why] = dropped.get(why, 0) + 1
            continue
        per = r["Perioden"].strip() + "JJ00"
        periods.add(per)
        row = {"ID": int(r["ID"]), **cats, "RegioS": reg, "Perioden": per}
        for m in measures:
            v = r[m].strip()
            row[m] = float(v) if v else None
        typed.append(row)
    folder = out / table
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder, "TypedDataSet", table, typed)
    regio_used = sorted({r["RegioS"] for r in typed})
    _write(folder, "RegioS", table, [r for r in _values(regio_src) if r["Key"] in regio_used])
    for d in dim_cols:
        _write(folder, d, table, [{"Key": k, "Title": t, "Description": None,
                                   "CategoryGroupID": None} for k, t in used[d].items()])
    _write(folder, "Perioden", table, [{"Key": p, "Title": p[:4], "Description": None,
                                        "Status": "Definitief"} for p in sorted(periods)])
    props, pos = [], 0
    for d in dim_cols:
        props.append({"odata.type": "Cbs.OData.Dimension", "ID": pos, "Position": pos,
                      "ParentID": None, "Type": "Dimension", "Key": d, "Title": d,
                      "Description": None})
        pos += 1
    props.append({"odata.type": "Cbs.OData.GeoDimension", "ID": pos, "Position": pos,
                  "ParentID": None, "Type": "GeoDimension", "Key": "RegioS", "Title": "Regio's",
                  "Description": None, "MapYear": "2024", "ReleasePolicy": False})
    pos += 1
    props.append({"odata.type": "Cbs.OData.TimeDimension", "ID": pos, "Position": pos,
                  "ParentID": None, "Type": "TimeDimension", "Key": "Perioden",
                  "Title": "Perioden", "Description": None, "ReleasePolicy": False})
    for m in measures:
        pos += 1
        count = m.startswith(("BeroepsEnNietBeroepsbevolking", "WerkzameBeroepsbevolking"))
        props.append({"odata.type": "Cbs.OData.Topic", "ID": pos, "Position": pos,
                      "ParentID": None, "Type": "Topic", "Key": m, "Title": _camel_title(m),
                      "Description": None, "Datatype": "Double",
                      "Unit": "aantal" if count else "%", "Decimals": 0, "Default": "Missing"})
    _write(folder, "DataProperties", table, props)
    _write(folder, "CategoryGroups", table, [])
    first, last = min(periods)[:4], max(periods)[:4]
    _write(folder, "TableInfos", table, [{
        "ID": 0, "Identifier": table, "Title": "Arbeidsdeelname; gemeenten (regio-indeling 2024)",
        "ShortTitle": "Arbeidsdeelname; gemeenten 2024", "Period": f"{first}-{last}",
        "Modified": CSV_SNAPSHOT_DATE, "MetaDataModified": CSV_SNAPSHOT_DATE,
        "Updated": CSV_SNAPSHOT_DATE, "OutputStatus": "Regulier", "Frequency": "Perjaar",
        "Language": "nl", "Catalog": "CBS", "Source": "CBS.",
        "Summary": "Arbeidsdeelname per gemeente (regio-indeling 2024)",
        "Description": "[Lokale ontwikkelkopie: waarden zijn echte CBS-cijfers uit een CSV-dump; "
                       "sleutels en metadata gereconstrueerd, zie PROVENANCE.json.]",
    }])
    _root_doc(folder, table, [*dim_cols, "RegioS", "Perioden"])
    return {
        "table": table, "title": "Arbeidsdeelname; gemeenten (regio-indeling 2024)",
        "sources": [_source(p, shared) for p in (src, regio_src, pk_src, geslacht_src, gbo_src,
                                                 herk_src)],
        "rows": {"csv": len(rows), "kept": len(typed)},
        "regions": {lv: sum(1 for k in regio_used if k.startswith(lv))
                    for lv in ("NL", "LD", "PV", "CR", "AM", "GM")},
        "periods": [min(periods), max(periods)],
        "dropped": dropped,
        "real": "every value, measure keys (CSV header), region and category titles, row IDs",
        "reconstructed": (
            "RegioS keys (title -> key in the real 86088NED mirror, same 2024 division); "
            "category keys by title in real CBS code lists: Geslacht (03759ned), "
            "Persoonskenmerken (86088NED mirror), GeboortelandOuders and Herkomstland "
            "(85615NED); Perioden keys YYYYJJ00 with status Definitief (the CSV has no status); "
            "topic titles and units from the keys and values; TableInfos dates = CSV snapshot"),
        "cut": "the CSV holds the first 10,000 rows: Herkomstland 'Totaal' is complete "
               "(434 regions x 2014-2023), later categories are partial",
    }


# --------------------------------------------------------------------------- KWB 2024

def build_kwb(shared: Path, out: Path) -> dict:
    """Kerncijfers wijken en buurten 2024 (85984NED): the complete real metadata, and values for
    the 8 measures the source kept, for the 342 gemeenten (names from Gebieden in Nederland
    2024). Measures without real values are not put in the data (no invented nulls)."""
    table = "85984NED"
    base = shared / "kwb" / table
    files = {n: base / f"{n}.json" for n in ("DataProperties", "TableInfos", "CategoryGroups")}
    data_src = base / "stripped_filtered_data_2024.json"
    names_src = shared / "mirror" / "85755NED" / "TypedDataSet.json"
    for p in (*files.values(), data_src, names_src):
        if not p.is_file():
            raise BuildError(f"{p}: not found (needed for {table})")
    props = _values(files["DataProperties"])
    topics = [p["Key"] for p in props if p.get("Type") == "Topic"]
    data = _read_json(data_src)
    names = {str(r["RegioS"]).strip(): str(r.get("Naam_2") or "").strip()
             for r in _values(names_src)}
    gm = sorted(k for k in data if k.startswith("GM"))
    measures = sorted({m for k in gm for m in data[k]}, key=topics.index)
    unknown = [m for m in measures if m not in topics]
    if unknown:
        raise BuildError(f"{data_src}: measures {unknown} are not in {files['DataProperties']}")
    folder = out / table
    folder.mkdir(parents=True, exist_ok=True)
    typed = []
    for i, code in enumerate(gm):
        row = {"ID": i, "WijkenEnBuurten": code.ljust(10)}
        row.update({m: data[code].get(m) for m in measures})
        typed.append(row)
    _write(folder, "TypedDataSet", table, typed)
    _write(folder, "WijkenEnBuurten", table, [
        {"Key": code.ljust(10), "Title": names.get(code) or code,
         "Description": f"Gemeente '{names.get(code) or code}' ({code})",
         "Municipality": code, "DetailRegionCode": code} for code in gm])
    _write(folder, "DataProperties", table, props)
    _write(folder, "TableInfos", table, _values(files["TableInfos"]))
    _write(folder, "CategoryGroups", table, _values(files["CategoryGroups"]))
    _root_doc(folder, table, ["WijkenEnBuurten"])
    return {
        "table": table, "title": "Kerncijfers wijken en buurten 2024",
        "sources": [_source(p, shared) for p in (*files.values(), data_src, names_src)],
        "rows": {"kept": len(typed)},
        "regions": {"GM": len(gm)},
        "measures_with_values": measures,
        "real": "DataProperties, TableInfos and CategoryGroups unchanged; every value",
        "reconstructed": "WijkenEnBuurten list (key padded to 10 as in the real KWB 2020; titles "
                         "from Gebieden in Nederland 2024); the TypedDataSet envelope",
        "cut": f"values only for {len(measures)} of {len(topics)} measures and only gemeenten "
               "(no NL00, wijken or buurten): the source repository kept no more",
    }


def build_kwb_wijk(shared: Path, out: Path, year: int = 2022) -> dict:
    """Kerncijfers wijken en buurten per wijk of ``year`` (2022 = 85318NED, 2021 = 85039NED)
    from the real KWB rows in ``kwb_wijk/kwb_2021_2022_capybara.csv`` (CBS short names): NL,
    gemeente and wijk rows of the stems the catalogue's wijk indicators need
    (``pipelines.wijken.stems``). That year's real DataProperties are not in ../shared, so the
    measures are named by their *stem* (no CBS numeric suffix, never a made-up one) with the Unit
    and Decimals of the same stem in the real 2024 metadata (85984NED); the refresh resolves stems
    the same way as real suffixed keys. The 2021 one-decimal fields, stored x10 in that copy, are
    divided back (``wijken.rows_from_kwb_csv``; the kwb_wijk README)."""
    from pipelines import catalog, wijken

    wijk = catalog.load().wijken
    table = wijk.table(year)
    src = shared / "kwb_wijk" / "kwb_2021_2022_capybara.csv"
    meta = shared / "kwb" / "85984NED" / "DataProperties.json"
    for f in (src, meta):
        if not f.is_file():
            raise BuildError(f"{f}: not found (needed for {table})")
    wanted = [s for s in wijken.stems(wijk) if s in wijken.KWB_SHORT_NAMES]
    rows, _names = wijken.rows_from_kwb_csv(src, year, wanted)
    with src.open(newline="", encoding="utf-8") as f:
        extra = {r["gwb_code"].strip(): r for r in csv.DictReader(f)
                 if r.get("year", "").strip() == str(year)}
    real = {}
    for p in _read_json(meta):
        stem = str(p.get("Key", "")).rsplit("_", 1)[0]
        real.setdefault(stem, p)
    typed, codes, with_values = [], [], set()
    for i, r in enumerate(rows):
        code = r[wijken.REGION_DIM]
        row = {"ID": i, wijken.REGION_DIM: code.ljust(10)}
        for stem in wanted:
            v = r.get(stem)
            row[stem] = None if v is None or v != v else float(v)
            if row[stem] is not None:
                with_values.add(stem)
        typed.append(row)
        codes.append({"Key": code.ljust(10), "Title": r["Naam"].strip(), "Description": "",
                      "Municipality": extra[code].get("gm_naam", "").strip(),
                      "DetailRegionCode": code})
    props = [{"ID": 0, "Position": None, "ParentID": None, "Type": "GeoDetail",
              "Key": wijken.REGION_DIM, "Title": "Wijken en buurten", "Description": ""}]
    props += [{"ID": n, "Position": n, "ParentID": None, "Type": "Topic", "Key": stem,
               "Title": real.get(stem, {}).get("Title", stem), "Description": "",
               "Unit": real.get(stem, {}).get("Unit"), "Decimals": real.get(stem, {}).get(
                   "Decimals")}
              for n, stem in enumerate(wanted, 1)]
    folder = out / table
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder, "TypedDataSet", table, typed)
    _write(folder, wijken.REGION_DIM, table, codes)
    _write(folder, "DataProperties", table, props)
    _write(folder, "TableInfos", table, [{
        "ID": 0, "Title": f"Kerncijfers wijken en buurten {year}", "Identifier": table,
        "ShortTitle": f"Kerncijfers wijken en buurten {year}",
        "Modified": f"{year + 1}-06-30T02:00:00", "Period": str(year), "Language": "nl",
        "Catalog": "CBS", "OutputStatus": "Regulier",
        "Summary": f"Ontwikkelkopie: KWB {year} per gemeente en wijk (reconstructie)"}])
    _write(folder, "CategoryGroups", table, [])
    _root_doc(folder, table, [wijken.REGION_DIM])
    recs = {k: sum(1 for r in extra.values() if r["recs"].strip() == k)
            for k in ("Land", "Gemeente", "Wijk")}
    return {
        "table": table, "title": f"Kerncijfers wijken en buurten {year}", "year": year,
        "sources": [_source(src, shared), _source(meta, shared)],
        "rows": {"kept": len(typed)},
        "regions": {"NL": recs["Land"], "GM": recs["Gemeente"], "WK": recs["Wijk"]},
        "measures_with_values": sorted(with_values),
        "real": f"every value and every region code and name (KWB {year}, CBS short names); "
                "Unit and Decimals per stem (from the real 2024 metadata, 85984NED)",
        "reconstructed": f"DataProperties name the measures by their stem (no CBS numeric "
                         f"suffix: the real {year} keys are not in ../shared); TableInfos "
                         "(Modified is a placeholder); the TypedDataSet envelope"
                         + ("; one-decimal fields divided by 10 (stored x10 in that copy)"
                            if year == 2021 else ""),
        "cut": f"only the {len(wanted)} measures the wijk indicators use; no buurten",
    }


def build_wijk_map(src: Path, dest: Path, shared: Path) -> dict:
    """The real generalised wijk boundaries of 2022 with PDOK's property names (``statcode``,
    ``statnaam``, as the gebiedsindelingen service names them): geometry unchanged."""
    fc = _read_json(src)
    feats = [{"type": "Feature", "properties": {"statcode": f["properties"]["code"],
                                                "statnaam": f["properties"].get("name")},
              "geometry": f["geometry"]} for f in fc.get("features", [])]
    dest.write_text(json.dumps({"type": "FeatureCollection", "features": feats},
                               ensure_ascii=False), encoding="utf-8")
    return {"file": f"geo/{dest.name}", "sources": [_source(src, shared)],
            "features": len(feats), "real": "every geometry (already converted to WGS84)",
            "reconstructed": "property names code/name -> statcode/statnaam (PDOK's)",
            "cut": "the KWB attributes the source carried"}


# --------------------------------------------------------------------------- assembling

BUILDERS = {"86008NED": build_86008, "85984NED": build_kwb, "85318NED": build_kwb_wijk,
            "85039NED": lambda shared, out: build_kwb_wijk(shared, out, 2021)}


def _link_all(src: Path, dest: Path, skip: set[str]) -> list[str]:
    dest.mkdir(parents=True, exist_ok=True)
    linked = []
    for entry in sorted(src.iterdir()):
        if entry.name in skip or entry.name.startswith(".") or entry.suffix == ".md":
            continue
        target = dest / entry.name
        if target.is_symlink() or target.exists():
            continue
        target.symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
        linked.append(entry.name)
    return linked


class Served:
    """What the built mirror serves: does a table have a real value for a measure + filters?"""

    def __init__(self, v3: Path, v4: Path):
        self.v3, self.v4 = v3, v4
        self._cache: dict[tuple, object] = {}

    def _folder(self, base: Path, table: str) -> Path | None:
        if not base.is_dir():
            return None
        return next((p for p in base.iterdir() if p.name.upper() == table.upper()), None)

    def has_value(self, table: str, measure: str, filters: tuple, series: bool) -> str | None:
        """None when a real value exists; else the reason (Dutch-free, for the log)."""
        f3 = self._folder(self.v3, table)
        if f3 is not None and (f3 / "TypedDataSet.json").is_file():
            props = self._load(f3 / "DataProperties.json")
            if series:
                try:
                    measure = resolve_measure(measure, props, table)
                except EditionError as exc:
                    return str(exc)
            rows = self._load(f3 / "TypedDataSet.json")
            for r in rows:
                if r.get(measure) is None:
                    continue
                if all(str(r.get(d, "")).strip() == k for d, k in filters):
                    return None
            return f"{table}: no real value of {measure} in ../shared"
        f4 = self._folder(self.v4, table)
        if f4 is not None:
            for page in sorted(f4.glob("observations-page-*.json")):
                for r in self._load(page):
                    if (r.get("Measure") == measure and r.get("Value") is not None
                            and all(str(r.get(d, "")).strip() == k for d, k in filters)):
                        return None
            return f"{table}: no real value of {measure} in ../shared"
        return f"{table}: no real data in ../shared"

    def _load(self, path: Path):
        if path not in self._cache:
            self._cache[path] = _values(path)
        return self._cache[path]


def availability(cat: catalog_mod.Catalog, served: Served) -> dict[str, dict]:
    out = {}
    for ind in cat.indicators:
        if not ind.enabled:
            out[ind.id] = {"served": False, "reason": "disabled in the catalogue: "
                           + (ind.disabled_reason or "")}
            continue
        reasons = []
        for inp in ind.inputs:
            if inp.table in cat.files:  # never the stand-in's fixture workbook
                reasons.append(f"{inp.table}: a CBS workbook, no real one in ../shared")
                continue
            tables = cat.tables_of(inp.table)
            why = [served.has_value(t, inp.measure, inp.filters, inp.table in cat.series)
                   for t in tables]
            if all(w is not None for w in why):
                reasons.append(why[-1])
        out[ind.id] = ({"served": True} if not reasons else
                       {"served": False, "reason": "; ".join(dict.fromkeys(reasons))})
    return out


def dev_catalogue(catalog_path: Path, avail: dict[str, dict], cat: catalog_mod.Catalog,
                  wijk_years: list[int] | None = None) -> str:
    """The catalogue with every enabled indicator that has no real value here disabled, and the
    wijk years limited to those built here (``wijk_years``)."""
    doc = yaml.safe_load(catalog_path.read_text(encoding="utf-8"))
    titles = {i.id: i.title for i in cat.indicators}
    files = {i.id: next((cat.files[p.table] for p in i.inputs if p.table in cat.files), None)
             for i in cat.indicators}
    for spec in doc["indicators"]:
        a = avail.get(spec["id"], {})
        if spec.get("enabled", True) and not a.get("served", True):
            spec["enabled"] = False
            src = files.get(spec["id"])
            spec["disabled_reason"] = (
                FILE_REASON.format(what=" ".join(src.title.replace("{year}", "").split()))
                if src is not None else DEMO_REASON.format(what=f"'{titles[spec['id']]}'"))
    if doc.get("wijken") and wijk_years is not None:  # only the KWB years it has wijk rows of:
        doc["wijken"]["years"] = sorted(wijk_years)  # no nightly warning for the others
    head = ("# Generated by scripts/build_dev_mirror.py from "
            f"{catalog_path.name}: the catalogue for the local development mirror.\n"
            "# Indicators without real values in ../shared are disabled here (see "
            "availability.json).\n")
    return head + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)


def build(shared: Path, out: Path, catalog_path: Path) -> dict:
    if not (shared / "mirror").is_dir():
        raise BuildError(f"{shared / 'mirror'}: not found (../shared/cbs is absent)")
    out.mkdir(parents=True, exist_ok=True)
    v3, v4 = out / "v3", out / "v4"
    v3.mkdir(exist_ok=True)
    report = {"shared": str(shared.resolve()), "built": {}}
    for table, fn in BUILDERS.items():
        if (shared / "mirror" / table).is_dir():
            continue  # the shared mirror has the table itself
        report["built"][table] = fn(shared, v3)
    report["linked_v3"] = _link_all(shared / "mirror", v3, set(report["built"]))
    report["linked_v4"] = (_link_all(shared / "odata_v4", v4, set())
                           if (shared / "odata_v4").is_dir() else [])
    geo = out / "geo"  # boundaries, next to v3/ as the stand-in expects: the gemeente files
    if geo.is_symlink():  # (symlinked) and the wijk map of 2022 (an older build linked the dir)
        geo.unlink()
    geo.mkdir(exist_ok=True)
    for f in sorted((shared / "geo").glob("*.geojson")) if (shared / "geo").is_dir() else []:
        if not (geo / f.name).exists():
            (geo / f.name).symlink_to(f.resolve())
    wijk_geo = shared / "kwb_wijk" / "wijk_2022_generalised.geojson"
    if wijk_geo.is_file():
        report["wijk_map"] = build_wijk_map(wijk_geo, geo / "wijk_2022.geojson", shared)
    cat = catalog_mod.load(catalog_path)
    avail = availability(cat, Served(v3, v4))
    (out / "availability.json").write_text(json.dumps(avail, indent=1, ensure_ascii=False),
                                           encoding="utf-8")
    wijk_years = [b["year"] for b in report["built"].values() if b.get("regions", {}).get("WK")]
    (out / "catalog.yaml").write_text(dev_catalogue(catalog_path, avail, cat, wijk_years),
                                      encoding="utf-8")
    catalog_mod.load(out / "catalog.yaml")  # the generated catalogue must itself be valid
    report["catalog"] = {"source": str(catalog_path), "sha256": sha256(catalog_path),
                         "served": sorted(k for k, v in avail.items() if v["served"]),
                         "not_served": {k: v["reason"] for k, v in avail.items()
                                        if not v["served"]}}
    (out / "PROVENANCE.json").write_text(json.dumps(report, indent=1, ensure_ascii=False),
                                         encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output folder (outside git)")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "cbs")
    ap.add_argument("--catalog", type=Path, default=catalog_mod.DEFAULT_PATH)
    args = ap.parse_args(argv)
    try:
        report = build(args.shared, args.out, args.catalog)
    except (BuildError, catalog_mod.CatalogError) as exc:
        print(f"build_dev_mirror: {exc}", file=sys.stderr)
        return 1
    served = report["catalog"]["served"]
    print(f"dev mirror in {args.out}: built {', '.join(report['built']) or 'nothing'}; "
          f"{len(served)} indicators with real values; "
          f"{len(report['catalog']['not_served'])} left out (see availability.json)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
