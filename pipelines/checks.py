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
