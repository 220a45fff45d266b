"""The page "Wijken" and its pure core (dashboard/core/wijken.py) on the real KWB 2022 wijk rows
of the development snapshot (skips without ../shared)."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.core import wijken
from pipelines import snapshot
from tests.support.apptest import run_app, svg_of, texts


@pytest.fixture(scope="module")
def wijk_rows(real_data) -> pd.DataFrame:
    snap = snapshot.load_snapshot(real_data)
    frame = snap.frame("wijk_observations")
    assert frame is not None, "the development snapshot has wijk rows"
    return frame


def test_breda_table_centrum_and_summary(wijk_rows):
    table = wijken.wijk_table(wijk_rows, "GM0758", 2022)
    assert len(table) == 11
    code, how = wijken.centrum(table)
    assert code == "WK075800" and "centrum" in how
    text = wijken.summary("Breda", table, 2022)
    assert "Breda centrum" in text and "1.738 bedrijfsvestigingen per km²" in text
    side = wijken.centrum_vs_rest(table, code).set_index("Maatstaf")
    assert side.loc["Bedrijfsvestigingen", "Centrum"] == "3.475"
    rest = table.loc[table["code"] != code, "vestigingen"].sum()
    assert side.loc["Bedrijfsvestigingen", "Rest"] == f"{rest:,.0f}".replace(",", ".")


def test_centrum_by_address_density_when_no_wijk_is_named_so(wijk_rows):
    table = wijken.wijk_table(wijk_rows, "GM0363", 2022)  # Amsterdam: "Bijlmer Centrum" is not it
    code, how = wijken.centrum(table)
    assert "adressendichtheid" in how
    assert code == table.sort_values("oad").iloc[-1]["code"]


def test_small_counts_are_marked_not_coloured(wijk_rows):
    table = wijken.wijk_table(wijk_rows, "GM0096", 2022)  # Vlieland: one wijk
    assert len(table) == 1
    assert wijken.centrum(table)[0] is None
    anywhere = pd.concat(wijken.wijk_table(wijk_rows, g, 2022)
                         for g in wijk_rows["gemeente_code"].unique()[:80])
    small = anywhere[anywhere["imprecise"]]
    assert len(small) and (small["vestigingen"] < 25).all()
    mf = wijken.map_frame(small)
    assert set(mf["quality"]) == {"onnauwkeurig"}


def test_page_breda_shows_11_wijken_map_and_centrum(real_data, monkeypatch):
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM0758")
    shown = at.dataframe[0].value
    assert len(shown) == 11 and "Breda centrum (centrum)" in set(shown["Wijk"])
    body = texts(at)
    assert "Het centrum is Breda centrum" in body and "2022" in body
    assert "afgerond" not in body or "op 5" in body
    svg = svg_of(at, "kaart")
    assert svg.count("<path") >= 11
    # the map's summary sentence (caption and accessible name) names the centrum and its value
    assert any("Breda centrum" in c.value and "1.738" in c.value for c in at.caption)
    vs = at.table[0].value  # centrum versus rest, the whole gemeente and Nederland
    assert list(vs.columns) == ["Centrum", "Rest", "Gemeente", "NL"]
    assert vs.shape == (6, 4)
    assert vs.loc["Bedrijfsvestigingen", "Gemeente"] == "26.415"  # 3.475 + 22.940 (sum)
    assert vs.loc["Vestigingen per km² land", "NL"] == "68"  # unit in the row label
    assert vs.loc["Bedrijfsvestigingen", "NL"] == ""  # a count: no reference
    assert "Kaart van 11 wijken" in " ".join(c.value for c in at.caption)
    # the phone version of the table: three columns, wijk by wijk, the main measures
    phone = at.table[1].value
    assert list(phone.columns) == ["Wijk", "Maatstaf", "Waarde"] and len(phone) == 11 * 4


def test_page_vlieland_says_there_is_nothing_to_compare(real_data, monkeypatch):
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM0096")
    assert "niets te vergelijken" in texts(at)
    assert len(at.table) == 1  # only the phone table: no centrum versus rest with one wijk


def test_page_herindeling_gemeente(real_data, monkeypatch):
    # Land van Cuijk (GM1982) was formed on 1 January 2022: its wijken carry new codes
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM1982")
    shown = at.dataframe[0].value
    assert len(shown) > 1 and shown["Code"].str.startswith("WK1982").all()
    # Voorne aan Zee (GM1992) was formed in 2023: no 2022 wijken under its code, said so
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM1992")
    assert ("Voorne aan Zee bestaat sinds 2023; de wijkcijfers over 2022 horen bij Brielle, "
            "Hellevoetsluis en Westvoorne") in texts(at)


def test_briefing_has_a_kernen_en_centrum_paragraph_from_the_same_figures(real_data):
    """The briefing's "Kernen en centrum": centrum versus the rest with the page's figures;
    Vlieland says there is nothing to compare; and the PDF stays one page."""
    from dashboard.core import briefing, compute  # noqa: PLC0415
    from tests.support.pdf import pdf_text  # noqa: PLC0415

    src = briefing.Source.load(real_data)
    breda = briefing.content(src, "GM0758", charts=False)["kernen"]
    assert breda["title"] == "Kernen en centrum"
    assert breda["text"].startswith("11 wijken (CBS-wijkcijfers 2022")
    assert "centrum Breda centrum (CBS-wijknaam)" in breda["text"]
    assert "228 tegen 135 vestigingen per 1.000 inwoners" in breda["text"]  # as on the page
    vlieland = briefing.content(src, "GM0096", charts=False)["kernen"]
    assert "niets te vergelijken" in vlieland["text"]
    pdf = briefing.render(src, "GM0758", compute.peers(src.regions, "GM0758"))
    n, text = pdf_text(pdf)
    assert n == 1 == briefing.page_count(pdf) and "Kernen en centrum." in text
