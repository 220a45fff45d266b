"""Static charts drawn on the server as SVG (pure): the time series of the kernthema pages, the
overview's trend lines and the briefing's figures, from the chart specifications of :mod:`spec`
(the map is :mod:`svgmap`, on the same primitives).

Why SVG drawn here rather than a chart library in the browser: a kernthema page then needs no
chart script (Streamlit's Plotly module is 4.7 MB), a gemeente switch swaps one element, the
picture prints and scales to a phone, and the same drawing goes into the PDF briefing. Every
point names its region, period, value and status in a tooltip (``<title>``); provisional figures
have open markers, estimated ones open diamonds, every line its own colour *and* dash or shape,
and the legend says which is which (:mod:`style`). The SVG's accessible name is the chart's
summary sentence (:func:`text.summary`).
"""

from __future__ import annotations

import base64
import html
import math
import textwrap
from dataclasses import dataclass

from dashboard.core import format as fmt
from dashboard.core.charts import style
from dashboard.core.charts.spec import SeriesChart
from dashboard.core.charts.text import period_label

WIDTH = 600  # viewBox units; the SVG scales to its container
TITLE_SIZE, TEXT_SIZE = 26, 20  # viewBox units: ~12 px text when drawn 360 px wide (a phone)


@dataclass(frozen=True)
class Frame:
    """Where and how big: the plot's height in viewBox units, the font family (the briefing
    uses the PDF's own font), whether the source line is drawn inside the picture (a saved or
    printed web chart names its source; the briefing has one credit line for the page)."""

    plot_height: int = 320
    font: str = style.FONT
    with_source: bool = True


WEB = Frame()
PRINT = Frame(plot_height=170, font="DejaVu Sans", with_source=False)


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def svg_open(height: float, label: str, font: str = style.FONT) -> str:
    """The opening tag of a chart SVG: WIDTH wide in viewBox units, scaled to its container,
    with ``label`` (the summary sentence) as its accessible name."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
            f'width="100%" role="img" aria-label="{esc(label)}" '
            f'style="max-width:{WIDTH}px;display:block;font-family:{font}" '
            f'font-family="{esc(font)}">')


def wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False) if text else []


def header(title: str, source: str) -> tuple[list[str], float]:
    """Title and source lines at the top of a chart SVG, and the y where they end."""
    out, y = [], 8.0
    for line in wrap(title, 38):
        y += TITLE_SIZE * 1.25
        out.append(f'<text x="0" y="{y:.0f}" font-size="{TITLE_SIZE}" font-weight="600" '
                   f'fill="{style.TEXT}">{esc(line)}</text>')
    for line in wrap(source, 56):
        y += TEXT_SIZE * 1.3
        out.append(f'<text x="0" y="{y:.0f}" font-size="{TEXT_SIZE}" fill="{style.MUTED}">'
                   f'{esc(line)}</text>')
    return out, y


def text(x: float, y: float, body: str, anchor: str = "start", size: float = TEXT_SIZE,
         fill: str = style.TEXT) -> str:
    a = "" if anchor == "start" else f' text-anchor="{anchor}"'
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}"{a} fill="{fill}">{esc(body)}</text>'


def marker(symbol: str, x: float, y: float, size: float, colour: str) -> str:
    """An SVG shape for a marker symbol ('circle', 'square-open', 'diamond-open', ...)."""
    base = symbol.removesuffix("-open")
    fill = "#ffffff" if symbol.endswith("-open") else colour
    r = size / 2
    paint = f'fill="{fill}" stroke="{colour}" stroke-width="2"'
    if base == "square":
        return (f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{size:.1f}" height="{size:.1f}" '
                f'{paint}/>')
    shape = _SHAPES.get(base)
    if shape is None:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {paint}/>'
    d = " ".join(f"{x + px * r:.1f},{y + py * r:.1f}" for px, py in shape)
    return f'<polygon points="{d}" {paint}/>'


_SHAPES = {
    "diamond": [(0, -1.2), (1.2, 0), (0, 1.2), (-1.2, 0)],
    "triangle-up": [(0, -1.2), (1.1, 0.9), (-1.1, 0.9)],
    "triangle-down": [(0, 1.2), (1.1, -0.9), (-1.1, -0.9)],
    "star": [(math.cos(math.radians(-90 + 36 * i)) * (1.3 if i % 2 == 0 else 0.55),
              math.sin(math.radians(-90 + 36 * i)) * (1.3 if i % 2 == 0 else 0.55))
             for i in range(10)],
    "cross": [(-0.4, -1.1), (0.4, -1.1), (0.4, -0.4), (1.1, -0.4), (1.1, 0.4), (0.4, 0.4),
              (0.4, 1.1), (-0.4, 1.1), (-0.4, 0.4), (-1.1, 0.4), (-1.1, -0.4), (-0.4, -0.4)],
    "x": [(0, -0.5), (0.7, -1.1), (1.1, -0.7), (0.5, 0), (1.1, 0.7), (0.7, 1.1), (0, 0.5),
          (-0.7, 1.1), (-1.1, 0.7), (-0.5, 0), (-1.1, -0.7), (-0.7, -1.1)],
}


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t < hi + step * 0.999:
        ticks.append(round(t, 10))
        t += step
    return ticks


def tick_decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0


def point_tip(chart: SeriesChart, label: str, period: str, value: float, status: str,
              harmonisation: str, imprecise: bool = False) -> str:
    """A point's tooltip: 'Breda, 2024: 4,2% (voorlopig)' (+ '; geschat: ...')."""
    m = chart.measure
    body = fmt.value(value, m.unit, m.decimals)
    if status != "Definitief":
        body += f" ({fmt.status(status)})"
    if imprecise:
        body += ", onnauwkeurig (kleine aantallen)"
    note = style.HARMONISATION_NOTE.get(harmonisation)
    if note:
        body += f"; {note}"
    return f"{label}, {period_label(period)}: {body}"


# --------------------------------------------------------------------------- time series

LEFT, RIGHT = 70, 16


def series(chart: SeriesChart, label: str, frame: Frame = WEB) -> str:
    """The SVG of a time series; ``label``: its accessible name (the summary sentence)."""
    m = chart.measure
    lines = chart.ordered()
    styles = style.line_styles([ln.role for ln in lines])
    periods = chart.periods
    values = chart.values
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if lo >= 0 and chart.zero_based:
        lo = 0.0
    ticks = nice_ticks(lo, hi)
    y0, y1 = ticks[0], ticks[-1]
    dec = tick_decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 0

    heading, end = header(chart.title, chart.source if frame.with_source else "")
    top = end + 50  # room for the unit above the value axis, clear of the top tick label
    legend = [(ln, st) for ln, st in zip(lines, styles, strict=True)]
    legend_top = top + frame.plot_height + TEXT_SIZE * 2.6
    n_legend = len(legend) + (1 if chart.has_estimates else 0)
    total_h = legend_top + TEXT_SIZE * 1.5 * n_legend + 6
    plot_w = WIDTH - LEFT - RIGHT

    def px(i: int) -> float:
        return LEFT + (i + 0.5) * plot_w / max(1, len(periods))

    def py(v: float) -> float:
        return top + frame.plot_height * (1 - (v - y0) / ((y1 - y0) or 1.0))

    out = [svg_open(total_h, label, frame.font), *heading]
    out.append(text(0, top - 22, fmt.unit_label(m.unit)))
    for t in ticks:  # value axis: grid lines with Dutch numbers
        yy = py(t)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" '
                   f'stroke="{style.ZERO if t == 0 else style.GRID}" stroke-width="1"/>')
        out.append(text(LEFT - 8, yy + TEXT_SIZE * 0.35, fmt.number(t, dec), "end"))
    # period axis: every k-th label so they do not overlap; the latest always has its label
    labels = [period_label(p) for p in periods]
    widest = max((len(c) for c in labels), default=4) * TEXT_SIZE * 0.55 + 8
    k = max(1, math.ceil(widest / (plot_w / max(1, len(periods)))))
    base = top + frame.plot_height
    for i, c in enumerate(labels):
        if (len(labels) - 1 - i) % k == 0:
            out.append(text(px(i), base + TEXT_SIZE * 1.3, c, "middle"))
    index = {p: i for i, p in enumerate(periods)}
    # lines, then their markers with a tooltip each (drawn last-first: the gemeente on top)
    for ln, st in reversed(legend):
        dash = style.DASH_ARRAY.get(st.dash, "")
        segs, cur = [], []
        for p in ln.points:
            if p.value is None:
                if cur:
                    segs.append(cur)
                cur = []
                continue
            cur.append(f"{px(index[p.period]):.1f},{py(p.value):.1f}")
        if cur:
            segs.append(cur)
        for seg in segs:
            if len(seg) > 1:
                out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{st.colour}" '
                           f'stroke-width="{st.width:g}" stroke-linejoin="round"'
                           + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        for p in ln.points:
            if p.value is None:
                continue
            sym, size = style.point_marker(st, p)
            tip = point_tip(chart, ln.label, p.period, p.value, p.status, p.harmonisation,
                            p.imprecise)
            out.append(f"<g><title>{esc(tip)}</title>"
                       + marker(sym, px(index[p.period]), py(p.value), size, st.colour) + "</g>")
    # legend: a piece of each line with its marker, and its name
    y = legend_top
    for ln, st in legend:
        dash = style.DASH_ARRAY.get(st.dash, "")
        out.append(f'<line x1="0" x2="34" y1="{y:.1f}" y2="{y:.1f}" stroke="{st.colour}" '
                   f'stroke-width="{st.width:g}"' + (f' stroke-dasharray="{dash}"' if dash else "")
                   + "/>")
        out.append(marker(st.symbol, 17, y, 8, st.colour))
        out.append(text(44, y + TEXT_SIZE * 0.35, ln.label))
        y += TEXT_SIZE * 1.5
    if chart.has_estimates:  # what the open diamonds mean
        out.append(marker("diamond-open", 17, y, 11, "#333333"))
        out.append(text(44, y + TEXT_SIZE * 0.35, style.ESTIMATED_LEGEND))
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- trend line

SPARK_W, SPARK_H, SPARK_PAD = 240, 36, 3


def sparkline_description(chart: SeriesChart) -> str:
    """'Verloop 2015–2024: van 13,9 naar 15,0; laagste 13,2 (2017), hoogste 15,8 (2019).'"""
    m = chart.measure
    pts = chart.lines[0].known if chart.lines else ()
    if not pts:
        return "Geen verloop beschikbaar."

    def v(x: float) -> str:
        return fmt.value(x, m.unit, m.decimals, short=True)

    first, last = fmt.period(pts[0].period), fmt.period(pts[-1].period)
    if len(pts) == 1:
        return f"Alleen {first} bekend: {v(pts[0].value)}."
    lo = min(pts, key=lambda p: p.value)
    hi = max(pts, key=lambda p: p.value)
    return (f"Verloop {first}–{last}: van {v(pts[0].value)} naar {v(pts[-1].value)}; laagste "
            f"{v(lo.value)} ({fmt.period(lo.period)}), hoogste {v(hi.value)} "
            f"({fmt.period(hi.period)}).")


def sparkline_scale(values: list[float]) -> tuple[float, float]:
    """The value range a trend line spans: always from zero (a small change on a large figure
    stays a small slope, as on an axis that starts at 0) to the largest value; a series that
    crosses zero spans both sides."""
    return min(min(values), 0.0), max(max(values), 0.0)


def sparkline(chart: SeriesChart) -> str:
    """The first line of ``chart`` as a small trend line in a fixed viewBox stretched to the
    card's width, its description as the accessible name. The scale starts at zero (a grey
    baseline; :func:`sparkline_scale`): a figure that moves from 15 to 16 moves a fifteenth of
    the height, not all of it."""
    desc = esc(sparkline_description(chart))
    pts = chart.lines[0].known if chart.lines else ()
    values = [p.value for p in pts] or [0.0]
    lo, hi = sparkline_scale(values)
    span = (hi - lo) or 1.0
    step = (SPARK_W - 2 * SPARK_PAD) / max(len(values) - 1, 1)

    def y(v: float) -> float:
        return SPARK_H - SPARK_PAD - (v - lo) / span * (SPARK_H - 2 * SPARK_PAD)

    xy = [(SPARK_PAD + i * step, y(x)) for i, x in enumerate(values)]
    line = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in xy)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{desc}" '
            f'viewBox="0 0 {SPARK_W} {SPARK_H}" preserveAspectRatio="none">'
            f"<title>{desc}</title>"
            f'<line x1="0" x2="{SPARK_W}" y1="{y(0.0):.1f}" y2="{y(0.0):.1f}" '
            f'stroke="{style.ZERO}" stroke-width="1" vector-effect="non-scaling-stroke"/>'
            f'<polyline points="{line}" fill="none" stroke="{style.PRIMARY}" stroke-width="2" '
            f'vector-effect="non-scaling-stroke"/></svg>')


def sparkline_img(chart: SeriesChart) -> str:
    """The trend line as an ``<img>`` with its description as ``alt`` (a data URI: Streamlit's
    HTML sanitiser keeps an image but drops inline SVG), with its first and last period under
    it and the baseline's value (0) at the left, so the line reads as a small chart, not as a
    shape."""
    data = base64.b64encode(sparkline(chart).encode()).decode()
    alt = esc(sparkline_description(chart))
    pts = chart.lines[0].known if chart.lines else ()
    img = (f'<img src="data:image/svg+xml;base64,{data}" alt="{alt}" '
           f'style="width:100%;height:{SPARK_H}px;display:block">')
    if len(pts) < 2:
        return img
    axis = (f'<div aria-hidden="true" style="display:flex;justify-content:space-between;'
            f'font-size:0.75rem;line-height:1.2;color:{style.MUTED}">'
            f"<span>{esc(fmt.period(pts[0].period))}</span>"
            f"<span>schaal vanaf 0</span>"
            f"<span>{esc(fmt.period(pts[-1].period))}</span></div>")
    return f"<div>{img}{axis}</div>"
