"""The shared render function of the three kernthema pages: indicator + year choice, a
choropleth of all gemeenten, a time series against NL / provincie / peers / chosen regions, and
a ranking table with the selected gemeente highlighted."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.core import compute, state
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.core.charts import build, svgmap
from dashboard.core.charts import svg as svgdraw
from dashboard.core.charts import text as chart_text
from dashboard.ui import components
from dashboard.ui import data as dataio
from pipelines.catalog import THEMES


def _compare_options(data) -> list[str]:
    groups = data.regions[data.regions["is_current"].astype(bool)
                          & data.regions["level"].isin(["PV", "CR", "AM"])]
    return data.gemeenten["code"].tolist() + groups["code"].tolist()


def _on_indicator() -> None:
    components.set_url(indicator=st.session_state["w_indicator"], jaar=None)


def render(theme: str) -> None:
    ctx = components.context()
    data, sel = ctx.data, ctx.sel
    gm = sel.gemeente
    inds = data.indicators_of(theme)
    st.title(THEMES[theme])
    if not inds:
        st.info("Voor dit thema zijn (nog) geen indicatoren in de snapshot.")
        return

    iid = sel.indicator if sel.indicator in inds else compute.default_indicator(inds)
    meta = inds[iid]
    ind_obs = ctx.obs[iid]
    code, level = compute.display_region(ind_obs, data.regions, gm)
    years = compute.years(ind_obs, level)
    jaar, year_warning = state.resolve_year(sel.jaar, years)
    if year_warning:
        st.warning(year_warning, icon="⚠️")

    c1, c2, c3 = st.columns([3, 1, 4])
    st.session_state["w_indicator"] = iid
    c1.selectbox("Indicator", list(inds), format_func=lambda k: inds[k].title,
                 key="w_indicator", on_change=_on_indicator)
    st.session_state["w_jaar"] = jaar
    c2.selectbox("Jaar", years[::-1] or [None], key="w_jaar",
                 format_func=lambda y: fmt.MISSING if y is None else str(y),
                 on_change=components.bind_to_url("w_jaar", "jaar"))
    st.session_state["w_vergelijk"] = list(sel.vergelijk)
    c3.multiselect("Vergelijken met", _compare_options(data), key="w_vergelijk",
                   format_func=lambda c: fmt.region_label(data.names[c], data.levels[c]),
                   max_selections=state.MAX_COMPARE, placeholder="Kies gemeenten of regio's",
                   on_change=components.bind_to_url("w_vergelijk", "vergelijk", ",".join))
    components.set_url(indicator=iid, jaar=jaar)

    period = compute.period_for_year(ind_obs, jaar, level) if jaar else None
    unit, dec = meta.unit, int(meta.decimals or 0)
    hib, rankable = pr.direction(meta), pr.is_rankable(meta)  # no ranks or colours for sizes
    region_label = pr.region_block_label(data.names.get(code, code), level)
    st.markdown(f"**{meta.title}** ({fmt.unit_label(unit)}). {meta.description or ''}")
    if level != "GM":
        st.info(pr.gap_reason(data.manifest, meta, gm, data.names[gm],
                              shown_region=region_label).text, icon=":material/info:")
    if period is None:
        st.info(f"Voor {data.names[gm]} zijn er voor deze indicator geen gegevens.")
        return
    # "verouderd" marks the latest figure shown as current, not an earlier year the user chose
    fresh = (data.lags.of(iid, period) if data.lags and jaar == max(years)
             else pr.Freshness(period))
    if fresh.stale:
        st.warning(fresh.text, icon=":material/history:")

    cur = ind_obs[ind_obs["period"] == period]
    status = cur["status"].mode().iloc[0] if not cur.empty else None
    cbs_table = str(cur["cbs_table"].iloc[0]) if not cur.empty else "+".join(meta.tables)
    source = components.source_text(cbs_table)
    own = compute.value_at(ind_obs, code, period)
    nl_value = compute.value_at(ind_obs, compute.NL, period)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(f"{region_label}, {fmt.period(period)}"
              + (f" ({pr.STALE})" if fresh.stale else ""), fmt.value(own, unit, dec, short=True))
    m2.metric("Nederland", fmt.value(nl_value, unit, dec, short=True))
    pv = compute.region_row(data.regions, gm).get("provincie_code")
    if level == "GM" and pv:
        m3.metric(data.names.get(pv, "Provincie"),
                  fmt.value(compute.value_at(ind_obs, pv, period), unit, dec, short=True))
    level_name = {"GM": "gemeenten", "CR": "COROP-gebieden", "PV": "provincies"}.get(level, "")
    if rankable:
        rank, n = compute.position(ind_obs, code, period, level, meta.higher_is_better)
        m4.metric("Positie", f"{fmt.rank(rank, n)}",
                  help="1 = gunstigste waarde" if hib is not None else "1 = hoogste waarde")
        if level_name:
            m4.caption(f"van alle {level_name}")
    else:
        share = pr.share(own, nl_value) if code != compute.NL else None
        m4.metric("Aandeel in Nederland",
                  fmt.MISSING if share is None else f"{fmt.number(share, 2 if share < 1 else 1)}%",
                  help="Een aantal groeit met de gemeente; daarom geen positie, maar het aandeel.")

    left, right = st.columns(2)
    with left:
        geo, geo_bounds, map_year = data.geo, data.geo_bounds, None
        if not ctx.current_boundaries and level == "GM" and data.geo is not None:
            geo, geo_bounds, map_year = dataio.year_geo(data, jaar)
        if geo is None and data.geo is not None and level == "GM":
            st.info(f"Geen kaart van de gemeentegrenzen van {jaar} beschikbaar (niet op te halen "
                    "bij de bron). Kies ‘huidige gemeentegrenzen’ voor een kaart; de cijfers van "
                    f"{jaar} staan in de ranglijst hieronder.", icon=":material/map:")
        elif data.geo is None:
            st.info("Geen kaart beschikbaar in deze snapshot.", icon=":material/map:")
        elif level != "GM":
            st.info("Geen kaart: deze indicator is niet per gemeente beschikbaar.",
                    icon=":material/map:")
        else:
            own_map = geo is data.geo
            title = f"{meta.title}, {fmt.period_status(period, status)}"
            if not own_map:
                title += f" (grenzen van {map_year})"
            if fresh.stale:
                title += f" ({pr.STALE})"

            def build_map(geo=geo, geo_bounds=geo_bounds, own_map=own_map, title=title):
                mdf = compute.map_frame(ind_obs, data.regions, period,
                                        None if own_map else list(geo))
                spec = build.map_chart(mdf, meta, title=title, source=source)
                return mdf, spec, svgmap.build(spec, geo, geo_bounds)

            # the map of all gemeenten is the same for everyone: built once per snapshot (as an
            # SVG the browser draws itself); only the selected gemeente's outline differs per view
            mdf, spec, drawn = dataio.per_snapshot(
                data, "map", (ctx.current_boundaries, iid, period, own_map, map_year, title,
                              source, hib), build_map)
            # this view's chart: the shared one with the gemeente chosen, so the summary (caption
            # and accessible name) names its value as well
            view = spec.for_selected(gm)
            components.chart(view, key="map", filename=f"kaart {meta.title} {period}",
                             svg=drawn.render(gm, chart_text.summary(view)))
            n_missing = int(mdf["value"].isna().sum())
            legend = ["Donkerder = gunstiger." if hib is not None else "Donkerder = hoger."]
            if n_missing:
                legend.append(f"Grijs = geen gegevens ({n_missing} gemeenten).")
            if gm in geo:
                legend.append(f"Rood omlijnd: {data.names[gm]}.")
            st.caption(" ".join(legend))
            if not own_map:
                st.caption(f"De kaart toont de gemeenten zoals ze in {jaar} bestonden.")
                if gm not in geo:
                    st.caption(f"{data.names[gm]} bestond in {jaar} nog niet in de huidige vorm.")
            if not ctx.current_boundaries:
                gone = compute.off_map(ind_obs, period, geo.keys())
                if gone:
                    st.caption(f"De kaart toont de grenzen van {map_year}; {len(gone)} gemeenten "
                               f"van {jaar} staan er niet op: "
                               + ", ".join(data.names.get(c, c) for c in gone[:12])
                               + (" …" if len(gone) > 12 else ".")
                               + " Ze staan wel in de ranglijst.")
    with right:
        # counts of a gemeente and of Nederland differ by orders of magnitude: no reference lines
        counts = pr.is_size(meta)
        lines = [(code, data.names.get(code, code), "gemeente")]
        if level == "GM" and pv and not counts:
            lines.append((pv, fmt.region_label(data.names[pv], "PV"), "provincie"))
        if not counts:
            lines.append((compute.NL, "Nederland", "nl"))
        lines += [(c, fmt.region_label(data.names[c], data.levels[c]), "vergelijk")
                  for c in sel.vergelijk]
        peer = ctx.peer if level == "GM" and not counts else None
        series_title = f"{meta.title}: {data.names.get(code, code)}"

        def build_series():
            sdf = compute.series_frame(ind_obs, lines, peer)
            spec = build.series_chart(sdf, meta, title=series_title, source=source)
            return sdf, spec, svgdraw.series(spec, chart_text.summary(spec))

        sdf, series_spec, series_svg = dataio.per_view(
            data, "series", (ctx.current_boundaries, iid, tuple(lines),
                             (peer.codes, peer.label) if peer else None, series_title, source),
            build_series)
        if not (sdf["role"] == "gemeente").any():
            harm = [compute.names_in(t, data.regions)
                    for t in compute.gap_summary(data.gaps, iid, code)] \
                if ctx.current_boundaries else None
            gap = pr.gap_reason(data.manifest, meta, gm, data.names[gm], harmonisation=harm,
                                period=period)
            st.info(gap.text + " De grafiek toont alleen de vergelijkingsregio's.")
        components.chart(series_spec, key="series", svg=series_svg,
                         filename=f"trend {meta.title} {data.names[gm]}")
        if peer is not None and peer.codes:
            st.caption(f"{peer.label}: {peer.description}. Open rondjes = voorlopige cijfers.")
        components.boundary_caption(ctx, code, ind_obs, iid)
        if counts:
            st.caption("Bij aantallen staan Nederland en de provincie niet in de grafiek (andere "
                       "orde van grootte). Vergelijk met ‘Vergelijken met’ of kies een indicator "
                       "per inwoner of een percentage.")
    components.source_caption(data, cbs_table, period, status)

    st.header((f"Ranglijst {fmt.period(period)}" if rankable else
                  f"Alle {level_name or 'regio' + chr(39) + 's'} {fmt.period(period)}")
                 + (f" ({pr.STALE})" if fresh.stale else ""))
    rk = compute.pinned(dataio.per_snapshot(
        data, "ranking", (ctx.current_boundaries, iid, period, level, rankable),
        lambda: compute.ranking(ind_obs, data.regions, period, level,
                                meta.higher_is_better, rankable=rankable)), code)
    shown = rk.drop(columns=["code", "harmonisatie"], errors="ignore").assign(
        status=rk["status"].map(fmt.status), provincie=rk["provincie"].fillna(""))
    value_col = f"waarde ({fmt.unit_label(unit)})"
    shown = shown.rename(columns={"waarde": value_col})
    if level != "GM":
        shown = shown.drop(columns=["provincie"])
    peers_marked = rk["code"].isin(ctx.peer.codes) if level == "GM" else None
    # the row colours get words too: never colour alone
    shown["naam"] = [f"{n} ◀ gekozen" if c == code else
                     f"{n} (vergelijkbaar)" if peers_marked is not None and p else n
                     for n, c, p in zip(shown["naam"], rk["code"],
                                        peers_marked if peers_marked is not None
                                        else [False] * len(rk), strict=True)]
    # rendered once per table and gemeente for all sessions (and for both tables below)
    styled = dataio.per_view(
        data, "ranking_table", (ctx.current_boundaries, iid, period, level, rankable, code,
                                ctx.peer.codes, tuple(shown.columns)),
        lambda: components.dutch_styler(shown, {value_col: (None, dec),
                                                "aandeel NL (%)": ("%", 2)},
                                        highlight=rk["code"].eq(code), secondary=peers_marked),
        large=True)
    config = {"positie": st.column_config.NumberColumn("Positie", width="small"),
              "naam": "Naam", "provincie": "Provincie", "status": "Status",
              "aandeel NL (%)": "Aandeel in Nederland"}
    # one table for the device at hand (two tables, one hidden by CSS, cost the browser ~0.2 s
    # of a deep link); both, CSS choosing, when the browser did not say what it is
    device = components.device()
    if device != "phone":
        with components.wide_only("ranglijst") if device is None else \
                st.container(key="ranglijst-breed"):
            st.dataframe(styled, hide_index=True, placeholder=fmt.MISSING,
                         height=min(420, 38 + 35 * (len(shown) + 1)),
                         column_config=config)
    if device != "desktop":
        with components.narrow_only("ranglijst") if device is None else \
                st.container(key="ranglijst-telefoon"):  # a phone: only the essential columns
            essential = [c for c in ("positie", "naam", value_col, "aandeel NL (%)")
                         if c in shown.columns]
            st.dataframe(styled, hide_index=True, placeholder=fmt.MISSING,
                         height=min(420, 38 + 35 * (len(shown) + 1)),
                         column_order=essential, column_config={
                             **config, "naam": st.column_config.TextColumn("Naam", width=170),
                             value_col: st.column_config.Column("Waarde", width=95,
                                                                help=value_col),
                             "aandeel NL (%)": st.column_config.Column("Aandeel NL",
                                                                       width=95)})
    order = (("1 = gunstigste waarde. " if hib is not None else "Gerangschikt van hoog naar "
              "laag (geen voorkeursrichting). ") if rankable else
             "Een aantal groeit met de gemeente: daarom geen positie, maar het aandeel in "
             "Nederland; op naam gesorteerd (klik op een kolomkop om te sorteren). ")
    st.caption(order + f"Bovenaan, geel gemarkeerd en met ‘◀ gekozen’: {region_label}."
               + (" Lichtgroen en ‘(vergelijkbaar)’: vergelijkbare gemeenten."
                  if level == "GM" and ctx.peer.codes else "")
               + " Regio's zonder cijfer staan niet in de lijst.")

    wide = (sdf.pivot_table(index="period", columns="label", values="value", aggfunc="first")
            .reset_index().rename(columns={"period": "periode"})) if not sdf.empty else pd.DataFrame()
    if ctx.current_boundaries and "harmonisation" in sdf.columns and not wide.empty:
        own_h = sdf[sdf["role"] == "gemeente"].set_index("period")["harmonisation"]
        wide["harmonisatie"] = wide["periode"].map(own_h)
    if not wide.empty:  # the last period is the one presented as current
        last = wide["periode"].max()
        wide["actualiteit"] = [("" if p != last else pr.STALE if data.lags and
                                data.lags.of(iid, p).stale else "actueel")
                               for p in wide["periode"]]
    components.downloads(
        f"{meta.title} {data.names[gm]} {period}",
        {f"Ranglijst {period}": rk.rename(columns={"waarde": value_col}).assign(
            periode=period, actualiteit=pr.STALE if fresh.stale else "actueel"),
         "Tijdreeks": wide},
        data, [iid], key="thema")
