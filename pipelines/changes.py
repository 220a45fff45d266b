"""What changed since the previous snapshot: new periods, revised values, status changes.

Lets a network meeting start from what is new ("sinds de vorige verversing"). Pure: compares two
tidy tables; the result goes into the new snapshot's manifest.
"""

from __future__ import annotations

import pandas as pd

KEY = ["indicator", "region_code", "period"]


def diff(previous: pd.DataFrame | None, current: pd.DataFrame, examples: int = 5) -> dict:
    out: dict[str, dict] = {}
    if previous is None:
        return out
    prev = previous.set_index(KEY)
    cur = current.set_index(KEY)
    for ind, grp in current.groupby("indicator"):
        old = previous[previous["indicator"] == ind]
        new_periods = sorted(set(grp["period"]) - set(old["period"]))
        both = cur.loc[cur.index.intersection(prev.index)]
        both = both[both.index.get_level_values("indicator") == ind]
        before = prev.loc[both.index]
        changed = (both["value"] - before["value"]).abs() > 1e-9 * before["value"].abs().clip(lower=1)
        status = both["status"] != before["status"]
        if not (new_periods or changed.any() or status.any()):
            continue
        rev = both[changed]
        out[str(ind)] = {
            "new_periods": new_periods,
            "new_values": int(len(grp) - len(both)),
            "revised": int(changed.sum()),
            "revised_periods": sorted(set(rev.index.get_level_values("period"))),
            "revised_examples": [
                {"region_code": r, "period": p, "old": float(before.loc[(ind, r, p), "value"]),
                 "new": float(v)}
                for (_i, r, p), v in rev["value"].head(examples).items()],
            "status_changed": int(status.sum()),
            "status_changes": sorted({f"{a} -> {b}" for a, b in zip(
                before.loc[status, "status"], both.loc[status, "status"], strict=True)}),
        }
    for ind in sorted(set(previous["indicator"]) - set(current["indicator"])):
        out[str(ind)] = {"removed": True}
    return out
