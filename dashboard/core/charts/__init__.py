"""One chart model, several renderers.

    build.py        compute frames -> chart specifications (the only place that decides what a
                    chart shows)
    spec.py         the specifications: SeriesChart, MapChart, BarChart, ScatterChart
    style.py        the visual vocabulary every renderer shares (role colours, dashes, markers)
    text.py         summary sentence (accessible name, caption, PDF alt text) and data table
    svg.py          SVG: time series, trend lines (web and briefing)
    svgmap.py       SVG: the gemeente map (shared per snapshot, the outline per view)
    interactive.py  plotly: Vergelijken's bars and the Dwarsverbanden scatter

Decision (issue 19): own SVG renderers for the static charts, plotly kept where interaction is
the point. Why not Vega-Lite for all: the static charts (map, time series, the overview's trend
lines and the briefing's figures) gain nothing from a chart runtime in the browser and lose a
lot to it — a kernthema page without Streamlit's 4.7 MB Plotly module draws faster than a bare
Streamlit page with one chart, a gemeente switch swaps one element, the SVG prints, scales to a
phone, carries its own tooltips and accessible name, and the very same drawing goes into the
tagged PDF (typst embeds SVG), so screen and paper cannot drift apart. Vega-Lite would put a
second chart runtime in the browser (Streamlit's Vega module) and still need a separate path to
the PDF (vl-convert). Plotly stays for the two charts whose value is interaction (hovering one of
342 gemeenten in a scatter), because the product owner chose it and it does that well. Every
renderer reads only the specification; none reads another library's structures.
"""
