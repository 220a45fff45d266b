"""Unit tests for the pure brede-welvaart / dwarsverbanden logic and the new compute helpers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dashboard.core import compute, dashdata, state, welvaart
from dashboard.ui import data as dataio
from pipelines import snapshot
from pipelines.snapshot import Changes
from tests.support.snapshot_factory import published_manifest


def vals(**kw) -> pd.Series:
    return pd.Series(kw, dtype=float)


# --------------------------------------------------------------------------- standing

def test_standing_higher_is_better():
    v = vals(a=1, b=2, c=3, d=4, e=5)
    assert welvaart.standing(v, "e", True)["label"] == "gunstigste 25%"
    assert welvaart.standing(v, "e", True)["percentile"] == 100
    assert welvaart.standing(v, "a", True)["label"] == "ongunstigste 25%"
    assert welvaart.standing(v, "c", True) == {"percentile": 50, "quartile": 2,
                                               "label": "middengroep", "n": 5}


def test_standing_lower_is_better_flips():
    v = vals(a=1, b=2, c=3, d=4, e=5)
    assert welvaart.standing(v, "a", False)["label"] == "gunstigste 25%"
    assert welvaart.standing(v, "a", False)["quartile"] == 1
    assert welvaart.standing(v, "e", False)["label"] == "ongunstigste 25%"


def test_standing_without_direction_is_neutral():
    v = vals(a=1, b=2, c=3, d=4, e=5)
    assert welvaart.standing(v, "e", None)["label"] == "hoog"
    assert welvaart.standing(v, "a", None)["label"] == "laag"


def test_standing_ties_and_missing():
    v = vals(a=2, b=2, c=2, d=2)
    assert welvaart.standing(v, "a", True)["percentile"] == 50  # all tied: the middle
    v = pd.Series({"a": 1.0, "b": np.nan, "c": 3.0, "d": 3.0})
    s = welvaart.standing(v, "c", True)
    assert s["n"] == 3 and s["percentile"] == 75  # one below, one tie: (1 + 0.5) / 2
    assert welvaart.standing(v, "b", True)["label"] is None  # own value missing
    assert welvaart.standing(v, "zz", True)["percentile"] is None
    assert welvaart.standing(vals(a=1), "a", True)["percentile"] == 50


# --------------------------------------------------------------------------- trend

def series(*values, start=2018) -> pd.DataFrame:
    return pd.DataFrame({"period": [str(start + i) for i in range(len(values))],
                         "year": [start + i for i in range(len(values))], "value": values})


def test_trend_compares_with_five_years_earlier():
    t = welvaart.trend(series(1.0, 5.0, 5.0, 5.0, 5.0, 5.0, 10.0), True)  # 2018..2024
    assert t["start_period"] == "2019" and t["end_period"] == "2024"
    assert t["change"] == 5.0 and t["label"] == "gunstig"


def test_trend_uses_earliest_within_window_and_is_direction_aware():
    t = welvaart.trend(series(4.0, 3.0, 2.0, start=2021), False)
    assert t["start_period"] == "2021" and t["label"] == "gunstig"  # falling unemployment
    assert welvaart.trend(series(4.0, 5.0, start=2021), False)["label"] == "ongunstig"
    assert welvaart.trend(series(4.0, 5.0, start=2021), None)["label"] == "hoger"


def test_trend_small_change_is_gelijk_and_edge_cases():
    assert welvaart.trend(series(100.0, 100.5), True)["label"] == "gelijk"  # < 1%
    assert welvaart.trend(series(100.0, 101.5), True)["label"] == "gunstig"
    assert welvaart.trend(series(0.0, 0.0), True)["label"] == "gelijk"
    assert welvaart.trend(series(5.0), True) is None
    assert welvaart.trend(series(5.0, np.nan), True) is None
    # a point more than five years back is not used
    assert welvaart.trend(pd.DataFrame({"period": ["2010", "2024"], "year": [2010, 2024],
                                        "value": [1.0, 2.0]}), True) is None


def test_trend_quarters_prefers_the_same_quarter():
    df = pd.DataFrame({"period": ["2019KW01", "2019KW03", "2024KW03"],
                       "year": [2019, 2019, 2024], "value": [1.0, 2.0, 3.0]})
    assert welvaart.trend(df, True)["start_period"] == "2019KW03"


# --------------------------------------------------------------------------- correlation

def test_correlation_known_values():
    x = pd.Series([1, 2, 3, 4, 5], index=list("abcde"), dtype=float)
    c = welvaart.correlation(x, x * 2 + 1)
    assert c["n"] == 5 and c["pearson"] == pytest.approx(1.0) and c["spearman"] == pytest.approx(1)
    c = welvaart.correlation(x, pd.Series([1, 4, 9, 16, 125], index=list("abcde"), dtype=float))
    assert c["spearman"] == pytest.approx(1.0) and c["pearson"] < 0.9  # monotone, not linear
    c = welvaart.correlation(x, -x)
    assert c["pearson"] == pytest.approx(-1.0)
    assert welvaart.strength(-0.8) == "sterk negatief verband"


def test_correlation_handles_nan_and_small_n():
    x = pd.Series([1.0, 2.0, np.nan, 4.0], index=list("abcd"))
    y = pd.Series([2.0, np.nan, 6.0, 8.0], index=list("abcd"))
    c = welvaart.correlation(x, y)
    assert c["n"] == 2 and c["pearson"] is None and c["message"].startswith("te weinig gegevens")
    y2 = pd.Series([2.0, 4.0, 8.0], index=list("abd"))  # aligned on index; 'c' has no y
    c = welvaart.correlation(x, y2)
    assert c["n"] == 3 and c["pearson"] == pytest.approx(1.0)
    flat = welvaart.correlation(pd.Series([1.0, 1, 1]), pd.Series([1.0, 2, 3]))
    assert flat["pearson"] is None and "spreiding" in flat["message"]
    assert not math.isnan(welvaart.correlation(x.fillna(0), x.fillna(0))["pearson"])


# --------------------------------------------------------------------------- on the fixture

@pytest.fixture(scope="module")
def dd(dash_snapshot) -> dashdata.DashData:
    return dashdata.build(snapshot.load_snapshot(dash_snapshot))


@pytest.fixture(scope="module")
def old(tmp_path_factory, snapshot_builder) -> dashdata.DashData:
    root = snapshot_builder(tmp_path_factory.mktemp("old-style"), extended=False)
    return dashdata.build(snapshot.load_snapshot(root))


def test_overview_and_summary(dd):
    peer = compute.peer_set(dd.peers, dd.regions, "GM0355", "grootte")
    ov = welvaart.overview(dd.view("huidig"), dd.indicators, "GM0355", peer.codes)
    assert set(ov["indicator"]) == {"vestigingen_per_1000_inwoners", "vestigingen",
                                    "werkloosheid_pct", "aandeel_koopwoningen"}  # GM data only
    row = ov.set_index("indicator").loc["werkloosheid_pct"]
    assert row["dimensie"] == "Hier en nu" and row["bw_thema"] == "Arbeid en vrije tijd"
    assert row["n"] == 6  # Wijk bij Duurstede has no 2023 figure
    assert row["trend_from"] == "2019" and row["trend"] in {"gunstig", "ongunstig", "gelijk"}
    assert row["peers"] is not None and row["nl"] is not None
    lines = welvaart.summary(ov)
    # vestigingen is a size (a count): never counted as good or bad
    assert lines[0].startswith("Bij de gunstigste 25% van alle gemeenten op ")
    assert " van 2 indicatoren" in lines[0]
    size = ov.set_index("indicator").loc["vestigingen"]
    assert pd.isna(size["standing"]) and pd.isna(size["percentile"]) and not size["rankable"]
    assert size["trend"] in {"hoger", "lager", "gelijk"} and size["share_nl"] > 0
    assert lines[1].startswith("In de afgelopen 5 jaar een gunstige ontwikkeling op ")


def test_current_boundaries_view_and_notes(dd, old):
    assert dd.has_current and not old.has_current
    cur = dd.view("huidig")["vestigingen"]
    assert "GM0370" not in set(cur["region_code"])  # Beemster folded into Huizen
    hist = dd.view("historisch")["vestigingen"]
    assert "GM0370" in set(hist["region_code"])
    assert compute.harmonised_periods(cur, "GM0406", "opgeteld") == ["2019", "2020", "2021"]
    huizen = compute.value_at(cur, "GM0406", "2019")
    assert huizen == compute.value_at(hist, "GM0406", "2019") + compute.value_at(hist, "GM0370",
                                                                                 "2019")
    assert compute.harmonised_periods(dd.view("huidig")["aandeel_koopwoningen"], "GM0352",
                                      "geschat") == ["2019"]
    assert "opgegaan in Huizen" in dd.boundary_note("GM0406")
    assert old.view("huidig") is old.by_indicator and old.boundary_note("GM0406") is None
    assert compute.off_map(hist, "2019", dd.geo.keys()) == ["GM0370"]
    assert compute.off_map(cur, "2019", dd.geo.keys()) == []


def test_peer_sets(dd, old):
    g = compute.peer_set(dd.peers, dd.regions, "GM0355", "grootte")
    assert set(g.codes) == {"GM0362", "GM0402", "GM0406"} and g.method == "grootte"
    assert g.why[0][1] == "50.000 tot 100.000 inwoners; Sterk stedelijk"
    s = compute.peer_set(dd.peers, dd.regions, "GM0355", "statistisch")
    assert s.method == "statistisch" and len(s.codes) == 3 and s.why[0][2] is not None
    assert "GM0355" not in s.codes
    # older snapshot: class peers as before; statistical falls back with a note
    assert compute.peer_set(old.peers, old.regions, "GM0355", "grootte").codes == \
        compute.peers(old.regions, "GM0355").codes
    fb = compute.peer_set(old.peers, old.regions, "GM0355", "statistisch")
    assert fb.method == "grootte" and "niet beschikbaar" in fb.note


def test_change_lines(dd, old):
    lines = compute.change_lines(dd.manifest, dd.indicators)
    assert any(line.startswith("**Werkloosheid**: nieuwe periode 2023; 2 cijfers herzien (2022)")
               for line in lines)
    assert any("voorlopig → definitief" in line for line in lines)
    assert compute.change_lines(old.manifest, old.indicators) is None
    nothing = published_manifest(changes=Changes(previous_snapshot="x", indicators={}))
    assert compute.change_lines(nothing, {}) == []


def test_url_params_grenzen_peers_xy():
    known = state.Known(frozenset({"GM0363"}), frozenset({"GM0363"}),
                        {"werkloosheid_pct": "human_capital", "vestigingen": "mkb_innovatie"},
                        "GM0363")
    sel, w = state.parse({"grenzen": "historisch", "peers": "statistisch", "x": "vestigingen",
                          "y": "werkloosheid_pct"}, known)
    assert (sel.grenzen, sel.peers, sel.x, sel.y) == ("historisch", "statistisch", "vestigingen",
                                                      "werkloosheid_pct") and not w
    assert sel.to_params()["grenzen"] == "historisch" and sel.to_params()["x"] == "vestigingen"
    sel, w = state.parse({"grenzen": "1999", "peers": "<b>", "x": "nope"}, known)
    assert (sel.grenzen, sel.peers, sel.x) == ("huidig", "grootte", None)
    assert len(w) == 3 and "grenzen" in w[0] and "peers" in w[1] and "‘x’" in w[2]
    assert "grenzen" not in state.Selection("GM0363").to_params()  # defaults stay out of the URL


def test_scatter_helpers(dd):
    obs = dd.view("huidig")
    x, y = obs["vestigingen_per_1000_inwoners"], obs["werkloosheid_pct"]
    assert welvaart.latest_common_year(x, y) == 2023
    codes = dd.gemeenten["code"].tolist()
    v, used = welvaart.gemeente_values(y, codes, 2023)
    assert len(v) == 6 and used == {"2023": 6}
    v, used = welvaart.gemeente_values(y, codes, None)
    assert len(v) == 7 and used == {"2023": 6, "2022": 1}


def test_exports_follow_the_view(dd):
    cur = compute.ranking(dd.view("huidig")["vestigingen"], dd.regions, "2019", "GM", True)
    assert cur.set_index("code").at["GM0406", "harmonisatie"] == "opgeteld"
    assert "GM0370" not in set(cur["code"])
    hist = compute.ranking(dd.view("historisch")["vestigingen"], dd.regions, "2019", "GM", True)
    assert "harmonisatie" not in hist.columns and "GM0370" in set(hist["code"])
    assert compute.gap_summary(dd.gaps, "werkloosheid_pct", "GM0406") == [
        "2019: verdeling van Beemster onbekend"]
    assert compute.gap_summary(None, "werkloosheid_pct", "GM0406") == []


def test_latest_rows_and_overview_carry_harmonisation(dd):
    rows = welvaart.latest_rows(dd.view("huidig")["aandeel_koopwoningen"], ["GM0352"], 2019)
    assert rows.at["GM0352", "harmonisation"] == "geschat"
    assert "harmonisation" not in welvaart.latest_rows(dd.view("historisch")["vestigingen"],
                                                       ["GM0352"], 2019).columns
    ov = welvaart.overview(dd.view("huidig"), dd.indicators, "GM0406")
    assert set(ov["harmonisation"]) == {"gepubliceerd"}


def test_map_hover_mentions_opgeteld(dd):
    from dashboard.core.charts import build, svgmap

    meta = dd.indicators["vestigingen"]
    mdf = compute.map_frame(dd.view("huidig")["vestigingen"], dd.regions, "2019")
    assert mdf.set_index("code").at["GM0406", "harmonisation"] == "opgeteld"
    spec = build.map_chart(mdf, meta, title="t", source="s")
    assert spec.area("GM0406").note.startswith("opgeteld over de gemeenten")
    assert "opgeteld over de gemeenten" in svgmap.build(spec, dd.geo, dd.geo_bounds).body
    hist = compute.map_frame(dd.view("historisch")["vestigingen"], dd.regions, "2019")
    assert "harmonisation" not in hist.columns


def test_year_maps(dd):
    import dataclasses

    geo, _, year = dataio.year_geo(dd, 2020)
    assert year == "2021" and "GM0370" in geo and len(geo) == 8
    assert dataio.year_geo(dd, 2023)[0] is dd.geo  # today's gemeenten: the reference map
    broken = dataclasses.replace(dd, manifest=snapshot.Manifest.model_validate({
        **dd.manifest.model_dump(), "boundaries_by_year": {
            "2021": {"file": None, "error": "404", "gemeenten": 8, "years": [2021, 2020]}}}))
    assert dataio.year_geo(broken, 2020) == (None, None, "2021")
    mdf = compute.map_frame(dd.view("historisch")["vestigingen"], dd.regions, "2020", list(geo))
    assert mdf.set_index("code").at["GM0370", "name"] == "Beemster"
    assert mdf["value"].notna().all()
