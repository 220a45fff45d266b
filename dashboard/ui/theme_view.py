"""The three kernthema pages, drawn from their view model (``dashboard/core/theme.py``):
choices, headline figures, a map of all gemeenten, a time series against NL / provincie /
comparable gemeenten / chosen regions, a ranking with the gemeente highlighted, downloads.

``render`` reads as the page: model -> sections. Work that is the same for every visitor (the
map of an indicator and year, the ranking) is built once per snapshot; a gemeente's series and
its rendered ranking table once per gemeente (``dashboard/ui/data.py``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.core import compute, exports, state, theme
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.core.charts import build, svgmap
from dashboard.core.charts import svg as svgdraw
from dashboard.core.charts import text as chart_text
from dashboard.ui import components
from dashboard.ui import data as dataio
from pipelines.catalog import THEMES


def render(theme_id: str) -> None:
    ctx = components.context()
    st.title(THEMES[theme_id])
    m = theme.model(ctx.data, ctx.sel, ctx.obs, theme_id, ctx.peer)
    if m.meta is None:
        st.info(m.empty)
        return
    if m.year_warning:
        st.warning(m.year_warning, icon="⚠️")
    choices(ctx, m)
    st.markdown(f"**{m.meta.title}** ({fmt.unit_label(m.unit)}). {m.meta.description or ''}")
    for note in m.notes:
        st.info(note, icon=":material/info:")
    if m.empty:
        st.info(m.empty)
        return
    if m.fresh.stale:
        st.warning(m.fresh.text, icon=":material/history:")
    headline(m)
    source = components.source_text(m.cbs_table)
    left, right = st.columns(2)
    with left:
        map_section(ctx, m, source)
    with right:
        sdf = series_section(ctx, m, source)
    components.source_caption(ctx.data, m.cbs_table, m.period, m.status)
    rk = ranking_section(ctx, m)
    downloads(ctx, m, rk, sdf)


# --------------------------------------------------------------------------- choices

def _compare_options(data) -> list[str]:
    groups = data.regions[data.regions["is_current"].astype(bool)
                          & data.regions["level"].isin(["PV", "CR", "AM"])]
    return data.gemeenten["code"].tolist() + groups["code"].tolist()


def _on_indicator() -> None:
    components.set_url(indicator=st.session_state["w_indicator"], jaar=None)


def choices(ctx: components.Ctx, m: theme.ThemeModel) -> None:
    data, inds = ctx.data, m.indicators
    c1, c2, c3 = st.columns([3, 1, 4])
    st.session_state["w_indicator"] = m.indicator
    c1.selectbox("Indicator", list(inds), format_func=lambda k: inds[k].title,
                 key="w_indicator", on_change=_on_indicator)
    st.session_state["w_jaar"] = m.year
    c2.selectbox("Jaar", m.years[::-1] or [None], key="w_jaar",
                 format_func=lambda y: fmt.MISSING if y is None else str(y),
                 on_change=components.bind_to_url("w_jaar", "jaar"))
    st.session_state["w_vergelijk"] = list(ctx.sel.vergelijk)
    c3.multiselect("Vergelijken met", _compare_options(data), key="w_vergelijk",
                   format_func=lambda c: fmt.region_label(data.names[c], data.levels[c]),
                   max_selections=state.MAX_COMPARE, placeholder="Kies gemeenten of regio's",
                   on_change=components.bind_to_url("w_vergelijk", "vergelijk", ",".join))
    components.set_url(indicator=m.indicator, jaar=m.year)


# --------------------------------------------------------------------------- headline

def headline(m: theme.ThemeModel) -> None:
    for col, metric in zip(st.columns(len(m.metrics)), m.metrics, strict=True):
        if not metric.label:
            continue
        col.metric(metric.label, metric.value, help=metric.help)
        if metric.caption:
            col.caption(metric.caption)


# --------------------------------------------------------------------------- map

def map_section(ctx: components.Ctx, m: theme.ThemeModel, source: str) -> None:
    data, gm, period = ctx.data, ctx.sel.gemeente, m.period
    ind_obs = ctx.obs[m.indicator]
    geo, geo_bounds, map_year = data.geo, data.geo_bounds, None
    if not ctx.current_boundaries and m.level == "GM" and data.geo is not None:
        geo, geo_bounds, map_year = dataio.year_geo(data, m.year)
    if geo is None and data.geo is not None and m.level == "GM":
        st.info(f"Geen kaart van de gemeentegrenzen van {m.year} beschikbaar (niet op te halen "
                "bij de bron). Kies ‘huidige gemeentegrenzen’ voor een kaart; de cijfers van "
                f"{m.year} staan in de ranglijst hieronder.", icon=":material/map:")
        return
    if data.geo is None:
        st.info("Geen kaart beschikbaar in deze snapshot.", icon=":material/map:")
        return
    if m.level != "GM":
        st.info("Geen kaart: deze indicator is niet per gemeente beschikbaar.",
                icon=":material/map:")
        return
    own_map = geo is data.geo
    title = f"{m.meta.title}, {fmt.period_status(period, m.status)}"
    if not own_map:
        title += f" (grenzen van {map_year})"
    if m.fresh.stale:
        title += f" ({pr.STALE})"

    def build_map():
        mdf = compute.map_frame(ind_obs, data.regions, period, None if own_map else list(geo))
        spec = build.map_chart(mdf, m.meta, title=title, source=source)
        return spec, svgmap.build(spec, geo, geo_bounds)

    # the map of all gemeenten is the same for everyone: built once per snapshot (as an SVG the
    # browser draws itself); only the chosen gemeente's outline differs per view
    spec, drawn = dataio.per_snapshot(
        data, "map", (ctx.current_boundaries, m.indicator, period, own_map, map_year, title,
                      source, m.direction), build_map)
    # this view's chart: the shared one with the gemeente chosen, so the summary (caption and
    # accessible name) names its value as well
    view = spec.for_selected(gm)
    components.chart(view, key="map", filename=f"kaart {m.meta.title} {period}",
                     svg=drawn.render(gm, chart_text.summary(view)))
    legend = ["Donkerder = gunstiger." if m.direction is not None else "Donkerder = hoger."]
    if spec.without_value:
        legend.append(f"Grijs = geen gegevens ({len(spec.without_value)} gemeenten).")
    if spec.imprecise:
        legend.append(f"Gearceerd = {pr.IMPRECISE_LABEL} ({len(spec.imprecise)} gemeenten), "
                      "buiten de kleurschaal.")
    if gm in geo:
        legend.append(f"Rood omlijnd: {data.names[gm]}.")
    st.caption(" ".join(legend))
    if not own_map:
        st.caption(f"De kaart toont de gemeenten zoals ze in {m.year} bestonden.")
        if gm not in geo:
            st.caption(f"{data.names[gm]} bestond in {m.year} nog niet in de huidige vorm.")
    if not ctx.current_boundaries:
        gone = compute.off_map(ind_obs, period, geo.keys())
        if gone:
            st.caption(f"De kaart toont de grenzen van {map_year}; {len(gone)} gemeenten van "
                       f"{m.year} staan er niet op: "
                       + ", ".join(data.names.get(c, c) for c in gone[:12])
                       + (" …" if len(gone) > 12 else ".") + " Ze staan wel in de ranglijst.")


# --------------------------------------------------------------------------- series

def series_section(ctx: components.Ctx, m: theme.ThemeModel, source: str) -> pd.DataFrame:
    data, gm = ctx.data, ctx.sel.gemeente
    ind_obs = ctx.obs[m.indicator]
    peer = ctx.peer if m.with_peers else None
    title = f"{m.meta.title}: {data.names.get(m.code, m.code)}"

    def build_series():
        sdf = compute.series_frame(ind_obs, list(m.lines), peer)
        spec = build.series_chart(sdf, m.meta, title=title, source=source)
        return sdf, spec, svgdraw.series(spec, chart_text.summary(spec))

    sdf, spec, svg = dataio.per_view(
        data, "series", (ctx.current_boundaries, m.indicator, m.lines,
                         (peer.codes, peer.label) if peer else None, title, source),
        build_series)
    if not (sdf["role"] == "gemeente").any():
        harm = ([compute.names_in(t, data.regions)
                 for t in compute.gap_summary(data.gaps, m.indicator, m.code)]
                if ctx.current_boundaries else None)
        gap = pr.gap_reason(data.manifest, m.meta, gm, data.names[gm], harmonisation=harm,
                            period=m.period)
        st.info(gap.text + " De grafiek toont alleen de vergelijkingsregio's.")
    components.chart(spec, key="series", svg=svg,
                     filename=f"trend {m.meta.title} {data.names[gm]}")
    if peer is not None and peer.codes:
        st.caption(f"{peer.label}: {peer.description}. Open rondjes = voorlopige cijfers.")
    components.boundary_caption(ctx, m.code, ind_obs, m.indicator)
    for note in pr.break_notes(m.meta, ind_obs["year"].dropna().astype(int)):
        st.caption(note)  # a method break (catalogue `breaks`): the years before differ
    if m.is_size:
        st.caption("Bij aantallen staan Nederland en de provincie niet in de grafiek (andere orde "
                   "van grootte). Vergelijk met ‘Vergelijken met’ of kies een indicator per "
                   "inwoner of een percentage.")
    return sdf


# --------------------------------------------------------------------------- ranking

def _shown(rk: pd.DataFrame, value_col: str, level: str) -> pd.DataFrame:
    """A ranking as the table shows it: Dutch status words, no codes, the unit in the value's
    column name, no quality column when nothing is marked."""
    shown = rk.drop(columns=["code", "harmonisatie"], errors="ignore").assign(
        status=rk["status"].map(fmt.status), provincie=rk["provincie"].fillna(""))
    if not (shown["kwaliteit"] != "").any():
        shown = shown.drop(columns=["kwaliteit"])
    shown = shown.rename(columns={"waarde": value_col})
    return shown.drop(columns=["provincie"]) if level != "GM" else shown


def ranking_section(ctx: components.Ctx, m: theme.ThemeModel) -> pd.DataFrame:
    """Two tables: the chosen gemeente with its comparable gemeenten (marked in colour and in
    words; small, drawn per view), then all gemeenten in order. The second is the same for every
    visitor, so it is rendered once per snapshot and shared (a table of 342 rows rendered per
    gemeente was most of a view's extra server time, issue 23)."""
    data, code, period, level = ctx.data, m.code, m.period, m.level
    ind_obs = ctx.obs[m.indicator]
    st.header(m.ranking_title)
    key = (ctx.current_boundaries, m.indicator, period, level, m.rankable, m.direction)
    rk = dataio.per_snapshot(data, "ranking", key, lambda: compute.ranking(
        ind_obs, data.regions, period, level, m.direction, rankable=m.rankable))
    value_col = f"waarde ({fmt.unit_label(m.unit)})"
    formats = {value_col: (None, m.decimals), "aandeel NL (%)": ("%", 2)}
    # the chosen gemeente (or its region) first, then its comparable gemeenten in ranked order
    peers = list(ctx.peer.codes) if level == "GM" else []
    mine = compute.pinned(rk[rk["code"].isin([code, *peers])], code)
    own = _shown(mine, value_col, level)
    own["naam"] = [f"{n} ◀ gekozen" if c == code else f"{n} (vergelijkbaar)"
                   for n, c in zip(own["naam"], mine["code"], strict=True)]
    own_styled = components.dutch_styler(own, formats, highlight=mine["code"].eq(code),
                                         secondary=mine["code"].ne(code))
    shown = dataio.per_snapshot(data, "ranking_shown", (*key, value_col),
                                lambda: _shown(rk, value_col, level))
    all_styled = dataio.per_snapshot(
        data, "ranking_table", (*key, value_col, tuple(shown.columns)),
        lambda: components.dutch_styler(shown, formats), large=True)
    config = {"positie": st.column_config.NumberColumn("Positie", width="small"),
              "naam": "Naam", "provincie": "Provincie", "status": "Status",
              "stand": "Stand", "kwaliteit": "Kwaliteit",
              "aandeel NL (%)": "Aandeel in Nederland"}
    phone_config = {**config, "naam": st.column_config.TextColumn("Naam", width=170),
                    value_col: st.column_config.Column("Waarde", width=95, help=value_col),
                    "stand": st.column_config.Column("Stand", width=95),
                    "aandeel NL (%)": st.column_config.Column("Aandeel NL", width=95)}
    essential = [c for c in ("positie", "naam", value_col, "stand", "aandeel NL (%)")
                 if c in shown.columns]
    name = data.names.get(code, code)
    tables = []
    if not own.empty:
        tables.append((f"{name} en vergelijkbare gemeenten" if len(own) > 1 else name,
                       own_styled, len(own), "eigen"))
    tables.append(("Alle gemeenten" if level == "GM" else "Alle regio's", all_styled,
                   len(shown), "alle"))
    # one table for the device at hand (two tables, one hidden by CSS, cost the browser ~0.2 s
    # of a deep link); both, CSS choosing, when the browser did not say what it is
    device = components.device()
    for label, styled, rows, part in tables:
        st.markdown(f"**{label}**")
        height = min(420, 3 + 35 * (rows + 1))  # header + rows, no empty row under them
        if device != "phone":
            with components.wide_only(f"ranglijst-{part}") if device is None else \
                    st.container(key=f"ranglijst-{part}-breed"):
                st.dataframe(styled, hide_index=True, placeholder=fmt.MISSING, height=height,
                             column_config=config)
        if device != "desktop":
            with components.narrow_only(f"ranglijst-{part}") if device is None else \
                    st.container(key=f"ranglijst-{part}-telefoon"):  # the essential columns
                st.dataframe(styled, hide_index=True, placeholder=fmt.MISSING, height=height,
                             column_order=essential, column_config=phone_config)
    st.caption(m.ranking_note)
    return rk


# --------------------------------------------------------------------------- downloads

def download_frames(ctx: components.Ctx, m: theme.ThemeModel, rk: pd.DataFrame,
                    sdf: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The view's ranking and series as the spreadsheet's sheets, rounded to the indicator's
    decimals (built only when a download is asked for)."""
    data, period = ctx.data, m.period
    value_col = f"waarde ({fmt.unit_label(m.unit)})"
    wide = (sdf.pivot_table(index="period", columns="label", values="value", aggfunc="first")
            .reset_index().rename(columns={"period": "periode"})) if not sdf.empty \
        else pd.DataFrame()
    if ctx.current_boundaries and "harmonisation" in sdf.columns and not wide.empty:
        own_h = sdf[sdf["role"] == "gemeente"].set_index("period")["harmonisation"]
        wide["harmonisatie"] = wide["periode"].map(own_h)
    if not wide.empty:  # the last period is the one presented as current
        last = wide["periode"].max()
        wide["actualiteit"] = [("" if p != last else pr.STALE if data.lags and
                                data.lags.of(m.indicator, p).stale else "actueel")
                               for p in wide["periode"]]
    dec = int(m.meta.decimals or 0)
    ranking = exports.rounded(compute.pinned(rk, m.code), ["waarde"], dec)
    ranking = exports.rounded(ranking, ["aandeel NL (%)"], 1)
    if not wide.empty:
        wide = exports.rounded(wide, [c for c in wide.columns
                                      if c not in ("periode", "harmonisatie", "actualiteit")], dec)
    return {f"Ranglijst {period}": ranking.rename(columns={"waarde": value_col}).assign(
                periode=period, actualiteit=pr.STALE if m.fresh.stale else "actueel"),
            "Tijdreeks": wide}


def downloads(ctx: components.Ctx, m: theme.ThemeModel, rk: pd.DataFrame,
              sdf: pd.DataFrame) -> None:
    components.downloads(f"{m.meta.title} {ctx.data.names[ctx.sel.gemeente]} {m.period}",
                         lambda: download_frames(ctx, m, rk, sdf), ctx.data, [m.indicator],
                         key="thema")
