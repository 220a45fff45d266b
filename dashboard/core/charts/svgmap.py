"""The gemeente map as a static SVG (no streamlit): built once per snapshot, indicator and period
from the same plotly figure the text alternative reads (``charts.choropleth`` -> ``frozen``),
plus the selected gemeente's outline per view (a string insertion, not a new map).

Why not the plotly map itself: a plotly map redraws completely (WebGL) whenever anything in it
changes, so every gemeente switch cost the browser a full map; the SVG is drawn by the browser
itself, prints, scales to a phone, names every gemeente in a tooltip (``<title>``) and stays the
same element for everyone except the one outline.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import textwrap
from dataclasses import dataclass

from plotly.colors import sample_colorscale

from dashboard.core import format as fmt
from dashboard.core.charts.text import _get

WIDTH = 600  # viewBox units; the SVG scales to its container
OUTLINE = "#e4002b"
MISSING_COLOR = "#d9d9d9"
FONT = "Source Sans Pro, Arial, sans-serif"
TITLE_SIZE, TEXT_SIZE = 26, 20


@dataclass(frozen=True)
class SvgMap:
    """The shared part of a map: everything but the opening tag (its accessible name names the
    selected gemeente) and the selected gemeente's outline."""

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


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def build(spec: dict, features: dict[str, dict],
          bounds: tuple[float, float, float, float]) -> SvgMap:
    """The SVG of a ``charts.choropleth`` figure dict, for all views (see :meth:`SvgMap.render`)."""
    proj = _Projection(bounds, WIDTH)
    meta = (spec.get("layout") or {}).get("meta") or {}
    title, source = str(meta.get("title", "")), str(meta.get("source", ""))
    unit, dec = meta.get("unit"), int(meta.get("decimals") or 0)
    traces = {((t.get("meta") or {}).get("role")): t for t in spec.get("data", [])}
    values, missing = traces.get("waarde"), traces.get("missing")
    body, outlines = [], {}
    lo = hi = None
    stops: list[str] = []
    if values is not None:
        z = [float(v) for v in _get(values, "z")]
        lo, hi = min(z), max(z)
        scale = values.get("colorscale") or [[0, "#f7fbff"], [1, "#08306b"]]
        if values.get("reversescale"):
            scale = [[1 - p, c] for p, c in reversed(scale)]
        span = (hi - lo) or 1.0
        colours = sample_colorscale(scale, [(v - lo) / span for v in z])
        stops = sample_colorscale(scale, [i / 8 for i in range(9)])
        names = (values.get("meta") or {}).get("names") or []
        texts = [str(row[1]) for row in _get(values, "customdata")]
        for code, name, text, colour in zip(_get(values, "locations"), names, texts, colours,
                                            strict=True):
            d = proj.path(features[code]["geometry"]) if code in features else ""
            if not d:
                continue
            tip = text.replace("<br>", "; ")  # plotly's hover text: value + herindeling note
            body.append(f'<path d="{d}" fill="{colour}"><title>{_esc(name)}: {_esc(tip)}'
                        '</title></path>')
            outlines[code] = _outline(d, name, tip)
    if missing is not None:
        names = (missing.get("meta") or {}).get("names") or []
        for code, name in zip(_get(missing, "locations"), names, strict=True):
            d = proj.path(features[code]["geometry"]) if code in features else ""
            if not d:
                continue
            body.append(f'<path d="{d}" fill="{MISSING_COLOR}"><title>{_esc(name)}: '
                        f'{fmt.MISSING}</title></path>')
            outlines[code] = _outline(d, name, fmt.MISSING)
    # above the map: title and source (a saved or printed map names its source); below: the
    # colour scale in words and numbers, and grey = no data. Sizes in viewBox units: the map is
    # drawn ~360 px wide on a phone, so 20 -> 12 px there.
    heading, end = header(title, source)
    top = end + 10
    legend_h = (TEXT_SIZE * 4.2 if values is not None else 0) + \
        (TEXT_SIZE * 1.8 if missing is not None else 0) + 8
    height = top + proj.height + legend_h
    head = [*heading,
            f'<g transform="translate(0 {top:.0f})" stroke="#ffffff" stroke-width="0.4" '
            'stroke-linejoin="round">']
    tail = ['</g>']
    y = top + proj.height + TEXT_SIZE * 1.2
    if values is not None:
        scale_title = ((values.get("colorbar") or {}).get("title") or {}).get("text", "")
        bar = WIDTH * 0.7
        gid = "schaal-" + hashlib.sha1(f"{title}|{source}|{lo}|{hi}".encode()).hexdigest()[:10]
        tail.append(f'<text x="0" y="{y:.0f}" font-size="{TEXT_SIZE}" fill="#1f1f1f">'
                    f'{_esc(scale_title)}</text>')
        tail.append(f'<defs><linearGradient id="{gid}">'
                    + "".join(f'<stop offset="{i / 8:.3f}" stop-color="{c}"/>'
                              for i, c in enumerate(stops))
                    + "</linearGradient></defs>")
        tail.append(f'<rect x="0" y="{y + 6:.0f}" width="{bar:.0f}" height="14" '
                    f'fill="url(#{gid})" stroke="#767676" stroke-width="0.6"/>')
        y += 6 + 14 + TEXT_SIZE * 1.2
        tail.append(f'<text x="0" y="{y:.0f}" font-size="{TEXT_SIZE}" fill="#1f1f1f">'
                    f'{_esc(fmt.value(lo, unit, dec))}</text>')
        tail.append(f'<text x="{bar:.0f}" y="{y:.0f}" font-size="{TEXT_SIZE}" '
                    f'text-anchor="end" fill="#1f1f1f">{_esc(fmt.value(hi, unit, dec))}</text>')
        y += TEXT_SIZE * 0.6
    if missing is not None:
        tail.append(f'<rect x="0" y="{y + 4:.0f}" width="18" height="14" fill="{MISSING_COLOR}" '
                    f'stroke="#767676" stroke-width="0.6"/><text x="26" y="{y + 16:.0f}" '
                    f'font-size="{TEXT_SIZE}" fill="#1f1f1f">{fmt.MISSING}</text>')
    tail.append("</svg>")
    return SvgMap(height, "".join(head), "".join(body), "".join(tail), outlines)


def svg_open(height: float, label: str) -> str:
    """The opening tag of a chart SVG: WIDTH wide in viewBox units, scaled to its container,
    with ``label`` (the summary sentence) as its accessible name."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
            f'width="100%" role="img" aria-label="{_esc(label)}" '
            f'style="max-width:{WIDTH}px;display:block;font-family:{FONT}">')


def header(title: str, source: str) -> tuple[list[str], float]:
    """Title and source lines at the top of a chart SVG (a saved or printed picture names its
    source), and the y where they end."""
    out, y = [], 8.0
    for line in _lines(title, 38):
        y += TITLE_SIZE * 1.25
        out.append(f'<text x="0" y="{y:.0f}" font-size="{TITLE_SIZE}" font-weight="600" '
                   f'fill="#1f1f1f">{_esc(line)}</text>')
    for line in _lines(source, 56):
        y += TEXT_SIZE * 1.3
        out.append(f'<text x="0" y="{y:.0f}" font-size="{TEXT_SIZE}" fill="#555555">'
                   f'{_esc(line)}</text>')
    return out, y


def _outline(d: str, name: str, text: str) -> str:
    return (f'<path d="{d}" fill="none" stroke="{OUTLINE}" stroke-width="3">'
            f'<title>{_esc(name)} (gekozen): {_esc(text)}</title></path>')


def _lines(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False) if text else []


def inline_html(svg: str, kind: str = "kaart") -> str:
    """HTML for ``st.html(..., unsafe_allow_javascript=True)`` that shows ``svg`` inline.
    st.html sanitises with DOMPurify's HTML profile, which removes ``<svg>``; a one-line script
    (our own markup only: every data-derived text in ``svg`` is escaped) puts it in place. '<' is
    written as \\u003c so the sanitiser sees no markup inside the script."""
    payload = json.dumps(svg).replace("<", "\\u003c")
    return (f'<div class="regio-svg regio-{kind}"></div><script>(function(s){{'
            'document.currentScript.previousElementSibling.innerHTML=s;})(' + payload
            + ")</script>")
