"""The time series of a kernthema page as a static SVG (no streamlit), drawn from the plotly
figure ``charts.time_series`` makes (its dict form, ``charts.frozen``), which the text
alternative (``chart_text``) reads as well.

Why: a kernthema page would otherwise need Streamlit's Plotly module (4.7 MB of script) for this
one chart; without it a deep link draws its charts in about the time of a bare Streamlit page, and
a gemeente switch swaps one SVG. Every point names its region, period, value and status in a
tooltip (``<title>``); provisional figures keep their open markers, estimated ones their open
diamonds, every line its own colour *and* dash or marker, the legend says which is which.
"""

from __future__ import annotations

import math

from dashboard.core import format as fmt
from dashboard.core.charts.svgmap import TEXT_SIZE, WIDTH, _esc, header, svg_open
from dashboard.core.charts.text import _get

PLOT_H = 320
LEFT, RIGHT = 70, 16
DASHES = {"solid": "", "dash": "9 5", "dot": "2 4", "dashdot": "9 4 2 4",
          "longdash": "16 6", "longdashdot": "16 5 2 5"}


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
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


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0


def _marker(symbol: str, x: float, y: float, size: float, colour: str) -> str:
    """An SVG shape for a plotly marker symbol ('circle', 'square-open', 'diamond-open', ...)."""
    base = symbol.removesuffix("-open")
    fill = "#ffffff" if symbol.endswith("-open") else colour
    r = size / 2
    paint = f'fill="{fill}" stroke="{colour}" stroke-width="2"'
    if base == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{size:.1f}" height="{size:.1f}" {paint}/>'
    if base in ("diamond", "triangle-up", "triangle-down", "star", "cross", "x"):
        pts = {
            "diamond": [(0, -1.2), (1.2, 0), (0, 1.2), (-1.2, 0)],
            "triangle-up": [(0, -1.2), (1.1, 0.9), (-1.1, 0.9)],
            "triangle-down": [(0, 1.2), (1.1, -0.9), (-1.1, -0.9)],
            "star": [(math.cos(math.radians(-90 + 36 * i)) * (1.3 if i % 2 == 0 else 0.55),
                      math.sin(math.radians(-90 + 36 * i)) * (1.3 if i % 2 == 0 else 0.55))
                     for i in range(10)],
            "cross": [(-0.4, -1.1), (0.4, -1.1), (0.4, -0.4), (1.1, -0.4), (1.1, 0.4),
                      (0.4, 0.4), (0.4, 1.1), (-0.4, 1.1), (-0.4, 0.4), (-1.1, 0.4),
                      (-1.1, -0.4), (-0.4, -0.4)],
            "x": [(0, -0.5), (0.7, -1.1), (1.1, -0.7), (0.5, 0), (1.1, 0.7), (0.7, 1.1),
                  (0, 0.5), (-0.7, 1.1), (-1.1, 0.7), (-0.5, 0), (-1.1, -0.7), (-0.7, -1.1)],
        }[base]
        d = " ".join(f"{x + px * r:.1f},{y + py * r:.1f}" for px, py in pts)
        return f'<polygon points="{d}" {paint}/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {paint}/>'


def _list(value, n: int) -> list:
    """A per-point attribute as a list of ``n``: plotly takes one value for all points too."""
    if value is None or isinstance(value, str | int | float):
        return [value] * n
    return list(value)


def build(spec: dict, label: str) -> str:
    """The SVG of a ``charts.time_series`` figure dict; ``label``: its accessible name (the
    summary sentence)."""
    layout = spec.get("layout") or {}
    meta = layout.get("meta") or {}
    title, source = str(meta.get("title", "")), str(meta.get("source", ""))
    y_title = str(((layout.get("yaxis") or {}).get("title") or {}).get("text") or "")
    traces = []
    for tr in spec.get("data", []):
        xs = [None if v is None else str(v) for v in _list(_get(tr, "x"), 0)]
        ys = [None if fmt.is_missing(v) else float(v) for v in _list(_get(tr, "y"), len(xs))]
        traces.append((tr, xs, ys))
    cats = sorted({x for _, xs, _ in traces for x in xs if x is not None})
    values = [y for _, _, ys in traces for y in ys if y is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if lo >= 0 and ((layout.get("yaxis") or {}).get("rangemode") == "tozero"):
        lo = 0.0
    ticks = _nice_ticks(lo, hi)
    y0, y1 = ticks[0], ticks[-1]
    dec = _decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 0

    heading, end = header(title, source)
    top = end + 36  # room for the unit above the y axis
    named = [t for t in traces if t[0].get("name")]
    legend_top = top + PLOT_H + TEXT_SIZE * 2.6
    total_h = legend_top + TEXT_SIZE * 1.5 * len(named) + 6
    plot_w = WIDTH - LEFT - RIGHT

    def px(i: int) -> float:
        return LEFT + (i + 0.5) * plot_w / max(1, len(cats))

    def py(v: float) -> float:
        return top + PLOT_H * (1 - (v - y0) / ((y1 - y0) or 1.0))

    out = [svg_open(total_h, label), *heading]
    # y axis: grid lines with Dutch numbers, the unit above the axis
    out.append(f'<text x="0" y="{top - 10:.0f}" font-size="{TEXT_SIZE}" fill="#1f1f1f">'
               f'{_esc(y_title)}</text>')
    for t in ticks:
        yy = py(t)
        colour = "#999999" if t == 0 else "#e5e5e5"
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" '
                   f'stroke="{colour}" stroke-width="1"/>')
        out.append(f'<text x="{LEFT - 8}" y="{yy + TEXT_SIZE * 0.35:.1f}" font-size="{TEXT_SIZE}" '
                   f'text-anchor="end" fill="#1f1f1f">{_esc(fmt.number(t, dec))}</text>')
    # x axis: every k-th period, so the labels do not overlap
    widest = max((len(c) for c in cats), default=4) * TEXT_SIZE * 0.55 + 8
    k = max(1, math.ceil(widest / (plot_w / max(1, len(cats)))))
    base = top + PLOT_H
    for i, c in enumerate(cats):
        if (len(cats) - 1 - i) % k == 0:  # the latest period always has its label
            out.append(f'<text x="{px(i):.1f}" y="{base + TEXT_SIZE * 1.3:.1f}" '
                       f'font-size="{TEXT_SIZE}" text-anchor="middle" fill="#1f1f1f">'
                       f'{_esc(c)}</text>')
    index = {c: i for i, c in enumerate(cats)}
    # lines, then their markers with a tooltip each (drawn last-first: the gemeente on top)
    for tr, xs, ys in reversed(traces):
        line = tr.get("line") or {}
        colour = line.get("color") or "#444444"
        dash = DASHES.get(line.get("dash") or "solid", "")
        name = _plain(str(tr.get("name") or ""))
        segs, cur = [], []
        for x, v in zip(xs, ys, strict=True):
            if x is None or v is None:
                if cur:
                    segs.append(cur)
                cur = []
                continue
            cur.append(f"{px(index[x]):.1f},{py(v):.1f}")
        if cur:
            segs.append(cur)
        for seg in segs:
            if len(seg) > 1:
                out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                           f'stroke-width="{line.get("width") or 2}" stroke-linejoin="round"'
                           + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        marker = tr.get("marker") or {}
        symbols = _list(marker.get("symbol") or "circle", len(xs))
        sizes = _list(marker.get("size") or 6, len(xs))
        texts = _list(_get(tr, "customdata") if tr.get("customdata") is not None else None,
                      len(xs))
        for x, v, sym, size, text in zip(xs, ys, symbols, sizes, texts, strict=True):
            if x is None or v is None:
                continue
            tip = str(text).replace("<br>", "; ") if text is not None else fmt.number(v)
            out.append(f"<g><title>{_esc(name)}, {_esc(x)}: {_esc(tip)}</title>"
                       + _marker(str(sym), px(index[x]), py(v), float(size), colour) + "</g>")
    # legend: a piece of each line with its marker, and its name
    y = legend_top
    for tr, _, _ in named:
        line, marker = tr.get("line") or {}, tr.get("marker") or {}
        colour = line.get("color") or marker.get("color") or "#333333"
        dash = DASHES.get(line.get("dash") or "solid", "")
        sym = _list(marker.get("symbol") or "circle", 1)[-1]
        if "lines" in str(tr.get("mode", "lines")):
            out.append(f'<line x1="0" x2="34" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" '
                       f'stroke-width="{line.get("width") or 2}"'
                       + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        out.append(_marker(str(sym).removesuffix("-open") if "lines" in str(tr.get("mode", ""))
                           else str(sym), 17, y, 8, colour))
        out.append(f'<text x="44" y="{y + TEXT_SIZE * 0.35:.1f}" font-size="{TEXT_SIZE}" '
                   f'fill="#1f1f1f">{_esc(_plain(str(tr.get("name"))))}</text>')
        y += TEXT_SIZE * 1.5
    out.append("</svg>")
    return "".join(out)


def _plain(text: str) -> str:
    """Plotly's escaped label text back to plain text (it is escaped again for the SVG)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&#123;", "{").replace(
        "&amp;", "&")

