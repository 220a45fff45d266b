"""Peers (comparable gemeenten) and 'what changed since the previous refresh'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import changes, peers


def regions(n=8):
    rows = [{"code": f"GM{i:04d}", "level": "GM", "is_current": True,
             "size_class": "klein" if i < 4 else "groot", "urbanity": "Niet stedelijk",
             "inwoners": 10_000 * (i + 1), "density": 100.0 * (i + 1)} for i in range(1, n + 1)]
    rows.append({"code": "GM0999", "level": "GM", "is_current": False, "size_class": "klein",
                 "urbanity": "Niet stedelijk", "inwoners": 5, "density": 5})
    rows.append({"code": "NL01", "level": "NL", "is_current": True})
    return pd.DataFrame(rows)


def obs(values: dict[str, dict[str, float]], year=2023):
    rows = [{"indicator": ind, "region_code": c, "region_level": "GM", "period": str(year),
             "year": year, "period_type": "jaar", "value": v, "status": "Definitief"}
            for ind, vals in values.items() for c, v in vals.items()]
    return pd.DataFrame(rows)


def test_class_peers_share_size_and_urbanity_and_exclude_self():
    p = peers.class_peers(regions())
    mine = p[p.gemeente == "GM0002"]
    assert set(mine.peer) == {"GM0001", "GM0003"}  # klein: 1..3; not itself, not former GM0999
    assert list(mine["rank"]) == [1, 2]
    assert mine.similar_on.iloc[0] == "klein; Niet stedelijk"


def test_statistical_peers_are_nearest_stable_and_handle_missing():
    reg = regions()
    vals = {f: {f"GM{i:04d}": float(i) for i in range(1, 9)} for f, _l, s in peers.FEATURES
            if s == "indicator"}
    vals["aandeel_koopwoningen"]["GM0005"] = np.nan  # a gap: distance over the other features
    del vals["vestigingen_per_1000_inwoners"]["GM0006"]
    p1, feats = peers.compute(obs(vals), reg, k=3)
    p2, _ = peers.compute(obs(vals).sample(frac=1, random_state=1), reg, k=3)
    pd.testing.assert_frame_equal(p1, p2)  # deterministic, whatever the row order
    st = p1[(p1.method == "statistisch") & (p1.gemeente == "GM0004")]
    assert set(st.peer[:2]) == {"GM0003", "GM0005"}  # the direct neighbours on every feature
    assert "GM0004" not in set(st.peer)
    assert st.distance.is_monotonic_increasing
    assert st.similar_on.iloc[0].count(";") == 2
    assert set(feats.feature) == {f for f, _l, _s in peers.FEATURES}
    z = feats[feats.feature == "dichtheid"].z
    assert z.mean() == pytest.approx(0) and z.std(ddof=0) == pytest.approx(1)


def test_statistical_peers_need_enough_common_features():
    reg = regions(5)
    reg.loc[reg.code == "GM0003", ["inwoners", "density"]] = np.nan
    p, _ = peers.compute(obs({"aandeel_zelfstandigen": {f"GM{i:04d}": i for i in range(1, 6)}}), reg)
    st = p[p.method == "statistisch"]
    assert "GM0003" not in set(st.gemeente) and "GM0003" not in set(st.peer)


def test_changes_new_periods_revisions_and_status():
    prev = obs({"a": {"GM0001": 1.0, "GM0002": 2.0}}, 2022)
    prev.loc[0, "status"] = "Voorlopig"
    cur = pd.concat([obs({"a": {"GM0001": 1.0, "GM0002": 2.5}}, 2022),
                     obs({"a": {"GM0001": 3.0}}, 2023),
                     obs({"b": {"GM0001": 9.0}}, 2023)], ignore_index=True)
    d = changes.diff(prev, cur)
    assert d["a"]["new_periods"] == ["2023"] and d["a"]["revised"] == 1
    assert d["a"]["revised_examples"] == [{"region_code": "GM0002", "period": "2022", "old": 2.0, "new": 2.5}]
    assert d["a"]["status_changed"] == 1 and d["a"]["status_changes"] == ["Voorlopig -> Definitief"]
    assert d["b"]["new_periods"] == ["2023"]
    assert changes.diff(None, cur) == {}
    assert changes.diff(cur, cur) == {}
