"""Pure steps: region detection across Gebieden editions, periods, formulas, status."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipelines import catalog
from pipelines.regions import RegionError, build_regions, detect_columns, level_of
from pipelines.transform import RawTable, TransformError, evaluate, period_parts, tidy_indicator
from tests.support.cbs_factory import write_gebieden
from tests.support.world import GEMEENTEN


def _gebieden(tmp_path, layout):
    folder = write_gebieden(tmp_path / layout, "95755NED", gemeenten=GEMEENTEN, layout=layout)
    rows = json.loads((folder / "TypedDataSet.json").read_text())["value"]
    props = json.loads((folder / "DataProperties.json").read_text())["value"]
    return rows, props


def test_region_columns_are_found_by_content_in_both_layouts(tmp_path):
    r24, p24 = _gebieden(tmp_path, "2024")
    r20, p20 = _gebieden(tmp_path, "2020")
    c24, c20 = detect_columns(r24, p24, "x"), detect_columns(r20, p20, "x")
    assert c24["CR"] != c20["CR"], "the factory must shift the columns between layouts"
    pd.testing.assert_frame_equal(build_regions(r24, p24, "x"), build_regions(r20, p20, "x"))
    reg = build_regions(r24, p24, "x").set_index("code")
    assert reg.loc["GM0003", "provincie"] == "Fryslân"
    assert reg.loc["PV20", "inwoners"] == 145000
    assert reg.loc["AM02", "level"] == "AM"
    assert reg.loc["GM0004", "urbanity_code"] == "4"


def test_missing_region_columns_are_reported(tmp_path):
    rows, props = _gebieden(tmp_path, "2024")
    for r in rows:
        for k in list(r):
            if isinstance(r[k], str) and r[k].startswith("CR"):
                r[k] = ""
    with pytest.raises(RegionError, match="x: cannot find the Code/Naam columns for CR"):
        build_regions(rows, props, "x")


@pytest.mark.parametrize("key,expected", [
    ("2024JJ00", ("2024", 2024, "jaar")),
    ("2020KW01", ("2020KW01", 2020, "kwartaal")),
    ("2021MM12", ("2021MM12", 2021, "maand")),
])
def test_period_parts(key, expected):
    assert period_parts(key) == expected


def test_bad_period_is_an_error():
    with pytest.raises(TransformError, match="2024"):
        period_parts("2024")


def test_level_of():
    assert level_of("GM0363") == "GM" and level_of("NL01") == "NL" and level_of("PV20") == "PV"
    assert level_of("WK036300") is None and level_of("GMxxxx") is None


def test_formula_division_by_zero_is_missing_not_infinite():
    a = pd.Series([1.0, 2.0, np.nan])
    b = pd.Series([0.0, 4.0, 1.0])
    out = evaluate("a / b * 100", {"a": a, "b": b})
    assert np.isnan(out[0]) and out[1] == 50.0 and np.isnan(out[2])
    assert evaluate("-(a - b)", {"a": a, "b": b})[1] == 2.0


def _raw(table, rows, statuses, measures=("M_1",), dims=None):
    ent = {"TypedDataSet": rows,
           "Perioden": [{"Key": k, "Status": s} for k, s in statuses.items()],
           "DataProperties": [{"Key": m, "Type": "Topic"} for m in measures]}
    for d, keys in (dims or {}).items():
        ent[d] = [{"Key": k} for k in keys]
    return RawTable(table, ent)


def _ind(text_inputs: str, formula: str, levels=("GM",)):
    import yaml

    spec = {"id": "x", "theme": "mkb_innovatie", "title": "x", "description": "x",
            "unit": "aantal", "kind": "size", "higher_is_better": True, "levels": list(levels),
            "inputs": yaml.safe_load(text_inputs), "formula": formula}
    tables = {t: catalog.Table(t, t, True, "", "yearly", 0) for t in ("11111NED", "22222NED")}
    return catalog._indicator(spec, tables, 1)


def test_derived_status_is_the_least_final_of_its_inputs():
    a = _raw("11111NED", [{"RegioS": "GM0001", "Perioden": "2023JJ00", "M_1": 10}],
             {"2023JJ00": "Definitief"})
    b = _raw("22222NED", [{"RegioS": "GM0001", "Perioden": "2023JJ00", "M_1": 4}],
             {"2023JJ00": "NaderVoorlopig"})
    ind = _ind("{a: {table: 11111NED, measure: M_1}, b: {table: 22222NED, measure: M_1}}", "a / b")
    out = tidy_indicator(ind, {"11111NED": a, "22222NED": b})
    assert out.iloc[0]["status"] == "Nader voorlopig" and out.iloc[0]["value"] == 2.5
    assert out.iloc[0]["cbs_table"] == "11111NED+22222NED"


def test_missing_dimension_filter_is_caught_as_duplicate_rows():
    rows = [{"RegioS": "GM0001", "Perioden": "2023JJ00", "Sbi": s, "M_1": 1} for s in ("A", "B")]
    raw = _raw("11111NED", rows, {"2023JJ00": "Definitief"}, dims={"Sbi": ["A", "B"]})
    ind = _ind("{a: {table: 11111NED, measure: M_1}}", "a")
    with pytest.raises(TransformError, match="more than one row for GM0001 2023JJ00"):
        tidy_indicator(ind, {"11111NED": raw})


def test_measure_missing_from_dataproperties_names_table_and_indicator():
    raw = _raw("11111NED", [], {}, measures=("Other_2",))
    ind = _ind("{a: {table: 11111NED, measure: M_1}}", "a")
    with pytest.raises(TransformError, match="11111NED: measure 'M_1' \\(indicator x\\)"):
        tidy_indicator(ind, {"11111NED": raw})


def test_a_lagged_input_compares_a_year_with_the_year_before():
    rows = [{"RegioS": "GM0001", "Perioden": f"{y}JJ00", "M_1": v}
            for y, v in ((2021, 100.0), (2022, 110.0), (2023, 99.0))]
    raw = _raw("11111NED", rows, {f"{y}JJ00": "Definitief" for y in (2021, 2022, 2023)})
    ind = _ind("{nu: {table: 11111NED, measure: M_1}, "
               "vorig: {table: 11111NED, measure: M_1, lag: 1}}", "(nu - vorig) / vorig * 100")
    out = tidy_indicator(ind, {"11111NED": raw}).set_index("period")["value"]
    # 2021 has no year before it: no value (never 0); 2024 would have no "nu": no row either
    assert list(out.index) == ["2022", "2023"]
    assert out["2022"] == pytest.approx(10.0) and out["2023"] == pytest.approx(-10.0)
    assert "(t-1)" in ind.measure_label


def test_lag_needs_yearly_periods_and_a_whole_number():
    rows = [{"RegioS": "GM0001", "Perioden": "2023KW01", "M_1": 1.0}]
    raw = _raw("11111NED", rows, {"2023KW01": "Definitief"})
    ind = _ind("{nu: {table: 11111NED, measure: M_1}, "
               "vorig: {table: 11111NED, measure: M_1, lag: 1}}", "nu - vorig")
    with pytest.raises(TransformError, match="lag 1, which needs yearly periods"):
        tidy_indicator(ind, {"11111NED": raw})
    for bad in ("-1", "1.5", "true", "11"):
        with pytest.raises(ValueError, match="lag of input 'vorig' must be a whole number"):
            _ind("{nu: {table: 11111NED, measure: M_1}, "
                 f"vorig: {{table: 11111NED, measure: M_1, lag: {bad}}}}}", "nu - vorig")
