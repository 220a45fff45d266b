"""Plotly figures from chart specifications (pure), for the charts where interaction is the
point: Vergelijken's bars and the Dwarsverbanden scatter of all gemeenten, where hovering a
point names the gemeente. Everywhere else the dashboard draws SVG (:mod:`svg`); plotly is kept
here because the product owner chose it and because hover over 342 points is what it does well.

Dutch separators, honest axes (a bar's axis starts at 0), title and source inside the figure so a
downloaded PNG stands on its own. The same styles as the SVG charts (:mod:`style`).
"""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go

from dashboard.core import format as fmt
from dashboard.core.charts import style
from dashboard.core.charts.spec import BarChart, ScatterChart

# plotly does not wrap titles: wrapped here so they fit a phone (a chart is ~360 px wide)
TITLE_CHARS, SOURCE_CHARS = 42, 62  # 42: the PNG button (top right) stays clear
IMAGE_OPTIONS = {"format": "png", "scale": 2, "height": 600, "width": 1000}


def wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(str(text), width, break_long_words=False) or [""]


def esc(text: str) -> str:
    """Plotly renders a small HTML subset in labels; data-derived text is escaped."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("%{", "%&#123;"))


def top_margin(title: str, source: str) -> int:
    return 22 + 20 * len(wrap(title, TITLE_CHARS)) + 15 * len(wrap(source, SOURCE_CHARS))


def base_layout(fig: go.Figure, title: str, source: str, height: int) -> go.Figure:
    """Title with the source as subtitle, so a downloaded PNG names its source and period."""
    top = top_margin(title, source)
    fig.update_layout(
        separators=",.",
        font={"family": style.FONT, "size": 13, "color": style.TEXT},
        title={"text": "<br>".join(esc(t) for t in wrap(title, TITLE_CHARS)),
               "x": 0, "xanchor": "left", "y": 1 - 10 / (height + top - 70), "yanchor": "top",
               "yref": "container", "font": {"size": 15, "weight": "bold"},
               "subtitle": {"text": "<br>".join(esc(t) for t in wrap(source, SOURCE_CHARS)),
                            "font": {"size": 11, "color": style.MUTED}}},
        height=height + top - 70,
        margin={"l": 10, "r": 10, "t": top, "b": 40},
        paper_bgcolor="white",
        plot_bgcolor="white",
        dragmode=False,  # a finger on a chart scrolls the page instead of zooming
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def bars(chart: BarChart) -> go.Figure:
    """Horizontal bars, the highest on top; the value axis always includes 0. Regions without a
    value are listed with 'geen gegevens' instead of a zero-length bar. The chosen regions and
    Nederland stand out by colour *and* a bold name."""
    m = chart.measure
    rows = list(reversed(chart.bars))  # plotly draws bottom-up
    colours = {"chosen": style.PRIMARY, "reference": "#444444", "": "#8fcae7"}
    values = [b.value for b in rows]
    have = [v for v in values if v is not None]
    fig = go.Figure(go.Bar(
        x=[0.0 if v is None else v for v in values], orientation="h",
        y=[f"<b>{esc(b.label)}</b>" if b.emphasis else esc(b.label) for b in rows],
        marker_color=[colours[b.emphasis] for b in rows],
        text=[fmt.value(v, m.unit, m.decimals, short=True) for v in values],
        textposition="outside", cliponaxis=False,
        hovertemplate="<b>%{y}</b><br>%{text}<extra></extra>"))
    fig.update_xaxes(rangemode="tozero", title=fmt.unit_label(m.unit), gridcolor=style.GRID,
                     exponentformat="none", separatethousands=True)
    if have and max(have) > 0:  # room for the value labels right of the longest bar
        fig.update_xaxes(range=[min(0.0, min(have)), max(have) * 1.18])
    base_layout(fig, chart.title, chart.source, height=max(260, 26 * len(rows) + 140))
    fig.update_layout(margin={"r": 56})
    return fig


def scatter(chart: ScatterChart, height: int = 560) -> go.Figure:
    """All gemeenten as points: the chosen one a large red diamond with its name, comparable
    gemeenten green squares, the rest light blue or, when grouped, a colour and a shape per
    group (provincie, size class)."""
    xm, ym = chart.x, chart.y
    fig = go.Figure()

    def add(dots, name: str, marker: dict, labelled: bool = False) -> None:
        if not dots:
            return
        hover = [f"<b>{esc(d.name)}</b><br>{esc(xm.title)}: "
                 f"{fmt.value(d.x, xm.unit, xm.decimals)}<br>{esc(ym.title)}: "
                 f"{fmt.value(d.y, ym.unit, ym.decimals)}" for d in dots]
        fig.add_trace(go.Scatter(
            x=[d.x for d in dots], y=[d.y for d in dots],
            mode="markers+text" if labelled else "markers", name=esc(name), marker=marker,
            customdata=hover, text=[esc(d.name) for d in dots] if labelled else None,
            textposition="top center", textfont={"size": 13, "color": style.OUTLINE},
            hovertemplate="%{customdata}<extra></extra>"))

    rest = [d for d in chart.dots if d.role == "overig"]
    if chart.grouped_by:
        for i, g in enumerate(sorted({d.group or "onbekend" for d in rest})):
            add([d for d in rest if (d.group or "onbekend") == g], g,
                {"size": 8, "color": style.GROUP_COLORS[i % len(style.GROUP_COLORS)],
                 "opacity": 0.8, "symbol": style.GROUP_SYMBOLS[i % len(style.GROUP_SYMBOLS)]})
    else:
        add(rest, "Overige gemeenten", {"size": 7, "color": "#8fcae7", "opacity": 0.7})
    add([d for d in chart.dots if d.role == "peers"], "Vergelijkbare gemeenten",
        {"size": 10, "color": "#39870c", "symbol": "square",
         "line": {"width": 1, "color": "white"}})
    add([d for d in chart.dots if d.role == "gemeente"], "Gekozen gemeente",
        {"size": 15, "color": style.OUTLINE, "symbol": "diamond",
         "line": {"width": 1.5, "color": "white"}}, labelled=True)
    # axis titles wrapped like the chart title; the legend at the very bottom, under them
    x_title = wrap(f"{xm.title} ({fmt.unit_label(xm.unit)})", TITLE_CHARS)
    y_title = wrap(f"{ym.title} ({fmt.unit_label(ym.unit)})", TITLE_CHARS + 10)
    fig.update_xaxes(title="<br>".join(esc(t) for t in x_title), gridcolor=style.GRID,
                     exponentformat="none", separatethousands=True, zeroline=False)
    fig.update_yaxes(title="<br>".join(esc(t) for t in y_title), gridcolor=style.GRID,
                     exponentformat="none", separatethousands=True, zeroline=False)
    base_layout(fig, chart.title, chart.source, height)
    bottom = 70 + 18 * len(x_title) + 22 * min(len(fig.data), 4)
    fig.update_layout(legend={"orientation": "h", "yref": "container", "y": 0,
                              "yanchor": "bottom", "x": 0},
                      margin={"b": bottom, "l": 64}, height=fig.layout.height + bottom - 110,
                      hovermode="closest")
    return fig


def figure(chart: BarChart | ScatterChart) -> go.Figure:
    return bars(chart) if isinstance(chart, BarChart) else scatter(chart)


# plotly's own texts in Dutch (plotly reads a locale from the chart's config; no script needed)
PLOTLY_NL = {
    "dictionary": {
        "Download plot as a PNG": "Grafiek downloaden als PNG",  # plotly.js 3
        "Download plot as a png": "Grafiek downloaden als PNG",  # plotly.js 2
        "Download plot": "Grafiek downloaden",
        "Taking snapshot - this may take a few seconds": "Afbeelding wordt gemaakt…",
        "Snapshot succeeded": "Afbeelding gemaakt",
        "Sorry, there was a problem downloading your snapshot!":
            "Het downloaden van de afbeelding is mislukt.",
        "Autoscale": "Automatisch schalen", "Reset axes": "Assen herstellen",
        "Zoom": "Zoomen", "Zoom in": "Inzoomen", "Zoom out": "Uitzoomen", "Pan": "Verschuiven",
        "Reset view": "Beeld herstellen", "Double-click to zoom back out":
            "Dubbelklik om uit te zoomen",
        "Produced with Plotly.js": "Gemaakt met Plotly.js",
    },
    "format": {
        "days": ["zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"],
        "shortDays": ["zo", "ma", "di", "wo", "do", "vr", "za"],
        "months": list(fmt.MONTHS),
        "shortMonths": ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt",
                        "nov", "dec"],
        "date": "%d-%m-%Y", "decimal": ",", "thousands": ".",
    },
}


def config(fig: go.Figure, filename: str) -> dict:
    """Only the PNG button (Dutch tooltip) in the chart's toolbar; zooming is off (a finger on
    a chart scrolls the page) and the data are in the table under the chart."""
    return {
        "locale": "nl", "locales": {"nl": PLOTLY_NL},
        "displaylogo": False, "scrollZoom": False, "modeBarButtons": [["toImage"]],
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2,
                                 "width": 1000, "height": fig.layout.height or 500},
    }
