"""Brede welvaart: every indicator of the selected gemeente in one grid — where it stands among
all gemeenten (quartile), how it developed over five years, and how far it is from Nederland
and the comparable gemeenten. Logic in ``dashboard.welvaart``."""

import pandas as pd
import streamlit as st

from dashboard.core import exports, welvaart
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.ui import components
from pipelines.catalog import THEMES

ctx = components.context()
data, gm = ctx.data, ctx.sel.gemeente
peer = ctx.peer

st.title("Brede welvaart")
st.markdown(f"**{data.names[gm]}** op alle indicatoren die het CBS per gemeente publiceert, "
            "ingedeeld naar kernthema en naar de dimensies van de Monitor Brede Welvaart "
            "(hier en nu, later, elders).")

ov = welvaart.overview(ctx.obs, data.indicators, gm, peer.codes, lags=data.lags)
if ov.empty:
    st.info(f"Voor {data.names[gm]} zijn er geen cijfers per gemeente in deze snapshot.")
    st.stop()

for sentence in welvaart.summary(ov):
    st.markdown(f"- {sentence}")
# indicators published per gemeente without a value for this gemeente: say why (true reason)
missing = [f for f in data.profile(ctx.sel.grenzen, gm, peer) if f["headline"] and f["gap"]]
if missing:
    st.caption(f"Zonder cijfer voor {data.names[gm]}: "
               + " ".join(f"**{f['title']}**: {f['gap']}" for f in missing))

for sentence in welvaart.nl_versus_gemeenten(ov):
    st.markdown(sentence)

STANDING_COLOR = {welvaart.TOP: welvaart.TREND_COLOR[welvaart.GOOD],
                  welvaart.BOTTOM: welvaart.TREND_COLOR[welvaart.BAD]}


def _diff(v, unit, dec) -> str:
    return fmt.MISSING if v is None or pd.isna(v) else fmt.change(v, unit, dec)


def _trend_text(r) -> str:
    if r["trend"] is None or pd.isna(r["trend"]):
        return fmt.MISSING
    return f"{r['trend']} (sinds {fmt.period(r['trend_from'])})"


def _standing_text(label, rankable: bool, kind: str) -> str:
    if isinstance(label, str):
        return label
    return "n.v.t. (aantal)" if kind == pr.SIZE else fmt.MISSING


table = pd.DataFrame({
    "Dimensie": ov["dimensie"].fillna("Overig"),
    "Kernthema": ov["theme"].map(THEMES),
    "Thema brede welvaart": ov["bw_thema"].fillna(fmt.MISSING),
    "Indicator": ov["title"],
    "Periode": [fmt.period_status(p, s) + (f" ({pr.STALE})" if old else "")
                for p, s, old in zip(ov["period"], ov["status"], ov["stale"], strict=True)],
    "Waarde": [fmt.value(v, u, d) + (f" ({pr.IMPRECISE})" if vague else "")
               for v, u, d, vague in zip(ov["value"], ov["unit"], ov["decimals"],
                                         ov["imprecise"], strict=True)],
    "Percentiel": pd.to_numeric(ov["percentile"], errors="coerce").round(0),  # NaN, not None
    "T.o.v. alle gemeenten": [_standing_text(s, rk, k) for s, rk, k in zip(
        ov["standing"], ov["rankable"], ov["kind"], strict=True)],
    "Trend 5 jaar": [_trend_text(r) for _, r in ov.iterrows()],
    "t.o.v. Nederland": [_diff(v, u, d) for v, u, d in zip(ov["diff_nl"], ov["unit"],
                                                          ov["decimals"], strict=True)],
    "t.o.v. vergelijkbare gemeenten": [_diff(v, u, d) for v, u, d in zip(
        ov["diff_peers"], ov["unit"], ov["decimals"], strict=True)],
})
counts = ov["kind"].eq(pr.SIZE)  # a size is compared by its share, not by a difference
table.loc[counts, "t.o.v. Nederland"] = [
    f"{fmt.number(v, 2 if v < 1 else 1)}% van Nederland" if not pd.isna(v) else fmt.MISSING
    for v in ov.loc[counts, "share_nl"]]
table.loc[counts, "t.o.v. vergelijkbare gemeenten"] = "n.v.t. (aantal)"


def _trend_style(text: str) -> str:
    word = str(text).split(" ")[0]
    color = welvaart.TREND_COLOR.get(word)
    return f"color: {color}; font-weight: 600" if word in (welvaart.GOOD, welvaart.BAD) else (
        f"color: {color}" if color else "")


def _standing_style(text: str) -> str:
    color = STANDING_COLOR.get(str(text))
    return f"color: {color}; font-weight: 600" if color else ""


ORDER = ["Indicator", "Waarde", "Periode", "T.o.v. alle gemeenten", "Percentiel",
         "Trend 5 jaar", "t.o.v. Nederland", "t.o.v. vergelijkbare gemeenten",
         "Thema brede welvaart", "Kernthema"]
# one section per dimension of the Monitor Brede Welvaart: the framing is visible at every
# width (a column at the far right was off screen on a laptop and absent on a phone)
for dimensie in [d for d in (*welvaart.DIMENSIES.values(), "Overig")
                 if d in set(table["Dimensie"])]:
    part = table[table["Dimensie"] == dimensie].drop(columns=["Dimensie"])
    st.header(f"{dimensie}")
    if dimensie in welvaart.DIMENSIE_UITLEG:
        st.caption(f"{dimensie}: {welvaart.DIMENSIE_UITLEG[dimensie]}.")
    styled = (part.style.map(_trend_style, subset=["Trend 5 jaar"])
              .map(_standing_style, subset=["T.o.v. alle gemeenten"])
              .format({"Percentiel": lambda v: "–" if pd.isna(v) else f"{v:.0f}"}))
    with components.wide_only(f"bw-tabel-{dimensie}"):
        st.dataframe(styled, hide_index=True, height=min(640, 38 + 35 * (len(part) + 1)),
                     placeholder="–",  # a missing percentile (sizes): no English "None"
                     column_order=ORDER,
                     column_config={
                         "Periode": st.column_config.TextColumn(width="small"),
                         "Waarde": st.column_config.TextColumn(width="medium"),
                         "Percentiel": st.column_config.NumberColumn(width="small", help=(
                             "0-100 onder alle gemeenten; 100 = gunstigste (of hoogste waarde "
                             "als er geen voorkeursrichting is).")),
                         "Indicator": st.column_config.TextColumn(pinned=True),
                     })
    with components.narrow_only(f"bw-kaarten-{dimensie}"):  # a phone: a short card each
        st.markdown("\n".join(
            f"- **{r['Indicator']}**: {r['Waarde']} ({r['Periode']})  \n"
            f"T.o.v. alle gemeenten: {r['T.o.v. alle gemeenten']} · trend: "
            f"{r['Trend 5 jaar']}  \n"
            f"t.o.v. Nederland: {r['t.o.v. Nederland']} · t.o.v. vergelijkbare gemeenten: "
            f"{r['t.o.v. vergelijkbare gemeenten']}" for _, r in part.iterrows()))
st.caption(
    f"T.o.v. alle gemeenten: bij de {welvaart.TOP} of {welvaart.BOTTOM} van alle gemeenten "
    "met een cijfer in dezelfde periode, alleen bij cijfers waar hoger of lager beter is (bij "
    "werkloosheid is laag gunstig); bij cijfers zonder voorkeursrichting: hoog, rond het "
    "midden of laag. Aantallen (vestigingen, banen, woningen) groeien met de gemeente: geen "
    f"positie en geen kleur, wel hun aandeel in Nederland. ‘{pr.IMPRECISE}’: de afgeronde "
    "aantallen erachter zijn te klein om te vergelijken. ‘Verouderd’: ouder dan gebruikelijk "
    "voor die CBS-tabel. Trend: het laatste cijfer vergeleken met vijf jaar eerder (of het "
    f"eerste cijfer binnen die vijf jaar): {welvaart.GOOD} (groen) of {welvaart.BAD} (rood) "
    "waar hoger of lager beter is, anders hoger of lager; gelijk bij een verandering kleiner "
    f"dan 1% van de beginwaarde. Vergelijkbare gemeenten: mediaan van {peer.description}."
    + (" Reeksen op de huidige gemeentegrenzen." if ctx.current_boundaries else
       " Reeksen op de grenzen van elk jaar (zoals gepubliceerd)."))
components.boundary_caption(ctx, gm)
components.peers_expander(ctx)
components.briefing_button(ctx, key="bw")

export = ov.drop(columns=["higher_is_better", "freshness"]).assign(
    stale=ov["stale"].map({True: pr.STALE, False: "actueel"})).rename(
    columns={"stale": "actualiteit"})
if not ctx.current_boundaries:
    export = export.drop(columns=["harmonisation"])
export = exports.rounded(export, ["value", "nl", "diff_nl", "peers", "diff_peers", "trend_change"],
                         ov["decimals"])
export = exports.rounded(export, ["share_nl", "percentile"], 1)
components.downloads(f"brede welvaart {data.names[gm]}", {"Brede welvaart": export}, data,
                     ov["indicator"].tolist(), key="bw")
