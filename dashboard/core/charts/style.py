"""The charts' visual vocabulary, shared by every renderer (SVG on the web and in the briefing,
plotly where a chart is interactive), so a role looks the same everywhere and meaning never rests
on colour alone: every line has its colour *and* a dash or marker shape, provisional figures get
open markers, estimated ones open diamonds, the chosen gemeente a red outline and a word.

Colours are from the Rijkshuisstijl palette the dashboard uses; every line colour has at least
3:1 contrast on white (WCAG 1.4.11, non-text contrast) except the light compare colours, which
always come with their own dash and marker.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.core.charts.spec import Point

FONT = "Source Sans Pro, Arial, sans-serif"
TEXT = "#1f1f1f"
MUTED = "#555555"
GRID = "#e5e5e5"
ZERO = "#999999"
MISSING_COLOR = "#d9d9d9"
OUTLINE = "#e4002b"  # the chosen gemeente, on the map and in the scatter
PRIMARY = "#01689b"  # the dashboard's primary colour (6.1:1 on white)


@dataclass(frozen=True)
class LineStyle:
    colour: str
    width: float
    dash: str  # solid | dash | dot | dashdot | longdash | longdashdot (plotly's names)
    symbol: str  # circle | square | triangle-up | x | star | cross | triangle-down | diamond
    markers: bool  # markers on every point (else only on provisional / estimated points)


ROLE_STYLE = {
    "gemeente": LineStyle(PRIMARY, 3.5, "solid", "circle", True),
    "nl": LineStyle("#444444", 2, "dash", "circle", False),
    "provincie": LineStyle("#e17000", 2, "solid", "circle", False),
    "peers": LineStyle("#39870c", 2, "dot", "circle", False),
}
COMPARE_COLORS = ("#8fcae7", "#a90061", "#ffb612", "#76d2b6", "#94710a", "#42145f",
                  "#f092cd", "#275937", "#ca005d", "#673327", "#b2d7ee", "#f9e11e")
COMPARE_DASHES = ("solid", "dashdot", "longdash", "longdashdot")
COMPARE_SYMBOLS = ("square", "triangle-up", "x", "star", "cross", "triangle-down")
# SVG stroke-dasharray per plotly dash name
DASH_ARRAY = {"solid": "", "dash": "9 5", "dot": "2 4", "dashdot": "9 4 2 4",
              "longdash": "16 6", "longdashdot": "16 5 2 5"}


def line_styles(roles: list[str]) -> list[LineStyle]:
    """The style of each line, in the order given: fixed per role, and for compared regions
    ('vergelijk') the next colour, dash and marker shape each."""
    out, extra = [], 0
    for role in roles:
        if role in ROLE_STYLE:
            out.append(ROLE_STYLE[role])
            continue
        out.append(LineStyle(COMPARE_COLORS[extra % len(COMPARE_COLORS)], 2,
                             COMPARE_DASHES[extra % len(COMPARE_DASHES)],
                             COMPARE_SYMBOLS[extra % len(COMPARE_SYMBOLS)], True))
        extra += 1
    return out


def point_marker(style: LineStyle, point: Point) -> tuple[str, float] | None:
    """(symbol, size) of a point's marker, or None when the point has none: an estimated value
    is an open diamond, a provisional one an open marker of the line's shape; definitive values
    get a marker only on lines that show markers."""
    if point.estimated:
        return "diamond-open", 11
    if point.provisional:
        return f"{style.symbol}-open", 9
    return (style.symbol, 7) if style.markers else (style.symbol, 4)


ESTIMATED_LEGEND = "geschat: deel van een gesplitste gemeente"
HARMONISATION_NOTE = {
    "opgeteld": "opgeteld over de gemeenten die toen samen deze gemeente vormden",
    "geschat": "geschat: deel van een gesplitste gemeente",
}

# sequential map scale (ColorBrewer Blues); the dark end is the favourable end when a direction
# exists, so for 'lower is better' the scale is reversed
BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5",
         "#08519c", "#08306b")


def map_scale(direction: bool | None) -> tuple[str, ...]:
    return tuple(reversed(BLUES)) if direction is False else BLUES


def scale_words(direction: bool | None) -> str:
    """The colour scale in words (never by colour alone)."""
    return "donkerder = hoger" if direction is None else "donkerder = gunstiger"


# scatter groups: a colour and a shape per group, so groups stay apart without colour vision
GROUP_COLORS = COMPARE_COLORS + (PRIMARY, "#e17000", "#39870c", "#5d5d5d")
GROUP_SYMBOLS = ("circle", "triangle-up", "cross", "x", "triangle-down", "star", "hourglass",
                 "circle-open", "triangle-up-open", "star-open", "hexagon", "pentagon-open")
