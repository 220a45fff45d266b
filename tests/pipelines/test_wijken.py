"""Wijk rows of the KWB (pipelines/wijken.py): tidy frame, contracts, continuity across years."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines import snapshot, wijken
from tests.support.paths import SHARED_CBS, require_shared

KWB_CSV = SHARED_CBS / "kwb_wijk" / "kwb_2021_2022_capybara.csv"


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
    df = wijken.tidy(rows, 2022, "85318NED", {"GM0758": "Breda"})
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
    df = wijken.tidy([_rows()], 2022, "85318NED", {})
    with pytest.raises(wijken.WijkError, match="unknown gemeenten: GM0758"):
        wijken.check(df, {"GM0363"})
    sectors = {s: "10" for s in wijken.SECTORS}  # 8 x 10 = 80 against a total of 200
    bad = wijken.tidy([_rows(total="200", **sectors)], 2022, "85318NED", {})
    with pytest.raises(wijken.WijkError, match="sector groups differ"):
        wijken.check(bad)
    ok = wijken.tidy([_rows(total="80", **sectors)], 2022, "85318NED", {})
    assert wijken.check(ok, {"GM0758"}) == {2022: {"wijken": 1, "gemeenten": 1}}


def test_no_continuous_series_across_a_code_or_boundary_change():
    y21 = wijken.tidy([_rows("WK075800"), _rows("WK075801", area="40"),
                       _rows("WK036300")], 2021, "85039NED", {})
    y22 = wijken.tidy([_rows("WK075800"), _rows("WK075801", area="41"),
                       _rows("WK036399")], 2022, "85318NED", {})
    df = wijken.link_years(pd.concat([y21, y22]))
    cont = df[df["year"] == 2022].groupby("region_code")["continuous"].first()
    assert cont.to_dict() == {"WK036399": False, "WK075800": True, "WK075801": False}
    assert not df[df["year"] == 2021]["continuous"].any()  # nothing before the first year


def test_real_2022_wijken_load_with_their_gemeente():
    require_shared(KWB_CSV)
    path = KWB_CSV
    df = wijken.from_kwb_csv(path)
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
