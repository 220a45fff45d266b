"""Pure DataFrame -> plotly Figure functions (no streamlit). Dutch separators, honest axes,
title and source inside the figure so a downloaded PNG stands on its own."""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.core import format as fmt

if TYPE_CHECKING:
    from pipelines.snapshot import IndicatorEntry

FONT = "Source Sans Pro, Arial, sans-serif"
MISSING_COLOR = "#d9d9d9"
ROLE_STYLE = {  # role -> (colour, width, dash, show markers)
    "gemeente": ("#01689b", 3.5, "solid", True),
    "nl": ("#444444", 2, "dash", False),
    "provincie": ("#e17000", 2, "solid", False),
    "peers": ("#39870c", 2, "dot", False),
}
COMPARE_COLORS = ("#8fcae7", "#a90061", "#ffb612", "#76d2b6", "#94710a", "#42145f",
                  "#f092cd", "#275937", "#ca005d", "#673327", "#b2d7ee", "#f9e11e")
HARM_HOVER = {"opgeteld": "<br>opgeteld over de gemeenten die toen samen deze gemeente vormden",
              "geschat": "<br>geschat: deel van een gesplitste gemeente"}
ESTIMATED_LEGEND = "geschat: deel van een gesplitste gemeente"
# sequential scales; the dark end is the favourable end when a direction exists
SCALE = "Blues"
IMAGE_OPTIONS = {"format": "png", "scale": 2, "height": 600, "width": 1000}
# compared regions: besides their colour each line gets its own dash and marker symbol
COMPARE_DASHES = ("solid", "dashdot", "longdash", "longdashdot")
COMPARE_SYMBOLS = ("square", "triangle-up", "x", "star", "cross", "triangle-down")
# plotly does not wrap titles: wrapped here so they fit a phone (a chart is ~360 px wide)
TITLE_CHARS, SOURCE_CHARS = 42, 62  # 42: the PNG button (top right) stays clear


def wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(str(text), width, break_long_words=False) or [""]


def top_margin(title: str, source: str) -> int:
    return 22 + 20 * len(wrap(title, TITLE_CHARS)) + 15 * len(wrap(source, SOURCE_CHARS))


def base_layout(fig: go.Figure, title: str, source: str, height: int) -> go.Figure:
    """Title with the source as subtitle, so a downloaded PNG names its source and period.
    ``layout.meta`` keeps the plain title (for the text alternative, ``chart_text``)."""
    top = top_margin(title, source)
    fig.update_layout(
        separators=",.",
        font={"family": FONT, "size": 13, "color": "#1f1f1f"},
        title={"text": "<br>".join(_esc(t) for t in wrap(title, TITLE_CHARS)),
               "x": 0, "xanchor": "left", "y": 1 - 10 / (height + top - 70), "yanchor": "top",
               "yref": "container", "font": {"size": 15, "weight": "bold"},
               "subtitle": {"text": "<br>".join(_esc(t) for t in wrap(source, SOURCE_CHARS)),
                            "font": {"size": 11, "color": "#555555"}}},
        height=height + top - 70,
        margin={"l": 10, "r": 10, "t": top, "b": 40},
        paper_bgcolor="white",
        plot_bgcolor="white",
        dragmode=False,  # a finger on a chart scrolls the page instead of zooming
    )
    fig.update_layout(meta={**(fig.layout.meta or {}), "title": title, "source": source})
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _plain(values) -> list:
    """JSON-safe list: NaN becomes None."""
    return [None if fmt.is_missing(v) else float(v) for v in values]


def _fc(features: dict[str, dict], codes) -> dict:
    return {"type": "FeatureCollection", "features": [features[c] for c in codes]}


def map_view(bounds: tuple[float, float, float, float], width: int, height: int) -> dict:
    """Centre and zoom that fit ``bounds`` (lon0, lat0, lon1, lat1) into width x height px."""
    lon0, lat0, lon1, lat1 = bounds

    def merc(lat: float) -> float:
        return math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))

    span_x = max(lon1 - lon0, 1e-6)
    span_y = max(merc(lat1) - merc(lat0), 1e-6)
    zoom = math.log2(min(width * 360 / (512 * span_x), height * 360 / (512 * span_y)))
    return {"center": {"lon": (lon0 + lon1) / 2, "lat": (lat0 + lat1) / 2},
            "zoom": round(zoom - 0.35, 2)}


def choropleth(map_df: pd.DataFrame, features: dict[str, dict], meta: IndicatorEntry, *,
               selected: str | None, title: str, source: str,
               bounds: tuple[float, float, float, float], height: int = 560) -> go.Figure:
    """All gemeenten coloured by value; no value = grey 'geen gegevens'; ``selected`` outlined.
    Each feature is sent once (values, missing and outline traces hold disjoint geometry, the
    outline only the selected gemeente)."""
    df = map_df[map_df["code"].isin(features.keys())]
    have = df[df["value"].notna()]
    missing = df[df["value"].isna()]
    unit, dec = meta.unit, int(meta.decimals or 0)
    hib = meta.higher_is_better
    fig = go.Figure()
    if not have.empty:
        harm = (have["harmonisation"].fillna("").astype(str) if "harmonisation" in have.columns
                else pd.Series("", index=have.index))
        text = [fmt.value(v, unit, dec) + HARM_HOVER.get(h, "")
                for v, h in zip(have["value"], harm, strict=True)]
        fig.add_trace(go.Choroplethmap(
            geojson=_fc(features, have["code"]), featureidkey="properties.statcode",
            locations=have["code"], z=have["value"],
            colorscale=SCALE, reversescale=hib is False,
            marker={"line": {"width": 0.3, "color": "white"}},
            customdata=np.column_stack([have["name"], text]),
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>",
            # below the map, full width: on a phone a side bar would squeeze the map
            colorbar={"title": {"text": _scale_title(unit, hib), "side": "top"},
                      "orientation": "h", "thickness": 12, "len": 0.9, "x": 0, "xanchor": "left",
                      "y": 0, "yanchor": "top", "exponentformat": "none",
                      "separatethousands": True},
            meta={"role": "waarde", "names": have["name"].astype(str).tolist()},
            name="waarde"))
    if not missing.empty:
        fig.add_trace(go.Choroplethmap(
            geojson=_fc(features, missing["code"]), featureidkey="properties.statcode",
            locations=missing["code"], z=np.zeros(len(missing)),
            colorscale=[[0, MISSING_COLOR], [1, MISSING_COLOR]], showscale=False,
            marker={"line": {"width": 0.3, "color": "white"}},
            customdata=np.column_stack([missing["name"]]),
            hovertemplate=f"<b>%{{customdata[0]}}</b><br>{fmt.MISSING}<extra></extra>",
            meta={"role": "missing", "names": missing["name"].astype(str).tolist()},
            name=fmt.MISSING))
    outline = selected_outline(map_df, features, meta, selected)
    if outline is not None:
        fig.add_trace(outline)
    fig.update_layout(meta={"chart": "map", "unit": unit, "decimals": dec,
                            "higher_is_better": hib})
    base_layout(fig, title, source, height)
    # a blank style: no tile server is needed, so the map also draws offline; fitted to a
    # phone-wide map (the map is as tall as wide on a desktop half-page as well)
    fig.update_layout(map={"style": "white-bg", **map_view(bounds, 340, height - 170)},
                      margin={"l": 0, "r": 0, "t": fig.layout.margin.t, "b": 70})
    return fig


def selected_outline(map_df: pd.DataFrame, features: dict[str, dict], meta: IndicatorEntry,
                     selected: str | None) -> go.Choroplethmap | None:
    """The red outline of the selected gemeente (its own trace, so the rest of the map is the
    same for every visitor and can be built once: see :func:`with_traces`)."""
    if not selected or selected not in features:
        return None
    unit, dec = meta.unit, int(meta.decimals or 0)
    row = map_df[map_df["code"] == selected]
    label = fmt.value(row["value"].iloc[0], unit, dec) if not row.empty else fmt.MISSING
    name = row["name"].iloc[0] if not row.empty else selected
    return go.Choroplethmap(
        geojson=_fc(features, [selected]), featureidkey="properties.statcode",
        locations=[selected], z=[0], showscale=False,
        colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
        marker={"line": {"width": 3, "color": "#e4002b"}},
        hovertemplate=f"<b>{_esc(name)}</b> (gekozen)<br>{label}<extra></extra>",
        meta={"role": "selected", "names": [str(name)]},
        name="gekozen gemeente")


def frozen(fig: go.Figure, features: dict[str, dict] | None = None) -> dict:
    """The validated plain-dict form of ``fig`` for sharing between sessions (see
    components.plotly). Plotly copies every GeoJSON feature into the figure; with ``features``
    (code -> feature) the copies are replaced by the shared feature objects again, so a cached
    map costs its values, not another copy of the boundaries."""
    spec = fig.to_dict()
    if features:
        for trace in spec["data"]:
            fc = trace.get("geojson")
            if isinstance(fc, dict) and "features" in fc:
                trace["geojson"] = {**fc, "features": [features.get(f.get("id"), f)
                                                       for f in fc["features"]]}
    return spec


def with_traces(spec: dict, *traces: go.BaseTraceType | None) -> dict:
    """A shared figure dict plus per-view traces (e.g. the selected gemeente's outline), without
    changing the shared dict."""
    extra = [{**t.to_plotly_json(), "type": t.type} for t in traces if t is not None]
    return {**spec, "data": [*spec["data"], *extra]} if extra else spec


def _scale_title(unit: str | None, hib: bool | None) -> str:
    """The colour scale says in words which end is favourable (never by colour alone)."""
    label = fmt.unit_label(unit)
    if hib is None:
        return f"{label} · donkerder = hoger"
    return f"{label} · donkerder = gunstiger"


def _esc(text: str) -> str:
    """Plotly renders a small HTML subset in labels; data-derived text is escaped."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("%{", "%&#123;"))


def _x(period: str) -> str:
    """Axis label: years stay '2024'; quarters become '2020 K1'."""
    return period if period.isdigit() else f"{period[:4]} K{int(period[-2:])}"


def time_series(df: pd.DataFrame, meta: IndicatorEntry, *, title: str, source: str,
                height: int = 460) -> go.Figure:
    """Lines per region (roles: gemeente, nl, provincie, peers, vergelijk); provisional figures
    get open markers. The y axis starts at 0 when all values are non-negative."""
    unit, dec = meta.unit, int(meta.decimals or 0)
    fig = go.Figure()
    extra = 0
    any_estimated = False
    order = {"gemeente": 0, "vergelijk": 1, "provincie": 2, "peers": 3, "nl": 4}
    for (_, label), g in sorted(df.groupby(["role", "label"], sort=False),
                                key=lambda kv: order.get(kv[0][0], 9)):
        role = g["role"].iloc[0]
        g = g.sort_values("period")
        symbol = "circle"
        if role in ROLE_STYLE:
            color, width, dash, markers = ROLE_STYLE[role]
        else:  # a compared region: own colour, dash and marker symbol
            color, width, dash, markers = (COMPARE_COLORS[extra % len(COMPARE_COLORS)], 2,
                                           COMPARE_DASHES[extra % len(COMPARE_DASHES)], True)
            symbol = COMPARE_SYMBOLS[extra % len(COMPARE_SYMBOLS)]
            extra += 1
        provisional = g["status"].ne("Definitief").to_numpy()
        harm = (g["harmonisation"].fillna("gepubliceerd").astype(str).to_numpy()
                if "harmonisation" in g.columns else np.full(len(g), "gepubliceerd"))
        estimated = harm == "geschat"
        any_estimated = any_estimated or bool(estimated.any())
        text = [f"{fmt.value(v, unit, dec)}{'' if s == 'Definitief' else f' ({fmt.status(s)})'}"
                + HARM_HOVER.get(h, "")
                for v, s, h in zip(g["value"], g["status"], harm, strict=True)]
        fig.add_trace(go.Scatter(
            x=[_x(p) for p in g["period"]], y=g["value"], name=_esc(label),
            mode="lines+markers",
            line={"color": color, "width": width, "dash": dash},
            marker={"size": [11 if e else (9 if p else (7 if markers else 4))
                             for p, e in zip(provisional, estimated, strict=True)],
                    "symbol": ["diamond-open" if e else (f"{symbol}-open" if p else symbol)
                               for p, e in zip(provisional, estimated, strict=True)],
                    "line": {"width": 2, "color": color},
                    "color": color},
            customdata=text,
            meta={"role": role, "label": str(label), "periods": g["period"].astype(str).tolist(),
                  "status": g["status"].astype(str).tolist(),
                  "harmonisation": harm.tolist()},
            hovertemplate=f"<b>{_esc(label)}</b><br>%{{x}}: %{{customdata}}<extra></extra>"))
    if any_estimated:  # a legend entry that explains the open diamonds
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=ESTIMATED_LEGEND,
                                 marker={"symbol": "diamond-open", "size": 11, "color": "#333333",
                                         "line": {"width": 2}}, hoverinfo="skip"))
    nonneg = df.empty or bool((df["value"].dropna() >= 0).all())  # a gap is not negative
    fig.update_xaxes(type="category", categoryorder="category ascending", showgrid=False)
    fig.update_yaxes(title=fmt.unit_label(unit), rangemode="tozero" if nonneg else "normal",
                     gridcolor="#e5e5e5", zeroline=True, zerolinecolor="#999999",
                     exponentformat="none", separatethousands=True)
    # the legend goes below the x axis; its room grows with the number of lines
    fig.update_layout(meta={"chart": "series", "unit": unit, "decimals": dec,
                            "higher_is_better": meta.higher_is_better})
    base_layout(fig, title, source, height + 22 * len(fig.data))
    fig.update_layout(legend={"orientation": "h", "y": -0.12, "yanchor": "top", "x": 0},
                      hovermode="closest", margin={"b": 50 + 22 * len(fig.data), "l": 64})
    return fig


def bar_compare(df: pd.DataFrame, meta: IndicatorEntry, *, highlight: set[str], title: str,
                source: str) -> go.Figure:
    """Horizontal bars (columns label, value, code), sorted; the value axis always includes 0.
    Regions without a value are listed with 'geen gegevens' instead of a zero-length bar."""
    unit, dec = meta.unit, int(meta.decimals or 0)
    df = df.sort_values("value", ascending=True, na_position="first")
    colors = ["#01689b" if c in highlight else ("#444444" if c == "NL01" else "#8fcae7")
              for c in df["code"]]
    text = [fmt.value(v, unit, dec, short=True) for v in df["value"]]
    top = df["value"].max()
    fig = go.Figure(go.Bar(
        # the chosen regions and Nederland also stand out by a bold name, not only by colour
        x=df["value"].fillna(0), orientation="h",
        y=[f"<b>{_esc(v)}</b>" if c in highlight or c == "NL01" else _esc(v)
           for v, c in zip(df["label"], df["code"], strict=True)],
        marker_color=colors, text=text, textposition="outside", cliponaxis=False,
        meta={"labels": df["label"].astype(str).tolist(), "codes": df["code"].astype(str).tolist(),
              "values": _plain(df["value"]), "highlight": sorted(highlight)},
        hovertemplate="<b>%{y}</b><br>%{text}<extra></extra>"))
    fig.update_xaxes(rangemode="tozero", title=fmt.unit_label(unit), gridcolor="#e5e5e5",
                     exponentformat="none", separatethousands=True)
    if top > 0:  # room for the value labels right of the longest bar
        fig.update_xaxes(range=[min(0.0, float(df["value"].min())), float(top) * 1.18])
    fig.update_yaxes(automargin=True)
    fig.update_layout(meta={"chart": "bars", "unit": unit, "decimals": dec,
                            "higher_is_better": meta.higher_is_better})
    base_layout(fig, title, source, height=max(260, 26 * len(df) + 140))
    fig.update_layout(margin={"r": 56})  # room for the value label of the longest bar
    return fig


GROUP_COLORS = COMPARE_COLORS + ("#01689b", "#e17000", "#39870c", "#5d5d5d")
GROUP_SYMBOLS = ("circle", "triangle-up", "cross", "x", "triangle-down", "star", "hourglass",
                 "circle-open", "triangle-up-open", "star-open", "hexagon", "pentagon-open")


def scatter(df: pd.DataFrame, x_meta: IndicatorEntry, y_meta: IndicatorEntry, *, title: str,
            source: str, color_by: str | None = None, height: int = 560) -> go.Figure:
    """All gemeenten as points (columns code, name, x, y, role, group): role 'gemeente' (large,
    labelled), 'peers' (highlighted) or 'overig'. ``color_by``: colour the 'overig' points by
    the ``group`` column (provincie or gemeentegrootte)."""
    xu, xd = x_meta.unit, int(x_meta.decimals or 0)
    yu, yd = y_meta.unit, int(y_meta.decimals or 0)
    fig = go.Figure()

    def add(part: pd.DataFrame, name: str, marker: dict, text: bool = False,
            role: str = "overig") -> None:
        if part.empty:
            return
        hover = [f"<b>{_esc(n)}</b><br>{_esc(x_meta.title)}: {fmt.value(a, xu, xd)}"
                 f"<br>{_esc(y_meta.title)}: {fmt.value(b, yu, yd)}"
                 for n, a, b in zip(part["name"], part["x"], part["y"], strict=True)]
        fig.add_trace(go.Scatter(
            x=part["x"], y=part["y"], mode="markers+text" if text else "markers",
            name=_esc(name), marker=marker, customdata=hover,
            meta={"role": role, "group": name, "names": part["name"].astype(str).tolist()},
            text=[_esc(n) for n in part["name"]] if text else None, textposition="top center",
            textfont={"size": 13, "color": "#e4002b"},
            hovertemplate="%{customdata}<extra></extra>"))

    rest = df[df["role"] == "overig"]
    if color_by and "group" in df.columns:
        groups = sorted(rest["group"].fillna("onbekend").unique())
        for i, g in enumerate(groups):
            # colour and a shape per group: the groups stay apart without colour vision
            add(rest[rest["group"].fillna("onbekend") == g], str(g),
                {"size": 8, "color": GROUP_COLORS[i % len(GROUP_COLORS)], "opacity": 0.8,
                 "symbol": GROUP_SYMBOLS[i % len(GROUP_SYMBOLS)]})
    else:
        add(rest, "Overige gemeenten", {"size": 7, "color": "#8fcae7", "opacity": 0.7})
    add(df[df["role"] == "peers"], "Vergelijkbare gemeenten",  # a square, not only green
        {"size": 10, "color": "#39870c", "symbol": "square",
         "line": {"width": 1, "color": "white"}}, role="peers")
    add(df[df["role"] == "gemeente"], "Gekozen gemeente",
        {"size": 15, "color": "#e4002b", "symbol": "diamond", "line": {"width": 1.5,
                                                                      "color": "white"}},
        text=True, role="gemeente")
    # axis titles wrapped like the chart title; the legend at the very bottom, under them
    x_title = wrap(f"{x_meta.title} ({fmt.unit_label(xu)})", TITLE_CHARS)
    y_title = wrap(f"{y_meta.title} ({fmt.unit_label(yu)})", TITLE_CHARS + 10)
    fig.update_xaxes(title="<br>".join(_esc(t) for t in x_title), gridcolor="#e5e5e5",
                     exponentformat="none", separatethousands=True, zeroline=False)
    fig.update_yaxes(title="<br>".join(_esc(t) for t in y_title), gridcolor="#e5e5e5",
                     exponentformat="none", separatethousands=True, zeroline=False)
    fig.update_layout(meta={"chart": "scatter",
                            "x": {"title": x_meta.title, "unit": xu, "decimals": xd},
                            "y": {"title": y_meta.title, "unit": yu, "decimals": yd}})
    base_layout(fig, title, source, height)
    bottom = 70 + 18 * len(x_title) + 22 * min(len(fig.data), 4)
    fig.update_layout(legend={"orientation": "h", "yref": "container", "y": 0,
                              "yanchor": "bottom", "x": 0},
                      margin={"b": bottom, "l": 64}, height=fig.layout.height + bottom - 110,
                      hovermode="closest")
    return fig
