"""The chart model: one specification per chart, whatever draws it.

A chart is *what* is shown — the data with their roles (the chosen gemeente, Nederland, the
provincie, the comparable gemeenten, regions to compare with), per point its period, status
(voorlopig) and harmonisation (opgeteld / geschat), the measure (unit, decimals, which direction
is favourable), a title and the source line — never *how* it is drawn. The renderers read only
these objects:

* ``svg`` / ``svgmap``: the web's static charts (map, time series, the overview's trend lines)
  and the briefing's figures, drawn on the server as SVG;
* ``interactive``: plotly figures where interaction is the point (Vergelijken's bars, the
  Dwarsverbanden scatter with hover over 342 gemeenten);
* ``text``: the summary sentence (the chart's accessible name and caption) and the table under
  every chart (and its CSV).

So a change to what a time series shows is made once, in :mod:`build`, and every picture, every
text alternative and the PDF follow. The specs are frozen (shared between sessions through the
per-snapshot caches) and hold plain Python values only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

ROLES = ("gemeente", "vergelijk", "provincie", "peers", "nl")
Role = Literal["gemeente", "vergelijk", "provincie", "peers", "nl"]
DEFINITIEF = "Definitief"
PUBLISHED, SUMMED, ESTIMATED = "gepubliceerd", "opgeteld", "geschat"


@dataclass(frozen=True)
class Measure:
    """What a number means: its indicator title, unit ('%', 'euro', 'aantal', 'per 1.000
    inwoners', ...), the decimals to show, and the favourable direction (True: higher is
    better; False: lower is better; None: neither, so no judgement and no good/bad colour)."""

    title: str
    unit: str | None
    decimals: int = 0
    direction: bool | None = None


@dataclass(frozen=True)
class Point:
    """One value of a line. ``status``: CBS's Definitief / Voorlopig / Nader voorlopig;
    ``harmonisation``: gepubliceerd / opgeteld / geschat (on current gemeente boundaries)."""

    period: str
    value: float | None
    status: str = DEFINITIEF
    harmonisation: str = PUBLISHED
    imprecise: bool = False  # quality "onnauwkeurig" (pipelines/precision.py)

    @property
    def provisional(self) -> bool:
        return self.status != DEFINITIEF

    @property
    def estimated(self) -> bool:
        return self.harmonisation == ESTIMATED


@dataclass(frozen=True)
class Line:
    """A region's series. ``key``: its region code ('peers' for the median of the comparable
    gemeenten); ``role`` decides its style (``style.line_style``) and its order in legends and
    tables."""

    key: str
    label: str
    role: Role
    points: tuple[Point, ...]

    @property
    def known(self) -> tuple[Point, ...]:
        return tuple(p for p in self.points if p.value is not None)


@dataclass(frozen=True)
class SeriesChart:
    """Lines over periods (years '2024' or quarters '2020KW01'). The value axis starts at 0 when
    every value is non-negative (``zero_based``), so a small change is not drawn as a collapse."""

    title: str
    source: str
    measure: Measure
    lines: tuple[Line, ...]
    kind: Literal["series"] = "series"

    @property
    def periods(self) -> tuple[str, ...]:
        return tuple(sorted({p.period for ln in self.lines for p in ln.points}))

    @property
    def values(self) -> list[float]:
        return [p.value for ln in self.lines for p in ln.points if p.value is not None]

    @property
    def zero_based(self) -> bool:
        return all(v >= 0 for v in self.values)

    @property
    def has_estimates(self) -> bool:
        return any(p.estimated for ln in self.lines for p in ln.points if p.value is not None)

    def ordered(self) -> tuple[Line, ...]:
        """Lines in legend order: the gemeente first, then compared regions, provincie, peers,
        Nederland (stable within a role)."""
        rank = {r: i for i, r in enumerate(ROLES)}
        return tuple(sorted(self.lines, key=lambda ln: rank.get(ln.role, 1)))


@dataclass(frozen=True)
class Area:
    """One gemeente on a map: its value (None = geen gegevens) and an optional note on how the
    value was put on today's boundaries."""

    code: str
    name: str
    value: float | None
    note: str = ""
    imprecise: bool = False  # quality "onnauwkeurig": drawn hatched, outside the colour scale


@dataclass(frozen=True)
class MapChart:
    """Every gemeente coloured by value; ``selected``: the gemeente outlined in red. The areas
    are the same for every visitor (built once per snapshot, indicator and period); a view only
    sets ``selected`` (:meth:`for_selected`)."""

    title: str
    source: str
    measure: Measure
    areas: tuple[Area, ...]
    selected: str | None = None
    kind: Literal["map"] = "map"
    # what an area is, singular and plural, for the summary ("Kaart van 11 wijken")
    noun: tuple[str, str] = ("gemeente", "gemeenten")

    def for_selected(self, code: str | None) -> MapChart:
        return dataclasses.replace(self, selected=code)

    @property
    def with_value(self) -> tuple[Area, ...]:
        """Areas coloured by their value: a value, and precise enough to compare."""
        return tuple(a for a in self.areas if a.value is not None and not a.imprecise)

    @property
    def imprecise(self) -> tuple[Area, ...]:
        return tuple(a for a in self.areas if a.value is not None and a.imprecise)

    @property
    def without_value(self) -> tuple[Area, ...]:
        return tuple(a for a in self.areas if a.value is None)

    def area(self, code: str | None) -> Area | None:
        return next((a for a in self.areas if a.code == code), None)


@dataclass(frozen=True)
class Bar:
    """One region's bar. ``emphasis``: 'chosen' (the selected gemeente), 'reference'
    (Nederland) or ''."""

    code: str
    label: str
    value: float | None
    emphasis: Literal["chosen", "reference", ""] = ""


@dataclass(frozen=True)
class BarChart:
    title: str
    source: str
    measure: Measure
    bars: tuple[Bar, ...]  # in reading order: the highest value first, regions without a value last
    kind: Literal["bars"] = "bars"


@dataclass(frozen=True)
class Dot:
    """One gemeente in a scatter: ``role`` 'gemeente' (the chosen one), 'peers' (comparable) or
    'overig'; ``group`` the category it is coloured by (provincie, size class) or None."""

    code: str
    name: str
    x: float
    y: float
    role: Literal["gemeente", "peers", "overig"] = "overig"
    group: str | None = None


@dataclass(frozen=True)
class ScatterChart:
    title: str
    source: str
    x: Measure
    y: Measure
    dots: tuple[Dot, ...]
    grouped_by: str | None = None  # 'provincie' | 'grootte' | None
    kind: Literal["scatter"] = "scatter"


Chart = SeriesChart | MapChart | BarChart | ScatterChart
