"""Vergelijken: all indicators side by side for a provincie, COROP-gebied, arbeidsmarktregio
or a hand-picked set of gemeenten, with Nederland as the reference row."""

import pandas as pd
import streamlit as st

from dashboard.core import compute, state
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.core.charts import build
from dashboard.ui import components

ctx = components.context()
data, sel = ctx.data, ctx.sel
gm = sel.gemeente
row = compute.region_row(data.regions, gm)
MODES = {"PV": "Provincie", "CR": "COROP-gebied", "AM": "Arbeidsmarktregio", "GM": "Eigen selectie"}
GROUP_KEY = {"PV": "provincie_code", "CR": "corop_code", "AM": "arbeidsmarktregio_code"}

st.title("Vergelijken")
st.caption("Alle indicatoren naast elkaar, elk voor het meest recente jaar. Klik op een kolomkop "
           "om te sorteren. Nederland staat bovenaan als referentie.")

groups = [c for c in sel.vergelijk if c[:2] in GROUP_KEY]
mode = groups[0][:2] if len(sel.vergelijk) == 1 and groups else ("GM" if sel.vergelijk else "PV")


def _on_mode() -> None:
    m = st.session_state["w_mode"]
    if m == "GM":
        default = ctx.peer.codes[:4]
        components.set_url(vergelijk=",".join(default))
    else:
        components.set_url(vergelijk=row.get(GROUP_KEY[m]) or "")


st.session_state["w_mode"] = mode
st.segmented_control("Vergelijk", list(MODES), format_func=MODES.get, key="w_mode",
                     on_change=_on_mode, required=True)

if mode == "GM":
    st.session_state["w_set"] = list(sel.vergelijk)
    st.multiselect("Gemeenten", data.gemeenten["code"].tolist(), key="w_set",
                   format_func=data.names.get, max_selections=state.MAX_COMPARE,
                   placeholder="Kies gemeenten",
                   on_change=components.bind_to_url("w_set", "vergelijk", ",".join))
    if ctx.peer.codes:
        st.button(f"Vergelijkbare gemeenten ({state.PEERS[ctx.peer.method]})",
                  icon=":material/group_add:", key="w_peer_preset",
                  on_click=lambda: components.set_url(
                      vergelijk=",".join(ctx.peer.codes[:state.MAX_COMPARE])),
                  help="Vult de selectie met de vergelijkbare gemeenten uit de zijbalk.")
    members = [gm] + [c for c in sel.vergelijk if c[:2] == "GM"]
    codes = members
    title = f"{data.names[gm]} en {len(members) - 1} gekozen gemeenten"
else:
    current = data.regions[data.regions["is_current"].astype(bool)
                           & (data.regions["level"] == mode)].sort_values("name")
    group = groups[0] if groups else row.get(GROUP_KEY[mode])
    options = current["code"].tolist()
    if group not in options:
        group = options[0]
    st.session_state["w_group"] = group
    st.selectbox(MODES[mode], options, key="w_group", format_func=data.names.get,
                 on_change=components.bind_to_url("w_group", "vergelijk"))
    components.set_url(vergelijk=group)
    gms = data.gemeenten
    members = gms.loc[gms[GROUP_KEY[mode]].eq(group).fillna(False), "code"].tolist()
    # the selected gemeente right under its region, the rest by name: it stays in view
    codes = [group] + [c for c in members if c == gm] + [c for c in members if c != gm]
    title = f"Gemeenten in {fmt.region_label(data.names[group], mode)}"

table, columns = compute.compare_table(ctx.obs, data.regions, data.indicators, codes,
                                      lags=data.lags)
st.header(title)
if not columns:
    st.info("Voor deze regio's zijn geen gegevens.")
    st.stop()
formats = {c["column"]: (None, c["decimals"]) for c in columns}
# the highlighted row also says so in words (never colour alone)
shown = table.drop(columns=["code"]).assign(
    regio=[f"{r} ◀ gekozen" if c == gm else r for r, c in zip(table["regio"], table["code"],
                                                               strict=True)])
ids = [c["id"] for c in columns]
iid = sel.indicator if sel.indicator in ids else compute.default_indicator(
    {k: data.indicators[k] for k in ids})
col = next(c for c in columns if c["id"] == iid)
with components.wide_only("vergelijking"):
    st.dataframe(components.dutch_styler(shown, formats, highlight=table["code"].eq(gm)),
                 hide_index=True, height=min(700, 38 + 35 * len(table)),
                 placeholder=fmt.MISSING,  # an empty cell never reads "None"
                 column_config={"regio": st.column_config.TextColumn("Regio", pinned=True)})
with components.narrow_only("vergelijking"):  # a phone: one indicator at a time, all regions
    st.markdown(f"**{col['column']}**")
    st.table(pd.DataFrame({"Regio": shown["regio"],
                           "Waarde": [fmt.value(v, None, col["decimals"])
                                      for v in table[col["column"]]]}), hide_index=True)
    st.caption("Op een smal scherm één indicator tegelijk; kies een andere bij ‘Eén indicator "
               "in beeld’ hieronder. Alle indicatoren samen staan in de CSV en Excel.")
st.caption("Geel gemarkeerd en met ‘◀ gekozen’: " + data.names[gm]
           + (" (direct onder de regio)" if mode != "GM" else "") + ". "
           "Indicatoren die "
           "alleen per provincie of COROP-gebied bestaan, staan er alleen voor die regio's in. "
           "‘Verouderd’ in een kolomkop: ouder dan gebruikelijk voor die CBS-tabel. "
           + pr.credit_line() + " (tabellen volgens ‘Over de data’).")
if ctx.current_boundaries:
    notes = [n for c in table["code"] if (n := data.boundary_note(c))]
    if notes:
        st.caption("Herindelingen (cijfers op de huidige gemeentegrenzen): " + " ".join(notes))
components.downloads(f"vergelijking {title}", {"Vergelijking": table}, data,
                     [c["id"] for c in columns], key="vergelijk")

st.header("Eén indicator in beeld")
st.session_state["w_cmp_ind"] = iid
st.selectbox("Indicator", ids, key="w_cmp_ind", format_func=lambda k: data.indicators[k].title,
             on_change=components.bind_to_url("w_cmp_ind", "indicator"))
meta = data.indicators[iid]
bars = pd.DataFrame({"code": table["code"], "label": table["regio"], "value": table[col["column"]]})
if meta.unit == "aantal":  # counts of larger areas would dwarf the gemeenten
    bars = bars[bars["code"].str.startswith("GM")]
    st.caption("Bij aantallen staan alleen de gemeenten in de grafiek, niet Nederland of de regio.")
cbs_table = str(ctx.obs[iid]["cbs_table"].iloc[-1])
spec = build.bar_chart(bars, meta, chosen={gm}, title=col["column"],
                       source=components.source_text(cbs_table, col["period"]))
components.chart(spec, key="bars", filename=col["column"])
components.source_caption(data, cbs_table, col["period"])
if mode == "GM":
    components.peers_expander(ctx)
