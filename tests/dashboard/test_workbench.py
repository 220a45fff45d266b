"""Vergelijken as a workbench (issue #21): a link with gemeenten and indicatoren opens exactly
that table; unknown codes give a note, not an error; the region/size/urbanity filters give the
members "Gebieden in Nederland" gives (real data); the download is exactly the selection."""

import io

import pandas as pd
import pytest

from dashboard.core import compute, exports, selection
from dashboard.core.selection import Selection
from tests.support.apptest import qp, run_app
from tests.support.paths import SHARED_CBS

GM, IND = "GM0355,GM0363,GM0402", "werkloosheid_pct,vestigingen"


def _table(at):
    return at.dataframe[0].value


def test_link_opens_exactly_that_table(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "vergelijken", gemeente="GM0355", gemeenten=GM,
                 indicatoren=IND)
    table = _table(at)
    assert list(table["regio"]) == ["Zeist ◀ gekozen", "Amsterdam", "Hilversum",
                                    "Mediaan van de selectie", "Nederland"]
    values = [c for c in table.columns if c not in ("regio", "let op")]
    assert [c.split(" (")[0] for c in values] == ["Werkloosheid", "Vestigingen van bedrijven"]
    assert all("(%" in values[0] and ", 20" in c for c in values[:1])  # unit and period
    assert qp(at, "gemeenten") == GM and qp(at, "indicatoren") == IND
    assert not at.warning
    assert "3 gemeenten" in " ".join(m.value for m in at.markdown)
    # the median row is the median of the three gemeenten
    w = table[values[0]]
    assert w.iloc[3] == pytest.approx(w.iloc[:3].median())
    # small multiples: one trend line per gemeente, each with its text alternative
    tiles = [h.proto.body for h in at.get("html") if 'alt="Verloop ' in h.proto.body]
    assert len(tiles) == 3
    assert any(e.label == "Tabel bij het verloop per gemeente" for e in at.expander)
    labels = [b.label for b in at.get("download_button")]
    assert "Briefing Zeist met deze selectie (PDF)" in labels and "Excel" in labels


def test_unknown_codes_give_a_note_and_the_rest_opens(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "vergelijken", gemeente="GM0355",
                 gemeenten="GM0355,GM9999,Amsterdam", indicatoren="werkloosheid_pct,nope")
    notes = " ".join(w.value for w in at.warning)
    assert "`GM9999`" in notes and "`nope`" in notes and not at.exception
    assert list(_table(at)["regio"])[:2] == ["Zeist ◀ gekozen", "Amsterdam"]
    assert qp(at, "gemeenten") == "GM0355,GM0363"  # the cleaned selection goes back in the link


def test_merged_code_in_the_selection_opens_its_successor(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "vergelijken", gemeente="GM0355",
                 gemeenten="GM0370", indicatoren="werkloosheid_pct")
    assert "Beemster (GM0370) is opgegaan in Huizen" in " ".join(w.value for w in at.warning)
    assert "Huizen" in set(_table(at)["regio"])


def test_widgets_write_the_selection_into_the_link(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "vergelijken", gemeente="GM0355", gemeenten="GM0355",
                 indicatoren="werkloosheid_pct")
    at.multiselect(key="w_bench_ind").set_value(["vestigingen", "werkloosheid_pct"]).run()
    assert qp(at, "indicatoren") == "vestigingen,werkloosheid_pct"
    at.selectbox(key="w_bench_theme").set_value("human_capital").run()
    assert qp(at, "indicatoren").split(",") == selection.indicators_of_theme(
        _known(dash_snapshot), "human_capital")
    from dashboard.core import dashdata
    from pipelines import snapshot
    metas = dashdata.build(snapshot.load_snapshot(dash_snapshot)).indicators
    now = [k for k, m in metas.items() if m.brede_welvaart
           and m.brede_welvaart.dimensie == "hier_en_nu"]
    assert now  # the synthetic snapshot carries brede-welvaart dimensions
    at.selectbox(key="w_bench_bw").set_value("hier_en_nu").run()
    assert qp(at, "indicatoren").split(",") == now and not at.exception
    at.multiselect(key="w_bench_regio").set_value(["PV26"]).run()
    assert qp(at, "regio") == "PV26" and not at.exception
    assert {"Utrecht", "Zeist ◀ gekozen"} <= set(_table(at)["regio"])
    at.button(key="w_bench_clear").click().run()
    assert qp(at, "gemeenten") == "GM0355" and "regio" not in at.query_params


def _known(data_dir):
    from dashboard.core import dashdata
    from pipelines import snapshot
    return dashdata.build(snapshot.load_snapshot(data_dir)).known


def test_selection_export_is_exactly_the_selection(dash_snapshot):
    from dashboard.core import dashdata
    from pipelines import snapshot
    data = dashdata.build(snapshot.load_snapshot(dash_snapshot))
    members = ["GM0355", "GM0363", "GM0402"]
    chosen = {i: data.indicators[i] for i in ("werkloosheid_pct", "vestigingen_per_1000_inwoners")}
    frame = compute.selection_frame(data.by_indicator, data.regions, chosen, members)
    out = exports.selection_export(frame)
    assert len(out) == 2 * (3 + 2)  # indicators x (gemeenten + median + NL)
    assert set(out["code"]) == {*members, compute.MEDIAN, compute.NL}
    assert set(out["indicator"]) == set(chosen)
    for iid, meta in chosen.items():
        vals = out.loc[out["indicator"] == iid, "waarde"].dropna()
        assert (vals.round(int(meta.decimals)) == vals).all()
        assert out.loc[out["indicator"] == iid, "eenheid"].eq(meta.unit).all()
    assert out["periode"].notna().all() and out["bron"].str.startswith("Bron: CBS").all()
    assert {"status", "CBS-tabel", "kwaliteit"} <= set(out.columns)
    csv = pd.read_csv(io.BytesIO(exports.to_csv(out)), sep=";", decimal=",", encoding="utf-8-sig")
    assert csv.shape == out.shape
    xlsx = pd.read_excel(io.BytesIO(exports.to_excel({"Vergelijking": out},
                                                     exports.sources_frame(data.manifest,
                                                                           list(chosen)))),
                         sheet_name=None)
    assert xlsx["Vergelijking"].shape == out.shape and "Bronnen" in xlsx
    # the second sheet: every period of exactly these gemeenten x indicators
    series = exports.selection_export(compute.selection_series(data.by_indicator, data.regions,
                                                               chosen, members))
    for iid, meta in chosen.items():
        ind = data.by_indicator[iid]
        want = ind[ind["region_code"].isin(members) & ind["value"].notna()]
        got = series[series["indicator"] == iid]
        assert sorted(zip(got["code"], got["periode"], strict=True)) == sorted(
            zip(want["region_code"], want["period"].astype(str), strict=True))
        assert got["periode"].nunique() > 1
        assert (got["waarde"].round(int(meta.decimals)) == got["waarde"]).all()
    assert set(series["code"]) == set(members) and series["bron"].str.startswith("Bron: CBS").all()


def _gebieden() -> pd.DataFrame:
    """Gemeente -> provincie, arbeidsmarktregio, size class, urbanity, read straight from the
    2025 "Gebieden in Nederland" CSV (independent of pipelines/regions.py)."""
    raw = pd.read_csv(SHARED_CBS / "csv" / "dertje_cbs_datasets" / "86059NED.csv", sep=";",
                      dtype=str, encoding="utf-8-sig").apply(lambda c: c.str.strip())
    out = pd.DataFrame({"code": raw["Code_1"]})
    for prefix, name in (("PV", "pv"), ("AM", "am")):
        col = next(c for c in raw.columns if c.startswith("Code_")
                   and raw[c].str.match(rf"^{prefix}\d\d$").all())
        out[name] = raw[col]
    size = next(c for c in raw.columns if c.startswith("Omschrijving_")
                and raw[c].str.contains("inwoners").any())
    urban = next(c for c in raw.columns if c.startswith("Omschrijving_")
                 and raw[c].str.contains("stedelijk").any())
    out["size"], out["urban"] = raw[size], raw[urban]
    return out


def test_filters_on_real_data_match_gebieden_in_nederland(real_data, monkeypatch):
    ref = _gebieden()
    at = run_app(real_data, monkeypatch, "vergelijken", gemeente="Breda", regio="PV30",
                 grootteklasse="6,7,8", indicatoren="werkloosheid_pct")
    assert not [w.value for w in at.warning if "Demo" not in w.value]
    known = _known(real_data)
    big = [k for k, v in known.size_classes.items() if v in (
        "100 000 tot 150 000 inwoners", "150 000 tot 250 000 inwoners",
        "250 000 inwoners of meer")]
    assert sorted(big) == ["6", "7", "8"]
    expect = ref[(ref["pv"] == "PV30") & ref["size"].isin([known.size_classes[k] for k in big])]
    rows = [r.replace(" ◀ gekozen", "") for r in _table(at)["regio"]][:-2]
    assert sorted(rows) == sorted(known.names[c] for c in expect["code"])
    assert "Breda ◀ gekozen" in set(_table(at)["regio"])  # a link by name
    for params, column in (({"regio": "AM17"}, ("am", "AM17")),
                           ({"stedelijkheid": "1"}, ("urban", known.urbanities["1"]))):
        sel, notes = Selection.from_query(params, known)
        members = sel.members(_gemeenten(real_data))
        assert not notes and sorted(members) == sorted(ref.loc[ref[column[0]] == column[1],
                                                               "code"])
    # the herindelingen of the real snapshot: Weesp and Westvoorne open their successors
    from dashboard.core import state  # noqa: PLC0415
    for old, new, note in (("GM0457", "GM0363", "Weesp (GM0457) is opgegaan in Amsterdam"),
                           ("GM0614", known.by_name["voorne aan zee"],
                            "Westvoorne (GM0614) is opgegaan in Voorne aan Zee")):
        code, text = state.resolve_gemeente(old, known)
        assert code == new and text.startswith(note)


def _gemeenten(data_dir):
    from dashboard.core import dashdata
    from pipelines import snapshot
    return dashdata.build(snapshot.load_snapshot(data_dir)).gemeenten


def test_wide_table_marks_stale_periods_and_imprecise_values():
    frame = pd.DataFrame([
        {"code": c, "regio": c, "rol": "gemeente", "indicator": "x", "titel": "X",
         "eenheid": "%", "decimalen": 1, "periode": "2020KW02", "waarde": v, "status": None,
         "CBS-tabel": "1NED", "kwaliteit": q, "verouderd": True}
        for c, v, q in (("GM1", 1.0, ""), ("GM2", 2.0, "onnauwkeurig"))])
    table, columns = compute.selection_wide(frame)
    assert columns[0]["column"] == "X (%, 2020 2e kwartaal, verouderd)"
    assert table["let op"].tolist() == ["", "onnauwkeurig: X"]
    # a title that already names its unit does not repeat it in the column head
    per = frame.assign(titel="Banen per 1.000 inwoners", eenheid="per 1.000 inwoners",
                       periode="2023", verouderd=False)
    assert compute.selection_wide(per)[1][0]["column"] == "Banen per 1.000 inwoners (2023)"


def test_small_multiples_share_one_scale():
    obs = pd.DataFrame({"region_code": ["GM1"] * 3 + ["GM2"] * 3,
                        "period": ["2021", "2022", "2023"] * 2,
                        "value": [1.0, 2.0, 3.0, 10.0, None, 30.0],
                        "quality": ["", "", "", "", "", "onnauwkeurig"]})
    trends = compute.selection_trends(obs, ["GM1", "GM2"], points=2)
    # the last two periods; a missing and an imprecise value are no point of a line
    assert trends.values.tolist() == [["GM1", "2022", 2.0], ["GM1", "2023", 3.0]]
    from dashboard.core.charts import build, svg

    a = svg.sparkline(build.trend([1.0, 2.0], ["2022", "2023"], {"title": "x"}), (0.0, 4.0))
    b = svg.sparkline(build.trend([1.0, 2.0], ["2022", "2023"], {"title": "x"}))
    assert a != b  # the shared scale changes the drawing


def test_the_sidebar_gemeente_outside_the_selection_is_named(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "vergelijken", gemeente="GM0355",
                 gemeenten="GM0363,GM0402", indicatoren="werkloosheid_pct")
    assert "Zeist (de gemeente in de zijbalk) staat niet in deze selectie" in " ".join(
        c.value for c in at.caption)
    assert "Zeist ◀ gekozen" not in set(_table(at)["regio"])


def test_imprecise_values_left_out_of_the_bar_chart_are_named(real_data, monkeypatch):
    """Mook en Middelaar's banen per 1.000 inwoners is marked onnauwkeurig (real data): it is in
    the table with its mark, not in the bar chart, and the page says so by name."""
    at = run_app(real_data, monkeypatch, "vergelijken", gemeente="GM0758",
                 gemeenten="GM0758,GM0855,GM0944", indicatoren="banen_per_1000_inwoners")
    table = _table(at).set_index("regio")
    assert table.filter(like="Mook", axis=0).iloc[0].astype(str).str.contains(
        "onnauwkeurig").any()
    left = [c.value for c in at.caption if c.value.startswith("Niet in de grafiek")]
    assert left == ["Niet in de grafiek, want onnauwkeurig (kleine aantallen, afgerond door CBS):"
                    " Mook en Middelaar."]
    at = run_app(real_data, monkeypatch, "vergelijken", gemeente="GM0758",
                 gemeenten="GM0758,GM0855", indicatoren="banen_per_1000_inwoners")
    assert not [c for c in at.caption if c.value.startswith("Niet in de grafiek")]
