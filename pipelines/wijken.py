"""Wijk rows of the Kerncijfers wijken en buurten (KWB): one level below the gemeente (pure).

CBS publishes the KWB per year (85318NED = 2022, 85984NED = 2024, ...) with gemeente (GM), wijk
(WK) and buurt (BU) rows in one table. This module turns the wijk rows into a tidy frame (the
snapshot's ``wijk_observations``: one row per wijk x measure x year, with the gemeente the wijk
belongs to) and checks them. It is kept apart from ``observations`` on purpose: the gemeente
table feeds peers, rankings, harmonisation and every page, and none of that has a meaning for
wijken; mixing ~3,300 wijken into it would make every gemeente-level consumer filter them out.

Rules that follow from how CBS publishes wijken:

* **Codes change.** A wijk code (``WK`` + gemeente code + 2 digits) changes when the gemeente
  merges (herindeling) or renumbers its wijken (Amsterdam, 2023). A wijk is *continuous* with
  the previous year only when the same code exists there, in the same gemeente, with the same
  land area (the boundary proxy the KWB itself carries): no silent linking across a change.
* **Rounding.** CBS rounds business counts per wijk to 5: a count carries a half-width of 2.5
  and is *onnauwkeurig* when that is more than 10 % of it (:mod:`pipelines.precision`).
* **Traps of the development copy** (``../shared/cbs/kwb_wijk``): its 2021 rows store every
  one-decimal field x10; none of the measures below has decimals, so they are taken as stored.

Measures are named by their KWB *stem* (the key without CBS's numeric suffix, which shifts per
edition and is resolved against the edition's DataProperties by ``pipelines.editions``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from . import precision

# stem -> (KWB short name in the CSV export, Dutch label, unit, rounding step of the source)
MEASURES: dict[str, tuple[str, str, str, float | None]] = {
    "AantalInwoners": ("a_inw", "Inwoners", "aantal", None),
    "Woningvoorraad": ("a_woning", "Woningvoorraad", "aantal", None),
    "OnbewoondeWoningen": ("p_leegsw", "Onbewoonde woningen (ook tweede woningen)", "%", None),
    "GemiddeldeWOZWaardeVanWoningen": ("g_wozbag", "Gemiddelde WOZ-waarde van woningen",
                                       "x 1 000 euro", None),
    "BedrijfsvestigingenTotaal": ("a_bedv", "Bedrijfsvestigingen", "aantal", 5.0),
    "ALandbouwBosbouwEnVisserij": ("a_bed_a", "A Landbouw, bosbouw en visserij", "aantal", 5.0),
    "BFNijverheidEnEnergie": ("a_bed_bf", "B-F Nijverheid en energie", "aantal", 5.0),
    "GIHandelEnHoreca": ("a_bed_gi", "G+I Handel en horeca", "aantal", 5.0),
    "HJVervoerInformatieEnCommunicatie": ("a_bed_hj", "H+J Vervoer, informatie en communicatie",
                                          "aantal", 5.0),
    "KLFinancieleDienstenOnroerendGoed": ("a_bed_kl", "K-L Financiële diensten, onroerend goed",
                                          "aantal", 5.0),
    "MNZakelijkeDienstverlening": ("a_bed_mn", "M-N Zakelijke dienstverlening", "aantal", 5.0),
    "OQOverheidOnderwijsEnZorg": ("a_bed_oq", "O-Q Overheid, onderwijs en zorg", "aantal", 5.0),
    "RUCultuurRecreatieOverigeDiensten": ("a_bed_ru", "R-U Cultuur, recreatie, overige diensten",
                                          "aantal", 5.0),
    "OppervlakteLand": ("a_lan_ha", "Oppervlakte land", "ha", None),
    "MateVanStedelijkheid": ("ste_mvs", "Mate van stedelijkheid", "code", None),
    "Omgevingsadressendichtheid": ("ste_oad", "Omgevingsadressendichtheid", "per km²", None),
}
TOTAL = "BedrijfsvestigingenTotaal"
SECTORS = [m for m in MEASURES if m != TOTAL and MEASURES[m][3] == 5.0]
COLUMNS = {"region_code": "string", "region_name": "string", "gemeente_code": "string",
           "gemeente_name": "string", "year": "int", "measure": "string", "value": "float",
           "uncertainty": "float", "quality": "string", "cbs_table": "string",
           "continuous": "bool"}
KWB_TABLES = {2021: "85039NED", 2022: "85318NED", 2023: "85618NED", 2024: "85984NED",
              2025: "86165NED"}


class WijkError(ValueError):
    """Wijk rows that do not fit: a wijk without its gemeente, an implausible value, ..."""


def gemeente_of(wijk_code: str) -> str:
    """``WK075800`` -> ``GM0758``: the wijk code embeds its gemeente's code."""
    code = wijk_code.strip()
    if not (code.startswith("WK") and len(code) == 8 and code[2:].isdigit()):
        raise WijkError(f"{wijk_code!r} is not a wijk code (WK + 6 digits)")
    return "GM" + code[2:6]


def _num(v) -> float:
    if v is None:
        return np.nan
    s = str(v).strip()
    if s in ("", ".", "-99999999", "-99999997"):
        return np.nan
    return float(s)


def tidy(rows: list[dict], year: int, table: str, gemeente_names: dict[str, str]) -> pd.DataFrame:
    """Tidy wijk frame from KWB rows keyed by stem (``WijkenEnBuurten`` = code, ``Naam`` =
    name, one column per measure stem). Non-wijk rows are ignored; a missing value is left
    out, never 0. ``continuous`` is filled by :func:`link_years`."""
    out = []
    for r in rows:
        code = str(r.get("WijkenEnBuurten", "")).strip()
        if not code.startswith("WK"):
            continue
        gm = gemeente_of(code)
        for stem, (_short, _label, _unit, step) in MEASURES.items():
            v = _num(r.get(stem))
            if np.isnan(v):
                continue
            out.append((code, str(r.get("Naam", "")).strip(), gm, gemeente_names.get(gm, ""),
                        year, stem, v, step / 2 if step else 0.0, table))
    df = pd.DataFrame(out, columns=["region_code", "region_name", "gemeente_code",
                                    "gemeente_name", "year", "measure", "value", "uncertainty",
                                    "cbs_table"])
    bad = precision.imprecise(df["value"], df["uncertainty"], 0,
                              precision.DEFAULTS["max_uncertainty_pct"])
    df["quality"] = np.where(bad, precision.QUALITY_IMPRECISE, "")
    df["continuous"] = False
    return typed(df)


def typed(df: pd.DataFrame) -> pd.DataFrame:
    kinds = {"string": "string", "int": "int64", "float": "float64", "bool": "bool"}
    return df[list(COLUMNS)].astype({c: kinds[k] for c, k in COLUMNS.items()}).reset_index(
        drop=True)


def link_years(df: pd.DataFrame) -> pd.DataFrame:
    """Mark each wijk-year ``continuous`` when the previous year has the same code in the same
    gemeente with the same land area (a boundary change changes the area); otherwise its series
    starts anew, whatever the name says."""
    area = (df[df["measure"] == "OppervlakteLand"]
            .set_index(["region_code", "year"])["value"])
    keys = df[["region_code", "year"]].drop_duplicates()
    cont = {}
    for code, year in keys.itertuples(index=False):
        now, before = area.get((code, year)), area.get((code, year - 1))
        cont[(code, year)] = bool(now is not None and before is not None and now == before)
    df = df.copy()
    df["continuous"] = [cont[(c, y)] for c, y in zip(df["region_code"], df["year"], strict=True)]
    return typed(df)


def check(df: pd.DataFrame, gemeenten: set[str] | None = None) -> dict[int, dict]:
    """Contracts of the wijk rows (raises :class:`WijkError` naming the first offenders):
    every wijk's gemeente is known (``gemeenten``: the GM codes of that year, when given); no
    negative counts; percentages within 0-100; sector groups do not exceed the total by more
    than their rounding. Returns coverage per year: wijken, gemeenten with wijken."""
    if df.empty:
        return {}
    if gemeenten is not None:
        orphans = sorted(set(df["gemeente_code"]) - set(gemeenten))
        if orphans:
            raise WijkError(f"wijken of unknown gemeenten: {', '.join(orphans[:5])}")
    neg = df[(df["value"] < 0) & (df["measure"] != "MateVanStedelijkheid")]
    if len(neg):
        r = neg.iloc[0]
        raise WijkError(f"{r.region_code} {r.year}: {r.measure} is negative ({r.value})")
    pct = df[(df["measure"] == "OnbewoondeWoningen") & (df["value"] > 100)]
    if len(pct):
        r = pct.iloc[0]
        raise WijkError(f"{r.region_code} {r.year}: onbewoonde woningen {r.value} % > 100")
    wide = df.pivot_table(index=["region_code", "year"], columns="measure", values="value")
    if TOTAL in wide and all(s in wide for s in SECTORS):
        full = wide.dropna(subset=[TOTAL, *SECTORS])
        excess = full[SECTORS].sum(axis=1) - full[TOTAL]
        off = excess[excess.abs() > 2.5 * (len(SECTORS) + 1)]
        if len(off):
            (code, year), gap = next(iter(off.items()))
            raise WijkError(f"{code} {year}: sector groups differ from the total by {gap:g}")
    return {int(y): {"wijken": int(g["region_code"].nunique()),
                     "gemeenten": int(g["gemeente_code"].nunique())}
            for y, g in df.groupby("year")}


def rows_from_kwb_csv(path: Path, year: int) -> tuple[list[dict], dict[str, str]]:
    """Rows keyed by stem from a KWB export in short names (``gwb_code``, ``regio``, ``recs``,
    ``a_inw`` ...; the development copy ``kwb_2021_2022_capybara.csv`` holds 2021 and 2022),
    and the gemeente names of that year. Only the measures of :data:`MEASURES` (none has
    decimals, so the 2021 x10 trap of one-decimal fields does not apply)."""
    rows, names = [], {}
    with Path(path).open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if str(r.get("year", "")).strip() != str(year):
                continue
            code = r["gwb_code"].strip()
            if r["recs"].strip() == "Gemeente":
                names[code] = r["regio"].strip()
            row = {"WijkenEnBuurten": code, "Naam": r["regio"]}
            row.update({stem: r.get(short) for stem, (short, *_rest) in MEASURES.items()})
            rows.append(row)
    return rows, names


def from_kwb_csv(path: Path, years: tuple[int, ...] = (2021, 2022)) -> pd.DataFrame:
    """The tidy, linked and checked wijk frame of a KWB short-name export."""
    frames = []
    for y in years:
        rows, names = rows_from_kwb_csv(path, y)
        df = tidy(rows, y, KWB_TABLES[y], names)
        check(df, set(names))
        frames.append(df)
    return link_years(pd.concat(frames, ignore_index=True))


# --------------------------------------------------------------------------- from CBS

SERIES = "kerncijfers_wijken_en_buurten"
REGION_DIM = "WijkenEnBuurten"
# the KWB years whose wijk rows the refresh asks for: 2022 is the newest year with business counts
# per wijk in the development copy; a year CBS (or the stand-in) does not serve is skipped
WIJK_YEARS = (2022,)


def query_for(table: str, properties: list[dict]):
    """The wijk question to one KWB edition: gemeente and wijk rows (no buurten) of the measures
    this edition has (stems resolved to its keys; a stem it lacks is simply not asked). Returns
    (Query, {key: stem})."""
    from .editions import EditionError, resolve_measure
    from .query import Query
    keys = {}
    for stem in MEASURES:
        try:
            keys[resolve_measure(stem, properties, table)] = stem
        except EditionError:
            continue
    flt = f"(startswith({REGION_DIM},'GM') or startswith({REGION_DIM},'WK'))"
    return Query(table, "v3", [REGION_DIM, *keys], flt), keys


def from_entities(entities: dict[str, list], year: int, table: str,
                  keys: dict[str, str]) -> pd.DataFrame:
    """The tidy frame of one downloaded KWB edition (``client.download``: the TypedDataSet plus
    the ``WijkenEnBuurten`` code list with titles), checked."""
    titles = {str(c.get("Key", "")).strip(): str(c.get("Title", "")).strip()
              for c in entities.get(REGION_DIM, [])}
    rows = []
    for r in entities.get("TypedDataSet", []):
        code = str(r.get(REGION_DIM, "")).strip()
        row = {REGION_DIM: code, "Naam": titles.get(code, code)}
        row.update({stem: r.get(key) for key, stem in keys.items()})
        rows.append(row)
    names = {c: n for c, n in titles.items() if c.startswith("GM")}
    names.update({r[REGION_DIM]: r["Naam"] for r in rows if r[REGION_DIM].startswith("GM")})
    df = tidy(rows, year, table, names)
    check(df, {c for c in names} | {r[REGION_DIM] for r in rows if r[REGION_DIM].startswith("GM")})
    return df


def boundaries(fc: dict, codes: set[str]) -> bytes:
    """The wijk map of one year for the snapshot: the features of ``codes`` (PDOK's
    ``statcode``/``statnaam``; ``code``/``name`` accepted too), simplified like the gemeente
    maps. A wijk without boundary simply has no shape on the map (the table still lists it)."""
    from .geo import WIJK_MAX_BYTES, simplify
    feats = []
    for f in fc.get("features", []):
        p = f.get("properties") or {}
        code = str(p.get("statcode") or p.get("code") or "").strip()
        if code in codes and f.get("geometry"):
            feats.append({**f, "properties": {"statcode": code,
                                              "statnaam": p.get("statnaam") or p.get("name")}})
    return simplify({"type": "FeatureCollection", "features": feats}, WIJK_MAX_BYTES)
