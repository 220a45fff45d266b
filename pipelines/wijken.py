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
  one-decimal field x10 (the distances); :func:`rows_from_kwb_csv` divides them back.

Which measures are taken and what they make is configuration: the catalogue's ``wijken`` section
and ``wijk_indicators`` (:class:`pipelines.catalog.Wijken`). Raw measures are named by their KWB
*stem* (the key without CBS's numeric suffix, which shifts per edition and is resolved against
the edition's DataProperties by ``pipelines.editions``); :func:`indicator_values` turns them into
the wijk indicators, for one wijk or a group of wijken (centrum, rest of the gemeente, gemeente,
Nederland), with the rounding carried through by interval arithmetic (:mod:`pipelines.precision`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from . import precision
from .snapshot import WIJK_OBSERVATIONS

# structural measures every wijk year needs besides the catalogue's: CBS's comparability code and
# the land area (continuity, :func:`link_years`) and the address density (the centrum rule)
AREA, DENSITY = "OppervlakteLand", "Omgevingsadressendichtheid"
# CBS's own answer to "can this wijk be compared with last year?": 1 = code and boundary
# unchanged (a new name allowed), 2 = new code, same boundary, 3 = boundary changed
CHANGE = "IndelingswijzigingGemeenteWijkBuurt"
REQUIRED = (AREA, DENSITY, CHANGE)
CODES = (CHANGE,)  # codes, not quantities: no rounding, no plausibility jumps
# the KWB's own structure: the total and its eight sector groups (the add-up check)
TOTAL = "BedrijfsvestigingenTotaal"
SECTORS = ["ALandbouwBosbouwEnVisserij", "BFNijverheidEnEnergie", "GIHandelEnHoreca",
           "HJVervoerInformatieEnCommunicatie", "KLFinancieleDienstenOnroerendGoed",
           "MNZakelijkeDienstverlening", "OQOverheidOnderwijsEnZorg",
           "RUCultuurRecreatieOverigeDiensten"]
# stem -> (short name, decimals) in CBS's KWB spreadsheet export (kwb-<year>.xls), the shape of the
# development copy in ../shared/cbs/kwb_wijk; a stem without one has no development values
KWB_SHORT_NAMES: dict[str, tuple[str, int]] = {
    "AantalInwoners": ("a_inw", 0), "Woningvoorraad": ("a_woning", 0),
    "OnbewoondeWoningen": ("p_leegsw", 0), "GemiddeldeWOZWaardeVanWoningen": ("g_wozbag", 0),
    "BedrijfsvestigingenTotaal": ("a_bedv", 0), "ALandbouwBosbouwEnVisserij": ("a_bed_a", 0),
    "BFNijverheidEnEnergie": ("a_bed_bf", 0), "GIHandelEnHoreca": ("a_bed_gi", 0),
    "HJVervoerInformatieEnCommunicatie": ("a_bed_hj", 0),
    "KLFinancieleDienstenOnroerendGoed": ("a_bed_kl", 0),
    "MNZakelijkeDienstverlening": ("a_bed_mn", 0), "OQOverheidOnderwijsEnZorg": ("a_bed_oq", 0),
    "RUCultuurRecreatieOverigeDiensten": ("a_bed_ru", 0),
    "AfstandTotHuisartsenpraktijk": ("g_afs_hp", 1), "AfstandTotGroteSupermarkt": ("g_afs_gs", 1),
    "AfstandTotKinderdagverblijf": ("g_afs_kv", 1), "AfstandTotSchool": ("g_afs_sc", 1),
    "OppervlakteLand": ("a_lan_ha", 0), "MateVanStedelijkheid": ("ste_mvs", 0),
    "IndelingswijzigingGemeenteWijkBuurt": ("ind_wbi", 0),
    "Omgevingsadressendichtheid": ("ste_oad", 0),
}
COLUMNS = WIJK_OBSERVATIONS.columns  # the snapshot contract's columns and kinds


def stems(wijk) -> tuple[str, ...]:
    """The KWB measure stems to ask of every edition: the catalogue's and :data:`REQUIRED`."""
    return tuple(dict.fromkeys([*wijk.stems, *REQUIRED]))


def steps(wijk, properties: Iterable[Mapping] | None = None,
          keys: Mapping[str, str] | None = None) -> dict[str, float | None]:
    """stem -> CBS's rounding step: the catalogue's ``rounding`` (counts per wijk to 5: CBS says
    so only in words), else the edition's DataProperties (``keys``: its key -> stem; Decimals and
    Unit, :func:`precision.rounding_step`), else None (taken as exact)."""
    override = {i.measure: i.rounding for ind in wijk.indicators for i in ind.inputs
                if i.rounding is not None}
    by_stem = {}
    if properties is not None:
        names = dict(keys or {})
        for p in properties:
            key = str(p.get("Key", ""))
            by_stem[names.get(key, key)] = p
    return {s: None if s in CODES else precision.rounding_step(by_stem.get(s), 1.0,
                                                               override.get(s))
            for s in stems(wijk)}


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


def tidy(rows: list[dict], year: int, table: str, gemeente_names: dict[str, str],
         step: Mapping[str, float | None]) -> pd.DataFrame:
    """Tidy wijk frame from KWB rows keyed by stem (``WijkenEnBuurten`` = code, ``Naam`` =
    name, one column per measure stem): one row per wijk x stem of ``step`` (stem -> CBS's
    rounding step, :func:`steps`). Non-wijk rows are ignored; a missing value is left out,
    never 0. ``continuous`` is filled by :func:`link_years`."""
    out = []
    for r in rows:
        code = str(r.get("WijkenEnBuurten", "")).strip()
        if not code.startswith("WK"):
            continue
        gm = gemeente_of(code)
        for stem, st in step.items():
            v = _num(r.get(stem))
            if np.isnan(v):
                continue
            out.append((code, str(r.get("Naam", "")).strip(), gm, gemeente_names.get(gm, ""),
                        year, stem, v, st / 2 if st else 0.0, table))
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
    gemeente and CBS says the wijk can be compared with the year before (its
    ``IndelingswijzigingGemeenteWijkBuurt`` is 1: code and boundary unchanged); where an edition
    lacks that indicator, only when the land area is exactly the same. Otherwise its series
    starts anew, whatever the name says. (Not the area alone: CBS re-measured land areas between
    editions, 2021 on Bodemgebruik 2015 and 2022 on 2017, so a third of the unchanged wijken
    differ by a hectare or two.)"""
    area = (df[df["measure"] == AREA].set_index(["region_code", "year"])["value"])
    change = (df[df["measure"] == CHANGE].set_index(["region_code", "year"])["value"])
    keys = df[["region_code", "year"]].drop_duplicates()
    present = set(keys.itertuples(index=False, name=None))
    cont = {}
    for code, year in keys.itertuples(index=False):
        if (code, year - 1) not in present:
            cont[(code, year)] = False
        elif (code, year) in change.index:
            cont[(code, year)] = bool(change[(code, year)] == 1)
        else:
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


def rows_from_kwb_csv(path: Path, year: int, wanted: Iterable[str]
                      ) -> tuple[list[dict], dict[str, str]]:
    """Rows keyed by stem from a KWB export in short names (``gwb_code``, ``regio``, ``recs``,
    ``a_inw`` ...; the development copy ``kwb_2021_2022_capybara.csv`` holds 2021 and 2022),
    and the gemeente names of that year: the ``wanted`` stems that have a short name in
    :data:`KWB_SHORT_NAMES`. That copy stores the one-decimal fields of 2021 x10 (the kwb_wijk
    README): they are divided back here."""
    rows, names = [], {}
    cols = {s: KWB_SHORT_NAMES[s] for s in wanted if s in KWB_SHORT_NAMES}
    with Path(path).open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if str(r.get("year", "")).strip() != str(year):
                continue
            code = r["gwb_code"].strip()
            if r["recs"].strip() == "Gemeente":
                names[code] = r["regio"].strip()
            row = {"WijkenEnBuurten": code, "Naam": r["regio"]}
            for stem, (short, dec) in cols.items():
                v = _num(r.get(short))
                row[stem] = v / 10 ** dec if year == 2021 and dec and not np.isnan(v) else v
            rows.append(row)
    return rows, names


def from_kwb_csv(path: Path, wijk, years: tuple[int, ...] = (2021, 2022)) -> pd.DataFrame:
    """The tidy, linked and checked wijk frame of a KWB short-name export (``wijk``: the
    catalogue's :class:`~pipelines.catalog.Wijken`; rounding from the catalogue only: the
    export has no DataProperties)."""
    frames = []
    for y in years:
        rows, names = rows_from_kwb_csv(path, y, stems(wijk))
        df = tidy(rows, y, wijk.table(y), names, steps(wijk))
        check(df, set(names))
        frames.append(df)
    return link_years(pd.concat(frames, ignore_index=True))


REGION_DIM = "WijkenEnBuurten"


def query_for(table: str, properties: list[dict], wanted: Iterable[str]):
    """The wijk question to one KWB edition: gemeente and wijk rows (no buurten) of the
    ``wanted`` stems (:func:`stems`) this edition has (resolved to its keys; a stem it lacks is
    simply not asked). Returns (Query, {key: stem})."""
    from .editions import EditionError, resolve_measure
    from .query import Query
    keys = {}
    for stem in wanted:
        try:
            keys[resolve_measure(stem, properties, table)] = stem
        except EditionError:
            continue
    flt = f"(startswith({REGION_DIM},'GM') or startswith({REGION_DIM},'WK'))"
    return Query(table, "v3", [REGION_DIM, *keys], flt), keys


def from_entities(entities: dict[str, list], year: int, table: str,
                  keys: dict[str, str], step: Mapping[str, float | None]) -> pd.DataFrame:
    """The tidy frame of one downloaded KWB edition (``client.download``: the TypedDataSet plus
    the ``WijkenEnBuurten`` code list with titles; ``step``: :func:`steps`), checked."""
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
    df = tidy(rows, year, table, names, {s: step.get(s) for s in keys.values()})
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


# --------------------------------------------------------------------------- indicators

def indicator_values(rows: pd.DataFrame, indicators, groups: Mapping[str, Iterable[str]] | None
                     = None, max_uncertainty_pct: float = precision.DEFAULTS[
                         "max_uncertainty_pct"]) -> pd.DataFrame:
    """The wijk indicators (catalogue ``wijk_indicators``, or the snapshot's entries of them:
    anything with id, formula, decimals and inputs of name, measure, additive, weight) from
    the raw wijk rows of one year (``wijk_observations`` of that year).

    ``groups``: name -> wijk codes; each group is computed from its wijken as one area: a count
    (``additive``) is summed, a rate or average CBS publishes per wijk (``weight``) is averaged
    weighted by its count, and the formula is applied to those (a ratio of sums, never a mean of
    ratios). Only wijken with every input of that indicator take part (``n`` says how many); an
    input that is neither (a density) has a value for a group of one wijk only. Without
    ``groups`` every wijk is its own group. The rounding of the inputs is carried through by
    interval arithmetic: ``uncertainty`` is the half-width, ``imprecise`` follows the same bound
    as the gemeente figures. Returns group, indicator, value, uncertainty, imprecise, n."""
    cols = ["group", "indicator", "value", "uncertainty", "imprecise", "n"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    wide = rows.pivot_table(index="region_code", columns="measure", values="value",
                            aggfunc="first")
    unc = rows.pivot_table(index="region_code", columns="measure", values="uncertainty",
                           aggfunc="first").reindex_like(wide).fillna(0.0)
    if groups is None:
        member = pd.DataFrame({"group": wide.index, "region_code": wide.index})
    else:
        member = pd.DataFrame([(g, c) for g, codes in groups.items() for c in codes],
                              columns=["group", "region_code"])
        member = member[member["region_code"].isin(wide.index)]
    order = list(dict.fromkeys(member["group"])) if groups is None else list(groups)
    out = []
    for ind in indicators:
        names = {i.name: i for i in ind.inputs}
        need = [i.measure for i in ind.inputs]
        if any(m not in wide for m in need):
            continue  # an edition without this measure: the figure is empty that year
        sub = member.join(wide[need].dropna(), on="region_code", how="inner")
        sub = sub.join(unc[need].add_suffix("__u"), on="region_code")
        agg_v, agg_lo, agg_hi = {}, {}, {}
        g = sub.groupby("group", sort=False)
        n = g.size()
        for name, i in names.items():
            v, u = sub[i.measure], sub[i.measure + "__u"]
            lo, hi = v - u, v + u
            if i.additive:
                lo = lo.clip(lower=0)
                agg_v[name] = v.groupby(sub["group"]).sum()
                agg_lo[name], agg_hi[name] = (lo.groupby(sub["group"]).sum(),
                                              hi.groupby(sub["group"]).sum())
            elif i.weight:
                w = sub[names[i.weight].measure]
                wsum = w.groupby(sub["group"]).sum().where(lambda x: x > 0)
                agg_v[name] = (v * w).groupby(sub["group"]).sum() / wsum
                agg_lo[name] = (lo * w).groupby(sub["group"]).sum() / wsum
                agg_hi[name] = (hi * w).groupby(sub["group"]).sum() / wsum
            else:  # not to be summed or averaged: one wijk only
                one = n[n == 1].index
                first = g[i.measure].first()
                agg_v[name] = first.where(first.index.isin(one))
                agg_lo[name] = (first - g[i.measure + "__u"].first()).where(first.index.isin(one))
                agg_hi[name] = (first + g[i.measure + "__u"].first()).where(first.index.isin(one))
        idx = n.index
        val, _ = precision.bounds(ind.formula, {k: x.reindex(idx) for k, x in agg_v.items()},
                                  {k: x.reindex(idx) for k, x in agg_v.items()})
        lo, hi = precision.bounds(ind.formula, {k: x.reindex(idx) for k, x in agg_lo.items()},
                                  {k: x.reindex(idx) for k, x in agg_hi.items()})
        val = np.where(np.isfinite(val), val, np.nan)
        half = precision.half_width(lo, hi)
        bad = precision.imprecise(val, half, ind.decimals, max_uncertainty_pct).to_numpy()
        out.append(pd.DataFrame({"group": idx, "indicator": ind.id, "value": val,
                                 "uncertainty": half, "imprecise": bad & ~np.isnan(val),
                                 "n": n.to_numpy()}))
    if not out:
        return pd.DataFrame(columns=cols)
    df = pd.concat(out, ignore_index=True).dropna(subset=["value"])
    rank = {g: k for k, g in enumerate(order)}
    return df.sort_values("group", key=lambda s: s.map(rank), kind="stable").reset_index(
        drop=True)[cols]
