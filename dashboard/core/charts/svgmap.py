"""The gemeente map as SVG (pure), from a :class:`spec.MapChart` and the boundaries: built once
per snapshot, indicator and period, plus the chosen gemeente's red outline per view (a string
insertion, not a new map).

Why not a map library in the browser: a WebGL map redraws completely whenever anything in it
changes, so every gemeente switch cost the browser a full map; this SVG is drawn by the browser
itself, prints, scales to a phone, names every gemeente in a tooltip (``<title>``) and is the same
element for everyone except the one outline.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from dashboard.core import format as fmt
from dashboard.core.charts import style
from dashboard.core.charts.spec import MapChart
from dashboard.core.charts.svg import TEXT_SIZE, WIDTH, esc, header, svg_open, text

MISSING_COLOR = style.MISSING_COLOR
OUTLINE = style.OUTLINE
IMPRECISE_LABEL = "onnauwkeurig (kleine aantallen)"


@dataclass(frozen=True)
class SvgMap:
    """The shared part of a map: everything but the opening tag (its accessible name names the
    chosen gemeente) and the chosen gemeente's outline."""

    height: float
    head: str
    body: str
    tail: str
    outlines: dict[str, str]  # code -> the outline path of that gemeente (drawn on top)

    def render(self, selected: str | None, label: str) -> str:
        """The map for one view: ``selected`` outlined, ``label`` (that view's summary
        sentence) as its accessible name."""
        return (svg_open(self.height, label) + self.head + self.body
                + self.outlines.get(selected or "", "") + self.tail)


def _rings(geometry: dict) -> list[list[list[float]]]:
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        return list(coords)
    if kind == "MultiPolygon":
        return [ring for poly in coords for ring in poly]
    return []


class _Projection:
    """Equirectangular at the map's middle latitude (close to the Dutch RD grid at this size)."""

    def __init__(self, bounds: tuple[float, float, float, float], width: float):
        lon0, lat0, lon1, lat1 = bounds
        self.k = math.cos(math.radians((lat0 + lat1) / 2))
        self.lon0, self.lat1 = lon0, lat1
        self.scale = width / max((lon1 - lon0) * self.k, 1e-9)
        self.height = (lat1 - lat0) * self.scale

    def path(self, geometry: dict) -> str:
        parts = []
        for ring in _rings(geometry):
            pts = []
            last = None
            for lon, lat, *_ in ring:
                p = (round((lon - self.lon0) * self.k * self.scale, 1),
                     round((self.lat1 - lat) * self.scale, 1))
                if p != last:
                    pts.append(f"{p[0]:g} {p[1]:g}")
                    last = p
            if len(pts) >= 3:
                parts.append("M" + "L".join(pts) + "Z")
        return "".join(parts)


def _hex(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def colour_at(stops: tuple[str, ...], t: float) -> str:
    """The colour at ``t`` (0..1) on a scale of evenly spaced stops (linear in RGB)."""
    t = min(1.0, max(0.0, t))
    pos = t * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    a, b = _hex(stops[i]), _hex(stops[i + 1])
    f = pos - i
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b, strict=True))


def tip(value_text: str, note: str) -> str:
    return value_text + (f"; {note}" if note else "")


def build(chart: MapChart, features: dict[str, dict],
          bounds: tuple[float, float, float, float]) -> SvgMap:
    """The SVG of a map for all views (see :meth:`SvgMap.render`); gemeenten without a
    boundary in ``features`` are left out of the picture (never of the table)."""
    proj = _Projection(bounds, WIDTH)
    m = chart.measure
    have, missing = chart.with_value, chart.without_value
    body, outlines = [], {}
    lo = hi = None
    stops = style.map_scale(m.direction)
    if have:
        lo, hi = min(a.value for a in have), max(a.value for a in have)
        span = (hi - lo) or 1.0
        for a in have:
            d = proj.path(features[a.code]["geometry"]) if a.code in features else ""
            if not d:
                continue
            t = tip(fmt.value(a.value, m.unit, m.decimals), a.note)
            body.append(f'<path d="{d}" fill="{colour_at(stops, (a.value - lo) / span)}">'
                        f"<title>{esc(a.name)}: {esc(t)}</title></path>")
            outlines[a.code] = _outline(d, a.name, t)
    for a in missing:
        d = proj.path(features[a.code]["geometry"]) if a.code in features else ""
        if not d:
            continue
        body.append(f'<path d="{d}" fill="{MISSING_COLOR}"><title>{esc(a.name)}: '
                    f"{fmt.MISSING}</title></path>")
        outlines[a.code] = _outline(d, a.name, fmt.MISSING)
    vague = chart.imprecise  # a value, but too uncertain to colour: hatched, with its words
    hatch = "arcering-" + hashlib.sha1(chart.title.encode()).hexdigest()[:8]
    for a in vague:
        d = proj.path(features[a.code]["geometry"]) if a.code in features else ""
        if not d:
            continue
        t = tip(f"{fmt.value(a.value, m.unit, m.decimals)}, {IMPRECISE_LABEL}", a.note)
        body.append(f'<path d="{d}" fill="url(#{hatch})"><title>{esc(a.name)}: {esc(t)}'
                    "</title></path>")
        outlines[a.code] = _outline(d, a.name, t)
    # above the map: title and source (a saved or printed map names its source); below: the
    # colour scale in words and numbers, and grey = no data
    heading, end = header(chart.title, chart.source)
    top = end + 10
    legend_h = ((TEXT_SIZE * 4.2 if have else 0) + (TEXT_SIZE * 1.8 if missing else 0)
                + (TEXT_SIZE * 1.8 if vague else 0) + 8)
    height = top + proj.height + legend_h
    pattern = (f'<defs><pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse" '
               f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
               f'<line x1="0" y1="0" x2="0" y2="6" stroke="#595959" stroke-width="2.4"/>'
               "</pattern></defs>") if vague else ""
    head = [*heading, pattern, f'<g transform="translate(0 {top:.0f})" stroke="#ffffff" '
                               'stroke-width="0.4" stroke-linejoin="round">']
    tail = ["</g>"]
    y = top + proj.height + TEXT_SIZE * 1.2
    if have:
        bar = WIDTH * 0.7
        gid = "schaal-" + hashlib.sha1(f"{chart.title}|{chart.source}|{lo}|{hi}".encode()
                                       ).hexdigest()[:10]
        tail.append(text(0, y, f"{fmt.unit_label(m.unit)} · {style.scale_words(m.direction)}"))
        tail.append(f'<defs><linearGradient id="{gid}">'
                    + "".join(f'<stop offset="{i / 8:.3f}" stop-color="{colour_at(stops, i / 8)}"/>'
                              for i in range(9))
                    + "</linearGradient></defs>")
        tail.append(f'<rect x="0" y="{y + 6:.0f}" width="{bar:.0f}" height="14" '
                    f'fill="url(#{gid})" stroke="#767676" stroke-width="0.6"/>')
        y += 6 + 14 + TEXT_SIZE * 1.2
        tail.append(text(0, y, fmt.value(lo, m.unit, m.decimals)))
        tail.append(text(bar, y, fmt.value(hi, m.unit, m.decimals), "end"))
        y += TEXT_SIZE * 0.6
    if missing:
        tail.append(f'<rect x="0" y="{y + 4:.0f}" width="18" height="14" fill="{MISSING_COLOR}" '
                    f'stroke="#767676" stroke-width="0.6"/>')
        tail.append(text(26, y + 16, fmt.MISSING))
        y += TEXT_SIZE * 1.8
    if vague:
        tail.append(f'<rect x="0" y="{y + 4:.0f}" width="18" height="14" fill="url(#{hatch})" '
                    f'stroke="#767676" stroke-width="0.6"/>')
        tail.append(text(26, y + 16, IMPRECISE_LABEL))
    tail.append("</svg>")
    return SvgMap(height, "".join(head), "".join(body), "".join(tail), outlines)


def _outline(d: str, name: str, body: str) -> str:
    return (f'<path d="{d}" fill="none" stroke="{OUTLINE}" stroke-width="3">'
            f"<title>{esc(name)} (gekozen): {esc(body)}</title></path>")
