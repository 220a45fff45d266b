"""How precise a published figure is, from the rounding of its inputs (pure: no network, no disk).

CBS rounds what it publishes: many counts are "x 1 000" with 0 or 1 decimals (DataProperties
``Unit`` and ``Decimals``; v4 ``MeasureCodes`` likewise), business counts per wijk to 5, the
leegstand monitor's counts to 10. A value ``v`` rounded to a step ``s`` only says the true value
lies in ``[v - s/2, v + s/2]``. A figure computed from rounded inputs inherits that: 1 (x 1 000)
werkenden of whom 0 (x 1 000) zelfstandigen is anything from 0 % to 100 %, and for 135 of 342
gemeenten the rounding alone moves such a share by more than 25 %.

So every figure gets the half-width of the interval its inputs allow (interval arithmetic over
the catalogue formula: +, -, *, / on [lo, hi] bounds; a division by an interval that contains 0
has no bound). A figure whose half-width exceeds the indicator's bound is *onnauwkeurig*
(:func:`imprecise`): the snapshot and the export carry it as a quality mark, and the dashboard,
the briefing and the exports never rank it, colour it, put it in a peer median or call it a
movement. A change between two periods smaller than their rounding together is "gelijk binnen de
afronding" (:func:`within_rounding`).

The bound (catalogue ``precision:``, defaults in :data:`DEFAULTS`): the half-width may be at most
``max_uncertainty_pct`` percent of the value, and a half-width below half the shown precision
(``0.5 * 10**-decimals``) never counts (a growth of 0,1 % from exact counts is not imprecise just
because it is close to zero).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .catalog import parse_formula

DEFAULTS = {"max_uncertainty_pct": 10.0}
QUALITY_IMPRECISE = "onnauwkeurig"


def rounding_step(prop: Mapping | None, scale: float = 1.0, override: float | None = None
                  ) -> float | None:
    """The rounding step of a measure in the catalogue's units: ``override`` (the catalogue's
    ``rounding:``, for rounding CBS describes only in words, e.g. counts per wijk to 5) times
    ``scale``, else ``10 ** -Decimals`` times ``scale`` (a "x 1 000" measure with 0 decimals and
    ``scale: 1000`` is rounded to 1 000). None when the metadata does not say, and for a count
    of whole things (Unit "aantal", 0 decimals): that is exact, not rounded."""
    if override is not None:
        return float(override) * scale
    if not prop:
        return None
    dec = prop.get("Decimals")
    try:
        dec = int(dec)
    except (TypeError, ValueError):
        return None
    unit = str(prop.get("Unit") or "").strip().lower()
    if dec == 0 and unit in ("aantal", "personen"):
        return None  # a count of whole things is exact: no rounding to speak of
    return 10.0 ** -dec * scale


def interval(value: pd.Series, step: float | None, counts: bool) -> tuple[pd.Series, pd.Series]:
    """The bounds a rounded value allows: value -/+ step/2; a count is never below 0. With no
    known step the value is taken as exact."""
    half = 0.0 if step is None else step / 2
    lo, hi = value - half, value + half
    if counts:
        lo = lo.clip(lower=0)
    return lo, hi


_OPS = {ast.Add, ast.Sub, ast.Mult, ast.Div}


def bounds(formula: str, lows: Mapping[str, pd.Series], highs: Mapping[str, pd.Series]
           ) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi] of ``formula`` over aligned interval inputs (interval arithmetic), as arrays in
    the inputs' order. A division by an interval that contains 0 gives (-inf, inf): no bound."""
    lows = {k: np.asarray(v, dtype="float64") for k, v in lows.items()}
    highs = {k: np.asarray(v, dtype="float64") for k, v in highs.items()}

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            (al, ah), (bl, bh) = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return al + bl, ah + bh
            if isinstance(node.op, ast.Sub):
                return al - bh, ah - bl
            if isinstance(node.op, ast.Mult):
                return _span(al * bl, al * bh, ah * bl, ah * bh)
            with np.errstate(divide="ignore", invalid="ignore"):
                lo, hi = _span(al / bl, al / bh, ah / bl, ah / bh)
            spans_zero = (bl <= 0) & (bh >= 0)
            return np.where(spans_zero, -np.inf, lo), np.where(spans_zero, np.inf, hi)
        if isinstance(node, ast.UnaryOp):
            lo, hi = ev(node.operand)
            return (-hi, -lo) if isinstance(node.op, ast.USub) else (lo, hi)
        if isinstance(node, ast.Name):
            return lows[node.id], highs[node.id]
        if isinstance(node, ast.Constant):
            return np.float64(node.value), np.float64(node.value)
        raise ValueError(f"unsupported formula element {type(node).__name__}")

    with np.errstate(invalid="ignore"):
        lo, hi = ev(parse_formula(formula))
    return np.asarray(lo, dtype="float64"), np.asarray(hi, dtype="float64")


def _span(*xs):
    lo = hi = xs[0]
    for x in xs[1:]:
        lo, hi = np.fmin(lo, x), np.fmax(hi, x)
    return lo, hi


def half_width(lo, hi):
    """Half the width of [lo, hi] (inf when unbounded; NaN where a bound is NaN)."""
    with np.errstate(invalid="ignore"):
        return (hi - lo) / 2


def imprecise(value, uncertainty, decimals: int, max_uncertainty_pct: float) -> pd.Series:
    """True where the rounding of the inputs allows more than ``max_uncertainty_pct`` % of the
    value either way (and more than half the shown precision). NaN uncertainty (unknown
    rounding) is not imprecise: nothing is claimed that the metadata does not say."""
    value = pd.Series(value, dtype="float64")
    unc = pd.Series(uncertainty, dtype="float64", index=value.index)
    floor = 0.5 * 10.0 ** -int(decimals or 0)
    limit = np.maximum(value.abs() * max_uncertainty_pct / 100, floor)
    return (unc > limit + 1e-12).fillna(False)


def within_rounding(change, uncertainty_now, uncertainty_before) -> bool:
    """A change between two periods that their rounding together can explain ("gelijk binnen de
    afronding"). False when an uncertainty is unknown."""
    if change is None or uncertainty_now is None or uncertainty_before is None:
        return False
    if any(pd.isna(x) for x in (change, uncertainty_now, uncertainty_before)):
        return False
    return abs(float(change)) <= float(uncertainty_now) + float(uncertainty_before) + 1e-12
