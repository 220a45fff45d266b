"""From the frames of ``compute`` to chart specifications (:mod:`spec`). Pure: no drawing.

These are the only functions that decide what a chart shows; the renderers only draw it.
``meta`` is an indicator's manifest entry (a mapping or an object with the same attributes).
"""

from __future__ import annotations

import pandas as pd

from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.core.charts.spec import (
    DEFINITIEF,
    PUBLISHED,
    Area,
    Bar,
    BarChart,
    Dot,
    Line,
    MapChart,
    Measure,
    Point,
    ScatterChart,
    SeriesChart,
)
from dashboard.core.charts.style import HARMONISATION_NOTE


def _get(meta, key: str, default=None):
    return meta.get(key, default) if isinstance(meta, dict) else getattr(meta, key, default)


def measure(meta) -> Measure:
    """The measure of an indicator: its title, unit, decimals and the direction to judge with
    (``presentation.direction``: only rankable indicators with a direction have one)."""
    return Measure(str(_get(meta, "title") or ""), _get(meta, "unit"),
                   int(_get(meta, "decimals") or 0), pr.direction(meta))


def _value(v) -> float | None:
    return None if fmt.is_missing(v) else float(v)


def series_chart(sdf: pd.DataFrame, meta, *, title: str, source: str) -> SeriesChart:
    """``compute.series_frame`` (period, value, status, code, label, role[, harmonisation]) ->
    a line per region, in the order the frame lists them."""
    lines = []
    if not sdf.empty:
        harm = "harmonisation" in sdf.columns
        if "code" not in sdf.columns:
            sdf = sdf.assign(code=sdf["label"])
        for (code, label, role), g in sdf.groupby(["code", "label", "role"], sort=False):
            g = g.sort_values("period")
            quality = g["quality"] if "quality" in g.columns else [""] * len(g)
            points = tuple(
                Point(str(p), _value(v), str(s) if isinstance(s, str) and s else DEFINITIEF,
                      str(h) if harm and isinstance(h, str) and h else PUBLISHED,
                      pr.is_imprecise(q))
                for p, v, s, h, q in zip(g["period"], g["value"], g["status"],
                                         g["harmonisation"] if harm else [None] * len(g),
                                         quality, strict=True))
            lines.append(Line(str(code), str(label), role, points))
    return SeriesChart(title, source, measure(meta), tuple(lines))


def trend(values: list[float], periods: list[str], meta, label: str = "") -> SeriesChart:
    """A gemeente's recent values as a one-line chart (the overview cards' trend line)."""
    points = tuple(Point(str(p), _value(v)) for p, v in zip(periods, values, strict=True))
    return SeriesChart(str(_get(meta, "title") or ""), "", measure(meta),
                       (Line("gemeente", label, "gemeente", points),))


def map_chart(mdf: pd.DataFrame, meta, *, title: str, source: str,
              noun: tuple[str, str] = ("gemeente", "gemeenten")) -> MapChart:
    """``compute.map_frame`` (code, name, value[, harmonisation, quality]) -> every gemeente
    with its value (None: geen gegevens), how it was put on today's boundaries and whether it
    is marked imprecise (then outside the colour scale)."""
    harm = (mdf["harmonisation"].fillna("").astype(str) if "harmonisation" in mdf.columns
            else pd.Series("", index=mdf.index))
    quality = (mdf["quality"].fillna("").astype(str) if "quality" in mdf.columns
               else pd.Series("", index=mdf.index))
    areas = tuple(Area(str(c), str(n), _value(v), HARMONISATION_NOTE.get(h, ""),
                       pr.is_imprecise(q))
                  for c, n, v, h, q in zip(mdf["code"], mdf["name"], mdf["value"], harm, quality,
                                           strict=True))
    return MapChart(title, source, measure(meta), areas, noun=noun)


def bar_chart(df: pd.DataFrame, meta, *, chosen: set[str], title: str, source: str,
              reference: str = "NL01") -> BarChart:
    """Regions (code, label, value) as bars, the highest first and regions without a value
    last; ``chosen`` regions and Nederland (``reference``) are emphasised."""
    rows = df.assign(_v=pd.to_numeric(df["value"], errors="coerce"))
    rows = rows.sort_values("_v", ascending=False, na_position="last", kind="stable")
    bars = tuple(Bar(str(c), str(lab), _value(v),
                     "chosen" if c in chosen else "reference" if c == reference else "")
                 for c, lab, v in zip(rows["code"], rows["label"], rows["_v"], strict=True))
    return BarChart(title, source, measure(meta), bars)


def scatter_chart(df: pd.DataFrame, x_meta, y_meta, *, title: str, source: str,
                  grouped_by: str | None = None) -> ScatterChart:
    """Gemeenten (code, name, x, y, role[, group]) with both values; ``grouped_by`` names what
    ``group`` holds (provincie, grootte) when the points are coloured by it."""
    have = df.dropna(subset=["x", "y"])
    if grouped_by and "group" in have.columns:
        groups = [str(g) if isinstance(g, str) and g else "onbekend" for g in have["group"]]
    else:
        groups = [None] * len(have)
    dots = tuple(Dot(str(c), str(n), float(x), float(y), r, g)
                 for c, n, x, y, r, g in zip(have["code"], have["name"], have["x"], have["y"],
                                             have["role"], groups, strict=True))
    return ScatterChart(title, source, measure(x_meta), measure(y_meta), dots, grouped_by)
