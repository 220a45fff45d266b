"""A small trend line for the overview cards as an inline SVG with a Dutch text alternative.

Streamlit's own metric sparkline (Vega) has no text alternative (axe svg-img-alt) and labels its
points "x: 0; y: 13.8888888889". This one is an image whose ``alt`` (and the SVG's own ``<title>``)
says the same as the line: first and last period and value, lowest and highest. Pure: no
streamlit import.
"""

from __future__ import annotations

import base64
from html import escape

from dashboard.core import format as fmt

WIDTH, HEIGHT, PAD = 240, 36, 3
COLOUR = "#01689b"  # the theme's primary colour: 6.1:1 on white (non-text contrast needs 3:1)


def description(values: list[float], periods: list[str], unit: str | None, decimals: int) -> str:
    """'Verloop 2015–2024: van 13,9 naar 15,0; laagste 13,2 (2017), hoogste 15,8 (2019).'"""
    if not values:
        return "Geen verloop beschikbaar."
    v = lambda x: fmt.value(x, unit, decimals, short=True)  # noqa: E731
    first, last = fmt.period(periods[0]), fmt.period(periods[-1])
    if len(values) == 1:
        return f"Alleen {first} bekend: {v(values[0])}."
    lo = min(range(len(values)), key=values.__getitem__)
    hi = max(range(len(values)), key=values.__getitem__)
    return (f"Verloop {first}–{last}: van {v(values[0])} naar {v(values[-1])}; laagste "
            f"{v(values[lo])} ({fmt.period(periods[lo])}), hoogste {v(values[hi])} "
            f"({fmt.period(periods[hi])}).")


def svg(values: list[float], periods: list[str], unit: str | None, decimals: int) -> str:
    """The line in a fixed viewBox stretched to the card's width."""
    text = escape(description(values, periods, unit, decimals))
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    pts = [(PAD + i * step, HEIGHT - PAD - (x - lo) / span * (HEIGHT - 2 * PAD))
           for i, x in enumerate(values)]
    if hi == lo:
        pts = [(x, HEIGHT / 2) for x, _ in pts]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{text}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none">'
            f"<title>{text}</title>"
            f'<polyline points="{line}" fill="none" stroke="{COLOUR}" stroke-width="2" '
            f'vector-effect="non-scaling-stroke"/></svg>')


def img(values: list[float], periods: list[str], unit: str | None, decimals: int) -> str:
    """The SVG as an ``<img>`` with the same sentence as ``alt`` (st.html's sanitiser keeps an
    image with a data URI but drops inline SVG)."""
    data = base64.b64encode(svg(values, periods, unit, decimals).encode()).decode()
    alt = escape(description(values, periods, unit, decimals))
    return (f'<img src="data:image/svg+xml;base64,{data}" alt="{alt}" '
            f'style="width:100%;height:{HEIGHT}px;display:block">')
