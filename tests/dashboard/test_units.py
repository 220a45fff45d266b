"""Unit tests for the dashboard's pure modules: state, compute, format, exports, charts."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import openpyxl
import pandas as pd
import pytest

from dashboard.core import compute, dashdata, exports, state
from dashboard.core import format as fmt
from dashboard.core.charts import build, interactive, style, svgmap
from dashboard.core.charts import svg as svgdraw
from pipelines import snapshot
from pipelines.snapshot import Plausibility
from tests.support.snapshot_factory import published_manifest


@pytest.fixture(scope="module")
def dd(dash_snapshot) -> dashdata.DashData:
    return dashdata.build(snapshot.load_snapshot(dash_snapshot))


# --------------------------------------------------------------------------- format

@pytest.mark.parametrize("value,decimals,expected", [
    (1234.5, 1, "1.234,5"), (1234567, 0, "1.234.567"), (-3.25, 2, "−3,25"), (0.04, 0, "0"),
    (-0.04, 1, "0,0"), (None, 1, "geen gegevens"), (float("nan"), 0, "geen gegevens"),
])
def test_number(value, decimals, expected):
    assert fmt.number(value, decimals) == expected


def test_value_units_and_change():
    assert fmt.value(12.34, "%", 1) == "12,3%"
    assert fmt.value(45678, "euro") == "€ 45.678"
    assert fmt.value(12.3, "per 1.000 inwoners", 1) == "12,3 per 1.000 inwoners"
    assert fmt.value(12.3, "per 1.000 inwoners", 1, short=True) == "12,3"
    assert fmt.value(None, "%") == "geen gegevens"
    assert fmt.change(-1.2, "%", 1) == "-1,2 %-punt"
    assert fmt.change(3400, "aantal") == "+3.400"
    assert fmt.change(0, "aantal") == "±0"


def test_periods_dates_and_labels():
    assert fmt.period("2020KW01") == "2020 1e kwartaal"
    assert fmt.period_status("2023", "Voorlopig") == "2023 (voorlopig)"
    assert fmt.period_status("2023", "Definitief") == "2023"
    assert fmt.date("2026-11-24T23:30:00Z") == "25 november 2026"  # Amsterdam time
    assert fmt.datetime_nl("2026-07-01T12:00:00Z") == "1 juli 2026, 14:00"
    assert fmt.date("nonsense") == "geen gegevens"
    assert fmt.region_label("Groningen", "PV") == "Groningen (provincie)"
    assert fmt.region_label("Groningen", "GM") == "Groningen"


# --------------------------------------------------------------------------- state

KNOWN = state.Known(gemeenten=frozenset({"GM0363", "GM0344"}),
                    regions=frozenset({"GM0363", "GM0344", "PV27", "CR17"}),
                    indicators={"werkloosheid_pct": "human_capital",
                                "vestigingen": "mkb_innovatie"},
                    default_gemeente="GM0344")


def test_parse_valid_and_normalised():
    sel, warnings = state.parse({"gemeente": " gm0363 ", "thema": "human_capital",
                                 "indicator": "werkloosheid_pct", "jaar": "2023",
                                 "vergelijk": "gm0344, PV27,GM0344,GM0363"}, KNOWN)
    assert warnings == []
    assert sel == state.Selection("GM0363", "human_capital", "werkloosheid_pct", 2023,
                                  ("GM0344", "PV27"))
    assert sel.to_params(with_thema=True) == {
        "gemeente": "GM0363", "thema": "human_capital", "indicator": "werkloosheid_pct",
        "jaar": "2023", "vergelijk": "GM0344,PV27"}
    assert "thema" not in sel.to_params()


def test_parse_lists_take_the_last_value():
    sel, _ = state.parse({"gemeente": ["GM0344", "GM0363"]}, KNOWN)
    assert sel.gemeente == "GM0363"


@pytest.mark.parametrize("params,fragment", [
    ({"gemeente": "GM9999"}, "bestaat niet"),
    ({"gemeente": "<script>alert(1)</script>"}, "geen geldige gemeentecode"),
    ({"gemeente": "x" * 10_000}, "te lang"),
    ({"jaar": "1800"}, "geen geldig jaar"),
    ({"indicator": "nope"}, "Onbekende indicator"),
    ({"vergelijk": "GM0001,<b>"}, "Onbekende regiocode"),
    ({"utm": "x"}, "Onbekende parameter"),
])
def test_parse_bad_values_warn_and_fall_back(params, fragment):
    sel, warnings = state.parse(params, KNOWN)
    assert sel.gemeente in KNOWN.gemeenten
    assert len(warnings) == 1 and fragment in warnings[0]
    assert "<" not in warnings[0] and len(warnings[0]) < 300


def test_parse_page_thema_wins_and_checks_the_indicator():
    sel, warnings = state.parse({"thema": "mkb_innovatie", "indicator": "werkloosheid_pct"},
                                KNOWN, page_thema="mkb_innovatie")
    assert sel.indicator is None and "hoort niet bij het thema" in warnings[0]
    sel, _ = state.parse({"thema": "mkb_innovatie"}, KNOWN, page_thema="human_capital")
    assert sel.thema == "human_capital"


def test_compare_is_capped():
    many = ",".join(["GM0363", "PV27", "CR17", "GM0344"] * 2)
    sel, warnings = state.parse({"vergelijk": many}, KNOWN)  # the gemeente itself is left out
    assert sel.vergelijk == ("GM0363", "PV27", "CR17") and not warnings
    known = state.Known(KNOWN.gemeenten, frozenset(f"GM{i:04d}" for i in range(30)),
                        KNOWN.indicators, "GM0344")
    sel, warnings = state.parse({"vergelijk": ",".join(f"GM{i:04d}" for i in range(20))}, known)
    assert len(sel.vergelijk) == state.MAX_COMPARE and "hoogstens" in warnings[0]


def test_resolve_year():
    assert state.resolve_year(None, [2021, 2022]) == (2022, None)
    assert state.resolve_year(2021, [2021, 2022]) == (2021, None)
    year, warning = state.resolve_year(2010, [2021, 2022])
    assert year == 2022 and "2010" in warning
    assert state.resolve_year(2020, []) == (None, None)


# --------------------------------------------------------------------------- compute

def test_previous_period():
    assert compute.previous_period("2024") == "2023"
    assert compute.previous_period("2020KW03") == "2019KW03"


def test_peers_same_size_and_urbanity(dd):
    p = compute.peers(dd.regions, "GM0355")
    assert set(p.codes) == {"GM0362", "GM0402", "GM0406"}
    assert "50.000 tot 100.000 inwoners" in p.description  # one number format
    # Amsterdam has one gemeente in its class: falls back to size only
    assert compute.peers(dd.regions, "GM0363").codes == ("GM0344",)


def test_current_gemeenten_excludes_former(dd):
    assert "GM0370" not in set(dd.gemeenten["code"])
    assert dd.known.default_gemeente == "GM0362"  # Amstelveen sorts first


def test_key_figure_for_a_gemeente(dd):
    ind = dd.by_indicator["werkloosheid_pct"]
    meta = dd.indicators["werkloosheid_pct"]
    k = compute.key_figure(ind, dd.regions, meta, "GM0355", compute.peers(dd.regions, "GM0355"))
    assert k["period"] == "2023" and k["status"] == "Voorlopig" and k["region_level"] == "GM"
    assert k["prev_period"] == "2022"
    assert k["change"] == pytest.approx(k["value"] - compute.value_at(ind, "GM0355", "2022"))
    assert k["nl"] == compute.value_at(ind, "NL01", "2023")
    assert k["provincie"] == compute.value_at(ind, "PV26", "2023")
    assert k["rank_n"] == 6 and 1 <= k["rank"] <= 6  # one gemeente has no 2023 figure
    assert len(k["trend"]) == 5 and k["note"] is None


def test_key_figure_no_change_across_a_method_break(dd):
    """A break in the catalogue (``breaks``) between the latest year and the one before: the
    two are measured differently, so no change, no 'gelijk binnen de afronding'."""
    from pipelines.snapshot import SeriesBreak
    ind = dd.by_indicator["werkloosheid_pct"]
    meta = dd.indicators["werkloosheid_pct"]
    peers = compute.peers(dd.regions, "GM0355")
    broken = meta.model_copy(update={"breaks": (SeriesBreak(year=2023, note="nieuw"),)})
    k = compute.key_figure(ind, dd.regions, broken, "GM0355", peers)
    assert k["period"] == "2023" and k["value"] is not None
    assert k["change"] is None and k["prev_period"] is None and k["nl_prev"] is None
    earlier = meta.model_copy(update={"breaks": (SeriesBreak(year=2022, note="nieuw"),)})
    assert compute.key_figure(ind, dd.regions, earlier, "GM0355", peers)["change"] is not None


def test_key_figure_missing_latest_uses_last_known(dd):
    ind = dd.by_indicator["werkloosheid_pct"]
    k = compute.key_figure(ind, dd.regions, dd.indicators["werkloosheid_pct"], "GM0352",
                           compute.peers(dd.regions, "GM0352"))
    assert k["period"] == "2022"


def test_key_figure_falls_back_to_corop_and_provincie(dd):
    bbp = compute.key_figure(dd.by_indicator["bbp_groei"], dd.regions,
                             dd.indicators["bbp_groei"], "GM0363", compute.Peers((), "", ""))
    assert (bbp["region_code"], bbp["region_level"]) == ("CR17", "CR")
    assert "Groot-Amsterdam (COROP-gebied)" in bbp["note"]
    vac = compute.key_figure(dd.by_indicator["openstaande_vacatures"], dd.regions,
                             dd.indicators["openstaande_vacatures"], "GM0363",
                             compute.Peers((), "", ""))
    assert vac["region_code"] == "PV27" and vac["period"] == "2023KW04"
    assert vac["prev_period"] == "2022KW04"


def test_ranking_direction(dd):
    ind = dd.by_indicator["werkloosheid_pct"]
    r = compute.ranking(ind, dd.regions, "2023", "GM", higher_is_better=False)
    assert list(r["positie"]) == sorted(r["positie"])
    assert r["waarde"].iloc[0] == r["waarde"].min()  # lowest unemployment is position 1
    r2 = compute.ranking(ind, dd.regions, "2023", "GM", higher_is_better=True)
    assert r2["waarde"].iloc[0] == r2["waarde"].max()
    assert "GM0352" not in set(r["code"])


def test_map_frame_keeps_missing_as_nan(dd):
    m = compute.map_frame(dd.by_indicator["werkloosheid_pct"], dd.regions, "2023")
    assert len(m) == 7
    assert pd.isna(m.loc[m["code"] == "GM0352", "value"]).all()
    assert (m["value"].dropna() > 0).all()


def test_series_frame_with_peer_median(dd):
    ind = dd.by_indicator["werkloosheid_pct"]
    peer = compute.peers(dd.regions, "GM0355")
    df = compute.series_frame(ind, [("GM0355", "Zeist", "gemeente"), ("NL01", "Nederland", "nl")],
                              peer)
    assert set(df["role"]) == {"gemeente", "nl", "peers"}
    med = df[(df["role"] == "peers") & (df["period"] == "2023")]["value"].iloc[0]
    vals = [compute.value_at(ind, c, "2023") for c in peer.codes]
    assert med == pytest.approx(pd.Series(vals).median())


def test_judgement():
    assert compute.judgement(5, 4, False) == "hoger (ongunstig)"
    assert compute.judgement(5, 4, True) == "hoger (gunstig)"
    assert compute.judgement(3, 4, None) == "lager"
    assert compute.judgement(None, 4, True) == ""


def test_freshness_warnings():
    manifest = published_manifest(published_at="2026-11-20T02:00:00Z",
                                  stale_tables=["85924NED"])
    runs = [{"started": "2026-11-19T02:00:00Z", "outcome": "failed"},
            {"started": "2026-11-21T02:00:00Z", "outcome": "partial"}]
    now = datetime(2026, 11, 25, tzinfo=UTC)
    w = compute.freshness_warnings(manifest, runs, now)
    assert len(w) == 3
    assert "85924NED" in w[0] and "deels mislukt" in w[1] and "4 dagen" in w[2]
    fresh = published_manifest(published_at="2026-11-25T02:00:00Z")
    assert compute.freshness_warnings(fresh, runs, datetime(2026, 11, 25, 8, tzinfo=UTC)) == []


def test_freshness_says_when_new_cbs_data_were_not_plausible():
    manifest = published_manifest(
        published_at="2026-11-25T02:00:00Z", stale_tables=["81575NED", "85924NED"],
        plausibility=Plausibility(rejected={"81575NED": ["81575NED: 687 rows, was 6.865"]}))
    w = compute.freshness_warnings(manifest, [], datetime(2026, 11, 25, 8, tzinfo=UTC))
    assert len(w) == 2 and "85924NED" in w[0] and "81575NED" not in w[0]
    assert "81575NED" in w[1] and "niet overgenomen" in w[1]


def test_freshness_counts_quiet_nights_as_checked():
    """Defect 6: after no-op nights the data are fresh; only a missing successful check at CBS
    (failed or partial nights, or none at all) makes them old."""
    manifest = published_manifest(published_at="2026-11-20T02:00:00Z")
    noops = [{"started": f"2026-11-{d}T02:00:00Z", "ended": f"2026-11-{d}T02:00:05Z",
              "command": "refresh", "outcome": "noop"} for d in range(21, 26)]
    now = datetime(2026, 11, 25, 8, tzinfo=UTC)
    assert compute.freshness_warnings(manifest, noops, now) == []
    partial = [{**r, "outcome": "partial"} for r in noops]
    w = compute.freshness_warnings(manifest, noops[:1] + partial[1:], now)
    assert any("4 dagen niet ververst" in x and "21 november 2026" in x for x in w)
    only = [{**r, "only": "vestigingen"} for r in noops]  # a partial check is not a full one
    assert any("5 dagen" in x for x in compute.freshness_warnings(manifest, only, now))


# --------------------------------------------------------------------------- exports

def test_csv_is_dutch_excel_friendly():
    body = exports.to_csv(pd.DataFrame({"regio": ["A", "B"], "waarde": [1234.5, None]}))
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.splitlines() == ["regio;waarde", "A;1234,5", "B;"]


def test_excel_has_data_and_bronnen(dd):
    sources = exports.sources_frame(dd.manifest, ["vestigingen_per_1000_inwoners"])
    body = exports.to_excel({"Ranglijst 2023": pd.DataFrame({"waarde": [1.5, None]})}, sources)
    wb = openpyxl.load_workbook(io.BytesIO(body))
    assert wb.sheetnames == ["Ranglijst 2023", "Bronnen"]
    assert wb["Ranglijst 2023"]["A3"].value is None  # missing stays empty, never 0
    bron = [[c.value for c in row] for row in wb["Bronnen"].iter_rows()]
    assert {r[5] for r in bron[1:3]} == {"81575NED", "86088NED"}
    assert any("statline" in str(v) for v in bron[1])
    assert any("CC BY 4.0" in str(r[1]) for r in bron)


def test_tables_of_and_statline():
    assert exports.tables_of("81575NED+86088NED") == ["81575NED", "86088NED"]
    assert exports.statline_url("82900NED").endswith("/dataset/82900NED/table")


# --------------------------------------------------------------------------- charts

def test_map_spec_draws_every_gemeente_once_and_outlines_the_selection(dd):
    meta = dd.indicators["werkloosheid_pct"]
    mdf = compute.map_frame(dd.by_indicator["werkloosheid_pct"], dd.regions, "2023")
    spec = build.map_chart(mdf, meta, title="t", source="Bron: CBS")
    assert [a.code for a in spec.without_value] == ["GM0352"]
    drawn = svgmap.build(spec, dd.geo, dd.geo_bounds)
    svg = drawn.render("GM0355", "x")
    assert svg.count(svgmap.OUTLINE) == 1 and "Zeist (gekozen)" in svg
    assert len(drawn.outlines) == len(dd.geo)  # every gemeente drawn, each once
    assert "Bron: CBS" in svg


def test_time_series_and_bars_have_honest_axes(dd):
    meta = dd.indicators["werkloosheid_pct"]
    df = compute.series_frame(dd.by_indicator["werkloosheid_pct"],
                              [("GM0355", "Zeist", "gemeente"), ("NL01", "Nederland", "nl")])
    spec = build.series_chart(df, meta, title="t", source="s")
    assert spec.zero_based and spec.lines[0].label == "Zeist"
    last = spec.lines[0].points[-1]
    assert last.provisional  # 2023 is provisional: an open marker
    assert style.point_marker(style.ROLE_STYLE["gemeente"], last)[0] == "circle-open"
    bars = interactive.bars(build.bar_chart(pd.DataFrame(
        {"code": ["NL01", "GM0355"], "label": ["NL", "Z"], "value": [4.0, None]}), meta,
        chosen={"GM0355"}, title="t", source="s"))
    assert bars.layout.xaxis.range[0] == 0 and bars.layout.separators == ",."
    assert "geen gegevens" in list(bars.data[0].text)


def test_labels_are_escaped_in_charts():
    df = pd.DataFrame({"code": ["X", "NL01"], "label": ["<b>x</b>", "NL"], "value": [1.0, 2.0]})
    fig = interactive.bars(build.bar_chart(df, {"unit": "%", "decimals": 1}, chosen=set(),
                                           title="t", source="s"))
    assert all("<b>x" not in y for y in fig.data[0].y)
    series = build.series_chart(df.assign(period="2023", status="Definitief", role="vergelijk"),
                                {"unit": "%", "decimals": 1}, title="t", source="s")
    assert "<b>x</b>" not in svgdraw.series(series, "x") and "&lt;b&gt;x" in svgdraw.series(
        series, "x")


# --------------------------------------------------------------------------- data

def test_geojson_is_rounded_and_trimmed(tmp_path):
    path = tmp_path / "g.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"statcode": "GM0001", "statnaam": "A", "x": 1},
         "geometry": {"type": "Polygon", "coordinates": [[[5.123456789, 52.987654321],
                                                          [5.2, 52.9], [5.1, 52.8]]]}}]}))
    feats = dashdata.read_geojson(path)
    assert feats["GM0001"]["properties"] == {"statcode": "GM0001", "statnaam": "A"}
    assert feats["GM0001"]["geometry"]["coordinates"][0][0] == [5.1235, 52.9877]
    assert dashdata.read_geojson(tmp_path / "absent.geojson") is None
    assert dashdata.bounds(feats) == (5.1, 52.8, 5.2, 52.9877)


def test_build_indexes_the_snapshot(dd, dash_snapshot):
    assert dd.snapshot_id == snapshot.current_id(dash_snapshot)
    assert list(dd.indicators)[0] == "vestigingen_per_1000_inwoners"
    assert set(dd.by_indicator) == set(dd.indicators)
    assert dd.names["PV27"] == "Noord-Holland" and dd.levels["CR17"] == "CR"


def test_verdict_puts_the_colour_in_words():
    assert fmt.verdict(0.4, True) == "gunstig" and fmt.verdict(0.4, False) == "ongunstig"
    assert fmt.verdict(-2, False) == "gunstig" and fmt.verdict(0, True) == "gelijk"
    assert fmt.verdict(3, None) == "" and fmt.verdict(None, True) == ""


def test_a_title_says_its_unit_where_the_value_does_not():
    from dashboard.core import format as fmt  # noqa: PLC0415

    assert fmt.titled("Bevolkingsdichtheid", "inwoners per km²") == "Bevolkingsdichtheid (per km²)"
    assert fmt.titled("Index", "2015 = 100") == "Index (2015 = 100)"
    assert fmt.titled("Vestigingen per 1.000 inwoners (15-75 jaar)", "per 1.000 inwoners") == (
        "Vestigingen per 1.000 inwoners (15-75 jaar)")
    assert fmt.titled("Banen van werknemers per vestiging", "banen per vestiging") == (
        "Banen van werknemers per vestiging")
    for unit in ("%", "euro", "aantal", None):
        assert fmt.titled("Werkloosheid", unit) == "Werkloosheid"
