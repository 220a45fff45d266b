"""Wijk rows of the KWB (pipelines/wijken.py): tidy frame, contracts, continuity across years."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines import catalog, snapshot, wijken
from tests.support.paths import SHARED_CBS, require_shared

KWB_CSV = SHARED_CBS / "kwb_wijk" / "kwb_2021_2022_capybara.csv"
WIJK = catalog.load().wijken  # the real catalogue's wijk section
STEPS = wijken.steps(WIJK)  # rounding from the catalogue only (counts per wijk to 5)


def _rows(code="WK075800", name="Centrum", total="100", area="50", **extra):
    row = {"WijkenEnBuurten": code, "Naam": name, "BedrijfsvestigingenTotaal": total,
           "OppervlakteLand": area, "AantalInwoners": "1000"}
    row.update(extra)
    return row


def test_gemeente_of_wijk_code():
    assert wijken.gemeente_of("WK075800") == "GM0758"
    with pytest.raises(wijken.WijkError):
        wijken.gemeente_of("GM0758")


def test_tidy_keeps_wijken_only_and_marks_rounded_small_counts():
    rows = [{"WijkenEnBuurten": "GM0758", "Naam": "Breda", "AantalInwoners": "5"},
            _rows(), _rows("WK075801", "Klein", total="20", AantalInwoners="")]
    df = wijken.tidy(rows, 2022, "85318NED", {"GM0758": "Breda"}, STEPS)
    snapshot.WIJK_OBSERVATIONS.check(df)
    assert set(df["region_code"]) == {"WK075800", "WK075801"}
    assert set(df["gemeente_name"]) == {"Breda"}
    # missing inwoners left out, never 0
    assert not ((df["region_code"] == "WK075801") & (df["measure"] == "AantalInwoners")).any()
    bedv = df[df["measure"] == "BedrijfsvestigingenTotaal"].set_index("region_code")
    assert bedv.loc["WK075800", "uncertainty"] == 2.5
    assert bedv.loc["WK075801", "quality"] == "onnauwkeurig"  # 2.5 of 20 is more than 10 %
    assert bedv.loc["WK075800", "quality"] == ""


def test_check_rejects_orphans_and_sector_sums_off():
    df = wijken.tidy([_rows()], 2022, "85318NED", {}, STEPS)
    with pytest.raises(wijken.WijkError, match="unknown gemeenten: GM0758"):
        wijken.check(df, {"GM0363"})
    sectors = {s: "10" for s in wijken.SECTORS}  # 8 x 10 = 80 against a total of 200
    bad = wijken.tidy([_rows(total="200", **sectors)], 2022, "85318NED", {}, STEPS)
    with pytest.raises(wijken.WijkError, match="sector groups differ"):
        wijken.check(bad)
    ok = wijken.tidy([_rows(total="80", **sectors)], 2022, "85318NED", {}, STEPS)
    assert wijken.check(ok, {"GM0758"}) == {2022: {"wijken": 1, "gemeenten": 1}}


def test_no_continuous_series_across_a_code_or_boundary_change():
    y21 = wijken.tidy([_rows("WK075800"), _rows("WK075801", area="40"),
                       _rows("WK036300")], 2021, "85039NED", {}, STEPS)
    y22 = wijken.tidy([_rows("WK075800"), _rows("WK075801", area="41"),
                       _rows("WK036399")], 2022, "85318NED", {}, STEPS)
    df = wijken.link_years(pd.concat([y21, y22]))
    cont = df[df["year"] == 2022].groupby("region_code")["continuous"].first()
    assert cont.to_dict() == {"WK036399": False, "WK075800": True, "WK075801": False}
    assert not df[df["year"] == 2021]["continuous"].any()  # nothing before the first year


def test_continuity_follows_cbs_own_indicator_where_the_edition_has_it():
    """IndelingswijzigingGemeenteWijkBuurt = 1: code and boundary unchanged, comparable even
    when CBS re-measured the land area; 3: the boundary changed, not comparable whatever the
    area; a code absent the year before is never continuous."""
    ch = wijken.CHANGE
    y21 = wijken.tidy([_rows("WK075800", area="50"), _rows("WK075801", area="40")], 2021,
                      "85039NED", {}, STEPS)
    y22 = wijken.tidy([_rows("WK075800", area="51", **{ch: "1"}),
                       _rows("WK075801", area="40", **{ch: "3"}),
                       _rows("WK075802", **{ch: "1"})], 2022, "85318NED", {}, STEPS)
    df = wijken.link_years(pd.concat([y21, y22]))
    cont = df[df["year"] == 2022].groupby("region_code")["continuous"].first()
    assert cont.to_dict() == {"WK075800": True, "WK075801": False, "WK075802": False}
    code = df[df["measure"] == ch]
    assert (code["uncertainty"] == 0).all() and (code["quality"] == "").all()  # a code


def test_real_2022_wijken_load_with_their_gemeente():
    require_shared(KWB_CSV)
    path = KWB_CSV
    df = wijken.from_kwb_csv(path, WIJK)
    snapshot.WIJK_OBSERVATIONS.check(df)
    cov = wijken.check(df)
    assert cov[2022] == {"wijken": 3340, "gemeenten": 345}
    y22 = df[df["year"] == 2022]
    assert y22["gemeente_name"].ne("").all()
    # Breda's 11 wijken: vestigingen equal the source CSV
    src = pd.read_csv(path, dtype=str)
    src = src[(src["year"] == "2022") & (src["gwb_code"].str.startswith("WK0758"))]
    want = dict(zip(src["gwb_code"], src["a_bedv"].astype(float), strict=True))
    got = y22[(y22["gemeente_code"] == "GM0758") & (y22["measure"] == wijken.TOTAL)]
    assert len(got) == 11
    assert dict(zip(got["region_code"], got["value"], strict=True)) == want
    # sector groups add up to the total wherever all are given, within the rounding to 5 of
    # each of the 9 counts (CBS rounds each count on its own)
    wide = y22.pivot_table(index="region_code", columns="measure", values="value")
    full = wide.dropna(subset=[wijken.TOTAL, *wijken.SECTORS])
    assert len(full) > 3000
    gap = (full[wijken.SECTORS].sum(axis=1) - full[wijken.TOTAL]).abs()
    assert gap.max() <= 2.5 * (len(wijken.SECTORS) + 1)
    # Voorne aan Zee's predecessors (herindeling 2023) and Amsterdam's old codes: 2022 rows of
    # their own, not linked to any 2024 code; a 2022 wijk new since 2021 is not continuous
    new = set(y22["region_code"]) - set(df[df["year"] == 2021]["region_code"])
    assert new and not y22[y22["region_code"].isin(new)]["continuous"].any()


def _frame(rows, year=2022):
    return wijken.tidy(rows, year, "85318NED", {"GM0758": "Breda"}, STEPS)


def test_indicator_values_per_wijk_and_for_groups_as_one_area():
    """A group is computed from its wijken as one area (ratio of sums; a published rate weighted
    by its count), and the rounding of counts to 5 is carried through: a small wijk's ratio is
    imprecise, the group's is not."""
    rows = [_rows("WK075800", total="3475", area="200", AantalInwoners="15000",
                  GIHandelEnHoreca="940", OnbewoondeWoningen="6", Woningvoorraad="9000"),
            _rows("WK075801", total="20", area="90", AantalInwoners="300",
                  GIHandelEnHoreca="5", OnbewoondeWoningen="2", Woningvoorraad="1000")]
    df = _frame(rows)
    one = wijken.indicator_values(df, WIJK.indicators).set_index(["group", "indicator"])
    assert one.loc[("WK075800", "vestigingen_per_km2"), "value"] == pytest.approx(1737.5)
    assert one.loc[("WK075800", "aandeel_handel_horeca"), "value"] == pytest.approx(
        940 / 3475 * 100)
    # 20 rounded to 5 is 17.5..22.5: per km² 19.4..25 -> more than 10 % either way
    assert one.loc[("WK075801", "vestigingen_per_km2"), "imprecise"]
    assert not one.loc[("WK075800", "vestigingen_per_km2"), "imprecise"]
    # an omgevingsadressendichtheid-like input (neither additive nor weighted): per wijk only
    grp = wijken.indicator_values(df, WIJK.indicators, {"Gemeente": ["WK075800", "WK075801"]}
                                  ).set_index("indicator")
    assert grp.loc["vestigingen_per_km2", "value"] == pytest.approx(3495 / 2.9)  # sum / sum
    assert grp.loc["vestigingen", "value"] == 3495 and grp.loc["vestigingen", "n"] == 2
    # onbewoonde woningen weighted by the woningvoorraad: (6 x 9000 + 2 x 1000) / 10000
    assert grp.loc["onbewoonde_woningen", "value"] == pytest.approx(5.6)
    assert not grp.loc["vestigingen_per_km2", "imprecise"]
    assert "omgevingsadressendichtheid" not in grp.index  # not to be summed or averaged


def test_a_wijk_without_an_input_takes_no_part_in_its_group():
    rows = [_rows("WK075800", total="100", area="100", AantalInwoners="1000"),
            _rows("WK075801", total="100", area="100", AantalInwoners="")]
    grp = wijken.indicator_values(_frame(rows), WIJK.indicators,
                                  {"G": ["WK075800", "WK075801"]}).set_index("indicator")
    assert grp.loc["vestigingen_per_1000_inwoners", "value"] == 100  # only the first wijk
    assert grp.loc["vestigingen_per_1000_inwoners", "n"] == 1
    assert grp.loc["vestigingen_per_km2", "n"] == 2


def test_catalogue_wijk_section_is_validated_with_line_numbers(tmp_path):
    text = catalog.DEFAULT_PATH.read_text(encoding="utf-8")
    broken = text.replace("weight: woningen}", "weight: inwoners}", 1)
    path = tmp_path / "c.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(catalog.CatalogError, match=r"c\.yaml:\d+: wijk indicator "
                                                   r"'onbewoonde_woningen': weight"):
        catalog.load(path)
    path.write_text(text.replace("  map: vestigingen_per_km2", "  map: nergens"), "utf-8")
    with pytest.raises(catalog.CatalogError, match="map must name wijk indicator"):
        catalog.load(path)
    stems = wijken.stems(WIJK)
    assert {"BedrijfsvestigingenTotaal", "OppervlakteLand", "Omgevingsadressendichtheid",
            "GIHandelEnHoreca", "OnbewoondeWoningen"} <= set(stems)
    # CBS rounds business counts and inwoners per wijk to 5; the woningvoorraad is exact
    assert STEPS["BedrijfsvestigingenTotaal"] == STEPS["AantalInwoners"] == 5
    assert STEPS["Woningvoorraad"] is None


def test_real_2021_one_decimal_fields_are_divided_back():
    """The development copy stores 2021's one-decimal fields x10 (its README): the distance to a
    large supermarket comes out in km, as in other years, not ten times too far."""
    require_shared(KWB_CSV)
    df = wijken.from_kwb_csv(KWB_CSV, WIJK)
    km = df[(df["year"] == 2021) & (df["measure"] == "AfstandTotGroteSupermarkt")]["value"]
    assert len(km) > 3000 and 0.5 < km.median() < 3  # km, not 10 x km


def test_one_measure_has_one_rounding_across_wijk_indicators(tmp_path):
    text = catalog.DEFAULT_PATH.read_text(encoding="utf-8")
    # vestigingen per 1.000 inwoners without the rounding the other indicators give the count
    head, tail = text.split("  - id: vestigingen_per_1000_inwoners", 1)
    tail = tail.replace("additive: true, rounding: 5}", "additive: true}", 1)
    path = tmp_path / "c.yaml"
    path.write_text(head + "  - id: vestigingen_per_1000_inwoners" + tail, encoding="utf-8")
    with pytest.raises(catalog.CatalogError, match="BedrijfsvestigingenTotaal has rounding"):
        catalog.load(path)
