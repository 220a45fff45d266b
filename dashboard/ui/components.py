"""Small shared streamlit pieces: URL state sync, page context, captions, charts, downloads."""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from pandas.io.formats.style import Styler

from dashboard.core import compute, exports, state
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.core.charts import svgmap
from dashboard.core.charts import text as chart_text
from dashboard.core.compute import Peers
from dashboard.ui.data import DashData

CTX_KEY = "_dashboard_ctx"
LAST_GEMEENTE = "_last_gemeente"
LAST_COMPARE = "_last_vergelijk"
STICKY = ("grenzen", "peers")  # view choices that survive a page switch like the gemeente


@dataclass(frozen=True)
class Ctx:
    """What a page needs; set by app.py for the current run (a reference, not a copy)."""

    data: DashData
    sel: state.Selection
    page: str  # "overzicht" | a thema id | "vergelijken" | "brede_welvaart" | ... | "over"
    obs: dict[str, pd.DataFrame]  # observations per indicator for the chosen boundaries
    peer: Peers  # the chosen comparable gemeenten of sel.gemeente

    @property
    def current_boundaries(self) -> bool:
        return self.sel.grenzen == "huidig" and self.data.has_current


def context() -> Ctx:
    return st.session_state[CTX_KEY]


# --------------------------------------------------------------------------- URL state

def read_url_state(data: DashData, page_thema: str | None) -> tuple[state.Selection, list[str],
                                                                     bool]:
    """Parse st.query_params; gemeente and vergelijk survive a page switch through the session.
    Returns (selection, warnings, thema_requested)."""
    qp = st.query_params
    params: dict[str, list[str]] = {k: qp.get_all(k) for k in qp}
    ss = st.session_state
    if "gemeente" not in params and LAST_GEMEENTE in ss:
        params["gemeente"] = [ss[LAST_GEMEENTE]]
    if "vergelijk" not in params and ss.get(LAST_COMPARE):
        params["vergelijk"] = [ss[LAST_COMPARE]]
    for key in STICKY:
        if key not in params and ss.get(f"_last_{key}"):
            params[key] = [ss[f"_last_{key}"]]
    sel, warnings = state.parse(params, data.known, page_thema=page_thema)
    return sel, warnings, "thema" in params


def write_url(params: dict[str, str]) -> None:
    """Replace the URL's query string (only when it differs: no needless browser updates)."""
    current = {k: st.query_params[k] for k in st.query_params}
    if current != params:
        st.query_params.from_dict(params)
    st.session_state[LAST_GEMEENTE] = params.get("gemeente")
    st.session_state[LAST_COMPARE] = params.get("vergelijk", "")
    for key in STICKY:
        st.session_state[f"_last_{key}"] = params.get(key, "")


def set_url(**updates: str | None) -> None:
    """Update some parameters, keeping the others (None removes one)."""
    params = {k: st.query_params[k] for k in st.query_params}
    for k, v in updates.items():
        if v is None or v == "":
            params.pop(k, None)
        else:
            params[k] = str(v)
    write_url(params)


def bind_to_url(widget_key: str, param: str, to_text=str):
    """An on_change callback that copies a widget's value into the URL parameter."""
    def _cb() -> None:
        set_url(**{param: to_text(st.session_state[widget_key])})
    return _cb


def show_warnings(warnings: list[str]) -> None:
    for w in warnings:
        st.warning(w, icon="⚠️")


# --------------------------------------------------------------------------- layout

NARROW = "narrow-only"  # container keys starting with these are shown on one screen width only
WIDE = "wide-only"
# All of the dashboard's own CSS, in one place. Phone = narrower than 640 px: Streamlit stacks
# columns there. The element toolbars (English: 'Download as CSV', 'Search', 'Fullscreen') and
# the tables' column menus ('Sort ascending', 'Pin column') are hidden; every page has Dutch
# CSV/Excel buttons, every chart a table with a CSV button; a click on a column head sorts.
PAGE_CSS = f"""
<style>
[data-testid="stElementToolbar"], [data-testid="stDataFrameColumnMenu"],
[data-testid="stDataFrameColumnVisibilityMenu"], [data-testid="stDataFrameColumnFormattingMenu"],
[data-testid="stDataFrameStatisticsMenu"] {{ display: none !important; }}
@media (max-width: 640px) {{
  [class*="st-key-{WIDE}"] {{ display: none !important; }}
  [data-testid="stMain"] .block-container {{ padding-left: 0.75rem; padding-right: 0.75rem; }}
  [data-testid="stMetricValue"] {{ font-size: 1.6rem; }}
  [data-testid="stTable"] {{ font-size: 0.85rem; }}
  [data-testid="stTable"] :is(th, td) {{ padding: 0.25rem 0.4rem; }}
  [data-testid="stTable"] :is(th, td), [data-testid="stTable"] :is(th, td) * {{
    white-space: normal !important; overflow-wrap: anywhere !important; }}
}}
@media (min-width: 641px) {{
  [class*="st-key-{NARROW}"] {{ display: none !important; }}
}}
</style>
"""


def page_style() -> None:
    st.html(PAGE_CSS)


def device() -> str | None:
    """'phone' when the browser says it is one (every phone browser's user agent has 'Mobi'),
    'desktop' when it says it is not, None when nothing was said (tests, some proxies). For the
    few elements that are costly to send twice (a wide and a phone version, one hidden by CSS):
    those are drawn once, for the device at hand; with None both, and the CSS chooses."""
    ua = st.context.headers.get("User-Agent") or ""
    if not ua:
        return None
    return "phone" if "Mobi" in ua else "desktop"


def narrow_only(name: str):
    """A container shown only on a phone-wide screen (hidden by CSS elsewhere)."""
    return st.container(key=f"{NARROW}-{name}")


def wide_only(name: str):
    """A container hidden on a phone-wide screen (shown by CSS elsewhere)."""
    return st.container(key=f"{WIDE}-{name}")


def gemeente_picker_on_page(data: DashData, gemeente: str) -> None:
    """On a phone the sidebar is folded away: the gemeente choice at the top of the page too."""
    with narrow_only("gemeente"):
        st.session_state["w_gemeente_page"] = gemeente
        st.selectbox("Gemeente", data.gemeenten["code"].tolist(), format_func=data.names.get,
                     key="w_gemeente_page", filter_mode="contains",
                     on_change=bind_to_url("w_gemeente_page", "gemeente"),
                     help="Typ een deel van de naam om te zoeken. Meer keuzes (grenzen, "
                          "vergelijkbare gemeenten) in het menu links boven.")


# --------------------------------------------------------------------------- captions

def source_text(cbs_table: str | None, period: str | None = None,
                status: str | None = None) -> str:
    """Plain text for inside a chart: the product's credit line (presentation.credit_line, the
    same as in the PDF) plus the period: 'Bron: CBS · Regio-economie dashboard · CBS-tabel
    82900NED · CC BY 4.0 · 2024 (voorlopig)'."""
    per = f" · {fmt.period_status(period, status)}" if period else ""
    return pr.credit_line(exports.tables_of(cbs_table)) + per


def demo_banner(data: DashData) -> None:
    """On every page: a clear banner when the snapshot is not CBS's own current feed."""
    text = pr.demo_banner(data.manifest)
    if text:
        st.warning(text, icon=":material/science:")


def source_caption(data: DashData, cbs_table: str | None, period: str | None = None,
                   status: str | None = None) -> None:
    """Markdown caption with StatLine links and the fetch date under a chart or table."""
    links = []
    fetched = []
    for t in exports.tables_of(cbs_table):
        links.append(f"[{t}]({exports.statline_url(t)})")
        info = data.manifest.tables.get(t)
        if info is not None and info.fetched_at:
            fetched.append(info.fetched_at)
    parts = [pr.CREDIT + (" · CBS-tabel " + ", ".join(links) if links else "")]
    if period:
        parts.append(f"periode {fmt.period_status(period, status)}")
    if fetched:
        parts.append(f"opgehaald {fmt.date(min(fetched))}")
    parts.append("licentie CC BY 4.0")
    st.caption(" · ".join(parts))


# --------------------------------------------------------------------------- charts, tables

def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "grafiek"


class _Frozen(go.Figure):
    """A figure already validated and turned into a dict (charts.frozen, shared between sessions):
    st.plotly_chart takes it as it is instead of validating and deep-copying it again."""

    def __init__(self, spec: dict):
        super().__init__()
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec


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
TABLE_LABEL = "Tabel bij deze grafiek"


def plotly_config(fig: go.Figure | dict, filename: str) -> dict:
    """Only the PNG button (Dutch tooltip) in the chart's toolbar; zooming is off (a finger on
    a chart scrolls the page) and the data are in the table under the chart."""
    return {
        "locale": "nl", "locales": {"nl": PLOTLY_NL},
        "displaylogo": False, "scrollZoom": False, "modeBarButtons": [["toImage"]],
        "toImageButtonOptions": {"format": "png", "filename": slug(filename), "scale": 2,
                                 "width": 1000,
                                 "height": chart_text.layout(fig).get("height") or 500},
    }


def plotly(fig: go.Figure | dict, key: str, filename: str) -> None:
    """THE way a page shows a chart: the figure with a Dutch toolbar, its summary sentence (also
    the chart's accessible name), and an expander with the plotted data as a table plus a CSV
    download. Text and table are read from the figure itself (``chart_text``). ``fig``: a
    Figure, or the dict of a shared, already validated figure (charts.frozen / with_traces)."""
    text = chart_text.summary(fig)
    # theme=None: our own fonts and dark-enough text colours (the Streamlit theme greys them)
    st.plotly_chart(_Frozen(fig) if isinstance(fig, dict) else fig, key=key,
                    config=plotly_config(fig, filename), alt=text, theme=None)
    st.caption(text)
    chart_table(fig, key, filename)


def svg_chart(fig: dict, svg: str, key: str, filename: str, kind: str = "grafiek") -> None:
    """A chart drawn on the server as SVG (``svgmap`` for the map, ``svgseries`` for a time
    series; the browser draws it without a chart library): the picture, its summary sentence
    (also its accessible name), a download of the picture, and the same table expander as
    :func:`plotly`, all read from the plotly figure ``fig`` the SVG was drawn from."""
    st.html(svgmap.inline_html(svg, kind), unsafe_allow_javascript=True)
    st.caption(chart_text.summary(fig))
    label = "Kaart downloaden (SVG)" if kind == "kaart" else "Grafiek downloaden (SVG)"
    st.download_button(label, functools.partial(str, svg), f"{slug(filename)}.svg",
                       "image/svg+xml", key=f"{key}-svg", on_click="ignore",
                       icon=":material/download:")
    chart_table(fig, key, filename)


def chart_table(fig: go.Figure | dict, key: str, filename: str) -> None:
    """'Tabel bij deze grafiek': the plotted data as a table and a CSV download. Built only when
    opened (a rerun): a closed expander costs neither the server nor the browser anything, and
    most views never open it."""
    exp = st.expander(f"{TABLE_LABEL} ({chart_text.kind_label(fig)})", icon=":material/table:",
                      key=f"{key}-tabel", on_change="rerun")
    if not exp.open:
        return
    with exp:
        table = chart_text.display_table(fig)
        if table.empty:
            st.caption(fmt.MISSING)
            return
        if note := chart_text.unit_note(fig):
            st.caption(note)
        if chart_text.kind(fig) == "series" and table.shape[1] > 3:
            with wide_only(f"{key}-tabel"):  # too wide for a phone: there region by region
                st.table(table, hide_index=True)
            with narrow_only(f"{key}-tabel"):
                st.table(chart_text.long_table(table), hide_index=True)
        else:
            st.table(table, hide_index=True)
        st.download_button(
            "Deze gegevens als CSV", functools.partial(exports.to_csv,
                                                       chart_text.data_table(fig)),
            f"{slug(filename)}.csv", "text/csv", key=f"{key}-table-csv", on_click="ignore",
            icon=":material/download:")


_RENDER_LOCK = threading.Lock()


def render_once(sty: Styler) -> Styler:
    """The same Styler, rendered once: st.dataframe runs the style functions (``_compute``) and
    builds the cell table (``_translate``) on every call, a large part of a page view's CPU for
    a 300-row ranking. After this the second and later calls (the phone table of the same view,
    other sessions sharing it through data.per_view) reuse the first result; do not change the
    Styler afterwards. (Instance attributes: st.dataframe only takes the Styler class itself.)"""
    compute_, translate_ = sty._compute, sty._translate
    memo: dict = {}

    def _compute():
        with _RENDER_LOCK:
            if "computed" not in memo:
                compute_()
                memo["computed"] = True
        return sty

    def _translate(*args, **kwargs):
        key = (args, tuple(sorted(kwargs.items())))
        with _RENDER_LOCK:
            if key not in memo:
                memo[key] = translate_(*args, **kwargs)
            return memo[key]

    sty._compute, sty._translate = _compute, _translate
    return sty


def dutch_styler(df: pd.DataFrame, formats: dict[str, tuple[str | None, int]],
                 highlight: pd.Series | None = None, secondary: pd.Series | None = None):
    """A Styler that shows Dutch numbers ('geen gegevens' for missing) while the dataframe
    still sorts on the numbers. ``formats``: column -> (unit, decimals). Rendered once
    (:func:`render_once`): do not change it after the first st.dataframe."""
    sty = df.style.format({c: functools.partial(_fmt_cell, unit=u, dec=d)
                           for c, (u, d) in formats.items() if c in df.columns})
    if highlight is not None or secondary is not None:
        n = len(df)
        mask = highlight.to_numpy() if highlight is not None else [False] * n
        second = secondary.to_numpy() if secondary is not None else [False] * n
        sty = sty.apply(lambda col: ["background-color: #fff3b0; font-weight: 600" if m
                                     else ("background-color: #e3f1dc" if p else "")
                                     for m, p in zip(mask, second, strict=True)], axis=0)
    return render_once(sty)


def _fmt_cell(v, unit, dec):
    return fmt.value(v, unit, dec)


def downloads(name: str, sheets: dict[str, pd.DataFrame], data: DashData,
              indicator_ids: list[str], key: str) -> None:
    """CSV (first sheet) and Excel (all sheets + Bronnen) of what is on screen, built on click."""
    first = next(iter(sheets.values()))
    sources = exports.sources_frame(data.manifest, indicator_ids)
    base = slug(name)
    c1, c2, c3 = st.columns([1, 1, 3])
    c1.download_button("CSV", functools.partial(exports.to_csv, first), f"{base}.csv",
                       "text/csv", key=f"{key}-csv", on_click="ignore", icon=":material/download:")
    c2.download_button("Excel", functools.partial(exports.to_excel, sheets, sources),
                       f"{base}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"{key}-xlsx", on_click="ignore", icon=":material/download:")
    c3.caption("Excel bevat ook een tabblad ‘Bronnen’. Een grafiek bewaart u als PNG met het "
               "camera-icoon rechtsboven in de grafiek.")


# --------------------------------------------------------------------------- boundaries, peers

GESCHAT_TEXT = "geschat: deel van een gesplitste gemeente"


def boundary_caption(ctx: Ctx, code: str, ind_obs: pd.DataFrame | None = None,
                     indicator: str | None = None) -> None:
    """Under a chart or series of ``code``: its herindeling note (current boundaries) and what
    the open diamond markers mean when the series has estimated points."""
    if not code.startswith("GM"):
        return
    parts = []
    if ctx.current_boundaries:
        note = ctx.data.boundary_note(code)
        if note:
            parts.append(note)
        if ind_obs is not None and compute.harmonised_periods(ind_obs, code, "geschat"):
            parts.append(f"Open ruit = {GESCHAT_TEXT}.")
        gaps = compute.gap_summary(ctx.data.gaps, indicator, code) if indicator else []
        if gaps:
            parts.append("Niet om te rekenen naar de huidige grenzen (daarom geen cijfer): "
                         + "; ".join(gaps) + ". Kies ‘grenzen van dat jaar’ voor de cijfers "
                         "zoals het CBS ze toen publiceerde.")
    elif ctx.data.boundary_note(code):
        parts.append("Grenzen van dat jaar: cijfers van vóór de herindeling gelden voor de "
                     "gemeente(n) zoals die toen bestonden; de reeks kan daardoor een sprong maken "
                     "of pas later beginnen. Kies ‘huidige gemeentegrenzen’ voor een doorlopende "
                     "reeks.")
    if parts:
        st.caption(" ".join(parts))


def peers_expander(ctx: Ctx) -> None:
    """'Waarom deze gemeenten?': each peer with what makes it comparable."""
    peer, data = ctx.peer, ctx.data
    if peer.note:
        st.caption(peer.note)
    if not peer.codes:
        return
    with st.expander(f"Waarom deze gemeenten? ({len(peer.codes)} {peer.label.split(' (')[0].lower()})"):
        rows = [{"Gemeente": data.names.get(c, c), "Lijkt op": why,
                 **({"Afstand": dist} if peer.method == "statistisch" else {})}
                for c, why, dist in peer.why]
        df = pd.DataFrame(rows)
        st.dataframe(df, hide_index=True, column_config={
            "Afstand": st.column_config.NumberColumn(format="%.2f", help=(
                "Afstand op de gestandaardiseerde structuurkenmerken; kleiner = meer gelijkend."))})
        if peer.method == "statistisch":
            feats = data.manifest.peers.features if data.manifest.peers else ()
            st.caption("Statistisch vergelijkbaar: de gemeenten die het dichtst bij liggen op "
                       + ", ".join(f.label.lower() for f in feats)
                       + " (gestandaardiseerd). ‘Lijkt op’ noemt de drie kenmerken waarop de "
                       "gemeente het meest lijkt.")
        else:
            st.caption("Gemeenten in dezelfde gemeentegrootteklasse en stedelijkheidsklasse (CBS).")


def briefing_button(ctx: Ctx, key: str) -> None:
    """'Briefing (PDF)': rendered only when clicked, cached per snapshot, gemeente and peers."""
    from dashboard.ui import data as dataio  # noqa: PLC0415 - keeps components importable without a loader

    gm = ctx.sel.gemeente
    name = ctx.data.names.get(gm, gm)
    st.download_button(
        "Briefing (PDF)", functools.partial(dataio.briefing_pdf, ctx.data, gm, ctx.sel.peers),
        f"briefing-{slug(name)}.pdf", "application/pdf", key=f"{key}-briefing",
        on_click="ignore", icon=":material/picture_as_pdf:",
        help="Eén A4 met de kerncijfers, opvallende ontwikkelingen en drie kleine grafieken.")
