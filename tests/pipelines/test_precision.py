"""Rounding uncertainty (pipelines/precision.py): interval arithmetic over the catalogue's
formulas, checked against bounds computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipelines import precision


def series(*xs: float) -> pd.Series:
    return pd.Series(xs, dtype="float64")


def test_the_rounding_step_comes_from_the_metadata_or_the_catalogue():
    assert precision.rounding_step({"Unit": "x 1 000", "Decimals": 0}, scale=1000) == 1000
    assert precision.rounding_step({"Unit": "x 1 000", "Decimals": 1}, scale=1000) == 100
    assert precision.rounding_step({"Unit": "%", "Decimals": 1}) == pytest.approx(0.1)
    assert precision.rounding_step({"Unit": "aantal"}) is None  # unknown: taken as exact
    assert precision.rounding_step({"Unit": "aantal", "Decimals": 0}) is None  # an exact count
    assert precision.rounding_step({"Unit": "aantal", "Decimals": 1}) == pytest.approx(0.1)
    assert precision.rounding_step(None, override=5) == 5  # counts per wijk: to 5
    assert precision.rounding_step({"Decimals": 0}, scale=1, override=10) == 10


def test_an_interval_is_half_a_step_either_way_and_a_count_never_below_zero():
    lo, hi = precision.interval(series(0.0, 15_000.0), 1000, counts=True)
    assert lo.tolist() == [0.0, 14_500.0] and hi.tolist() == [500.0, 15_500.0]
    lo, hi = precision.interval(series(-0.3), 0.1, counts=False)
    assert lo.tolist() == pytest.approx([-0.35]) and hi.tolist() == pytest.approx([-0.25])
    lo, hi = precision.interval(series(7.0), None, counts=True)
    assert lo.tolist() == hi.tolist() == [7.0]


def bounds(formula, **inputs):
    """inputs: name=(value, step) -> (lo, hi) as floats."""
    lows, highs = {}, {}
    for name, (v, step) in inputs.items():
        lows[name], highs[name] = precision.interval(series(v), step, counts=True)
    lo, hi = precision.bounds(formula, lows, highs)
    return float(lo[0]), float(hi[0])


def test_sum_and_difference():
    # (15 +- 0.5) + (96 +- 0.5) = [110, 112]; (96 +- 0.5) - (15 +- 0.5) = [80, 82]
    assert bounds("a + b", a=(15, 1), b=(96, 1)) == (110, 112)
    assert bounds("b - a", a=(15, 1), b=(96, 1)) == (80, 82)


def test_share_of_rounded_thousands():
    # Breda: 15 of 96 (x 1 000) zelfstandigen: [14.5/96.5, 15.5/95.5] * 100
    lo, hi = bounds("z / w * 100", z=(15_000, 1000), w=(96_000, 1000))
    assert lo == pytest.approx(14.5 / 96.5 * 100) and hi == pytest.approx(15.5 / 95.5 * 100)
    # Vlieland: 0 of 1 (x 1 000): anything from 0 % to 100 %
    lo, hi = bounds("z / w * 100", z=(0, 1000), w=(1000, 1000))
    assert (lo, hi) == (0.0, 100.0)


def test_per_1000_inwoners_of_rounded_counts():
    # banen 0.7 (x 1 000, 1 decimal) per 1 (x 1 000, 0 decimals) inwoners
    lo, hi = bounds("banen / inwoners * 1000", banen=(700, 100), inwoners=(1000, 1000))
    assert lo == pytest.approx(650 / 1500 * 1000) and hi == pytest.approx(750 / 500 * 1000)


def test_a_denominator_that_may_be_zero_has_no_bound():
    lo, hi = bounds("a / b", a=(3, 1), b=(0, 1))
    assert math.isinf(lo) and math.isinf(hi)
    unc = precision.half_width(np.array([lo]), np.array([hi]))
    assert precision.imprecise(series(3.0), unc, 1, 10).tolist() == [True]


def test_growth_of_exact_counts_is_precise_even_near_zero():
    lo, hi = bounds("(nu - vorig) / vorig * 100", nu=(29_333, 1), vorig=(29_330, 1))
    value = (29_333 - 29_330) / 29_330 * 100  # 0,01 %
    unc = (hi - lo) / 2
    assert unc < 0.01
    # 0,01 % +- 0,003: far more than 10 % of the value, but below half the shown step (0,05)
    assert precision.imprecise(series(value), series(unc), 1, 10).tolist() == [False]


def test_the_bound_marks_only_what_rounding_makes_meaningless():
    value = series(15.5, 0.0, 70.0)
    unc = series(0.6, 50.0, 8.0)  # Breda, Vlieland, a small gemeente
    assert precision.imprecise(value, unc, 1, 10).tolist() == [False, True, True]
    assert precision.imprecise(value, unc, 1, 20).tolist() == [False, True, False]
    assert precision.imprecise(value, series(float("nan"), 1, 1), 1, 10).tolist() == [
        False, True, False]  # unknown rounding claims nothing


def test_a_change_within_the_rounding_is_no_change():
    assert precision.within_rounding(1.0, 0.6, 0.6)  # 15 -> 16 thousand: one rounding step
    assert not precision.within_rounding(2.0, 0.6, 0.6)
    assert not precision.within_rounding(0.1, None, 0.6)
