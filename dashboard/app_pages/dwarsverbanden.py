"""Dwarsverbanden: two indicators against each other over all current gemeenten, with the
selected gemeente and its comparable gemeenten highlighted, Pearson and Spearman correlation,
and curated pairs (manifest ``dwarsverbanden``) as one-click presets."""

import pandas as pd
import streamlit as st

from dashboard.core import exports, welvaart
from dashboard.core import format as fmt
from dashboard.core.charts import build, text
from dashboard.ui import components
from pipelines.catalog import THEMES

ctx = components.context()
data, sel, gm = ctx.data, ctx.sel, ctx.sel.gemeente
LATEST = "laatste"
COLOR_BY = {"geen": "geen", "provincie": "provincie", "grootte": "gemeentegrootte"}

st.title("Dwarsverbanden")
st.caption("Zet twee indicatoren tegen elkaar uit over alle gemeenten. Elke stip is een gemeente; "
           f"{data.names[gm]} is een rode ruit met naam, de vergelijkbare gemeenten zijn groene "
           "vierkantjes.")

gm_inds = [k for k in data.indicators
           if (ctx.obs[k]["region_level"] == "GM").any()]
if len(gm_inds) < 2:
    st.info("Er zijn te weinig indicatoren per gemeente om tegen elkaar uit te zetten.")
    st.stop()


def _title(k: str) -> str:
    return data.indicators[k].title


pairs = [p for p in data.manifest.dwarsverbanden if p.x in gm_inds and p.y in gm_inds]
default_x, default_y = (pairs[0].x, pairs[0].y) if pairs else (gm_inds[0], gm_inds[1])
x = sel.x if sel.x in gm_inds else default_x
y = sel.y if sel.y in gm_inds else default_y
for asked in (sel.x, sel.y):
    if asked and asked not in gm_inds:
        st.warning(f"‘{_title(asked)}’ is niet per gemeente beschikbaar en kan hier niet gebruikt "
                   "worden; een standaardindicator wordt getoond.", icon="⚠️")


def _preset(px: str, py: str) -> None:
    components.set_url(x=px, y=py, jaar=None)


if pairs:
    with st.expander("Voorbeeldvragen", expanded=not (sel.x or sel.y)):
        for theme in [t for t in THEMES if any(p.theme == t for p in pairs)]:
            st.markdown(f"**{THEMES[theme]}**")
            for i, p in enumerate(q for q in pairs if q.theme == theme):
                st.button(f"{p.vraag or _title(p.x) + ' × ' + _title(p.y)}",
                          key=f"preset-{theme}-{i}", on_click=_preset, args=(p.x, p.y),
                          help=f"{_title(p.x)} (horizontaal) tegen {_title(p.y)} "
                               "(verticaal)", type="tertiary", icon=":material/arrow_forward:")

c1, c2, c3, c4 = st.columns([3, 3, 2, 2])
st.session_state["w_x"] = x
c1.selectbox("Horizontaal (x)", gm_inds, format_func=_title, key="w_x",
             on_change=components.bind_to_url("w_x", "x"))
st.session_state["w_y"] = y
c2.selectbox("Verticaal (y)", gm_inds, format_func=_title, key="w_y",
             on_change=components.bind_to_url("w_y", "y"))
components.set_url(x=x, y=y)

xo, yo = ctx.obs[x], ctx.obs[y]
common = welvaart.latest_common_year(xo, yo)
ya = set(xo.loc[xo["region_level"] == "GM", "year"].astype(int))
yb = set(yo.loc[yo["region_level"] == "GM", "year"].astype(int))
year_options: list = sorted(ya & yb, reverse=True) + [LATEST]
if st.session_state.get("_dw_latest") and sel.jaar is None:
    year = LATEST
elif sel.jaar in year_options:
    year = sel.jaar
else:
    year = common if common is not None else LATEST
    if sel.jaar is not None:
        st.warning(f"Voor {sel.jaar} hebben niet beide indicatoren cijfers; "
                   + (f"{common} wordt getoond." if common else "per indicator het laatste jaar."),
                   icon="⚠️")


def _on_year() -> None:
    v = st.session_state["w_dw_jaar"]
    st.session_state["_dw_latest"] = v == LATEST
    components.set_url(jaar=None if v == LATEST else v)


st.session_state["w_dw_jaar"] = year
c3.selectbox("Jaar", year_options, key="w_dw_jaar", on_change=_on_year,
             format_func=lambda v: "laatste beschikbare per indicator" if v == LATEST else str(v))
color_by = c4.selectbox("Kleur", list(COLOR_BY), format_func=COLOR_BY.get, key="w_dw_kleur")

codes = data.gemeenten["code"].tolist()
yr = None if year == LATEST else int(year)
xv, x_used = welvaart.gemeente_values(xo, codes, yr)
yv, y_used = welvaart.gemeente_values(yo, codes, yr)
gms = data.gemeenten.set_index("code")
df = pd.DataFrame({"code": codes}).assign(
    name=lambda d: d["code"].map(data.names), x=lambda d: d["code"].map(xv),
    y=lambda d: d["code"].map(yv))
peer_codes = set(ctx.peer.codes)
df["role"] = ["gemeente" if c == gm else "peers" if c in peer_codes else "overig"
              for c in df["code"]]
if color_by == "provincie":
    df["group"] = df["code"].map(gms["provincie"])
elif color_by == "grootte":
    df["group"] = df["code"].map(gms["size_class"])
plot = df.dropna(subset=["x", "y"])

xm, ym = data.indicators[x], data.indicators[y]
corr = welvaart.correlation(plot.set_index("code")["x"], plot.set_index("code")["y"])


def _periods(used: dict) -> str:
    return ", ".join(fmt.period(p) for p in sorted(used)) or fmt.MISSING


when = (str(yr) if yr is not None else
        f"laatste cijfer per indicator (x: {_periods(x_used)}; y: {_periods(y_used)})")
tables = sorted({t for o in (xo, yo) for ct in o["cbs_table"].dropna().unique()
                 for t in str(ct).split("+") if t})
source = components.source_text("+".join(tables), str(yr) if yr is not None else None)
spec = build.scatter_chart(plot, xm, ym, title=f"{xm.title} en {ym.title}, {when}",
                           source=source, grouped_by=None if color_by == "geen" else color_by)
components.chart(spec, key="scatter", filename=f"dwarsverband {xm.title} {ym.title}")

m1, m2, m3 = st.columns(3)
if x == y:  # r = 1 by construction: a number that says nothing is not shown as a finding
    m1.metric("Correlatie", fmt.MISSING)
    st.info(f"Op beide assen staat {xm.title}. Kies voor de verticale as een andere indicator om "
            "een samenhang te zien; de grafiek toont nu alleen hoe de gemeenten verdeeld zijn.",
            icon=":material/info:")
elif corr["message"]:
    m1.metric("Correlatie", "te weinig gegevens" if corr["n"] < 3 else fmt.MISSING)
    st.info(f"Geen correlatie te berekenen: {corr['message']}.", icon=":material/info:")
else:
    m1.metric("Pearson r", fmt.number(corr["pearson"], 2),
              help="Lineaire samenhang, van -1 tot 1.")
    m2.metric("Spearman ρ", fmt.number(corr["spearman"], 2),
              help="Samenhang in rangorde (minder gevoelig voor uitschieters), van -1 tot 1.")
m3.metric("Gemeenten (n)", fmt.number(corr["n"]))
if not corr["message"] and x != y:
    st.markdown(f"Over {corr['n']} gemeenten: **{welvaart.strength(corr['pearson'])}** "
                f"(r = {fmt.number(corr['pearson'], 2)}, ρ = {fmt.number(corr['spearman'], 2)}).")
missing = int(len(df) - len(plot))
st.caption(
    "Correlatie is geen oorzaak: een samenhang tussen twee indicatoren zegt niet dat de ene de "
    "andere veroorzaakt. Vaak spelen derde factoren mee (zoals grootte, stedelijkheid of ligging), "
    "en wat voor alle gemeenten samen geldt, hoeft niet voor één gemeente te gelden."
    + (f" {missing} gemeenten zonder cijfer voor een van beide indicatoren (of voor beide) staan "
       "niet in de grafiek."
       if missing else ""))
if not df.loc[df["code"] == gm, ["x", "y"]].notna().all(axis=1).any():
    st.caption(f"{data.names[gm]} heeft geen cijfer voor beide indicatoren in deze periode.")
components.boundary_caption(ctx, gm)
components.source_caption(data, "+".join(tables), str(yr) if yr is not None else None)
components.peers_expander(ctx)

x_col, y_col = text.axis_titles(spec)  # told apart when x and y are one indicator
export = df.rename(columns={"name": "gemeente", "x": x_col, "y": y_col, "role": "rol"})
for axis, o in (("x", xo), ("y", yo)):
    rows = welvaart.latest_rows(o, codes, yr)
    export[f"periode {axis}"] = export["code"].map(rows["period"])
    if ctx.current_boundaries and "harmonisation" in rows.columns:
        export[f"harmonisatie {axis}"] = export["code"].map(rows["harmonisation"])
export = exports.rounded(exports.rounded(export, [x_col], int(xm.decimals or 0)), [y_col],
                         int(ym.decimals or 0))
components.downloads(f"dwarsverband {xm.title} {ym.title}", {"Dwarsverband": export},
                     data, [x, y], key="dw")
