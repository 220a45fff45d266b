"""The chart model (dashboard/core/charts): specifications built from the compute frames
(build), their text alternative (text: summary sentence and table), and the renderers that draw
them (svg, svgmap, interactive) - all reading the same specification."""

from __future__ import annotations

import dataclasses
import math
import re
import xml.etree.ElementTree as ET

import pandas as pd

from dashboard.core.charts import build, interactive, style, svgmap
from dashboard.core.charts import svg as svgdraw
from dashboard.core.charts import text as chart_text
from dashboard.core.charts.spec import SeriesChart
from tests.support.snapshot_factory import indicator_entry

PCT = indicator_entry(id="werkloosheid_pct", unit="%", decimals=1, higher_is_better=False,
                      title="Werkloosheid")


def series_df() -> pd.DataFrame:
    rows = []
    for label, role, values in (("Breda", "gemeente", (5.1, 4.6, 4.2)),
                                ("Nederland", "nl", (4.4, 4.0, 3.9)),
                                ("Noord-Brabant (provincie)", "provincie", (4.0, 3.7, 3.8))):
        for year, v in zip(("2019", "2020", "2024"), values, strict=True):
            rows.append({"period": year, "value": v, "label": label, "role": role,
                         "status": "Voorlopig" if year == "2024" else "Definitief"})
    return pd.DataFrame(rows)


def test_series_summary_names_last_value_references_and_the_movement():
    fig = build.series_chart(series_df(), PCT, title="Werkloosheid: Breda", source="Bron: CBS")
    assert chart_text.summary(fig) == (
        "Breda: 4,2% in 2024 (voorlopig), Noord-Brabant (provincie) 3,8%, Nederland 3,9%; "
        "sinds 2019 gedaald van 5,1%.")
    table = chart_text.data_table(fig)
    assert list(table.columns) == ["periode", "Breda", "Noord-Brabant (provincie)", "Nederland"]
    assert table["Breda"].tolist() == [5.1, 4.6, 4.2]
    shown = chart_text.display_table(fig)
    assert shown["Breda"].tolist() == ["5,1%", "4,6%", "4,2% (voorlopig)"]
    assert chart_text.kind_label(fig) == "lijngrafiek"
    long = chart_text.long_table(shown)  # the phone's form: region by region
    assert list(long.columns) == ["regio", "periode", "waarde"]
    assert long.iloc[2].tolist() == ["Breda", "2024", "4,2% (voorlopig)"]
    assert long.iloc[3].tolist() == ["Noord-Brabant (provincie)", "2019", "4,0%"]


def test_series_with_a_gap_and_a_flat_line():
    df = pd.DataFrame({"period": ["2019", "2020", "2021"], "value": [7.0, float("nan"), 7.0],
                       "label": "Zeist", "role": "gemeente", "status": "Definitief"})
    fig = build.series_chart(df, PCT, title="t", source="s")
    assert chart_text.summary(fig) == "Zeist: 7,0% in 2021; sinds 2019 gelijk gebleven."
    assert chart_text.display_table(fig)["Zeist"].tolist() == ["7,0%", "geen gegevens", "7,0%"]


def test_quarters_keep_their_axis_label_in_the_table():
    df = pd.DataFrame({"period": ["2020KW01", "2020KW02"], "value": [1.0, 2.0], "label": "NL",
                       "role": "nl", "status": "Definitief"})
    fig = build.series_chart(df, PCT, title="t", source="s")
    assert chart_text.data_table(fig)["periode"].tolist() == ["2020 K1", "2020 K2"]
    assert "sinds 2020 1e kwartaal gestegen van 1,0%" in chart_text.summary(fig)


def test_bar_summary_and_table_top_down():
    df = pd.DataFrame({"code": ["NL01", "GM0758", "GM0826", "GM0855"],
                       "label": ["Nederland", "Breda", "Oosterhout", "Tilburg"],
                       "value": [3.9, 4.2, float("nan"), 5.0]})
    fig = build.bar_chart(df, PCT, chosen={"GM0758"}, title="Werkloosheid", source="s")
    assert chart_text.summary(fig) == (
        "3 regio's; hoogste: Tilburg (5,0%), laagste: Nederland (3,9%). Breda: 4,2%, "
        "Nederland: 3,9%. 1 zonder gegevens.")
    table = chart_text.display_table(fig)
    assert table["regio"].tolist() == ["Tilburg", "Breda", "Nederland", "Oosterhout"]
    assert table["waarde (%)"].tolist() == ["5,0%", "4,2%", "3,9%", "geen gegevens"]
    assert math.isnan(chart_text.data_table(fig)["waarde"].iloc[-1])  # not 0 in the CSV


def square(lon: float, lat: float, code: str) -> dict:
    ring = [[lon, lat], [lon + 0.1, lat], [lon + 0.1, lat + 0.1], [lon, lat + 0.1], [lon, lat]]
    return {"type": "Feature", "properties": {"statcode": code},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_map_summary_names_the_selected_gemeente_extremes_and_gaps():
    mdf = pd.DataFrame({"code": ["GM1", "GM2", "GM3", "GM4"],
                        "name": ["Alpha", "Beta", "Gamma", "Delta"],
                        "value": [3.0, 5.5, float("nan"), 4.0]})
    shared = build.map_chart(mdf, PCT, title="Werkloosheid 2024", source="s")
    fig = shared.for_selected("GM4")
    assert chart_text.summary(fig) == (
        "Kaart van 3 gemeenten (donkerder = gunstiger). Delta: 4,0%. Hoogste: Beta (5,5%), "
        "laagste: Alpha (3,0%). 1 gemeente zonder gegevens.")
    assert chart_text.display_table(fig)["gemeente"].tolist() == ["Beta", "Delta", "Alpha",
                                                                   "Gamma"]
    # the shared chart (built once per snapshot) is not changed by a view's choice
    assert shared.selected is None and "Delta: 4,0%" not in chart_text.summary(shared)
    pd.testing.assert_frame_equal(chart_text.data_table(shared), chart_text.data_table(fig))
    # a neutral indicator: the scale says 'hoger', not 'gunstiger'
    neutral = build.map_chart(mdf, PCT.model_copy(update={"higher_is_better": None}), title="t", source="s")
    assert "(donkerder = hoger)" in chart_text.summary(neutral)


def test_svg_map_draws_every_gemeente_names_it_and_outlines_only_the_chosen_one():
    features = {c: square(4 + i / 5, 52, c) for i, c in enumerate(["GM1", "GM2", "GM3", "GM4"])}
    mdf = pd.DataFrame({"code": ["GM1", "GM2", "GM3", "GM4"],
                        "name": ["Alpha", "Beta", "Gamma", "Delta <&>"],
                        "value": [3.0, 5.5, float("nan"), 4.0]})
    spec = build.map_chart(mdf, PCT, title="W 2024", source="Bron: CBS")
    drawn = svgmap.build(spec, features, (4, 52, 4.7, 52.1))
    view = spec.for_selected("GM2")
    svg = drawn.render("GM2", chart_text.summary(view))
    root = ET.fromstring(svg)  # well-formed: data-derived text is escaped
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img" and root.get("aria-label") == chart_text.summary(view)
    assert "Beta: 5,5%" in root.get("aria-label")  # names the chosen gemeente's value
    paths = root.iter(f"{ns}path")
    tips = {p.find(f"{ns}title").text: (p.get("fill"), p.get("stroke")) for p in paths}
    assert set(tips) == {"Alpha: 3,0%", "Beta: 5,5%", "Gamma: geen gegevens",
                         "Delta <&>: 4,0%", "Beta (gekozen): 5,5%"}
    # the darkest blue is the most favourable (lowest unemployment), grey = no data
    assert tips["Alpha: 3,0%"][0] != tips["Beta: 5,5%"][0]
    assert tips["Gamma: geen gegevens"][0] == svgmap.MISSING_COLOR
    assert tips["Beta (gekozen): 5,5%"] == ("none", svgmap.OUTLINE)
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert texts[:2] == ["W 2024", "Bron: CBS"]
    assert {"3,0%", "5,5%", "geen gegevens"} <= set(texts)
    assert any("donkerder = gunstiger" in t for t in texts)
    # one shared drawing; the outline is the only difference between two views
    assert drawn.render("GM1", "x").replace(drawn.outlines["GM1"], "") == \
        drawn.render("GM2", "x").replace(drawn.outlines["GM2"], "")
    assert drawn.render(None, "x") == drawn.render("GM9", "x")
    assert svgmap.OUTLINE not in drawn.render(None, "x")


def test_svg_series_draws_each_line_with_its_points_named_and_marked():
    df = series_df()
    df.loc[(df["label"] == "Breda") & (df["period"] == "2020"), "value"] = float("nan")
    df["harmonisation"] = ["geschat" if (lab == "Breda" and p == "2019") else "gepubliceerd"
                           for lab, p in zip(df["label"], df["period"], strict=True)]
    df.loc[df["label"] == "Nederland", "label"] = "Neder<land> & co"
    spec = build.series_chart(df, PCT, title="Werkloosheid: Breda", source="Bron: CBS")
    svg = svgdraw.series(spec, chart_text.summary(spec))
    root = ET.fromstring(svg)  # well-formed: names are escaped
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("aria-label") == chart_text.summary(spec)
    tips = [g.find(f"{ns}title").text for g in root.iter(f"{ns}g")]
    assert "Breda, 2024: 4,2% (voorlopig)" in tips
    assert "Neder<land> & co, 2019: 4,4%" in tips
    assert not any(t.startswith("Breda, 2020") for t in tips)  # no value, no point
    assert any(t.startswith("Breda, 2019: 5,1%; geschat") for t in tips)
    shapes = {g.find(f"{ns}title").text: g[1] for g in root.iter(f"{ns}g")}
    assert shapes["Breda, 2024: 4,2% (voorlopig)"].get("fill") == "#ffffff"  # open: provisional
    assert shapes["Breda, 2019: 5,1%; geschat: deel van een gesplitste gemeente"].tag == \
        f"{ns}polygon"  # the open diamond
    assert shapes["Neder<land> & co, 2019: 4,4%"].get("fill") != "#ffffff"
    # Breda's gap in 2020 splits its line: no polyline through the missing year
    breda = [pl for pl in root.iter(f"{ns}polyline")
             if pl.get("stroke") == style.ROLE_STYLE["gemeente"].colour]
    assert all(len(pl.get("points").split()) < 3 for pl in breda)
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert texts[:2] == ["Werkloosheid: Breda", "Bron: CBS"] and "%" in texts
    assert {"0", "2", "4", "6"} <= set(texts)  # Dutch y ticks from 0 (rangemode tozero)
    assert {"2019", "2020", "2024"} <= set(texts)
    assert {"Breda", "Neder<land> & co", style.ESTIMATED_LEGEND} <= set(texts)  # legend


def test_scatter_summary_and_table_mark_the_chosen_gemeente():
    df = pd.DataFrame({"code": ["A", "B", "C", "D"], "name": ["Breda", "Tilburg", "Goes", "Ede"],
                       "x": [1.0, 2.0, 3.0, 4.0], "y": [2.0, 4.0, 6.1, 8.0],
                       "role": ["gemeente", "peers", "overig", "overig"]})
    xm = {"title": "Banen", "unit": "per 1.000 inwoners", "decimals": 0}
    fig = build.scatter_chart(df, xm, PCT, title="Banen en werkloosheid", source="s")
    assert chart_text.summary(fig) == (
        "4 gemeenten: Banen (horizontaal) tegen Werkloosheid (verticaal). Breda: "
        "1 per 1.000 inwoners en 2,0%; samenhang r = 1,00.")
    table = chart_text.display_table(fig)
    assert table["gemeente"].tolist() == ["Breda", "Ede", "Goes", "Tilburg"]
    assert table["markering"].tolist() == ["gekozen", "", "", "vergelijkbaar"]


def test_empty_chart_says_geen_gegevens():
    fig = build.series_chart(pd.DataFrame(columns=["period", "value", "label", "role", "status"]),
                             PCT, title="Werkloosheid", source="s")
    assert chart_text.summary(fig) == "Werkloosheid: geen gegevens."
    assert chart_text.display_table(fig).empty


def test_long_titles_are_wrapped_for_a_phone():
    title = "Banen van werknemers per 1.000 inwoners (15-75 jaar): Voorne aan Zee"
    bars = build.bar_chart(pd.DataFrame({"code": ["GM1"], "label": ["A"], "value": [1.0]}), PCT,
                           chosen=set(), title=title, source="Bron: CBS")
    lines = interactive.bars(bars).layout.title.text.split("<br>")
    assert len(lines) == 2 and all(len(t) <= interactive.TITLE_CHARS for t in lines)
    svg = svgdraw.series(build.series_chart(series_df(), PCT, title=title, source="s"), "x")
    heads = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")
             if t.get("font-weight") == "600"]  # the title lines
    assert len(heads) == 2 and " ".join(heads) == title and all(len(h) <= 38 for h in heads)


def test_a_long_unit_is_named_once_not_in_every_cell():
    df = pd.DataFrame({"period": ["2022", "2023"], "value": [313.0, 1327.0], "label": "Brielle",
                       "role": "gemeente", "status": "Definitief"})
    meta = {"unit": "per 1.000 inwoners", "decimals": 0, "higher_is_better": True}
    fig = build.series_chart(df, meta, title="Banen", source="s")
    assert chart_text.display_table(fig)["Brielle"].tolist() == ["313", "1.327"]
    assert chart_text.unit_note(fig) == "Eenheid: per 1.000 inwoners."
    assert "1.327 per 1.000 inwoners in 2023" in chart_text.summary(fig)  # the sentence keeps it
    pct = build.series_chart(df, PCT, title="W", source="s")
    assert chart_text.unit_note(pct) == "" and chart_text.display_table(pct)["Brielle"][0] == "313,0%"


def test_series_without_the_gemeente_says_so():
    df = series_df()
    df.loc[df["role"] == "gemeente", "value"] = float("nan")
    fig = build.series_chart(df, PCT, title="Werkloosheid: Breda", source="s")
    assert chart_text.summary(fig).startswith(
        "Geen cijfers voor de gemeente zelf. Noord-Brabant (provincie): 3,8% in 2024")


def test_sparkline_has_a_dutch_text_alternative():
    meta = {"title": "Vestigingen", "unit": "per 1.000 inwoners", "decimals": 1}
    chart = build.trend([13.9, 13.2, 15.8, 15.0], ["2015", "2017", "2019", "2024"], meta)
    out = svgdraw.sparkline(chart)
    text = "Verloop 2015–2024: van 13,9 naar 15,0; laagste 13,2 (2017), hoogste 15,8 (2019)."
    assert out.startswith("<svg ") and f'aria-label="{text}"' in out
    assert f"<title>{text}</title>" in out
    tag = svgdraw.sparkline_img(chart)
    assert '<img src="data:image/svg+xml;base64,' in tag and f'alt="{text}"' in tag
    assert svgdraw.sparkline_description(build.trend([], [], meta)) == "Geen verloop beschikbaar."
    flat = svgdraw.sparkline(build.trend([5.0, 5.0], ["2023", "2024"], {**meta, "unit": "%"}))
    assert "van 5,0% naar 5,0%" in flat  # no division by zero


def _polyline_ys(svg: str) -> list[float]:
    pts = re.search(r'<polyline points="([^"]+)"', svg).group(1).split()
    return [float(p.split(",")[1]) for p in pts]


def test_sparkline_starts_at_zero_so_a_small_change_looks_small():
    """15 -> 16 thousand (a rounding step) moved the line over the card's full height; on a
    scale from 0 it moves a sixteenth of it, and the baseline and the periods are shown."""
    meta = {"title": "Zelfstandigen", "unit": "%", "decimals": 0}
    chart = build.trend([15.0, 15.0, 16.0], ["2021", "2022", "2023"], meta)
    ys = _polyline_ys(svgdraw.sparkline(chart))
    drawable = svgdraw.SPARK_H - 2 * svgdraw.SPARK_PAD
    assert 0 < ys[0] - ys[-1] <= drawable / 15  # a small slope, not the full height
    assert "<line " in svgdraw.sparkline(chart)  # the zero baseline
    tag = svgdraw.sparkline_img(chart)
    assert ">2021<" in tag and ">2023<" in tag and "schaal vanaf 0" in tag
    # a series crossing zero spans both sides, the baseline in between
    growth = build.trend([-1.0, 2.0], ["2023", "2024"], {**meta, "decimals": 1})
    ys = _polyline_ys(svgdraw.sparkline(growth))
    zero = float(re.search(r'<line [^>]*y1="([\d.]+)"', svgdraw.sparkline(growth)).group(1))
    assert ys[1] < zero < ys[0]


def test_every_renderer_reads_one_specification():
    """The web SVG, the briefing's figure and the text alternative of one series are drawn
    from the same spec: a value changed in the spec shows up in each of them."""
    spec = build.series_chart(series_df(), PCT, title="Werkloosheid: Breda", source="Bron: CBS")
    changed = dataclasses.replace(spec, lines=(dataclasses.replace(
        spec.lines[0], points=(*spec.lines[0].points[:-1], dataclasses.replace(
            spec.lines[0].points[-1], value=9.9))), *spec.lines[1:]))
    for drawn in (svgdraw.series(changed, "x"), svgdraw.series(changed, "x", svgdraw.PRINT)):
        assert "Breda, 2024: 9,9% (voorlopig)" in drawn
    assert "Breda: 9,9% in 2024 (voorlopig)" in chart_text.summary(changed)
    assert chart_text.display_table(changed)["Breda"].iloc[-1] == "9,9% (voorlopig)"
    # the print frame: the briefing's own font, no source line inside the picture
    printed = svgdraw.series(spec, "x", svgdraw.PRINT)
    assert 'font-family="DejaVu Sans"' in printed and "Bron: CBS" not in printed
    assert "Bron: CBS" in svgdraw.series(spec, "x")
    assert chart_text.alt_text(spec).startswith("Lijngrafiek Werkloosheid: Breda (%). Breda: ")


def test_a_value_axis_starts_at_zero_for_non_negative_values():
    spec = build.series_chart(series_df(), PCT, title="t", source="s")
    assert isinstance(spec, SeriesChart) and spec.zero_based
    ticks = [t.text for t in ET.fromstring(svgdraw.series(spec, "x")).iter(
        "{http://www.w3.org/2000/svg}text")]
    assert "0" in ticks
    neg = series_df().assign(value=lambda d: d["value"] - 5)
    assert not build.series_chart(neg, PCT, title="t", source="s").zero_based


def test_scatter_of_one_indicator_against_itself_is_a_sensible_view():
    df = pd.DataFrame({"code": ["A", "B", "C"], "name": ["Breda", "Tilburg", "Goes"],
                       "x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0],
                       "role": ["gemeente", "peers", "overig"]})
    chart = build.scatter_chart(df, PCT, PCT, title="t", source="s")
    assert chart_text.summary(chart).startswith("3 gemeenten: Werkloosheid (horizontaal) tegen "
                                                "Werkloosheid (verticaal)")
    table = chart_text.display_table(chart)
    assert list(table.columns[:3]) == ["gemeente", "Werkloosheid (horizontaal)",
                                       "Werkloosheid (verticaal)"]
    assert interactive.scatter(chart).data  # the plotly figure draws too


def test_interactive_figures_mark_the_chosen_by_more_than_colour():
    df = pd.DataFrame({"code": ["NL01", "GM1", "GM2"], "label": ["Nederland", "Breda", "Ede"],
                       "value": [3.9, 4.2, float("nan")]})
    fig = interactive.bars(build.bar_chart(df, PCT, chosen={"GM1"}, title="t", source="s"))
    assert list(fig.data[0].y) == ["Ede", "<b>Nederland</b>", "<b>Breda</b>"]  # bottom-up
    assert list(fig.data[0].text) == ["geen gegevens", "3,9%", "4,2%"]
    assert fig.layout.xaxis.rangemode == "tozero"
