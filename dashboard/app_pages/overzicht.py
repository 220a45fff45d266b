"""Overzicht: the gemeenteprofiel — key figures per kernthema for the selected gemeente."""

import pandas as pd
import streamlit as st

from dashboard import components, compute
from dashboard import format as fmt
from pipelines.catalog import THEMES

ctx = components.context()
data, gm = ctx.data, ctx.sel.gemeente
row = compute.region_row(data.regions, gm)
peer = ctx.peer
records = compute.profile(ctx.obs, data.regions, data.indicators, gm, peer)

st.title(data.names[gm])
st.markdown(
    f"Gemeenteprofiel · provincie **{row.get('provincie') or fmt.MISSING}** · "
    f"{fmt.number(row.get('inwoners'))} inwoners · {row.get('urbanity') or ''}".rstrip(" ·"))
st.caption(
    "Per indicator: het laatst bekende cijfer, de verandering ten opzichte van een jaar eerder "
    "(groen = gunstige ontwikkeling, rood = ongunstig, grijs = geen richting), en de vergelijking "
    f"met Nederland, de provincie en vergelijkbare gemeenten ({peer.description}). "
    "Positie 1 is de gunstigste van alle gemeenten.")
components.boundary_caption(ctx, gm)
components.peers_expander(ctx)

DELTA_COLOR = {True: "normal", False: "inverse"}


def card(r: dict) -> None:
    unit, dec, hib = r["unit"], r["decimals"], r["higher_is_better"]
    with st.container(border=True):
        has_change = r["change"] is not None
        st.metric(
            r["title"], fmt.value(r["value"], unit, dec, short=True),
            delta=fmt.change(r["change"], unit, dec) if has_change else None,
            delta_color=DELTA_COLOR.get(hib, "off"),
            delta_arrow="off" if has_change and r["change"] == 0 else "auto",
            delta_description=f"t.o.v. {fmt.period(r['prev_period'])}" if has_change else None,
            chart_data=r["trend"] or None, chart_type="line",
            help=data.indicators[r["indicator"]].get("description"))
        lines = [fmt.period_status(r["period"], r["status"]) if r["period"] else fmt.MISSING]
        if r["note"]:
            lines.append(r["note"])
        if unit == "aantal":  # a count is not compared with larger areas; show its share
            if r["nl"] and r["value"] is not None:
                lines.append(f"Aandeel in Nederland: {fmt.number(100 * r['value'] / r['nl'], 1)}%")
        else:
            refs = [("Nederland", r["nl"]), (row.get("provincie") or "Provincie", r["provincie"]),
                    ("Vergelijkbare gemeenten", r["peers"])]
            for label, ref in refs:
                if ref is None:
                    continue
                verdict = compute.judgement(r["value"], ref, hib)
                lines.append(f"{label}: {fmt.value(ref, unit, dec, short=True)}"
                             + (f" — {verdict}" if verdict and r["note"] is None else ""))
        if r["region_level"] == "GM" and r["rank"] is not None:
            lines.append(f"Positie: {fmt.rank(r['rank'], r['rank_n'])} gemeenten")
        st.caption("  \n".join(lines))


for theme, title in THEMES.items():
    rows = [r for r in records if r["theme"] == theme]
    head, link = st.columns([3, 1], vertical_alignment="bottom")
    head.subheader(title)
    link.page_link(f"app_pages/{theme}.py", label="Kaart, trend en ranglijst",
                   icon=":material/arrow_forward:", query_params={"gemeente": gm})
    if not rows:
        st.info("Voor dit thema zijn (nog) geen indicatoren in de snapshot.")
        continue
    cols = st.columns(3)
    for i, r in enumerate(rows):
        with cols[i % 3]:
            card(r)
    tables = sorted({t for r in rows if r["cbs_table"] for t in r["cbs_table"].split("+")})
    components.source_caption(data, "+".join(tables))

changes = compute.change_lines(data.manifest, data.indicators)
if changes is not None:
    st.subheader("Sinds de vorige verversing")
    if changes:
        st.markdown("\n".join(f"- {line}" for line in changes))
        prev = str(data.manifest["changes"]["previous_snapshot"])
        when = (f" van {int(prev[6:8])} {fmt.MONTHS[int(prev[4:6]) - 1]} {prev[:4]}"
                if prev[:8].isdigit() and 1 <= int(prev[4:6]) <= 12 else "")
        st.caption("Nieuwe perioden, door het CBS herziene cijfers en cijfers die van voorlopig "
                   f"naar definitief gingen, vergeleken met de vorige snapshot{when}.")
    else:
        st.caption("Geen wijzigingen in de cijfers sinds de vorige verversing.")

st.subheader("Download")
components.briefing_button(ctx, key="profiel")
prof = pd.DataFrame(records)
export = pd.DataFrame({
    "thema": prof["theme"].map(THEMES), "indicator": prof["title"], "eenheid": prof["unit"],
    "regio": prof["region_name"], "periode": prof["period"], "status": prof["status"],
    "waarde": prof["value"], "vorig jaar": prof["prev_value"], "verandering": prof["change"],
    "Nederland": prof["nl"], "provincie": prof["provincie"],
    "vergelijkbare gemeenten (mediaan)": prof["peers"], "positie": prof["rank"],
    "aantal gemeenten": prof["rank_n"], "CBS-tabel": prof["cbs_table"],
})
if ctx.current_boundaries:
    export["harmonisatie"] = prof["harmonisation"]
components.downloads(f"gemeenteprofiel {data.names[gm]}", {"Gemeenteprofiel": export}, data,
                     prof["indicator"].tolist(), key="profiel")
