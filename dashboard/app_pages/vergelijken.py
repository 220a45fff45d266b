"""Vergelijken: the adviser's workbench. Build a selection of gemeenten (by hand, by provincie /
COROP / arbeidsmarktregio, by grootteklasse and stedelijkheid, or the comparable gemeenten of
the chosen one), choose indicators (a kernthema or one by one), read them side by side with the
selection's median and Nederland, and take the selection along as a link or a download.

Thin: the selection is ``ctx.sel.bench`` (dashboard/core/selection.py, parsed from the link by
the app) -> members -> ``compute.selection_frame`` (one long frame behind table, chart and
export) -> render. Every widget writes the selection back into the link, so a copied link
opens the same comparison. Phone (< 640 px): the choices stack in one column (Streamlit's
columns stack); the wide table is replaced by one indicator at a time (regio, waarde, let op).
"""

import pandas as pd
import streamlit as st

from dashboard.core import compute, exports, selection
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.core.charts import build
from dashboard.core.charts import svg as svgdraw
from dashboard.core.selection import Selection
from dashboard.core.welvaart import DIMENSIES
from dashboard.ui import components
from pipelines.catalog import THEMES

ctx = components.context()
data, sel = ctx.data, ctx.sel
known = data.known
gm = sel.gemeente
bench: Selection = sel.bench or Selection()
GROUP_LEVELS = selection.GROUP_WORD  # PV, CR, AM -> the word for that kind of region

# older links: vergelijk=GM..,PV.. becomes the selection (the chosen gemeente included)
if bench.empty and sel.vergelijk:
    bench = bench.replace(
        gemeenten=[gm] + [c for c in sel.vergelijk if c.startswith("GM")],
        regio=[c for c in sel.vergelijk if c[:2] in GROUP_LEVELS])
if bench.empty:  # a first visit: the chosen gemeente and its comparable gemeenten
    bench = bench.replace(gemeenten=[gm, *ctx.peer.codes])
if not bench.indicatoren:
    first = sel.indicator and known.indicators.get(sel.indicator)
    bench = bench.replace(indicatoren=selection.indicators_of_theme(
        known, first or next(iter(THEMES))))
components.set_url(**{k: bench.to_query().get(k) for k in selection.PARAMS})


def _put(**changes) -> None:
    """A widget callback's change of the selection, written into the link."""
    new = bench.replace(**changes)
    components.set_url(**{k: new.to_query().get(k) for k in selection.PARAMS})


def _bind(widget: str, part: str):
    return lambda: _put(**{part: st.session_state[widget] or []})


st.title("Vergelijken")
st.caption("Stel een selectie van gemeenten en indicatoren samen, lees ze naast elkaar met de "
           "mediaan van de selectie en Nederland, en deel de link of download de selectie. "
           "De link bevat de hele selectie: een collega ziet dezelfde vergelijking.")

# ---------------------------------------------------------------- 1. gemeenten
st.header("Gemeenten")
st.session_state["w_bench_gm"] = list(bench.gemeenten)
st.multiselect("Gemeenten met de hand (zoek op naam)", data.gemeenten["code"].tolist(),
               key="w_bench_gm", format_func=data.names.get,
               max_selections=selection.MAX_GEMEENTEN, placeholder="Typ een gemeentenaam",
               on_change=_bind("w_bench_gm", "gemeenten"))
groups = data.regions[data.regions["is_current"].astype(bool)
                      & data.regions["level"].isin(list(GROUP_LEVELS))]
groups = groups.assign(_o=groups["level"].map({k: i for i, k in enumerate(GROUP_LEVELS)}))
group_codes = groups.sort_values(["_o", "name"])["code"].tolist()
c1, c2, c3 = st.columns(3)
st.session_state["w_bench_regio"] = list(bench.regio)
c1.multiselect("Alle gemeenten in", group_codes, key="w_bench_regio",
               format_func=lambda c: f"{data.names.get(c, c)} ({GROUP_LEVELS[c[:2]]})",
               placeholder="Provincie, COROP-gebied of arbeidsmarktregio",
               on_change=_bind("w_bench_regio", "regio"))
st.session_state["w_bench_size"] = list(bench.grootteklasse)
c2.multiselect("Grootteklasse", list(known.size_classes), key="w_bench_size",
               format_func=known.size_classes.get, placeholder="Alle groottes",
               disabled=not known.size_classes, on_change=_bind("w_bench_size", "grootteklasse"))
st.session_state["w_bench_urban"] = list(bench.stedelijkheid)
c3.multiselect("Stedelijkheid", list(known.urbanities), key="w_bench_urban",
               format_func=known.urbanities.get, placeholder="Alle klassen",
               disabled=not known.urbanities, on_change=_bind("w_bench_urban", "stedelijkheid"))
b1, b2 = st.columns(2)
if ctx.peer.codes:
    b1.button(f"Vergelijkbare gemeenten van {data.names[gm]} toevoegen", key="w_peer_preset",
              icon=":material/group_add:",
              on_click=lambda: _put(gemeenten=list(dict.fromkeys(
                  [*bench.gemeenten, gm, *ctx.peer.codes]))[:selection.MAX_GEMEENTEN]),
              help="Voegt de vergelijkbare gemeenten uit de zijbalk toe "
                   "(waarom deze gemeenten: onderaan de pagina).")
b2.button("Selectie wissen", key="w_bench_clear", icon=":material/delete_sweep:",
          on_click=lambda: _put(gemeenten=[gm], regio=[], grootteklasse=[], stedelijkheid=[]),
          help=f"Begint opnieuw met alleen {data.names[gm]}.")
members = bench.members(data.gemeenten)
st.markdown(f"**{len(members)} {'gemeente' if len(members) == 1 else 'gemeenten'}** · "
            + bench.describe(known))
if members and gm not in members:
    st.caption(f"{data.names[gm]} (de gemeente in de zijbalk) staat niet in deze selectie; "
               "voeg haar toe bij ‘Gemeenten met de hand’ om haar gemarkeerd mee te vergelijken.")

# ---------------------------------------------------------------- 2. indicatoren
st.header("Indicatoren")
i1, i2, i3 = st.columns([1, 1, 2])
i1.selectbox("Een heel kernthema", list(THEMES), key="w_bench_theme", index=None,
             format_func=THEMES.get, placeholder="Kies een kernthema",
             on_change=lambda: st.session_state["w_bench_theme"] and _put(
                 indicatoren=selection.indicators_of_theme(known,
                                                           st.session_state["w_bench_theme"])))
by_dimension = {d: [k for k, m in data.indicators.items()
                    if m.brede_welvaart and m.brede_welvaart.dimensie == d] for d in DIMENSIES}
by_dimension = {d: ids for d, ids in by_dimension.items() if ids}
i2.selectbox("Een brede-welvaartdimensie", list(by_dimension), key="w_bench_bw", index=None,
             format_func=DIMENSIES.get, placeholder="Kies een dimensie",
             disabled=not by_dimension,
             on_change=lambda: st.session_state["w_bench_bw"] and _put(
                 indicatoren=by_dimension[st.session_state["w_bench_bw"]]))
st.session_state["w_bench_ind"] = list(bench.indicatoren)
i3.multiselect("Of één voor één", list(data.indicators), key="w_bench_ind",
               format_func=lambda k: data.indicators[k].title,
               max_selections=selection.MAX_INDICATOREN, placeholder="Kies indicatoren",
               on_change=_bind("w_bench_ind", "indicatoren"))

# ---------------------------------------------------------------- 3. the comparison
chosen = {i: data.indicators[i] for i in bench.indicatoren if i in data.indicators}
if not members or not chosen:
    st.info("Kies hierboven ten minste één gemeente en één indicator.")
    st.stop()
frame = compute.selection_frame(ctx.obs, data.regions, chosen, members, lags=data.lags)
table, columns = compute.selection_wide(frame)
title = f"{len(members)} gemeenten, {len(columns)} indicatoren"
st.header("Vergelijking")
formats = {c["column"]: (None, c["decimals"]) for c in columns}
shown = table.drop(columns=["code"]).assign(
    regio=[f"{r} ◀ gekozen" if c == gm else r for r, c in zip(table["regio"], table["code"],
                                                               strict=True)])
reference = table["code"].isin([compute.MEDIAN, compute.NL])
with components.wide_only("vergelijking"):
    st.dataframe(components.dutch_styler(shown, formats, highlight=table["code"].eq(gm),
                                         secondary=reference),
                 hide_index=True, height=min(700, 38 + 35 * len(table)),
                 placeholder=fmt.MISSING,
                 column_config={"regio": st.column_config.TextColumn("Regio", pinned=True),
                                "let op": st.column_config.TextColumn("Let op")})
ids = [c["id"] for c in columns]
iid = sel.indicator if sel.indicator in ids else ids[0]
col = next(c for c in columns if c["id"] == iid)
with components.narrow_only("vergelijking"):  # a phone: one indicator at a time
    part = frame[frame["indicator"] == iid]
    st.markdown(f"**{col['column']}**")
    st.table(pd.DataFrame({
        "Regio": [f"{r} ◀ gekozen" if c == gm else r
                  for r, c in zip(part["regio"], part["code"], strict=True)],
        "Waarde": [fmt.value(v, None, col["decimals"]) for v in part["waarde"]],
        "Let op": part["kwaliteit"].tolist()}), hide_index=True)
    st.caption("Op een smal scherm één indicator tegelijk; kies een andere bij ‘Eén indicator "
               "in beeld’ hieronder. Alles samen staat in de CSV en Excel.")
st.caption(f"Geel gemarkeerd en met ‘◀ gekozen’: {data.names[gm]}; groen: de mediaan van de "
           "selectie en Nederland (referentie). Klik op een kolomkop om te sorteren. "
           f"‘{pr.IMPRECISE}’: het CBS rondt de aantallen achter dit cijfer af; zo’n waarde telt "
           "niet mee in de mediaan en staat niet in de grafiek. ‘Verouderd’ in een kolomkop: "
           "ouder dan gebruikelijk voor die CBS-tabel. " + pr.credit_line()
           + " (tabellen volgens ‘Over de data’).")
no_gm = [c["column"].split(" (")[0] for c in columns if not pd.notna(c["period"])]
if no_gm:
    st.caption("Zonder cijfers voor deze gemeenten (het CBS publiceert ze alleen voor grotere "
               "regio's; zie het kernthema): " + ", ".join(no_gm) + ".")
if ctx.current_boundaries:
    notes = [n for c in members if (n := data.boundary_note(c))]
    if notes:
        st.caption("Herindelingen (cijfers op de huidige gemeentegrenzen): " + " ".join(notes))
components.downloads(f"vergelijking {title}", lambda: {
    "Vergelijking": exports.selection_export(frame),
    "Alle perioden": exports.selection_export(compute.selection_series(
        ctx.obs, data.regions, chosen, members))},
    data, ids, key="vergelijk")
st.caption("CSV: de vergelijking hierboven. Excel: ook het tabblad ‘Alle perioden’ (elke periode "
           "van deze gemeenten en indicatoren) en ‘Bronnen’.")
others = [c for c in members if c != gm]
if others:  # the one-page briefing of the chosen gemeente against this selection
    components.briefing_button(ctx, key="selectie", group=tuple(others),
                               group_text=bench.describe(known),
                               label=f"Briefing {data.names[gm]} met deze selectie (PDF)")

# ---------------------------------------------------------------- 4. one indicator as bars
st.header("Eén indicator in beeld")
st.session_state["w_cmp_ind"] = iid
st.selectbox("Indicator", ids, key="w_cmp_ind", format_func=lambda k: data.indicators[k].title,
             on_change=components.bind_to_url("w_cmp_ind", "indicator"))
meta = data.indicators[iid]
part = frame[(frame["indicator"] == iid) & (frame["kwaliteit"] != pr.IMPRECISE)]
if meta.unit == "aantal":  # counts: Nederland would dwarf the gemeenten
    part = part[part["code"] != compute.NL]
bars = pd.DataFrame({"code": part["code"], "label": part["regio"], "value": part["waarde"]})
cbs_table = str(next(iter(part["CBS-tabel"].dropna()), "") or ctx.obs[iid]["cbs_table"].iloc[-1])
spec = build.bar_chart(bars, meta, chosen={gm}, title=col["column"],
                       source=components.source_text(cbs_table, col["period"]))
components.chart(spec, key="bars", filename=col["column"])
left_out = frame[(frame["indicator"] == iid) & (frame["kwaliteit"] == pr.IMPRECISE)]["regio"]
if len(left_out):  # said, not silently dropped: the table above shows them with their mark
    st.caption("Niet in de grafiek, want onnauwkeurig (kleine aantallen, afgerond door CBS): "
               + ", ".join(str(r).replace(" ◀ gekozen", "") for r in left_out) + ".")
components.source_caption(data, cbs_table, col["period"])

# ---------------------------------------------------------------- 5. trends as small multiples
st.header("Verloop in de selectie")
trends = compute.selection_trends(ctx.obs[iid], members)
if trends.empty:
    st.caption(f"Voor {meta.title.lower()} is geen verloop van deze gemeenten bekend.")
else:
    scale = svgdraw.sparkline_scale(trends["value"].tolist())
    shown_codes = [c for c in members if c in set(trends["code"])]
    st.caption(f"{meta.title}: de laatste {trends['period'].nunique()} perioden per gemeente, "
               "alle lijnen op dezelfde schaal (vanaf 0), zodat ze vergelijkbaar zijn."
               + (f" De eerste {compute.SMALL_MULTIPLES} gemeenten van de selectie."
                  if len(members) > compute.SMALL_MULTIPLES else ""))
    for start in range(0, len(shown_codes), 4):
        for tile, code in zip(st.columns(4), shown_codes[start:start + 4], strict=False):
            g = trends[trends["code"] == code]
            chart = build.trend(g["value"].tolist(), g["period"].tolist(), meta,
                                data.names.get(code, code))
            with tile:
                st.markdown(f"**{data.names.get(code, code)}**"
                            + (" ◀ gekozen" if code == gm else ""))
                st.html(svgdraw.sparkline_img(chart, scale))
    with st.expander("Tabel bij het verloop per gemeente", icon=":material/table:"):
        pivot = trends.pivot(index="code", columns="period", values="value")
        pivot.columns = [fmt.period(p) for p in pivot.columns]
        pivot.insert(0, "gemeente", [data.names.get(c, c) for c in pivot.index])
        st.dataframe(components.dutch_styler(
            pivot.reset_index(drop=True),
            {c: (None, int(meta.decimals or 0)) for c in pivot.columns[1:]}),
            hide_index=True, placeholder=fmt.MISSING)
components.peers_expander(ctx)
