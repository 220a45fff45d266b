"""AppTest for the boundaries switch, the peer choice, Brede welvaart, Dwarsverbanden, the
changes section and the briefing download (fixture snapshot of ``snapshot_factory``)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from dashboard.ui import data as dataio
from tests.support.apptest import PAGES, qp, rankings, run_app, svg_of, texts


@pytest.fixture(scope="module")
def old_snapshot(tmp_path_factory, snapshot_builder):
    return snapshot_builder(tmp_path_factory.mktemp("old-dash"), extended=False)


def series_fig(at) -> str:
    return svg_of(at, "grafiek")


def test_boundaries_default_current_with_note_and_estimated_marker(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "ruimtelijke_economie", gemeente="GM0352",
                 indicator="aandeel_koopwoningen")
    assert at.sidebar.radio(key="w_grenzen").value == "huidig"
    t = texts(at)
    assert "kreeg op 1 januari 2020 een deel" in t
    assert "Open ruit = geschat: deel van een gesplitste gemeente" in t
    svg = series_fig(at)  # open diamonds (a white polygon), explained in the legend
    assert '<polygon points=' in svg and 'fill="#ffffff"' in svg
    assert "geschat: deel van een gesplitste gemeente" in svg


def test_opgeteld_in_hover_and_export_column(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "mkb_innovatie", gemeente="GM0406",
                 indicator="vestigingen", jaar="2020")
    assert "Beemster is op 1 januari 2022 opgegaan in Huizen" in texts(at)
    assert "opgeteld over de gemeenten" in series_fig(at)
    assert "Ze staan wel in de ranglijst" not in texts(at)  # current mode: map fits


def test_historical_boundaries_deep_link(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "mkb_innovatie", gemeente="GM0406",
                 grenzen="historisch", indicator="vestigingen", jaar="2020")
    assert at.sidebar.radio(key="w_grenzen").value == "historisch"
    assert qp(at, "grenzen") == "historisch"
    t = texts(at)
    assert "De kaart toont de gemeenten zoals ze in 2020 bestonden." in t  # the 2019-2021 map
    assert "staan er niet op" not in t
    svg = svg_of(at, "kaart")
    assert "<title>Beemster: " in svg  # GM0370, merged into Purmerend in 2022
    assert re.search(r"\(grenzen van\s*(</text><text[^>]*>)?2021\)", svg)
    assert "opgeteld over de gemeenten" not in series_fig(at)
    assert "Beemster" in set(rankings(at)[1]["naam"])  # ranking on that year's boundaries
    # the choice survives a page switch and can be switched back
    at.switch_page(PAGES["overzicht"][0]).run()
    assert not at.exception and qp(at, "grenzen") == "historisch"
    at.sidebar.radio(key="w_grenzen").set_value("huidig").run()
    assert not at.exception and "grenzen" not in at.query_params


def test_bad_grenzen_and_peers_fall_back_with_dutch_warning(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "overzicht", grenzen="vroeger", peers="alle")
    w = " ".join(x.value for x in at.warning)
    assert "Onbekende waarde `vroeger` voor ‘grenzen’" in w and "voor ‘peers’" in w
    assert at.sidebar.radio(key="w_grenzen").value == "huidig"
    assert at.sidebar.selectbox(key="w_peers").value == "grootte"


def test_peers_choice_everywhere(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "overzicht", gemeente="GM0355", peers="statistisch")
    assert at.sidebar.selectbox(key="w_peers").value == "statistisch"
    assert "statistisch het meest op deze gemeente lijken" in texts(at)
    assert any(e.label.startswith("Waarom deze gemeenten?") for e in at.expander)
    table = at.dataframe[0].value
    assert list(table.columns) == ["Gemeente", "Lijkt op", "Afstand"] and len(table) == 3
    at.sidebar.selectbox(key="w_peers").set_value("grootte").run()
    assert not at.exception and "peers" not in at.query_params
    assert set(at.dataframe[0].value["Gemeente"]) == {"Amstelveen", "Hilversum", "Huizen"}
    at = run_app(dash_snapshot, monkeypatch, "human_capital", gemeente="GM0355",
                 peers="statistisch", indicator="werkloosheid_pct")
    assert "Statistisch vergelijkbare gemeenten (mediaan)" in series_fig(at)


def test_vergelijken_peer_preset(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "vergelijken", gemeente="GM0355",
                 vergelijk="GM0363", peers="statistisch")
    at.button(key="w_peer_preset").click().run()
    assert not at.exception
    peers = qp(at, "vergelijk").split(",")
    assert len(peers) == 3 and "GM0355" not in peers


def test_older_snapshot_degrades_gracefully(old_snapshot, monkeypatch):
    for page in PAGES:
        at = run_app(old_snapshot, monkeypatch, page, gemeente="GM0406", peers="statistisch")
        assert at.title[0].value == (PAGES[page][1] if page != "overzicht" else "Huizen")
    assert at.sidebar.radio(key="w_grenzen").disabled
    at = run_app(old_snapshot, monkeypatch, "overzicht", gemeente="GM0406", peers="statistisch")
    t = texts(at)
    assert "alleen cijfers op de grenzen van dat jaar" in t
    assert "niet beschikbaar; getoond worden gemeenten van dezelfde grootte" in t
    assert "Sinds de vorige verversing" not in [s.value for s in at.header]


def test_brede_welvaart_page(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "brede_welvaart", gemeente="GM0355")
    t = texts(at)
    assert "Bij de gunstigste 25% van alle gemeenten op " in t
    assert "In de afgelopen 5 jaar een gunstige ontwikkeling op " in t
    # one table per dimension of the Monitor Brede Welvaart, each under its own heading
    assert [h.value for h in at.header][:2] == ["Hier en nu", "Later"]
    grid = pd.concat([d.value for d in at.dataframe if "Indicator" in d.value.columns],
                     ignore_index=True)
    assert sorted(grid["Indicator"]) == sorted(["Vestigingen per 1.000 inwoners",
                                                "Vestigingen van bedrijven", "Werkloosheid",
                                                "Aandeel koopwoningen"])
    by_ind = grid.set_index("Indicator")
    size = by_ind.loc["Vestigingen van bedrijven"]  # a count: no position, no colour
    assert size["T.o.v. alle gemeenten"] == "n.v.t. (aantal)"
    assert "% van Nederland" in size["t.o.v. Nederland"]
    assert size["Trend 5 jaar"].split(" ")[0] in {"hoger", "lager", "gelijk"}
    directed = by_ind.loc[["Vestigingen per 1.000 inwoners", "Werkloosheid"]]
    assert set(directed["T.o.v. alle gemeenten"]) <= {"gunstigste 25%", "ongunstigste 25%",
                                                     "middengroep", "onnauwkeurig"}
    koop = by_ind.loc["Aandeel koopwoningen"]  # no direction: where it stands, no judgement
    assert koop["T.o.v. alle gemeenten"] in {"hoog", "laag", "rond het midden"}
    assert koop["Trend 5 jaar"].split(" ")[0] in {"hoger", "lager", "gelijk"}
    assert koop["Thema brede welvaart"] == "Wonen"


def test_dwarsverbanden_deep_link_and_presets(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "dwarsverbanden", gemeente="GM0355",
                 x="aandeel_koopwoningen", y="vestigingen")
    assert at.selectbox(key="w_x").value == "aandeel_koopwoningen"
    assert at.selectbox(key="w_y").value == "vestigingen"
    assert at.selectbox(key="w_dw_jaar").value == 2023
    assert "Correlatie is geen oorzaak" in texts(at)
    assert metric_value(at, "Gemeenten (n)") == "7"
    assert metric_value(at, "Pearson r") not in ("", None)
    spec = at.get("plotly_chart")[0].proto.spec
    assert "Zeist" in spec and "Vergelijkbare gemeenten" in spec
    # a curated pair in one click
    at.button(key="preset-human_capital-0").click().run()
    assert not at.exception
    assert (qp(at, "x"), qp(at, "y")) == ("vestigingen_per_1000_inwoners", "werkloosheid_pct")
    assert metric_value(at, "Gemeenten (n)") == "6"  # one gemeente without werkloosheid 2023
    # latest per indicator
    at.selectbox(key="w_dw_jaar").set_value("laatste").run()
    assert not at.exception and metric_value(at, "Gemeenten (n)") == "7"
    assert "laatste cijfer per indicator" in at.get("plotly_chart")[0].proto.spec


def test_dwarsverbanden_bad_and_non_gemeente_indicators(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "dwarsverbanden", x="bestaat_niet", y="bbp_groei")
    w = " ".join(x.value for x in at.warning)
    assert "Onbekende indicator `bestaat_niet` voor ‘x’" in w
    assert "niet per gemeente beschikbaar" in w
    assert at.selectbox(key="w_y").value != "bbp_groei"


def test_changes_section_and_briefing(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "overzicht", gemeente="GM0355")
    assert "Sinds de vorige verversing" in [s.value for s in at.header]
    t = texts(at)
    assert "**Werkloosheid**: nieuwe periode 2023; 2 cijfers herzien (2022)." in t
    assert "voorlopig → definitief" in t
    assert "vergeleken met de vorige snapshot van 19 november 2026." in t
    pdf = dataio.briefing_pdf(dataio.load_current()[0], "GM0355", "statistisch")
    assert pdf.startswith(b"%PDF")


def metric_value(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_gap_on_current_boundaries_is_explained(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "human_capital", gemeente="GM0406",
                 indicator="werkloosheid_pct", jaar="2019")
    assert metric_value(at, "Huizen, 2019") == "geen gegevens"
    assert ("Niet om te rekenen naar de huidige grenzen (daarom geen cijfer): 2019: verdeling "
            "van Beemster onbekend.") in texts(at)
    at = run_app(dash_snapshot, monkeypatch, "human_capital", gemeente="GM0406",
                 indicator="werkloosheid_pct", jaar="2019", grenzen="historisch")
    assert metric_value(at, "Huizen, 2019") != "geen gegevens"


def test_vergelijken_shows_boundary_notes_in_current_mode(dash_snapshot, monkeypatch):
    at = run_app(dash_snapshot, monkeypatch, "vergelijken", gemeente="GM0355",
                 vergelijk="GM0406,GM0363")
    assert "Herindelingen (cijfers op de huidige gemeentegrenzen): Beemster" in texts(at)
    at = run_app(dash_snapshot, monkeypatch, "vergelijken", gemeente="GM0355",
                 vergelijk="GM0406,GM0363", grenzen="historisch")
    assert "Herindelingen" not in texts(at)


def test_ranking_shows_the_gemeente_with_its_peers_then_all_gemeenten(dash_snapshot, monkeypatch):
    """The chosen gemeente and its comparable gemeenten in a small table (marked in words and
    colour, per view); all gemeenten in rank order in a table shared by every visitor."""
    at = run_app(dash_snapshot, monkeypatch, "human_capital", gemeente="GM0355",
                 indicator="werkloosheid_pct")
    own, full = rankings(at)
    assert own["naam"].iloc[0] == "Zeist ◀ gekozen"
    assert len(own) > 1 and all(n.endswith(" (vergelijkbaar)") for n in own["naam"].iloc[1:])
    assert not full["naam"].str.contains("gekozen|vergelijkbaar").any()
    assert "Zeist" in set(full["naam"]) and len(full) > len(own)
    ranked = full["positie"].dropna().tolist()
    assert ranked == sorted(ranked)
    # another gemeente: the shared table is the same, the small one its own
    other = run_app(dash_snapshot, monkeypatch, "human_capital", gemeente="GM0344",
                    indicator="werkloosheid_pct")
    own2, full2 = rankings(other)
    assert own2["naam"].iloc[0] == "Utrecht ◀ gekozen"
    pd.testing.assert_frame_equal(full, full2)
