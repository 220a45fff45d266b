"""The text alternative of every chart (pure): a short Dutch summary sentence — the chart's
accessible name and its caption — and the table of the plotted data under it (and its CSV).

Both are read from the chart's specification (:mod:`spec`), the same object every renderer
draws, so the words always describe exactly what is drawn, on the web, in a download and in the
briefing's alt texts.
"""

from __future__ import annotations

import threading

import pandas as pd

from dashboard.core import format as fmt
from dashboard.core.charts.spec import (
    BarChart,
    Chart,
    MapChart,
    Measure,
    ScatterChart,
    SeriesChart,
)

KIND_LABEL = {"series": "lijngrafiek", "bars": "staafdiagram", "map": "kaart",
              "scatter": "spreidingsdiagram"}
UNCHANGED = 0.005  # relative change below which a series counts as 'gelijk gebleven'


def kind_label(chart: Chart) -> str:
    return KIND_LABEL.get(chart.kind, "grafiek")


def _val(v, m: Measure, short: bool = False) -> str:
    return fmt.value(v, m.unit, m.decimals, short=short)


def period_label(period: str) -> str:
    """An axis label: years stay '2024'; quarters become '2020 K1'."""
    return period if period.isdigit() else f"{period[:4]} K{int(period[-2:])}"


def unit_note(chart: Chart) -> str:
    """'Eenheid: per 1.000 inwoners.' for a line chart's table, whose cells leave a long unit
    out (it would fill a phone-wide table); '' where the headers name it."""
    if not isinstance(chart, SeriesChart):
        return ""
    unit = chart.measure.unit
    if not unit or unit in ("%", "euro", "aantal"):
        return ""
    return f"Eenheid: {fmt.unit_label(unit)}."


# --------------------------------------------------------------------------- tables

def data_table(chart: Chart) -> pd.DataFrame:
    """The plotted data as numbers (for the CSV download), one row per period/region."""
    if isinstance(chart, SeriesChart):
        return _series_table(chart)
    if isinstance(chart, BarChart):
        return pd.DataFrame({"regio": [b.label for b in chart.bars],
                             "waarde": [_num(b.value) for b in chart.bars]})
    if isinstance(chart, MapChart):
        df = pd.DataFrame({"gemeente": [a.name for a in chart.areas],
                           "waarde": [_num(a.value) for a in chart.areas]},
                          columns=["gemeente", "waarde"])
        if chart.imprecise:
            df["kwaliteit"] = ["onnauwkeurig" if a.imprecise else "" for a in chart.areas]
        return (df.sort_values(["waarde", "gemeente"], ascending=[False, True],
                               na_position="last").reset_index(drop=True))
    if isinstance(chart, ScatterChart):
        return _scatter_table(chart)
    return pd.DataFrame()


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def _series_table(chart: SeriesChart) -> pd.DataFrame:
    lines = chart.ordered()
    periods = chart.periods
    if not lines:
        return pd.DataFrame(columns=["periode"])
    out = pd.DataFrame({"periode": [period_label(p) for p in periods]})
    for ln in lines:
        by_period = {p.period: p.value for p in ln.points}
        out[ln.label] = [by_period.get(p) for p in periods]
    return out


MARK = {"gemeente": "gekozen", "peers": "vergelijkbaar"}


def axis_titles(chart: ScatterChart) -> tuple[str, str]:
    """The table's column names of the two axes (told apart when both are one indicator)."""
    xt, yt = chart.x.title, chart.y.title
    if xt == yt:
        return f"{xt} (horizontaal)", f"{yt} (verticaal)"
    return xt, yt


def _scatter_table(chart: ScatterChart) -> pd.DataFrame:
    xt, yt = axis_titles(chart)
    rows = [{"gemeente": d.name, xt: d.x, yt: d.y,
             "markering": MARK.get(d.role) or (d.group or "")} for d in chart.dots]
    df = pd.DataFrame(rows, columns=["gemeente", xt, yt, "markering"])
    return df.sort_values("gemeente", key=lambda s: s.str.lower()).reset_index(drop=True)


def display_table(chart: Chart) -> pd.DataFrame:
    """``data_table`` as Dutch text ('4,2%', 'geen gegevens', '(voorlopig)'), for on screen."""
    df = data_table(chart)
    if df.empty:
        return df
    if isinstance(chart, SeriesChart):
        out = df.copy()
        periods = chart.periods
        for ln in chart.ordered():
            status = {p.period: p.status for p in ln.points}
            vague = {p.period for p in ln.points if p.imprecise}
            out[ln.label] = [_val(v, chart.measure, True)
                             + ("" if status.get(p, "Definitief") == "Definitief"
                                else f" ({fmt.status(status[p])})")
                             + (" (onnauwkeurig)" if p in vague else "")
                             for v, p in zip(df[ln.label], periods, strict=True)]
        return out
    if isinstance(chart, ScatterChart):
        out = df.copy()
        names = {}
        for m, col in zip((chart.x, chart.y), axis_titles(chart), strict=True):
            out[col] = [_val(v, m, True) for v in df[col]]
            if m.unit not in (None, "%", "euro", "aantal"):
                names[col] = f"{col} ({fmt.unit_label(m.unit)})"
        return out.rename(columns=names)
    out = df.copy()
    m = chart.measure
    out["waarde"] = [_val(v, m, True) for v in df["waarde"]]
    return out.rename(columns={"waarde": f"waarde ({fmt.unit_label(m.unit)})"
                               if m.unit else "waarde"})


def long_table(shown: pd.DataFrame) -> pd.DataFrame:
    """A line chart's ``display_table`` (one column per line) as three columns, region by region:
    it fits a phone however many lines there are."""
    long = shown.melt(id_vars="periode", var_name="regio", value_name="waarde")
    return long[["regio", "periode", "waarde"]]


# --------------------------------------------------------------------------- summaries

def summary(chart: Chart) -> str:
    """One or two short Dutch sentences that say what the chart shows."""
    if isinstance(chart, SeriesChart):
        text = _series_summary(chart)
    elif isinstance(chart, BarChart):
        text = _bars_summary(chart)
    elif isinstance(chart, MapChart):
        text = _map_summary(chart)
    elif isinstance(chart, ScatterChart):
        text = _scatter_summary(chart)
    else:
        text = ""
    return text or f"{chart.title or 'Grafiek'}: geen gegevens."


def alt_text(chart: Chart) -> str:
    """The kind, the title and the summary: 'Lijngrafiek Werkloosheid (%). Breda: ...' (the
    briefing's figure alt text, which has no caption beside it)."""
    unit = chart.measure.unit if not isinstance(chart, ScatterChart) else None
    label = f" ({fmt.unit_label(unit)})" if unit in ("%", "euro", "aantal") else ""
    return f"{kind_label(chart).capitalize()} {chart.title}{label}. {summary(chart)}"


def _movement(first: float, last: float) -> str:
    if abs(last - first) <= UNCHANGED * max(abs(first), 1e-9):
        return "gelijk gebleven"
    return "gestegen" if last > first else "gedaald"


def _series_summary(chart: SeriesChart) -> str:
    m = chart.measure
    lines = [ln for ln in chart.ordered() if ln.known]
    if not lines:
        return ""
    main = lines[0]
    known = main.known
    last = known[-1]
    text = f"{main.label}: {_val(last.value, m)} in {fmt.period_status(last.period, last.status)}"
    others = []
    for ln in lines[1:]:
        at = {p.period: p.value for p in ln.known}
        if last.period in at:
            others.append(f"{ln.label} {_val(at[last.period], m)}")
    if others:
        text += ", " + ", ".join(others)
    if len(known) > 1:
        first = known[0]
        move = _movement(first.value, last.value)
        text += (f"; sinds {fmt.period(first.period)} {move}"
                 + (f" van {_val(first.value, m)}" if move != "gelijk gebleven" else ""))
    if main.role != "gemeente":  # the chart shows only the regions it is compared with
        text = "Geen cijfers voor de gemeente zelf. " + text
    return text + "."


def _bars_summary(chart: BarChart) -> str:
    m = chart.measure
    have = [b for b in chart.bars if b.value is not None]
    if not have:
        return ""
    top = max(have, key=lambda b: b.value)
    low = min(have, key=lambda b: b.value)
    parts = [f"{len(have)} regio's; hoogste: {top.label} ({_val(top.value, m)}), "
             f"laagste: {low.label} ({_val(low.value, m)})"]
    named = [b for b in chart.bars if b.emphasis == "chosen"]
    named += [b for b in chart.bars if b.emphasis == "reference"]
    if named:
        parts.append(", ".join(f"{b.label}: {_val(b.value, m)}" for b in named))
    n_missing = len(chart.bars) - len(have)
    if n_missing:
        parts.append(f"{n_missing} zonder gegevens")
    return ". ".join(parts) + "."


_MAP_FACTS: dict[int, tuple[tuple, list[str], list[str]]] = {}
_MAP_FACTS_LOCK = threading.Lock()


def _map_facts(chart: MapChart) -> tuple[list[str], list[str]]:
    """The parts of a map's summary that are the same for every visitor (count and scale;
    extremes, gaps, imprecise), computed once per map: every view of a map shares its areas
    (``MapChart.for_selected`` only sets the outline), so they are keyed by that tuple."""
    hit = _MAP_FACTS.get(id(chart.areas))
    if hit is not None and hit[0] is chart.areas:
        return hit[1], hit[2]
    m = chart.measure
    vague = {a.name for a in chart.imprecise}
    df = data_table(chart)
    have = df.dropna(subset=["waarde"])
    have = have[~have["gemeente"].isin(vague)]  # extremes only among comparable values
    head: list[str] = []
    tail: list[str] = []
    if not have.empty:
        scale = "donkerder = hoger" if m.direction is None else "donkerder = gunstiger"
        one, many = chart.noun
        head.append(f"Kaart van {len(have)} {many} ({scale})")
        top, low = have.iloc[0], have.iloc[-1]
        tail.append(f"Hoogste: {top['gemeente']} ({_val(top['waarde'], m)}), laagste: "
                    f"{low['gemeente']} ({_val(low['waarde'], m)})")
        n_missing = len(df) - len(have) - len(vague)
        if n_missing:
            tail.append(f"{n_missing} {one if n_missing == 1 else many} zonder "
                        "gegevens")
        if vague:
            tail.append(f"{len(vague)} {one if len(vague) == 1 else many} "
                        "onnauwkeurig (kleine aantallen), gearceerd")
    with _MAP_FACTS_LOCK:
        if len(_MAP_FACTS) > 256:  # a few maps per snapshot; bounded all the same
            _MAP_FACTS.clear()
        _MAP_FACTS[id(chart.areas)] = (chart.areas, head, tail)
    return head, tail


def _map_summary(chart: MapChart) -> str:
    head, tail = _map_facts(chart)
    if not head:
        return ""
    parts = list(head)
    chosen = chart.area(chart.selected)
    if chosen is not None:
        m = chart.measure
        parts.append(f"{chosen.name}: {_val(chosen.value, m)}"
                     + (" (onnauwkeurig, kleine aantallen)" if chosen.imprecise else ""))
    return ". ".join(parts + tail) + "."


def _scatter_summary(chart: ScatterChart) -> str:
    if not chart.dots:
        return ""
    xm, ym = chart.x, chart.y
    text = (f"{len(chart.dots)} gemeenten: {xm.title} (horizontaal) tegen {ym.title} "
            "(verticaal)")
    chosen = next((d for d in chart.dots if d.role == "gemeente"), None)
    if chosen is not None:
        text += f". {chosen.name}: {_val(chosen.x, xm)} en {_val(chosen.y, ym)}"
    if len(chart.dots) >= 3:
        xs = pd.Series([d.x for d in chart.dots])
        ys = pd.Series([d.y for d in chart.dots])
        if xs.nunique() > 1 and ys.nunique() > 1:  # a constant axis has no correlation
            r = xs.corr(ys)
            if not fmt.is_missing(r):
                text += f"; samenhang r = {fmt.number(r, 2)}"
    return text + "."
