"""Small shared streamlit pieces: URL state sync, page context, captions, charts, downloads."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard.core import compute, exports, selection, state
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.core.charts import interactive
from dashboard.core.charts import svg as svgdraw
from dashboard.core.charts import text as chart_text
from dashboard.core.charts.spec import Chart, MapChart, SeriesChart
from dashboard.core.compute import Peers
from dashboard.ui import streamlit_fixes
from dashboard.ui.data import DashData

CTX_KEY = "_dashboard_ctx"
LAST_GEMEENTE = "_last_gemeente"
LAST_COMPARE = "_last_vergelijk"
LAST_BENCH = "_last_bench"  # the workbench selection's parameters (dashboard/core/selection.py)
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
    # the Vergelijken workbench selection: in the link, else the one last used in this session
    bench_params = {k: params[k] for k in selection.PARAMS if k in params}
    if not bench_params and ss.get(LAST_BENCH):
        bench_params = dict(ss[LAST_BENCH])
    bench, notes = selection.Selection.from_query(bench_params, data.known)
    return dataclasses.replace(sel, bench=bench), warnings + notes, "thema" in params


def write_url(params: dict[str, str]) -> None:
    """Replace the URL's query string (only when it differs: no needless browser updates)."""
    current = {k: st.query_params[k] for k in st.query_params}
    if current != params:
        st.query_params.from_dict(params)
    st.session_state[LAST_GEMEENTE] = params.get("gemeente")
    st.session_state[LAST_COMPARE] = params.get("vergelijk", "")
    st.session_state[LAST_BENCH] = {k: params[k] for k in selection.PARAMS if k in params}
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
NUMBERS = "numbers"  # a container of a table of short numbers: no word split on a phone
# All of the dashboard's own CSS, in one place. Phone = narrower than 640 px: Streamlit stacks
# columns there. The element toolbars (English: 'Download as CSV', 'Search', 'Fullscreen') and
# the tables' column menus ('Sort ascending', 'Pin column') are hidden; every page has Dutch
# CSV/Excel buttons, every chart a table with a CSV button; a click on a column head sorts.
PAGE_CSS = f"""
<style>
{streamlit_fixes.HIDE_TOOLBARS_CSS.strip()}
/* a card's title and the description of its change wrap; Streamlit cuts them off with '…' */
:is([data-testid="stMetricLabel"], [data-testid="stMetricDeltaDescription"]),
:is([data-testid="stMetricLabel"], [data-testid="stMetricDeltaDescription"]) * {{
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }}
[data-testid="stMetric"] > div:has([data-testid="stMetricDelta"]) {{ flex-wrap: wrap; }}
@media (max-width: 640px) {{
  [class*="st-key-{WIDE}"] {{ display: none !important; }}
  [data-testid="stMain"] .block-container {{ padding-left: 0.75rem; padding-right: 0.75rem; }}
  [data-testid="stMetricValue"] {{ font-size: 1.6rem; }}
  [data-testid="stTable"] {{ font-size: 0.85rem; }}
  [data-testid="stTable"] :is(th, td) {{ padding: 0.25rem 0.4rem; }}
  [data-testid="stTable"] :is(th, td), [data-testid="stTable"] :is(th, td) * {{
    white-space: normal !important; overflow-wrap: anywhere !important; }}
  /* a table of short numbers (container key 'numbers-…'): a number or word is never split */
  [class*="st-key-{NUMBERS}"] [data-testid="stTable"] :is(th, td),
  [class*="st-key-{NUMBERS}"] [data-testid="stTable"] :is(th, td) * {{
    overflow-wrap: normal !important; }}
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
    links, pubs = [], []
    fetched = []
    for t in exports.tables_of(cbs_table):
        info = data.manifest.tables.get(t)
        if pr.is_table_id(t):
            links.append(f"[{t}]({exports.statline_url(t)})")
        else:  # a CBS publication that is no table: its edition's landing page
            edition = f" {info.edition}" if info is not None and info.edition else ""
            pubs.append(f"[{pr.publication(t)}{edition}]({exports.source_url(data.manifest, t)})")
        if info is not None and info.fetched_at:
            fetched.append(info.fetched_at)
    parts = [pr.CREDIT + (" · CBS-tabel " + ", ".join(links) if links else "")
             + (" · CBS-publicatie " + ", ".join(pubs) if pubs else "")]
    if period:
        parts.append(f"periode {fmt.period_status(period, status)}")
    if fetched:
        parts.append(f"opgehaald {fmt.date(min(fetched))}")
    parts.append("licentie CC BY 4.0")
    st.caption(" · ".join(parts))


# --------------------------------------------------------------------------- charts, tables

def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "grafiek"


TABLE_LABEL = "Tabel bij deze grafiek"


def chart(spec: Chart, key: str, filename: str, *, svg: str | None = None) -> None:
    """THE way a page shows a chart (a :mod:`dashboard.core.charts.spec`): the picture, its
    summary sentence (also its accessible name), a download, and an expander with the plotted
    data as a table plus a CSV, all from the one specification.

    Maps and time series are drawn on the server as SVG (``svg``: an already drawn picture, e.g.
    the shared map with this view's outline; else it is drawn here); bars and the scatter are
    interactive plotly figures (hover names a gemeente)."""
    text = chart_text.summary(spec)
    if isinstance(spec, SeriesChart | MapChart):
        drawn = svg if svg is not None else svgdraw.series(spec, text)
        kind = "kaart" if isinstance(spec, MapChart) else "grafiek"
        streamlit_fixes.inline_svg(drawn, kind)
        st.caption(text)
        st.download_button("Kaart downloaden (SVG)" if kind == "kaart" else
                           "Grafiek downloaden (SVG)", functools.partial(str, drawn),
                           f"{slug(filename)}.svg", "image/svg+xml", key=f"{key}-svg",
                           on_click="ignore", icon=":material/download:")
    else:
        fig = interactive.figure(spec)
        # theme=None: our own fonts and dark-enough text colours (the Streamlit theme greys them)
        st.plotly_chart(fig, key=key, config=interactive.config(fig, slug(filename)), alt=text,
                        theme=None)
        st.caption(text)
    chart_table(spec, key, filename)


def chart_table(spec: Chart, key: str, filename: str) -> None:
    """'Tabel bij deze grafiek': the plotted data as a table and a CSV download. Built only when
    opened (a rerun): a closed expander costs neither the server nor the browser anything, and
    most views never open it."""
    exp = st.expander(f"{TABLE_LABEL} ({chart_text.kind_label(spec)})", icon=":material/table:",
                      key=f"{key}-tabel", on_change="rerun")
    if not exp.open:
        return
    with exp:
        table = chart_text.display_table(spec)
        if table.empty:
            st.caption(fmt.MISSING)
            return
        if note := chart_text.unit_note(spec):
            st.caption(note)
        if isinstance(spec, SeriesChart) and table.shape[1] > 3:
            with wide_only(f"{key}-tabel"):  # too wide for a phone: there region by region
                st.table(table, hide_index=True)
            with narrow_only(f"{key}-tabel"):
                st.table(chart_text.long_table(table), hide_index=True)
        else:
            st.table(table, hide_index=True)
        st.download_button(
            "Deze gegevens als CSV", functools.partial(exports.to_csv,
                                                       chart_text.data_table(spec)),
            f"{slug(filename)}.csv", "text/csv", key=f"{key}-table-csv", on_click="ignore",
            icon=":material/download:")


def dutch_styler(df: pd.DataFrame, formats: dict[str, tuple[str | None, int]],
                 highlight: pd.Series | None = None, secondary: pd.Series | None = None):
    """A Styler that shows Dutch numbers ('geen gegevens' for missing) while the dataframe
    still sorts on the numbers. ``formats``: column -> (unit, decimals). Rendered once
    (``streamlit_fixes.render_once``): do not change it after the first st.dataframe."""
    sty = df.style.format({c: functools.partial(_fmt_cell, unit=u, dec=d)
                           for c, (u, d) in formats.items() if c in df.columns})
    if highlight is not None or secondary is not None:
        n = len(df)
        mask = pd.Series(highlight.to_numpy() if highlight is not None else [False] * n,
                         index=df.index)
        second = pd.Series(secondary.to_numpy() if secondary is not None else [False] * n,
                           index=df.index)
        rows = df.index[mask.to_numpy() | second.to_numpy()]
        if len(rows):  # style only the marked rows: a style per cell of 342 rows costs a view
            sty = sty.apply(lambda row: ["background-color: #fff3b0; font-weight: 600"
                                         if mask[row.name] else "background-color: #e3f1dc"]
                            * len(row), axis=1, subset=pd.IndexSlice[rows, :])
    return streamlit_fixes.render_once(sty)


def _fmt_cell(v, unit, dec):
    return fmt.value(v, unit, dec)


def downloads(name: str, sheets: dict[str, pd.DataFrame] | Callable[[], dict[str, pd.DataFrame]],
              data: DashData, indicator_ids: list[str], key: str) -> None:
    """CSV (first sheet) and Excel (all sheets + Bronnen) of what is on screen, built on click:
    ``sheets`` may be a function that builds the frames, so a view that is not downloaded does
    not pay for them. The frames come rounded from their page (exports.rounded); a demo
    snapshot's files say so on every row and in their name."""
    notice = exports.demo_notice(data.manifest)

    def built() -> dict[str, pd.DataFrame]:
        frames = sheets() if callable(sheets) else sheets
        return {k: exports.with_notice(v, notice) for k, v in frames.items()}

    def csv() -> bytes:
        return exports.to_csv(next(iter(built().values())))

    def excel() -> bytes:
        return exports.to_excel(built(), exports.sources_frame(data.manifest, indicator_ids))

    base = slug(name) + ("-demo" if notice else "")
    c1, c2, c3 = st.columns([1, 1, 3])
    c1.download_button("CSV", csv, f"{base}.csv", "text/csv", key=f"{key}-csv",
                       on_click="ignore", icon=":material/download:")
    c2.download_button("Excel", excel, f"{base}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"{key}-xlsx", on_click="ignore", icon=":material/download:")
    c3.caption("Excel bevat ook een tabblad ‘Bronnen’. Een grafiek bewaart u met de "
               "downloadknop eronder; de gegevens van een grafiek staan in de tabel eronder.")


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


def briefing_button(ctx: Ctx, key: str, group: tuple[str, ...] = (), group_text: str = "",
                    label: str = "Briefing (PDF)") -> None:
    """'Briefing (PDF)': rendered only when clicked, cached per snapshot, gemeente and peers
    (or ``group``: the Vergelijken selection as the comparison group)."""
    from dashboard.ui import data as dataio  # noqa: PLC0415 - keeps components importable without a loader

    gm = ctx.sel.gemeente
    name = ctx.data.names.get(gm, gm)
    st.download_button(
        label, functools.partial(dataio.briefing_pdf, ctx.data, gm, ctx.sel.peers,
                                 tuple(group), group_text),
        f"briefing-{slug(name)}{'-selectie' if group else ''}.pdf", "application/pdf",
        key=f"{key}-briefing", on_click="ignore", icon=":material/picture_as_pdf:",
        help="Eén A4 met de kerncijfers, opvallende ontwikkelingen en drie kleine grafieken"
             + (", vergeleken met de mediaan van deze selectie." if group else "."))
