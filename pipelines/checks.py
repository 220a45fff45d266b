"""Contracts checked before publishing. Any violation means: publish nothing.

Each violation names the rule, the indicator and the CBS table, so an operator can act on it.
Coverage (which current gemeenten lack a value in the latest year) is reported, not enforced:
CBS itself leaves gaps, and the note must say so rather than the pipeline guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .catalog import Catalog
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


@dataclass(frozen=True)
class Implausible:
    """A new fetch that does not look like the data published before: ``table`` keeps its last
    good data. ``subject`` is the table or the indicator the numbers are about."""

    table: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.detail}"


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


def value_jumps(ind, new: pd.DataFrame, old: pd.DataFrame, bounds: dict) -> str | None:
    """Values that jump versus the published snapshot: a figure CBS already gave (same region and
    period) revised by more than ``max_revision_pct``, or a new period's value more than
    ``max_new_period_factor`` times (or that fraction of) the region's previous one. Fails when
    more than ``max_jump_share_pct`` of the compared values jump (a single odd value in a small
    gemeente is normal; a table in another unit or scale is not).

    Revisions are measured against the indicator's typical size (half the median absolute value)
    when a value is smaller than that, so a net figure near zero (0.2 -> 0.5) does not count as
    a 150% jump. New periods are compared only where both values are positive and not tiny: a
    sign change of a net figure is news, not a fault."""
    if new.empty or old.empty:
        return None
    key = ["region_code", "period"]
    tol = 10.0 ** -int(ind.decimals or 0)  # differences below the shown precision never count
    typical = float(old["value"].abs().median() or 0.0) / 2
    both = new[key + ["value"]].merge(old[key + ["value"]], on=key, suffixes=("", "_old"))
    diff = (both["value"] - both["value_old"]).abs()
    base = both["value_old"].abs().clip(lower=typical)
    revised = (diff > tol) & (diff > bounds["max_revision_pct"] / 100 * base)
    jumps = [(r.region_code, r.period, r.value_old, r.value) for r in both[revised].itertuples()]
    compared = len(both)

    seen = set(zip(old["region_code"], old["period"], strict=True))
    fresh = new[[(r, p) not in seen for r, p in zip(new["region_code"], new["period"],
                                                        strict=True)]]
    f = bounds["max_new_period_factor"]  # 0 switches this comparison off
    if not fresh.empty and f > 0:
        by = ["region_code"] + (["period_type"] if "period_type" in old.columns else [])
        cols = list(dict.fromkeys(by + ["period", "value"]))
        last = old[cols].sort_values("period").groupby(by).tail(1)
        pair = fresh[cols].merge(last, on=by, suffixes=("", "_old"))
        floor = max(typical / 5, tol)  # tiny values (3 -> 10 faillissementen) prove nothing
        pair = pair[(pair["period_old"] < pair["period"]) & (pair["value_old"] >= floor)
                    & (pair["value"] > 0)]
        ratio = pair["value"] / pair["value_old"]
        far = ((ratio > f) | (ratio < 1 / f)) & ((pair["value"] - pair["value_old"]).abs() > tol)
        jumps += [(r.region_code, r.period, r.value_old, r.value) for r in pair[far].itertuples()]
        compared += len(pair)
    if not compared or not jumps or len(jumps) <= compared * bounds["max_jump_share_pct"] / 100:
        return None
    ex = ", ".join(f"{r} {p}: {o:g} -> {v:g}" for r, p, o, v in jumps[:3])
    return (f"{len(jumps)} of {compared} values jump (revision > {bounds['max_revision_pct']:g}% "
            f"or new period > {bounds['max_new_period_factor']:g}x the previous; e.g. {ex})")


def plausibility(catalog: Catalog, changed: set[str], obs: pd.DataFrame, cov: dict,
                 previous: pd.DataFrame | None, prev_cov: dict, indicators=None
                 ) -> list[Implausible]:
    """Per indicator fed by a table in ``changed`` (fetched anew this run): gemeente coverage of
    the latest period and value jumps against the published snapshot (``previous``,
    ``prev_cov``). Each finding is charged to the changed tables of that indicator."""
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
        problems = [p for p in (
            coverage_drop(ind.id, cov.get(ind.id), prev_cov.get(ind.id), bounds),
            value_jumps(ind, by_new.get(ind.id, obs.iloc[0:0]), by_old[ind.id], bounds)) if p]
        out += [Implausible(t, ind.id, p) for p in problems for t in tables]
    return out
