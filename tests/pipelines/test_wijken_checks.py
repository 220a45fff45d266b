"""Plausibility of the wijk rows (pipelines/checks.py ``wijk_plausibility``): a new fetch of the
KWB wijk rows held against the published ones, per year: coverage per gemeente and values that
jump, judged per year, per gemeente and per wijk as the gemeente tables are."""

from __future__ import annotations

import pandas as pd

from pipelines import catalog, checks, snapshot, wijken
from tests.support.paths import SHARED_CBS, require_shared

KWB_CSV = SHARED_CBS / "kwb_wijk" / "kwb_2021_2022_capybara.csv"
WIJK = catalog.load().wijken  # the real catalogue's wijk section
TABLE = "85318NED"
GEMEENTEN = {"GM0758": "Breda", "GM0363": "Amsterdam"}
INW, VEST = "AantalInwoners", "BedrijfsvestigingenTotaal"


def _frame(values: dict[tuple[str, str], float], year: int = 2022, table: str = TABLE,
           continuous: bool = False) -> pd.DataFrame:
    """Wijk rows as the snapshot holds them: {(wijk code, measure stem): value}; business counts
    rounded to 5 (half-width 2,5, onnauwkeurig above 10 % of the value, as ``wijken.tidy``)."""
    rows = []
    for (code, m), v in values.items():
        gm = "GM" + code[2:6]
        unc = 2.5 if m == VEST else 0.0
        rows.append({"region_code": code, "region_name": f"Wijk {code[-2:]}",
                     "gemeente_code": gm, "gemeente_name": GEMEENTEN[gm], "year": year,
                     "measure": m, "value": float(v), "uncertainty": unc,
                     "quality": "onnauwkeurig" if unc > 0.1 * v else "", "cbs_table": table,
                     "continuous": continuous})
    df = pd.DataFrame(rows)
    snapshot.WIJK_OBSERVATIONS.check(df)
    return df


def _base() -> dict[tuple[str, str], float]:
    """Six wijken in each of two gemeenten, inwoners and vestigingen of realistic sizes."""
    out = {}
    for g, gm in enumerate(GEMEENTEN):
        for i in range(6):
            code = f"WK{gm[2:]}{i:02d}"
            out[(code, INW)] = 1000 + 700 * i + 300 * g
            out[(code, VEST)] = 100 + 85 * i + 40 * g
    return out


def _scaled(values: dict, factor: float, gemeente: str | None = None) -> dict:
    return {k: v * factor if gemeente is None or k[0][2:6] == gemeente[2:] else v
            for k, v in values.items()}


def test_same_rows_and_no_published_rows_are_plausible():
    base = _frame(_base())
    assert checks.wijk_plausibility(base, base) == []
    assert checks.wijk_plausibility(base, None) == []
    assert checks.wijk_plausibility(base, base.iloc[0:0]) == []


def test_a_year_served_x1000_is_rejected_naming_the_year_and_table():
    old = _frame(_base())
    found = checks.wijk_plausibility(_frame(_scaled(_base(), 1000)), old)
    assert [f.rule for f in found] == ["value_jumps"]
    f = found[0]
    assert (f.table, f.subject) == (TABLE, "wijken 2022")
    assert str(f).startswith("wijken 2022: year 2022: 24 of 24 values jump")
    assert f.periods == ({"period": "2022", "jumps": 24, "compared": 24},)
    assert f.record()["examples"][0]["new"] == 1000 * f.record()["examples"][0]["old"]


def test_one_gemeentes_wijken_x1000_are_rejected_naming_the_gemeente():
    old = _frame(_base())
    found = checks.wijk_plausibility(_frame(_scaled(_base(), 1000, "GM0363")), old)
    assert [f.rule for f in found] == ["value_jumps"]
    text = str(found[0])
    assert "GM0363 Amsterdam (12 of 12)" in text
    assert "Breda" not in text  # the other gemeente is fine
    assert {r["region"] for r in found[0].regions} >= {"GM0363"}


def test_a_single_wijk_unit_slip_is_rejected_naming_the_wijk():
    values = _base()
    values[("WK075803", INW)] *= 1000  # inwoners read in thousands once
    found = checks.wijk_plausibility(_frame(values), _frame(_base()))
    assert [f.rule for f in found] == ["value_jumps"]
    assert "1 wijk(en) a hundredfold off: WK075803 Wijk 03" in str(found[0])
    assert "GM0758" not in str(found[0]).split(";")[0]  # 1 of 12: the gemeente itself is fine


def test_a_gemeente_losing_its_wijken_is_named_with_the_year():
    old = _frame(_base())
    new = old[old["gemeente_code"] != "GM0363"]
    found = checks.wijk_plausibility(new, old)
    rules = {f.rule: f for f in found}
    assert set(rules) == {"rows", "coverage"}  # half the rows gone, too
    assert "GM0363 Amsterdam: no wijken, had 6" in str(rules["coverage"])
    assert str(rules["coverage"]).startswith("wijken 2022:")
    assert "12 rows, was 24 wijk rows" in str(rules["rows"])


def test_fewer_wijken_with_a_business_total_is_a_coverage_finding():
    old = _frame(_base())
    gone = {"WK075801", "WK075802"}  # 4 of 6 Breda wijken keep a total: a 33 % drop
    new = old[~(old["region_code"].isin(gone) & (old["measure"] == VEST))]
    found = checks.wijk_plausibility(new, old)
    assert [f.rule for f in found] == ["coverage"]
    assert f"GM0758 Breda: 4 wijken with {VEST}, was 6" in str(found[0])


def test_small_rounded_counts_moving_5_to_15_are_no_alarm():
    old = _base()
    old[("WK075800", VEST)], old[("WK075801", VEST)] = 5, 10
    new = dict(old)
    new[("WK075800", VEST)], new[("WK075801", VEST)] = 15, 35  # revised: x3 and x3.5
    assert checks.wijk_plausibility(_frame(new), _frame(old)) == []
    # a new year against the same wijk's previous year: the same small counts, no alarm ...
    y23 = _frame(new, 2023, "85618NED", continuous=True)
    assert checks.wijk_plausibility(y23, _frame(old)) == []
    # ... but figures of a real size tripling in two wijken of one gemeente are
    big = dict(old)
    big[("WK075800", INW)], big[("WK075801", INW)] = 4 * old[("WK075800", INW)], 3.5 * old[
        ("WK075801", INW)]
    found = checks.wijk_plausibility(_frame(big, 2023, "85618NED", continuous=True),
                                     _frame(old))
    assert [(f.table, f.rule) for f in found] == [("85618NED", "value_jumps")]
    assert "GM0758 Breda (2 of 10)" in str(found[0])  # 5 and 10 vestigingen: imprecise
    assert "2022 -> 2023" in str(found[0])


def test_a_new_year_is_not_held_against_a_wijk_that_is_not_continuous():
    old = _frame(_base())
    new = _frame(_scaled(_base(), 1000), 2023, "85618NED", continuous=False)  # codes reused
    assert checks.wijk_plausibility(new, old) == []


def test_an_honest_revision_of_a_few_wijken_passes():
    new = _base()
    for code, f in (("WK075801", 1.2), ("WK075804", 0.85), ("WK036302", 1.4)):
        new[(code, INW)] = round(new[(code, INW)] * f)
        new[(code, VEST)] = 5 * round(new[(code, VEST)] * f / 5)
    assert checks.wijk_plausibility(_frame(new), _frame(_base())) == []


def test_gemeenten_without_wijken_are_listed_with_name():
    df = _frame(_base())
    assert checks.gemeenten_without_wijken(df, {**GEMEENTEN, "GM0034": "Almere"}) == [
        "GM0034 Almere"]
    assert checks.gemeenten_without_wijken(df, GEMEENTEN) == []


def test_real_wijk_rows_2021_and_2022_raise_no_finding():
    """The development copy's KWB: 2022 against itself and against 2021 (continuous wijken held
    against their 2021 values), and every 2022 gemeente has wijken. The worst gemeente's jump
    share is one value of twenty (5 %, bound 10 %); of ~23,000 compared values 14 jump, all
    onbewoonde woningen percentages, none a hundredfold off."""
    require_shared(KWB_CSV)
    df = wijken.from_kwb_csv(KWB_CSV, WIJK)
    y21, y22 = df[df["year"] == 2021], df[df["year"] == 2022]
    assert y22["continuous"].mean() > 0.5  # the year-on-year comparison really happens
    assert checks.wijk_plausibility(y22, y22) == []
    assert checks.wijk_plausibility(y22, y21) == []
    assert checks.wijk_plausibility(df, y21) == []
    _rows, names = wijken.rows_from_kwb_csv(KWB_CSV, 2022, ())
    assert len(names) == 345
    assert checks.gemeenten_without_wijken(y22, names) == []


def test_a_wijk_code_new_in_a_published_year_is_not_held_against_an_older_year():
    """WK075805 is gone from the published 2022 and back in the new fetch with other figures (a
    renumbering reusing the code): not continuous, so not compared with its 2021 values."""
    old = pd.concat([_frame(_base(), 2021, "85039NED"),
                     _frame({k: v for k, v in _base().items() if k[0] != "WK075805"})])
    new = _base()
    new[("WK075805", INW)] *= 1000
    assert checks.wijk_plausibility(_frame(new), old) == []
    # the same figures for a wijk that is continuous with 2021 are a slip
    found = checks.wijk_plausibility(_frame(new, continuous=True), old)
    assert "WK075805 Wijk 05" in str(found[0])


def test_decimals_of_a_measure_follow_its_rounding():
    """A one-decimal measure (a distance in km, rounded to 0.1) is compared at one decimal: the
    plausibility floor of a whole number would hide every change of a distance."""
    from pipelines.checks import _decimals  # noqa: PLC0415
    rows = pd.DataFrame({"uncertainty": [0.05, 0.05]})
    assert _decimals(rows) == 1
    assert _decimals(pd.DataFrame({"uncertainty": [2.5]})) == 0  # counts rounded to 5
    assert _decimals(pd.DataFrame({"uncertainty": [0.0, None]})) == 0  # exact: whole numbers
