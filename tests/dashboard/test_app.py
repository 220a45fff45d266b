"""AppTest for every dashboard page on the small snapshot of ``snapshot_factory``."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.core import dashdata
from dashboard.ui import data as dataio
from pipelines import snapshot
from tests.support.apptest import PAGES, metric, qp, run_app, texts


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders(dash_snapshot, monkeypatch, page):
    at = run_app(dash_snapshot, monkeypatch, page)
    assert at.title[0].value == PAGES[page][1]
    assert not at.warning
    assert "Cijfers: CBS StatLine, snapshot van" in texts(at)  # footer


def test_no_snapshot_shows_how_to_make_one(empty_data_dir, monkeypatch):
    at = run_app(empty_data_dir, monkeypatch)
    assert "python -m pipelines refresh" in [c.value for c in at.code]
    assert "nog geen cijfers gepubliceerd" in at.info[0].value


def test_picking_a_gemeente_changes_the_figures(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch)
    assert at.title[0].value == "Amstelveen"  # default: first current gemeente by name
    before = [m.value for m in at.metric]
    at.sidebar.selectbox(key="w_gemeente").set_value("GM0355").run()
    assert not at.exception
    assert at.title[0].value == "Zeist"
    assert [m.value for m in at.metric] != before
    assert qp(at, "gemeente") == "GM0355"


def test_picking_a_gemeente_on_a_thema_page(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "human_capital", indicator="werkloosheid_pct")
    first = metric(at, "Amstelveen")
    at.sidebar.selectbox(key="w_gemeente").set_value("GM0363").run()
    assert not at.exception
    assert metric(at, "Amsterdam, 2023") != first
    assert qp(at, "indicator") == "werkloosheid_pct"


def test_deep_link_selects_the_view(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "human_capital", gemeente="GM0402",
                 indicator="werkloosheid_pct", jaar="2021", vergelijk="GM0344,PV26")
    assert at.selectbox(key="w_indicator").value == "werkloosheid_pct"
    assert at.selectbox(key="w_jaar").value == 2021
    assert at.multiselect(key="w_vergelijk").value == ["GM0344", "PV26"]
    assert at.sidebar.selectbox(key="w_gemeente").value == "GM0402"
    assert any(m.label == "Hilversum, 2021" for m in at.metric)
    assert at.header[0].value == "Ranglijst 2021"
    assert not at.get("plotly_chart")  # map and series are SVG (svgmap, svgseries)
    maps = [h.proto.body for h in at.get("html") if "regio-kaart" in h.proto.body]
    assert len(maps) == 1 and "Hilversum (gekozen)" in maps[0]  # the map, outlined
    series = [h.proto.body for h in at.get("html") if "regio-grafiek" in h.proto.body]
    assert len(series) == 1 and "Hilversum, 2021: " in series[0]  # a point's tooltip
    assert not at.warning
    assert qp(at, "gemeente") == "GM0402" and qp(at, "jaar") == "2021"
    assert qp(at, "thema") == "human_capital"


def test_changing_the_indicator_resets_the_year(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "human_capital", jaar="2020",
                 indicator="werkloosheid_pct")
    at.selectbox(key="w_indicator").set_value("openstaande_vacatures").run()
    assert not at.exception and not at.warning
    assert at.selectbox(key="w_jaar").value == 2023
    assert "Niet per gemeente gepubliceerd: het CBS publiceert dit cijfer niet per gemeente; " \
           "getoond: Provincie Noord-Holland." in texts(at)


def test_thema_parameter_on_the_start_page_opens_the_thema_page(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, gemeente="GM0344", thema="ruimtelijke_economie")
    assert at.title[0].value == "Ruimtelijke economie en vitale kernen"
    assert any(m.label.startswith("Utrecht, ") for m in at.metric)


BAD = {
    "unknown code": ({"gemeente": "GM9999"}, "bestaat niet"),
    "former gemeente": ({"gemeente": "GM0370"}, "bestaat niet"),
    "script tag": ({"gemeente": "<script>alert(1)</script>"}, "geen geldige gemeentecode"),
    "10 kB": ({"gemeente": "A" * 10_000}, "te lang"),
    "bad year": ({"jaar": "20x3"}, "geen geldig jaar"),
    "unknown indicator": ({"indicator": "<img src=x>"}, "Onbekende indicator"),
    "bad compare": ({"vergelijk": "GM0344,XX<b>,GM9999"}, "Onbekende regiocode"),
    "unknown thema": ({"thema": "sport"}, "Onbekend thema"),
    "unknown param": ({"foo": "bar"}, "Onbekende parameter"),
}


@pytest.mark.parametrize("case", list(BAD))
@pytest.mark.parametrize("page", ["overzicht", "human_capital", "vergelijken"])
def test_bad_parameters_give_a_dutch_message(dash_snapshot, monkeypatch, case, page):
    params, expected = BAD[case]
    at = run_app(dash_snapshot, monkeypatch, page, **params)
    messages = " ".join(w.value for w in at.warning)
    assert expected in messages
    assert "<script" not in messages and "<img" not in messages and "<b>" not in messages
    assert len(messages) < 600
    assert at.sidebar.selectbox(key="w_gemeente").value in ("GM0362", "GM0344")


def test_wrong_thema_indicator_and_missing_year_fall_back(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "mkb_innovatie", indicator="werkloosheid_pct",
                 jaar="2010")
    messages = " ".join(w.value for w in at.warning)
    assert "hoort niet bij het thema" in messages
    assert "Voor 2010 zijn er geen cijfers" in messages
    assert at.selectbox(key="w_indicator").value == "vestigingen_per_1000_inwoners"
    assert at.selectbox(key="w_jaar").value == 2023


def test_missing_value_is_geen_gegevens_not_zero(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "human_capital", gemeente="GM0352",
                 indicator="werkloosheid_pct")
    assert metric(at, "Wijk bij Duurstede, 2023") == "geen gegevens"
    assert metric(at, "Positie") == "geen gegevens"
    ov = run_app(dash_snapshot, monkeypatch, gemeente="GM0352")
    # the start page shows the last known figure with its own year
    assert "2022" in texts(ov)


def test_indicator_without_gemeente_data_uses_corop(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "mkb_innovatie", gemeente="GM0363",
                 indicator="bbp_groei")
    body = texts(at)
    assert ("Niet per gemeente gepubliceerd: het CBS publiceert dit cijfer niet per gemeente; "
            "getoond: Regio Groot-Amsterdam (COROP).") in body
    assert "Geen kaart: deze indicator is niet per gemeente beschikbaar." in body
    # the region's name is in the figure's own label: never read as Amsterdam's figure
    assert any(m.label.startswith("Regio Groot-Amsterdam (COROP), ") for m in at.metric)


def test_without_geojson_the_page_says_no_map(tmp_path, monkeypatch, snapshot_builder):
    data = snapshot_builder(tmp_path, geo=None)
    at = run_app(data, monkeypatch, "human_capital")
    assert "Geen kaart beschikbaar in deze snapshot." in texts(at)
    svgs = [h.proto.body for h in at.get("html") if "regio-svg" in h.proto.body]
    assert len(svgs) == 1 and "regio-grafiek" in svgs[0]  # the series only


def test_footer_warns_about_stale_data(tmp_path, monkeypatch, snapshot_builder):
    failed = {"started": "2999-01-01T02:00:00Z", "ended": "2999-01-01T02:01:00Z",
              "outcome": "failed", "exit_code": 1, "snapshot_id": None, "tables": {}}
    data = snapshot_builder(tmp_path, stale=("85924NED",), runs=[failed])
    at = run_app(data, monkeypatch, "over")
    messages = " ".join(w.value for w in at.warning)
    assert "85924NED" in messages and "is mislukt" in messages
    assert "verouderd" in at.dataframe[-2].value.to_string()  # CBS-tabellen: stale table


def test_vergelijken_by_group_and_hand_picked(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "vergelijken", gemeente="GM0355", vergelijk="CR13")
    table = at.dataframe[0].value
    assert list(table["regio"])[:2] == ["Nederland", "Utrecht (COROP-gebied)"]
    assert {"Utrecht", "Zeist ◀ gekozen", "Wijk bij Duurstede"} <= set(table["regio"])
    assert "Amsterdam" not in set(table["regio"])
    assert at.segmented_control(key="w_mode").value == "CR"
    at = run_app(dash_snapshot, monkeypatch, "vergelijken", gemeente="GM0355",
                 vergelijk="GM0363,GM0402")
    assert at.segmented_control(key="w_mode").value == "GM"
    assert list(at.dataframe[0].value["regio"]) == ["Nederland", "Zeist ◀ gekozen", "Amsterdam",
                                                     "Hilversum"]
    # on a phone: one indicator, all regions, as a plain table
    phone = at.get("table")[0].value
    assert list(phone["Regio"]) == ["Nederland", "Zeist ◀ gekozen", "Amsterdam", "Hilversum"]
    at.segmented_control(key="w_mode").set_value("PV").run()
    assert not at.exception
    assert qp(at, "vergelijk") == "PV26"
    assert "Gemeenten in Utrecht (provincie)" in [s.value for s in at.header]


def test_a_new_snapshot_is_picked_up_without_restart(tmp_path, monkeypatch, snapshot_builder):
    data = snapshot_builder(tmp_path)
    first = snapshot.current_id(data)
    at = run_app(data, monkeypatch, "over")
    assert first in texts(at)
    snapshot_builder(data)  # the nightly run publishes again
    second = snapshot.current_id(data)
    assert second != first
    at.run()
    assert not at.exception
    assert second in texts(at) and first not in texts(at).split("Laatste")[0]


def test_pages_do_not_mutate_the_cached_snapshot(dash_snapshot, monkeypatch):
    for page in PAGES:
        run_app(dash_snapshot, monkeypatch, page, gemeente="GM0355", vergelijk="GM0344")
    cached = dataio._load(str(dash_snapshot.resolve()), snapshot.current_id(dash_snapshot))
    fresh = dashdata.build(snapshot.load_snapshot(dash_snapshot))
    assert cached is dataio._load(str(dash_snapshot.resolve()), snapshot.current_id(dash_snapshot))
    pd.testing.assert_frame_equal(cached.observations, fresh.observations)
    pd.testing.assert_frame_equal(cached.regions, fresh.regions)
    for iid, frame in fresh.by_indicator.items():
        pd.testing.assert_frame_equal(cached.by_indicator[iid], frame)


@pytest.mark.parametrize("page", list(PAGES))
def test_every_chart_has_a_summary_and_a_table(dash_snapshot, monkeypatch, page):
    """Each chart on each page: an accessible name = the visible summary sentence, and the
    expander 'Tabel bij deze grafiek' with the plotted data and a CSV download. The map is an
    inline SVG (dashboard/svgmap.py) with the same summary as its accessible name. A table is
    built only when its expander is opened."""
    at = run_app(dash_snapshot, monkeypatch, page, gemeente="GM0355", vergelijk="GM0344")
    charts = at.get("plotly_chart")
    maps = [h for h in at.get("html") if "regio-svg" in h.proto.body]
    tables = [e for e in at.expander if e.label.startswith("Tabel bij deze grafiek")]
    assert len(tables) == len(charts) + len(maps)
    captions = [c.value for c in at.caption]
    for chart in charts:
        assert chart.proto.alt and chart.proto.alt in captions
        assert '"locale": "nl"' in chart.proto.config
    for m in maps:
        label = m.proto.body.split('aria-label=\\"', 1)[1].split('\\"', 1)[0]
        assert label and label in captions
    for exp in tables:  # closed: nothing built or sent
        assert not exp.get("table") and not exp.get("download_button")
    for exp in tables:  # opened, as a click does (the expander's state, then a rerun)
        at.session_state[exp.proto.id.rsplit("-", 2)[-2] + "-tabel"] = True
    at.run()
    assert not at.exception
    tables = [e for e in at.expander if e.label.startswith("Tabel bij deze grafiek")]
    for exp in tables:
        assert exp.get("table") and exp.get("download_button")
    if page in ("human_capital", "mkb_innovatie", "ruimtelijke_economie", "vergelijken",
                "dwarsverbanden"):
        assert charts or maps  # these pages do have charts (plotly or SVG)


def test_gemeente_choice_on_the_page_itself(dash_snapshot, monkeypatch):
    """On a phone the sidebar is folded away: the page has its own gemeente picker (shown there
    only, by CSS), bound to the same URL parameter."""
    at = run_app(dash_snapshot, monkeypatch, "human_capital", indicator="werkloosheid_pct")
    at.selectbox(key="w_gemeente_page").set_value("GM0355").run()
    assert not at.exception
    assert qp(at, "gemeente") == "GM0355"
    assert at.sidebar.selectbox(key="w_gemeente").value == "GM0355"
    assert any(m.label.startswith("Zeist, ") for m in at.metric)


@pytest.mark.parametrize("page", ["overzicht", "over"])
def test_a_damaged_run_history_does_not_break_a_page(tmp_path, monkeypatch, snapshot_builder,
                                                     page):
    """Issue 23: one non-UTF-8 byte in runs.jsonl took every page down (the footer reads the
    history). Bad lines are skipped: the page renders, and the good records still count."""
    failed = {"started": "2999-01-01T02:00:00Z", "ended": "2999-01-01T02:01:00Z",
              "outcome": "failed", "exit_code": 1, "snapshot_id": None, "tables": {}}
    data = snapshot_builder(tmp_path, runs=[failed])
    path = data / "runs.jsonl"
    path.write_bytes(b'{"outcome": "ok", "error": "\xff"}\n' + path.read_bytes()
                     + b'{"started": "2999-01-02T0')  # and a last line cut off
    at = run_app(data, monkeypatch, page)
    assert not at.error  # not the page guard's "Deze weergave kon niet worden getoond"
    assert "is mislukt" in " ".join(w.value for w in at.warning)  # the good record still counts
    assert "Cijfers: CBS StatLine, snapshot van" in texts(at)


def test_an_unreadable_run_history_leaves_the_page_without_it(tmp_path, monkeypatch,
                                                              snapshot_builder):
    data = snapshot_builder(tmp_path, runs=[])
    (data / "runs.jsonl").mkdir()  # cannot be read as a file at all
    at = run_app(data, monkeypatch, "over")
    assert not at.error and not at.warning
    assert "Laatste verversingen" not in [h.value for h in at.header]
