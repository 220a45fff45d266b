"""Contracts checked before publishing, and plausibility against what was published before.

Contracts (:func:`check`): any violation means publish nothing. Each violation names the rule,
the indicator and the CBS table, so an operator can act on it. Coverage (which current gemeenten
lack a value in the latest year) is reported, not enforced: CBS itself leaves gaps, and the note
must say so rather than the pipeline guessing.

Plausibility (:func:`plausibility`, bounds from the catalogue: ``catalog.PLAUSIBILITY_DEFAULTS``
< top-level ``plausibility:`` < a table's or indicator's own): a table CBS changed whose new data
do not look like the published data keeps its last good data, and the night exits non-zero
until CBS serves plausible data again or an operator takes it with ``--accept``. Per table, the
rows of its data entity (:func:`rows_drop`); per indicator fed by it, gemeenten with a value in
the latest period (:func:`coverage_drop`) and values that jump (:func:`value_jumps`).

A value jumps (:func:`compare`) when a figure CBS gave before is revised far beyond its size, or
a new period lies far from the region's latest published one. It is judged per *period* and per
*region* (:func:`rejected_groups`), never as a share of the whole table: a x1000 error in one
year hides among the good values of all other years (issue 23: banen x1000 in 2023 alone was 342
of ~6,000 values, under any table-wide share), and one gemeente x1000 among all the others. So a
period is rejected when too many of *its* values jump (a year in another unit or scale, a new
year served x1000), a region when too many of *its* values jump (one gemeente wrong in every
year), and also a region with any single value a hundredfold off (one gemeente x1000 in one
year: a unit slip no revision produces). One odd value is normal: CBS revises Voorlopig to
Definitief, a company re-registers, a herindeling changes a gemeente's totals; a group needs at
least two jumping values (or its only one). What never counts: changes within the shown
precision or the rounding of both values, values marked imprecise (quality "onnauwkeurig"), tiny
previous values (3 -> 10 faillissementen), and ratios between periods of a net figure (growth, a
balance: it changes sign as news).

On the real data in ../shared (every period of every indicator held against the periods before
it, as the night that fetched it would have) nothing is rejected: at worst 0,3 % of one period's
values jump, against the bound of 10 %; year-on-year ratios of figures that cannot be negative
stay within 1.5x for 99 % of the values (tests/pipelines/test_plausibility.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .catalog import Catalog
from .precision import QUALITY_IMPRECISE
from .transform import period_parts


@dataclass(frozen=True)
class Violation:
    rule: str
    indicator: str
    table: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.table} / {self.indicator}: {self.detail}"


def _examples(values, n: int = 5) -> str:
    vals = list(values)
    more = f" (+{len(vals) - n} more)" if len(vals) > n else ""
    return ", ".join(str(v) for v in vals[:n]) + more


def check(obs: pd.DataFrame, regions: pd.DataFrame, catalog: Catalog,
          indicators=None) -> list[Violation]:
    inds = list(indicators if indicators is not None else catalog.enabled)
    out: list[Violation] = []
    tables = {i.id: "+".join(i.tables) for i in catalog.indicators}

    dup = obs[obs.duplicated(["indicator", "region_code", "period"], keep=False)]
    for ind_id, grp in dup.groupby("indicator"):
        keys = grp[["region_code", "period"]].drop_duplicates().astype(str).agg(" ".join, axis=1)
        out.append(Violation("unique_keys", ind_id, tables.get(ind_id, "?"),
                             f"duplicate (region, period): {_examples(keys)}"))

    known = set(regions["code"])
    unknown = obs[~obs["region_code"].isin(known)]
    for ind_id, grp in unknown.groupby("indicator"):
        out.append(Violation("known_regions", ind_id, tables.get(ind_id, "?"),
                             f"region codes not in the region table: "
                             f"{_examples(sorted(grp['region_code'].unique()))}"))

    by_ind = dict(tuple(obs.groupby("indicator")))
    for ind in inds:
        table = "+".join(ind.tables)
        grp = by_ind.get(ind.id)
        if grp is None or grp.empty:
            out.append(Violation("non_empty", ind.id, table,
                                 "no values at all - measure, filter or region levels match nothing"))
            continue
        vals = grp["value"].to_numpy(dtype="float64")
        if not np.isfinite(vals).all():
            out.append(Violation("finite", ind.id, table, "non-finite values"))
        if ind.value_range:
            lo, hi = ind.value_range
            bad = grp[(grp["value"] < lo) | (grp["value"] > hi)]
            if not bad.empty:
                ex = bad.head(3).apply(lambda r: f"{r.region_code} {r.period}={r.value:g}", axis=1)
                out.append(Violation("range", ind.id, table,
                                     f"{len(bad)} value(s) outside [{lo:g}, {hi:g}]: {_examples(ex)}"))
        elif ind.unit in ("aantal", "euro"):
            bad = grp[grp["value"] < 0]
            if ind.unit == "aantal" and not bad.empty:
                out.append(Violation("range", ind.id, table,
                                     f"{len(bad)} negative count(s): {_examples(bad['region_code'])}"))
        extra = set(grp["region_level"].unique()) - set(ind.levels)
        if extra:
            out.append(Violation("levels", ind.id, table, f"unexpected region levels {sorted(extra)}"))
    return out


def coverage(obs: pd.DataFrame, regions: pd.DataFrame, catalog: Catalog,
             missing: pd.DataFrame | None = None) -> dict:
    """Per indicator with gemeente data: latest period, gemeenten covered, which are missing and,
    where CBS says why (v4 ValueAttribute), ``missing_reasons`` {code: reason}."""
    cbs_missing = missing
    current = regions[(regions["level"] == "GM") & regions["is_current"]]
    names = dict(zip(current["code"], current["name"], strict=True))
    report = {}
    for ind in catalog.enabled:
        if "GM" not in ind.levels:
            continue
        sub = obs[(obs["indicator"] == ind.id) & (obs["region_level"] == "GM")]
        if sub.empty:
            report[ind.id] = {"latest_period": None, "covered": 0, "expected": len(names),
                              "missing": sorted(names)}
            continue
        latest = sub["period"].max()
        have = set(sub.loc[sub["period"] == latest, "region_code"])
        missing = sorted(set(names) - have)
        report[ind.id] = {
            "latest_period": str(latest), "covered": len(set(names) & have),
            "expected": len(names),
            "missing": [f"{c} {names[c]}" for c in missing],
        }
        if missing and cbs_missing is not None and not cbs_missing.empty:
            why = cbs_missing[(cbs_missing["indicator"] == ind.id)
                              & cbs_missing["region_code"].isin(missing)]
            why = why[why["period_key"].map(lambda k: period_parts(k)[0]) == str(latest)]
            if not why.empty:
                report[ind.id]["missing_reasons"] = dict(zip(why["region_code"], why["reason"],
                                                             strict=True))
    return report


# --------------------------------------------------------------------------- plausibility

def _n(x: float) -> str:
    """A count in Dutch notation (6.865), as operators read CBS figures."""
    return f"{x:,.0f}".replace(",", ".")


def _num(x: float, decimals: int) -> str:
    """A figure in Dutch notation with the indicator's decimals (723.900.000; 12,5)."""
    text = f"{x:,.{max(decimals, 0)}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


@dataclass(frozen=True)
class Implausible:
    """A new fetch that does not look like the data published before: ``table`` keeps its last
    good data. ``subject`` is the table or the indicator the numbers are about; ``str()`` is the
    one line for a person, :meth:`record` the same finding as structured fields (run record,
    JSON log)."""

    table: str
    subject: str
    detail: str
    rule: str = "rows"  # rows | coverage | value_jumps
    indicator: str | None = None
    measure: str | None = None
    periods: tuple[dict, ...] = ()  # {period, jumps, compared} of each rejected period
    regions: tuple[dict, ...] = ()  # {region, name, jumps, compared} of each rejected region
    examples: tuple[dict, ...] = ()  # {region, name, period, previous_period, old, new}

    def __str__(self) -> str:
        return f"{self.subject}: {self.detail}"

    def record(self) -> dict:
        out = {"table": self.table, "rule": self.rule, "message": str(self)}
        for k in ("indicator", "measure"):
            if getattr(self, k):
                out[k] = getattr(self, k)
        for k in ("periods", "regions", "examples"):
            if getattr(self, k):
                out[k] = list(getattr(self, k))
        return out


def rows_drop(table: str, rows: int, was: int | None, bounds: dict) -> Implausible | None:
    """The data entity lost more rows than ``max_rows_drop_pct`` versus the published fetch."""
    if not was:
        return None
    if rows < was * (1 - bounds["max_rows_drop_pct"] / 100):
        return Implausible(table, table, f"{_n(rows)} rows, was {_n(was)}")
    return None


def coverage_drop(ind_id: str, new: dict | None, old: dict | None, bounds: dict) -> str | None:
    """Fewer gemeenten with a value in the latest period than ``max_coverage_drop_pct`` allows."""
    was = (old or {}).get("covered") or 0
    now = (new or {}).get("covered") or 0
    if was and now < was * (1 - bounds["max_coverage_drop_pct"] / 100):
        return f"{_n(now)} gemeenten, was {_n(was)}"
    return None


COMPARED = ["region_code", "period", "period_old", "value_old", "value", "jump", "scale"]
# A single value this many times (or this fraction of) the one it is held against is a scale
# error, rejected on its own: no revision or year-on-year change of a figure that cannot be
# negative moves it a hundredfold, while a unit slip (x1000, thousands read as units) always does.
SCALE_FACTOR = 100.0


def _clean(df: pd.DataFrame) -> pd.DataFrame:
    """Values that can be compared: not marked imprecise (their rounding says more than their
    change), with the rounding half-width as a number (unknown = 0)."""
    if "quality" in df.columns:
        df = df[df["quality"].fillna("").astype(str) != QUALITY_IMPRECISE]
    unc = df["uncertainty"] if "uncertainty" in df.columns else 0.0
    return df.assign(uncertainty=pd.Series(unc, index=df.index, dtype="float64").fillna(0.0))


def compare(ind, new: pd.DataFrame, old: pd.DataFrame, bounds: dict) -> pd.DataFrame:
    """Every value of ``new`` that can be held against the published data (``old``), one row
    each (:data:`COMPARED`), with ``jump`` = it moved beyond the bounds:

    - a figure CBS already gave (same region and period; ``period_old`` = ``period``) revised by
      more than ``max_revision_pct`` of its size, where the size is at least the indicator's
      typical size (half the median absolute value; the full median for a net figure) so that a
      figure near zero (0,2 -> 0,5) is not a 150 % jump;
    - a new period's value more than ``max_new_period_factor`` times (or that fraction of) the
      region's latest published one (``period_old``; 0 switches this off). Only where that
      previous value is not tiny (a fifth of the typical size: 3 -> 10 faillissementen prove
      nothing) and only for figures that cannot be negative: a net figure (growth, a balance;
      its catalogue range allows negatives or it has negative values) moves and changes sign
      from year to year as news, so a ratio between its periods says nothing.

    A change within the shown precision or within the rounding of both values
    (``uncertainty``) never jumps, and values marked imprecise are not compared at all."""
    if new.empty or old.empty:
        return pd.DataFrame(columns=COMPARED)
    new, old = _clean(new), _clean(old)
    key = ["region_code", "period"]
    tol = 10.0 ** -int(getattr(ind, "decimals", 0) or 0)  # below the shown precision: no change
    rng = getattr(ind, "value_range", None)
    net = bool((rng and rng[0] < 0) or (old["value"] < 0).any())
    typical = float(old["value"].abs().median() or 0.0) / (1 if net else 2)
    cols = key + ["value", "uncertainty"]

    both = new[cols].merge(old[cols], on=key, suffixes=("", "_old"))
    diff = (both["value"] - both["value_old"]).abs()
    base = both["value_old"].abs().clip(lower=typical)
    both["jump"] = ((diff > tol) & (diff > both["uncertainty"] + both["uncertainty_old"])
                    & (diff > bounds["max_revision_pct"] / 100 * base))
    out = [both.assign(period_old=both["period"])]

    f = bounds["max_new_period_factor"]
    seen = pd.MultiIndex.from_frame(old[key])
    fresh = new[~pd.MultiIndex.from_frame(new[key]).isin(seen)]
    if not fresh.empty and f > 0 and not net:
        by = ["region_code"] + (["period_type"] if "period_type" in old.columns
                                and "period_type" in fresh.columns else [])
        keep = list(dict.fromkeys(by + ["period", "value", "uncertainty"]))
        last = old[keep].sort_values("period").groupby(by).tail(1)
        pair = fresh[keep].merge(last, on=by, suffixes=("", "_old"))
        floor = max(typical / 5, tol)
        pair = pair[(pair["period_old"] < pair["period"]) & (pair["value_old"] >= floor)
                    & (pair["value"] >= 0)]
        diff = (pair["value"] - pair["value_old"]).abs()
        ratio = pair["value"] / pair["value_old"]
        pair = pair.assign(jump=((ratio > f) | (ratio < 1 / f)) & (diff > tol)
                           & (diff > pair["uncertainty"] + pair["uncertainty_old"]))
        out.append(pair)
    both = pd.concat([o.drop(columns="scale", errors="ignore") for o in out], ignore_index=True)
    return both.assign(scale=_scale_errors(both, net, max(typical / 5, 10 * tol)))[COMPARED]


def _scale_errors(c: pd.DataFrame, net: bool, floor: float) -> pd.Series:
    """Jumps that are a factor :data:`SCALE_FACTOR` or more either way, with the smaller value
    not tiny (``floor``: a fifth of the typical size and at least ten display steps, so 0,1 -> 12
    or 2 -> 300 faillissementen prove nothing) and the factor holding across both values'
    rounding. Never for a net figure (a ratio between its values says nothing)."""
    if net or c.empty:
        return pd.Series(False, index=c.index)
    v, o = c["value"].abs(), c["value_old"].abs()
    small, large = v.where(v < o, o), v.where(v >= o, o)
    return (c["jump"].astype(bool) & (small >= floor) & (c["value"] * c["value_old"] > 0)
            & (large >= SCALE_FACTOR * small))


def rejected_groups(compared: pd.DataFrame, by: str, bounds: dict) -> pd.DataFrame:
    """The periods (``by="period"``) or regions (``by="region_code"``) in which too many of
    *their own* compared values jump: more than ``max_jump_share_pct`` of them and at least two
    (or the only one there is); a region also for any one value a hundredfold off
    (:func:`_scale_errors`: one gemeente x1000 in one year among its good years). One
    odd value in one gemeente is normal (a company moving its
    registration, a herindeling); a year or a gemeente in another unit or scale is not, however
    many good values surround it elsewhere. Columns: ``by``, jumps, compared."""
    g = compared.groupby(by).agg(jumps=("jump", "sum"), compared=("jump", "size"),
                                 scale=("scale", "sum")).reset_index()
    share = bounds["max_jump_share_pct"] / 100
    bad = ((g["jumps"] > share * g["compared"]) & (g["jumps"] >= g["compared"].clip(upper=2))
           | ((g["scale"] > 0) & (by == "region_code")))  # one value a hundredfold off: a slip
    g = g.drop(columns="scale")
    return g[bad & (g["jumps"] > 0)].sort_values(by).reset_index(drop=True)


@dataclass(frozen=True)
class Jumps:
    """The verdict of :func:`value_jumps`: rejected periods and regions, examples, the line."""

    periods: tuple[dict, ...]
    regions: tuple[dict, ...]
    examples: tuple[dict, ...]
    text: str

    def __str__(self) -> str:
        return self.text


def _listed(items: list[str], n: int = 4) -> str:
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def value_jumps(ind, new: pd.DataFrame, old: pd.DataFrame, bounds: dict,
                names: dict[str, str] | None = None) -> Jumps | None:
    """Values that jump versus the published snapshot (:func:`compare`), judged per period and
    per region (:func:`rejected_groups`): a year served x1000 for every gemeente, a new year in
    another unit, one gemeente x1000 in all its years are each caught, whatever the rest of the
    table does. None when nothing is rejected. ``names``: region code -> name, for the line."""
    compared = compare(ind, new, old, bounds)
    if compared.empty or not compared["jump"].any():
        return None
    periods = rejected_groups(compared, "period", bounds)
    regions = rejected_groups(compared, "region_code", bounds)
    if periods.empty and regions.empty:
        return None
    names = names or {}

    def label(code: str) -> str:
        return f"{code} {names[code]}" if names.get(code) else code

    parts = []
    if len(periods) == 1:
        r = periods.iloc[0]
        parts.append(f"period {r.period}: {r.jumps} of {r.compared} values jump")
    elif len(periods):
        parts.append("periods " + _listed([f"{r.period} ({r.jumps} of {r.compared})"
                                           for r in periods.itertuples()]) + ": values jump")
    # a region whose jumps all lie in rejected periods says nothing new: named in the fields only
    own = compared[compared["jump"] & ~compared["period"].isin(periods["period"])]
    named = regions[regions["region_code"].isin(own["region_code"])]
    if len(named) == 1:
        r = named.iloc[0]
        parts.append(f"{label(r.region_code)}: {r.jumps} of {r.compared} values jump")
    elif len(named):
        parts.append(f"{len(named)} regions, " + _listed(
            [f"{label(r.region_code)} ({r.jumps} of {r.compared})" for r in named.itertuples()],
            3) + ": values jump")
    f = bounds["max_new_period_factor"]
    rule = f"revised by more than {bounds['max_revision_pct']:g} %" + (
        f", or a new period more than {f:g}x or less than 1/{f:g} of the previous" if f else "")

    bad = compared[compared["jump"] & (compared["period"].isin(periods["period"])
                                       | compared["region_code"].isin(regions["region_code"]))]
    bad = bad.assign(_gm=~bad["region_code"].astype(str).str.startswith("GM"),
                     _size=-(bad["value"] - bad["value_old"]).abs())
    dec = int(getattr(ind, "decimals", 0) or 0)
    examples = tuple({"region": r.region_code, "name": names.get(r.region_code),
                      "period": r.period, "previous_period": r.period_old,
                      "old": float(r.value_old), "new": float(r.value)}
                     for r in bad.sort_values(["_gm", "_size"]).head(3).itertuples())
    ex = ", ".join(
        f"{label(e['region'])} "
        + (e["period"] if e["period"] == e["previous_period"]
           else f"{e['previous_period']} -> {e['period']}")
        + f": {_num(e['old'], dec)} -> {_num(e['new'], dec)}" for e in examples)
    text = "; ".join(parts) + f" ({rule}); e.g. {ex}"

    def rows(df: pd.DataFrame, key: str, out: str) -> tuple[dict, ...]:
        return tuple({out: r[key], **({"name": names.get(r[key])} if out == "region" else {}),
                      "jumps": int(r["jumps"]), "compared": int(r["compared"])}
                     for r in df.to_dict("records"))

    return Jumps(rows(periods, "period", "period"), rows(regions, "region_code", "region"),
                 examples, text)


def plausibility(catalog: Catalog, changed: set[str], obs: pd.DataFrame, cov: dict,
                 previous: pd.DataFrame | None, prev_cov: dict, indicators=None,
                 names: dict[str, str] | None = None) -> list[Implausible]:
    """Per indicator fed by a table in ``changed`` (fetched anew this run): gemeente coverage of
    the latest period and value jumps per period and per region against the published snapshot
    (``previous``, ``prev_cov``). Each finding is charged to the changed tables of that
    indicator, naming the measure(s) that table feeds it."""
    if previous is None or previous.empty:
        return []
    out: list[Implausible] = []
    by_new = dict(tuple(obs.groupby("indicator")))
    by_old = dict(tuple(previous.groupby("indicator")))
    for ind in (indicators if indicators is not None else catalog.enabled):
        tables = [e for t in ind.tables for e in catalog.tables_of(t) if e in changed]
        if not tables or ind.id not in by_old:
            continue
        bounds = catalog.bounds(ind)
        cov_drop = coverage_drop(ind.id, cov.get(ind.id), prev_cov.get(ind.id), bounds)
        jumps = value_jumps(ind, by_new.get(ind.id, obs.iloc[0:0]), by_old[ind.id], bounds, names)
        for t in tables:
            if cov_drop:
                out.append(Implausible(t, ind.id, cov_drop, "coverage", ind.id))
            if jumps:
                measure = ", ".join(dict.fromkeys(
                    i.measure for i in ind.inputs if t in catalog.tables_of(i.table)))
                out.append(Implausible(
                    t, f"{ind.id} ({measure})", jumps.text, "value_jumps", ind.id, measure,
                    jumps.periods, jumps.regions, jumps.examples))
    return out


# --------------------------------------------------------------------------- wijk rows

# The wijk measures whose coverage per gemeente is watched: every wijk has inwoners, and the
# business total is what the dashboard's wijk page is about.
WIJK_COVERAGE_MEASURES = ("BedrijfsvestigingenTotaal", "AantalInwoners")
# A class (stedelijkheid 1-5), not a quantity: a ratio between two of its values says nothing.
WIJK_NOT_COMPARED = ("MateVanStedelijkheid", "IndelingswijzigingGemeenteWijkBuurt")


@dataclass(frozen=True)
class _WijkMeasure:
    """What :func:`compare` reads of an indicator, for a KWB measure: whole numbers that cannot
    be negative (the wijk contracts, ``wijken.check``, refuse negatives)."""

    decimals: int = 0
    value_range: tuple[float, float] | None = None


def _decimals(rows: pd.DataFrame) -> int:
    """The decimals a KWB measure is published with, from its rounding (``uncertainty`` = half
    the step: 0.05 -> 1 decimal, a distance in km); 0 where it is exact or unknown."""
    half = rows["uncertainty"].dropna()
    half = half[half > 0]
    if half.empty:
        return 0
    return max(0, -int(np.floor(np.log10(2 * float(half.min())) + 1e-9)))


def gemeenten_without_wijken(df: pd.DataFrame, gemeenten: dict[str, str]) -> list[str]:
    """The gemeenten of a KWB year (``gemeenten``: its GM rows, code -> name) without a single
    wijk row in ``df``, as "code name": reported, not enforced (CBS decides the wijk division)."""
    have = set(df["gemeente_code"]) if not df.empty else set()
    return [f"{c} {gemeenten[c]}".strip() for c in sorted(set(gemeenten) - have)]


def _wijk_obs(df: pd.DataFrame) -> pd.DataFrame:
    """Wijk rows in the shape :func:`compare` holds against each other (the year is the period)."""
    return pd.DataFrame({"region_code": df["region_code"].astype(str),
                         "period": df["year"].astype(int).astype(str),
                         "value": df["value"].astype("float64"),
                         "uncertainty": df["uncertainty"].astype("float64"),
                         "quality": df["quality"].astype(str)})


def _wijk_coverage(table: str, year: int, new: pd.DataFrame, old: pd.DataFrame,
                   bounds: dict) -> Implausible | None:
    """Gemeenten of ``year`` that had wijken in the published rows and now have none, or whose
    wijken with a value of a :data:`WIJK_COVERAGE_MEASURES` measure fell by more than
    ``max_coverage_drop_pct``."""
    names = dict(zip(old["gemeente_code"], old["gemeente_name"], strict=False))

    def label(code: str) -> str:
        return f"{code} {names[code]}" if names.get(code) else code


    def count(df: pd.DataFrame) -> pd.Series:
        return df.groupby("gemeente_code")["region_code"].nunique()

    before = count(old)
    lost = before.index[count(new).reindex(before.index, fill_value=0) == 0]
    found = [f"{label(g)}: no wijken, had {before[g]}" for g in lost]
    regions = [{"region": g, "name": names.get(g), "wijken": 0, "was": int(before[g])}
               for g in lost]
    keep = 1 - bounds["max_coverage_drop_pct"] / 100
    for m in WIJK_COVERAGE_MEASURES:
        was = count(old[old["measure"] == m])
        now = count(new[new["measure"] == m]).reindex(was.index, fill_value=0)
        for g in was.index[(now < was * keep) & ~was.index.isin(lost)]:
            found.append(f"{label(g)}: {now[g]} wijken with {m}, was {was[g]}")
            regions.append({"region": g, "name": names.get(g), "measure": m,
                            "wijken": int(now[g]), "was": int(was[g])})
    if not found:
        return None
    return Implausible(table, f"wijken {year}", f"{len(found)} gemeente(n) lost wijken: "
                       + _listed(found), "coverage", periods=({"period": str(year)},),
                       regions=tuple(regions))


def _wijk_jumps(table: str, year: int, new: pd.DataFrame, old: pd.DataFrame,
                bounds: dict) -> Implausible | None:
    """Values of ``year`` that jump (:func:`compare` per measure: a revision of the same wijk and
    year, or a new year against the same wijk's previous one where it is ``continuous``), judged
    as the gemeente tables are (:func:`rejected_groups`): the year when too many of its values
    jump, a gemeente when too many of *its wijken's* values jump, a single wijk only for a value
    a hundredfold off (a unit slip). A single wijk's share is not judged: a wijk is small, and a
    new housing estate really does triple its inwoners and woningen in a year."""
    cand = new[~new["measure"].isin(WIJK_NOT_COMPARED)]
    # a wijk-year published before is a revision; any other only where the wijk is the same wijk
    # as the year before (a new or renumbered code is never held against an older wijk's values)
    seen = pd.MultiIndex.from_frame(cand[["region_code", "year"]]).isin(
        pd.MultiIndex.from_frame(old[["region_code", "year"]]))
    cand = cand[seen | cand["continuous"].astype(bool).to_numpy()]
    frames = []
    for m, nm in cand.groupby("measure"):
        om = old[old["measure"] == m]
        c = compare(_WijkMeasure(_decimals(nm)), _wijk_obs(nm), _wijk_obs(om), bounds)
        if not c.empty:
            frames.append(c.assign(measure=m))
    if not frames:
        return None
    c = pd.concat(frames, ignore_index=True)
    c = c[c["period"] == str(year)]
    if c.empty or not c["jump"].any():
        return None
    gm = dict(zip(new["region_code"], new["gemeente_code"], strict=False))
    c = c.assign(gemeente_code=c["region_code"].map(gm))
    names = {**dict(zip(new["region_code"], new["region_name"], strict=False)),
             **dict(zip(new["gemeente_code"], new["gemeente_name"], strict=False))}

    def label(code: str) -> str:
        return f"{code} {names[code]}" if names.get(code) else code

    whole = rejected_groups(c, "period", bounds)
    gemeenten = rejected_groups(c, "gemeente_code", bounds)
    slips = sorted(set(c.loc[c["scale"].astype(bool), "region_code"]))
    if whole.empty and gemeenten.empty and not slips:
        return None
    parts = []
    if len(whole):
        parts.append(f"year {year}: {whole.iloc[0].jumps} of {whole.iloc[0].compared} "
                     "values jump")
    # the gemeenten are named unless they are all of them (a whole year x1000 in every gemeente)
    if len(gemeenten) and len(gemeenten) < c["gemeente_code"].nunique():
        parts.append(f"{len(gemeenten)} gemeente(n), " + _listed(
            [f"{label(r.gemeente_code)} ({r.jumps} of {r.compared})"
             for r in gemeenten.itertuples()], 3) + ": their wijken's values jump")
    own = [w for w in slips if gm.get(w) not in set(gemeenten["gemeente_code"])]
    if own and whole.empty:
        parts.append(f"{len(own)} wijk(en) a hundredfold off: " + _listed(
            [label(w) for w in own], 3))
    f = bounds["max_new_period_factor"]
    rule = f"revised by more than {bounds['max_revision_pct']:g} %" + (
        f", or a new year more than {f:g}x or less than 1/{f:g} of the previous" if f else "")
    bad = c[c["jump"] & (c["gemeente_code"].isin(gemeenten["gemeente_code"])
                         | c["region_code"].isin(slips) | (len(whole) > 0))]
    bad = bad.assign(_size=-(bad["value"] - bad["value_old"]).abs()).sort_values("_size")
    examples = tuple({"region": r.region_code, "name": names.get(r.region_code),
                      "measure": r.measure, "period": r.period,
                      "previous_period": r.period_old, "old": float(r.value_old),
                      "new": float(r.value)} for r in bad.head(3).itertuples())
    ex = ", ".join(
        f"{label(e['region'])} {e['measure']} "
        + (e["period"] if e["period"] == e["previous_period"]
           else f"{e['previous_period']} -> {e['period']}")
        + f": {_num(e['old'], 0)} -> {_num(e['new'], 0)}" for e in examples)
    regions = tuple({"region": r.gemeente_code, "name": names.get(r.gemeente_code),
                     "jumps": int(r.jumps), "compared": int(r.compared)}
                    for r in gemeenten.itertuples()) + tuple(
        {"region": w, "name": names.get(w), "scale": True} for w in slips)
    periods = tuple({"period": str(year), "jumps": int(r.jumps), "compared": int(r.compared)}
                    for r in whole.itertuples()) or ({"period": str(year)},)
    return Implausible(table, f"wijken {year}", "; ".join(parts) + f" ({rule}); e.g. {ex}",
                       "value_jumps", periods=periods, regions=regions, examples=examples)


def wijk_plausibility(new: pd.DataFrame, old: pd.DataFrame | None,
                      bounds: dict | None = None) -> list[Implausible]:
    """The wijk rows (``wijk_observations``) of a new fetch against the published ones, per year
    of ``new`` (the refresh keeps the published rows of a year with a finding): its rows
    (:func:`rows_drop`), coverage per gemeente (:func:`_wijk_coverage`) and values that jump
    (:func:`_wijk_jumps`). ``bounds``: ``catalog.PLAUSIBILITY_DEFAULTS`` unless given (the
    catalogue's top-level ``plausibility:``, as the gemeente tables use). Nothing to compare
    (no published rows): no findings. Each finding names the KWB table and ``wijken <year>``."""
    from .catalog import PLAUSIBILITY_DEFAULTS
    bounds = {**PLAUSIBILITY_DEFAULTS, **(bounds or {})}
    if old is None or old.empty or new.empty:
        return []
    out: list[Implausible] = []
    for year, n in new.groupby("year"):
        year = int(year)
        table = str(n["cbs_table"].iloc[0])
        o = old[old["year"] == year]
        if not o.empty:
            rows = rows_drop(table, len(n), len(o), bounds)
            if rows:
                out.append(Implausible(table, f"wijken {year}", f"{rows.detail} wijk rows",
                                       periods=({"period": str(year)},)))
            cov = _wijk_coverage(table, year, n, o, bounds)
            if cov:
                out.append(cov)
        jumps = _wijk_jumps(table, year, n, old, bounds)
        if jumps:
            out.append(jumps)
    return out
