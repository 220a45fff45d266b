"""The page "Wijken": the chosen gemeente one level down (Kerncijfers wijken en buurten).

A page of its own rather than a section of Ruimtelijke economie: that page is built around one
catalogue indicator for all gemeenten (map of NL, ranking, peers); the wijk view is about one
gemeente's inside (its wijken, its centrum against the rest) and has its own year and source.
"""

from __future__ import annotations

import streamlit as st

from dashboard.core import wijken
from dashboard.core.charts import build, svgmap
from dashboard.core.charts import text as chart_text
from dashboard.ui import components
from dashboard.ui import data as dataio

SOURCE_NOTE = (
    "Bron: CBS, Kerncijfers wijken en buurten {year} (tabel {table}), per wijk; wijkgrenzen: "
    "CBS wijk- en buurtkaart {year}. Het CBS rondt het aantal bedrijfsvestigingen per wijk af "
    "op 5: bij kleine wijken is een aantal daardoor onnauwkeurig (zo gemarkeerd; niet gekleurd "
    "op de kaart). Wijkcodes veranderen bij herindelingen en hernummeringen: een verandering "
    "t.o.v. het vorige jaar staat er alleen als code, gemeente en oppervlakte gelijk bleven.")


def render() -> None:
    ctx = components.context()
    data, gemeente = ctx.data, ctx.sel.gemeente
    name = data.names.get(gemeente, gemeente)
    st.title("Wijken")
    frame = dataio.wijk_frame(data)
    yrs = wijken.years(frame)
    if not yrs:
        st.info("Deze snapshot bevat nog geen wijkcijfers. De nachtelijke verversing haalt ze op "
                "bij het CBS (Kerncijfers wijken en buurten).", icon=":material/info:")
        return
    year = yrs[-1]
    table = wijken.wijk_table(frame, gemeente, year)
    cbs_table = str(frame.loc[frame["year"] == year, "cbs_table"].iloc[0])
    st.caption(f"Cijfers per wijk over {year}: het meest recente jaar met bedrijfsvestigingen "
               "per wijk in deze snapshot.")
    st.markdown(wijken.summary(name, table, year,
                               wijken.formed_after(data.region_history, gemeente, year)))
    if table.empty:
        return
    code, how = wijken.centrum(table)
    if code is not None:
        st.subheader("Centrum en de rest van de gemeente")
        st.caption(f"Het centrum is hier {how}.")
        country = dataio.per_snapshot(data, "wijken-nl", (year,),
                                      lambda: wijken.national(frame, year))
        with st.container(key=f"{components.NUMBERS}-wijk-centrum"):
            st.table(wijken.centrum_vs_rest(table, code, country).set_index("Maatstaf"))
        st.caption("Rest: de andere wijken van de gemeente. Gemeente (heel) en NL (Nederland): "
                   "opgeteld over hun wijken, zoals de kolommen ernaast; voor Nederland alleen de "
                   "verhoudingen.")
    features, bnds = dataio.wijk_geo(data, year, tuple(table["code"]))
    if features and len(table) > 1:
        st.subheader("Kaart: bedrijfsvestigingen per km² land")
        spec = build.map_chart(wijken.map_frame(table), wijken.MAP_META,
                               title=f"Bedrijfsvestigingen per km² land, wijken van {name}, {year}",
                               source=f"CBS {cbs_table}", noun=("wijk", "wijken"))
        # the centrum selected: outlined, and the summary sentence names it and its value
        view = spec.for_selected(code) if code else spec
        components.chart(view, key="wijkkaart", filename=f"wijkkaart {name} {year}",
                         svg=svgmap.build(spec, features, bnds).render(
                             code, chart_text.summary(view)))
    st.subheader("Alle wijken")
    shown = wijken.display(table, code)
    device = components.device()  # drawn once for a known device; both (CSS chooses) if unknown
    if device != "phone":
        with components.wide_only("wijktabel"):
            st.dataframe(shown, hide_index=True, width="stretch")
    if device != "desktop":
        with components.narrow_only("wijktabel"):  # too wide for a phone: there wijk by wijk
            st.table(wijken.long_display(shown), hide_index=True)
    components.downloads(f"wijken {name} {year}", {"Wijken": shown}, data, [], key="wijken")
    st.caption(SOURCE_NOTE.format(year=year, table=cbs_table))
