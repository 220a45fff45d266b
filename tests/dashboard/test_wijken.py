"""The page "Wijken" and its pure core (dashboard/core/wijken.py) on the real KWB 2022 wijk rows
of the development snapshot (skips without ../shared)."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.core import wijken
from pipelines import snapshot
from tests.support.apptest import run_app, svg_of, texts


@pytest.fixture(scope="module")
def snap(real_data):
    snap = snapshot.load_snapshot(real_data)
    assert snap.frame("wijk_observations") is not None, "the development snapshot has wijk rows"
    return snap


@pytest.fixture(scope="module")
def wijk_rows(snap) -> pd.DataFrame:
    return snap.frame("wijk_observations")


@pytest.fixture(scope="module")
def info(snap):
    return snap.manifest.wijken


def test_breda_table_centrum_and_summary(wijk_rows, info):
    assert wijken.default_year(wijk_rows, info) == 2022  # the newest year with business counts
    table = wijken.wijk_table(wijk_rows, info, "GM0758", 2022)
    assert len(table) == 11
    code, how = wijken.centrum(table)
    assert code == "WK075800" and "centrum" in how
    text = wijken.summary("Breda", table, info, 2022)
    assert "Breda centrum" in text and "bedrijfsvestigingen per km² land 1.738." in text
    side = wijken.centrum_vs_rest(info, wijken.groups(wijk_rows, info, table, code)
                                  ).set_index("Maatstaf")
    assert side.loc["Bedrijfsvestigingen", "Centrum"] == "3.475"
    rest = table.loc[table["code"] != code, "vestigingen"].sum()
    assert side.loc["Bedrijfsvestigingen", "Rest"] == f"{rest:,.0f}".replace(",", ".")
    # the same values with the precomputed per-wijk figures (once per snapshot) as without
    fast = wijken.wijk_table(wijk_rows, info, "GM0758", 2022,
                             wijken.per_wijk(wijk_rows, info, 2022))
    pd.testing.assert_frame_equal(fast, table)


def test_centrum_by_address_density_when_no_wijk_is_named_so(wijk_rows, info):
    table = wijken.wijk_table(wijk_rows, info, "GM0363", 2022)  # Amsterdam: "Bijlmer Centrum"
    code, how = wijken.centrum(table)
    assert "adressendichtheid" in how
    assert code == table.sort_values("oad").iloc[-1]["code"]


def test_small_counts_are_marked_not_coloured(wijk_rows, info):
    table = wijken.wijk_table(wijk_rows, info, "GM0096", 2022)  # Vlieland: one wijk
    assert len(table) == 1
    assert wijken.centrum(table)[0] is None
    values = wijken.per_wijk(wijk_rows, info, 2022)
    anywhere = pd.concat(wijken.wijk_table(wijk_rows, info, g, 2022, values)
                         for g in wijk_rows["gemeente_code"].unique()[:80])
    small = anywhere[anywhere["vestigingen_per_km2__imprecise"]]
    assert len(small) and (small["vestigingen"] <= 25).all()  # 2.5 is 10 % of 25
    mf = wijken.map_frame(small, "vestigingen_per_km2")
    assert set(mf["quality"]) == {"onnauwkeurig"}
    # per 1.000 inwoners of a wijk with few businesses is imprecise too; inwoners (rounded to 5
    # by CBS as well) only in a wijk with hardly anyone living there
    assert anywhere["vestigingen_per_1000_inwoners__imprecise"].any()
    assert (anywhere.loc[anywhere["inwoners__imprecise"], "inwoners"] <= 25).all()


def test_change_since_previous_year_only_where_the_wijk_is_continuous(wijk_rows, info):
    table = wijken.wijk_table(wijk_rows, info, "GM0758", 2022)
    assert table["continuous"].all()  # CBS: all 11 of Breda's wijken comparable with 2021
    ch = wijken.change(wijk_rows, info, table, "vestigingen").set_axis(table["code"])
    assert ch["WK075800"] == 255.0  # Breda centrum: 3.220 (2021) -> 3.475 (2022)
    shown = wijken.display(table, info, "WK075800", ("vestigingen", wijken.change(
        wijk_rows, info, table, "vestigingen")))
    assert shown.set_index("Code").loc["WK075800", "Bedrijfsvestigingen: verschil met vorig "
                                                   "jaar"] == "+255"
    # Eindhoven: one of its 20 wijken changed boundary or code (CBS's indicator): no number
    ehv = wijken.wijk_table(wijk_rows, info, "GM0772", 2022)
    broken = ehv.loc[~ehv["continuous"], "code"]
    assert len(broken) == 1
    ch = wijken.change(wijk_rows, info, ehv, "vestigingen").set_axis(ehv["code"])
    assert (ch[broken] == "nieuwe of gewijzigde wijk").all()
    assert all(isinstance(v, float) or v == "gelijk binnen de afronding"
               for v in ch.drop(broken))
    # 2021 has no year before it in the snapshot: said so, not left empty
    t21 = wijken.wijk_table(wijk_rows, info, "GM0758", 2021)
    assert set(wijken.change(wijk_rows, info, t21, "vestigingen")) == {
        "geen cijfers over het vorige jaar"}


def test_offered_indicators_follow_the_year(wijk_rows, info):
    """KWB 2022 had no distances yet when the development copy was made; 2021 has them: a year
    offers only what it has, never an empty column."""
    assert "afstand_grote_supermarkt" not in wijken.available(wijk_rows, info, 2022)
    assert "afstand_grote_supermarkt" in wijken.available(wijk_rows, info, 2021)
    t21 = wijken.wijk_table(wijk_rows, info, "GM0758", 2021)
    km = t21.set_index("code")["afstand_grote_supermarkt"]
    assert 0 < km.median() < 3  # km (the x10 trap of the 2021 copy undone)


def test_page_breda_shows_11_wijken_map_and_centrum(real_data, monkeypatch):
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM0758")
    shown = at.dataframe[0].value
    assert len(shown) == 11 and "Breda centrum (centrum)" in set(shown["Wijk"])
    assert "Afstand tot grote supermarkt (km)" not in shown.columns  # 2022 has none
    body = texts(at)
    assert "Het centrum is Breda centrum" in body and "2022" in body
    svg = svg_of(at, "kaart")
    assert svg.count("<path") >= 11
    # the map's summary sentence (caption and accessible name) names the centrum and its value
    assert any("Breda centrum" in c.value and "1.738" in c.value for c in at.caption)
    assert "Ter vergelijking: de gemeente als geheel 210 per km² en Nederland 68 per km²." \
        in body
    vs = at.table[0].value  # centrum versus rest, the whole gemeente and Nederland
    assert list(vs.columns) == ["Centrum", "Rest", "Gemeente", "NL"]
    assert vs.shape == (7, 4)
    assert vs.loc["Bedrijfsvestigingen", "Gemeente"] == "26.415"  # 3.475 + 22.940 (sum)
    assert vs.loc["Bedrijfsvestigingen per km² land", "NL"] == "68"  # unit in the row label
    assert vs.loc["Bedrijfsvestigingen", "NL"] == ""  # a count: no reference
    assert "Kaart van 11 wijken" in " ".join(c.value for c in at.caption)
    # the phone version of the table: the wijk and the chosen figure, with its change
    phone = at.table[1].value
    assert list(phone.columns) == ["Wijk", "Waarde", "t.o.v. vorig jaar"] and len(phone) == 11
    assert phone["t.o.v. vorig jaar"].str.startswith(("+", "\u2212", "-", "\u00b1")).all()
    # another figure: map, summary, phone table and change follow the choice
    at.selectbox(key="wijk_cijfer").select("onbewoonde_woningen").run()
    assert not at.exception
    assert "onbewoonde woningen (ook tweede woningen) 6%" in texts(at)
    assert "Onbewoonde woningen" in svg_of(at, "kaart")
    # another year: 2021, with its distances
    at.selectbox(key="wijk_jaar").select(2021).run()
    assert not at.exception
    assert "Afstand tot grote supermarkt (km)" in at.dataframe[0].value.columns


def test_page_vlieland_says_there_is_nothing_to_compare(real_data, monkeypatch):
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM0096")
    assert "niets te vergelijken" in texts(at)
    assert len(at.table) == 1  # only the phone table: no centrum versus rest with one wijk


def test_page_herindeling_gemeente(real_data, monkeypatch):
    # Land van Cuijk (GM1982) was formed on 1 January 2022: its wijken carry new codes
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM1982")
    shown = at.dataframe[0].value
    assert len(shown) > 1 and shown["Code"].str.startswith("WK1982").all()
    # Voorne aan Zee (GM1992) was formed in 2023: no 2022 wijken under its code, said so; the
    # same land's wijken of its predecessors are shown under their old codes, kern by kern
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM1992")
    body = texts(at)
    assert ("Voorne aan Zee bestaat sinds 2023; de wijkcijfers over 2022 horen bij Brielle, "
            "Hellevoetsluis en Westvoorne, met hun eigen wijkcodes. Het gebied van Voorne aan Zee "
            "heeft in 2022 17 wijken.") in body
    shown = at.dataframe[0].value
    # a gemeente that took in another later (Amsterdam, Weesp) keeps its own wijken and words
    ams = run_app(real_data, monkeypatch, "wijken", gemeente="GM0363", wijkjaar="2021")
    assert "bestaat sinds" not in texts(ams) and "Weesp" not in texts(ams)
    assert len(shown) == 17 and set(shown["Gemeente in 2022"]) == {
        "Brielle", "Hellevoetsluis", "Westvoorne"}
    assert shown["Code"].str.startswith(("WK0501", "WK0530", "WK0614")).all()


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
    assert "bedrijfsvestigingen per 1.000 inwoners 228 tegen 135" in breda["text"]  # as on
    assert "aandeel handel en horeca (G+I) 28\u00a0% tegen 16\u00a0%" in breda["text"]  # the page
    voorne = briefing.content(src, "GM1992", charts=False)["kernen"]  # formed in 2023
    assert "Het gebied van Voorne aan Zee heeft in 2022 17 wijken" in voorne["text"]
    vlieland = briefing.content(src, "GM0096", charts=False)["kernen"]
    assert "niets te vergelijken" in vlieland["text"]
    pdf = briefing.render(src, "GM0758", compute.peers(src.regions, "GM0758"))
    n, text = pdf_text(pdf)
    assert n == 1 == briefing.page_count(pdf) and "Kernen en centrum." in text


def test_a_link_opens_the_same_year_and_figure_and_says_what_it_could_not(real_data,
                                                                           monkeypatch):
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM0758", wijkjaar="2021",
                 wijkcijfer="afstand_grote_supermarkt")
    assert at.selectbox(key="wijk_jaar").value == 2021
    assert at.selectbox(key="wijk_cijfer").value == "afstand_grote_supermarkt"
    assert "Kaart" not in " ".join(h.value for h in at.subheader)  # no 2021 wijk map here
    assert "Geen wijkkaart van 2021" in texts(at)
    # a figure the year lacks, and one that does not exist: said, and the default shown
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM0758", wijkjaar="2022",
                 wijkcijfer="afstand_grote_supermarkt")
    assert at.selectbox(key="wijk_cijfer").value == "vestigingen_per_km2"
    assert "\u2018Afstand tot grote supermarkt\u2019 is er niet over 2022" in texts(at)
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM0758", wijkjaar="1999",
                 wijkcijfer="bestaat_niet")
    body = texts(at)
    assert "Geen wijkcijfers over \u20181999\u2019" in body and "geen cijfer per wijk" in body
    assert at.selectbox(key="wijk_jaar").value == 2022
    # a choice made on the page goes into the link
    at.selectbox(key="wijk_cijfer").select("woz_waarde").run()
    assert at.query_params["wijkcijfer"] in ("woz_waarde", ["woz_waarde"])


def test_phone_table_says_a_changed_wijk_short(wijk_rows, info):
    ehv = wijken.wijk_table(wijk_rows, info, "GM0772", 2022)
    shown = wijken.display(ehv, info, None, ("vestigingen", wijken.change(
        wijk_rows, info, ehv, "vestigingen")))
    phone = wijken.long_display(shown, info, "vestigingen")
    assert list(phone.columns) == ["Wijk", "Waarde", "t.o.v. vorig jaar"]
    assert (phone["t.o.v. vorig jaar"] == "gewijzigde wijk").sum() == 1  # fits 390 px


def test_the_chosen_figure_comes_first_in_the_table_with_its_change(wijk_rows, info):
    table = wijken.wijk_table(wijk_rows, info, "GM0758", 2022)
    shown = wijken.display(table, info, None, ("onbewoonde_woningen", wijken.change(
        wijk_rows, info, table, "onbewoonde_woningen")))
    assert list(shown.columns[:4]) == [
        "Wijk", "Code", "Onbewoonde woningen (ook tweede woningen)",
        "Onbewoonde woningen (ook tweede woningen): verschil met vorig jaar"]
    assert shown.set_index("Code").loc["WK075800", "Onbewoonde woningen (ook tweede woningen)"] \
        == "6%"


def test_download_has_every_wijk_figure_then_the_gemeente_and_nederland(wijk_rows, info):
    table = wijken.wijk_table(wijk_rows, info, "GM0758", 2022)
    nl = wijken.national(wijk_rows, info, 2022)
    dl = wijken.download_frame(info, table, wijken.groups(wijk_rows, info, table, None),
                               "85318NED", "Breda", nl)
    wijk = dl[dl["niveau"] == "wijk"]
    assert set(wijk["code"]) == set(table["code"]) and (dl["jaar"] == 2022).all()
    centre = wijk[wijk["code"] == "WK075800"].set_index("indicator_id")
    assert centre.loc["vestigingen", "waarde"] == 3475
    assert centre.loc["vestigingen_per_km2", "waarde"] == 1738  # rounded to its 0 decimals
    assert centre.loc["aandeel_handel_horeca", "eenheid"] == "%"
    gm = dl[dl["niveau"] == "gemeente (alle wijken)"].set_index("indicator_id")
    assert gm.loc["vestigingen", "waarde"] == 26415
    land = dl[dl["niveau"] == "Nederland (alle wijken)"].set_index("indicator_id")
    assert "vestigingen" not in land.index  # a count says nothing beside a gemeente's
    assert land.loc["vestigingen_per_km2", "waarde"] == 68
    # an imprecise figure says so in its own row
    small = wijken.wijk_table(wijk_rows, info, "GM0096", 2022)  # Vlieland: 1 small wijk
    dv = wijken.download_frame(info, small, wijken.groups(wijk_rows, info, small, None),
                               "85318NED", "Vlieland")
    flagged = dv.set_index("indicator_id")["kwaliteit"]
    assert (flagged == "onnauwkeurig").any()  # e.g. a sector share of a few businesses
    assert (flagged[[c for c in flagged.index if small[f"{c}__imprecise"].iloc[0]]]
            == "onnauwkeurig").all()


def test_the_dashboards_briefing_has_the_kernen_paragraph_too(real_data):
    """The PDF a wethouder downloads from the dashboard is built from the same source as the
    command line's: with the wijk rows and the herindelingen."""
    from dashboard.core import briefing  # noqa: PLC0415
    from dashboard.ui import data as dataio  # noqa: PLC0415

    sid = snapshot.load_snapshot(real_data).id
    src = dataio._briefing_source(str(real_data.resolve()), sid)
    assert src.wijk_rows is not None and src.region_history is not None
    assert briefing.content(src, "GM0758", charts=False)["kernen"]["text"].startswith(
        "11 wijken (CBS-wijkcijfers 2022")


def test_the_source_line_names_a_wijk_map_only_where_one_is_shown(real_data, monkeypatch):
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM0758", wijkjaar="2021")
    assert "Kerncijfers wijken en buurten 2021 (tabel 85039NED)" in texts(at)
    assert "wijk- en buurtkaart 2021" not in texts(at)  # no 2021 wijk map in this snapshot
    at = run_app(real_data, monkeypatch, "wijken", gemeente="GM0758")
    assert "wijkgrenzen: CBS wijk- en buurtkaart 2022" in texts(at)
