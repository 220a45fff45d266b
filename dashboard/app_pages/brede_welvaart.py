"""Brede welvaart: every indicator of the selected gemeente in one grid — where it stands among
all gemeenten (quartile), how it developed over five years, and how far it is from Nederland
and the comparable gemeenten. Logic in ``dashboard.welvaart``."""

import pandas as pd
import streamlit as st

from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.core import welvaart
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

STANDING_COLOR = {"beste 25%": welvaart.TREND_COLOR["beter"],
                  "slechtste 25%": welvaart.TREND_COLOR["slechter"]}


def _diff(v, unit, dec) -> str:
    return fmt.MISSING if v is None or pd.isna(v) else fmt.change(v, unit, dec)


def _trend_text(r) -> str:
    if r["trend"] is None or pd.isna(r["trend"]):
        return fmt.MISSING
    return f"{r['trend']} (sinds {fmt.period(r['trend_from'])})"


table = pd.DataFrame({
    "Kernthema": ov["theme"].map(THEMES),
    "Brede welvaart": [" · ".join(str(x) for x in (d, t) if x and not pd.isna(x)) or fmt.MISSING
                       for d, t in zip(ov["dimensie"], ov["bw_thema"], strict=True)],
    "Indicator": ov["title"],
    "Periode": [fmt.period_status(p, s) + (f" ({pr.STALE})" if old else "")
                for p, s, old in zip(ov["period"], ov["status"], ov["stale"], strict=True)],
    "Waarde": [fmt.value(v, u, d) for v, u, d in zip(ov["value"], ov["unit"], ov["decimals"],
                                                     strict=True)],
    "Percentiel": pd.to_numeric(ov["percentile"], errors="coerce").round(0),  # NaN, not None
    "Positie": [s if isinstance(s, str) else ("n.v.t. (aantal)" if not rk else fmt.MISSING)
                for s, rk in zip(ov["standing"], ov["rankable"], strict=True)],
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
    return f"color: {color}; font-weight: 600" if color and word != "gelijk" else (
        f"color: {color}" if color else "")


def _standing_style(text: str) -> str:
    color = STANDING_COLOR.get(str(text))
    return f"color: {color}; font-weight: 600" if color else ""


styled = (table.style.map(_trend_style, subset=["Trend 5 jaar"])
          .map(_standing_style, subset=["Positie"])
          .format({"Percentiel": lambda v: "–" if pd.isna(v) else f"{v:.0f}"}))  # sizes: none
ORDER = ["Indicator", "Waarde", "Periode", "Positie", "Percentiel", "Trend 5 jaar",
         "t.o.v. Nederland", "t.o.v. vergelijkbare gemeenten", "Brede welvaart", "Kernthema"]
with components.wide_only("bw-tabel"):
    st.dataframe(styled, hide_index=True, height=min(640, 38 + 35 * (len(table) + 1)),
                 placeholder="–",  # a missing percentile (sizes): no English "None"
                 column_order=ORDER,
                 column_config={
                     "Periode": st.column_config.TextColumn(width="small"),
                     "Waarde": st.column_config.TextColumn(width="medium"),
                     "Percentiel": st.column_config.NumberColumn(width="small", help=(
                         "0-100 onder alle gemeenten; 100 = gunstigste (of hoogste waarde als er "
                         "geen voorkeursrichting is).")),
                     "Indicator": st.column_config.TextColumn(pinned=True),
                 })
with components.narrow_only("bw-kaarten"):  # a phone: one short card per indicator
    for theme_title, part in table.groupby("Kernthema", sort=False):
        st.markdown(f"**{theme_title}**")
        st.markdown("\n".join(
            f"- **{r['Indicator']}**: {r['Waarde']} ({r['Periode']})  \n"
            f"Positie: {r['Positie']} · trend: {r['Trend 5 jaar']}  \n"
            f"t.o.v. Nederland: {r['t.o.v. Nederland']} · t.o.v. vergelijkbare gemeenten: "
            f"{r['t.o.v. vergelijkbare gemeenten']}" for _, r in part.iterrows()))
st.caption(
    "Positie: beste/slechtste 25% van alle gemeenten met een cijfer in dezelfde periode, "
    "rekening houdend met de richting (bij werkloosheid is laag gunstig). Bij indicatoren zonder "
    "voorkeursrichting staat ‘hoogste/laagste 25%’. Aantallen (vestigingen, banen, woningen) "
    "groeien met de gemeente: die krijgen geen positie en geen kleur, wel hun aandeel in "
    "Nederland. ‘Verouderd’: ouder dan gebruikelijk voor die CBS-tabel. Trend: het laatste "
    "cijfer vergeleken met vijf jaar eerder (of het eerste cijfer binnen die vijf jaar); "
    "blauw = beter, oranjerood = slechter, "
    "grijs = gelijk (verandering kleiner dan 1% van de beginwaarde) of ‘veranderd’ zonder "
    f"voorkeursrichting. Vergelijkbare gemeenten: mediaan van {peer.description}."
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
components.downloads(f"brede welvaart {data.names[gm]}", {"Brede welvaart": export}, data,
                     ov["indicator"].tolist(), key="bw")
