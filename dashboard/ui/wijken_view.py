"""The page "Wijken": the chosen gemeente one level down (Kerncijfers wijken en buurten).

A page of its own rather than a section of Ruimtelijke economie: that page is built around one
catalogue indicator for all gemeenten (map of NL, ranking, peers); the wijk view is about one
gemeente's inside (its wijken, its centrum against the rest) and has its own year and source.
What it shows is the catalogue's ``wijk_indicators`` (carried in ``manifest.wijken``).
"""

from __future__ import annotations

import streamlit as st

from dashboard.core import wijken
from dashboard.core.charts import build, svgmap
from dashboard.core.charts import text as chart_text
from dashboard.ui import components
from dashboard.ui import data as dataio

SOURCE_NOTE = (
    "Bron: CBS, Kerncijfers wijken en buurten {year} (tabel {table}), per wijk{map}. Het CBS "
    "rondt het aantal bedrijfsvestigingen en het aantal inwoners per wijk af op 5: bij kleine "
    "wijken is een aantal of een verhouding daarmee onnauwkeurig (zo gemarkeerd; niet gekleurd "
    "op de kaart). Centrum, rest, gemeente en Nederland zijn berekend uit hun wijken samen. "
    "Wijkcodes en wijkgrenzen veranderen bij herindelingen en nieuwe wijkindelingen: een "
    "verschil met het vorige jaar staat er alleen waar het CBS de wijk vergelijkbaar noemt "
    "(code en grens ongewijzigd).")


def render() -> None:
    ctx = components.context()
    data, gemeente = ctx.data, ctx.sel.gemeente
    name = data.names.get(gemeente, gemeente)
    st.title("Wijken")
    frame = dataio.wijk_frame(data)
    info = data.manifest.wijken
    yrs = wijken.years(frame)
    if not yrs or info is None:
        st.info("Deze snapshot bevat nog geen wijkcijfers. De nachtelijke verversing haalt ze op "
                "bij het CBS (Kerncijfers wijken en buurten).", icon=":material/info:")
        return
    inds = wijken.indicators(info)
    c1, c2 = st.columns([1, 3])
    # the year and the figure live in the link (wijkjaar, wijkcijfer), so a shared link opens
    # the same view; an unknown value in it is said, and the default shown
    asked = dict(ctx.sel.wijk)
    year, ind_id, notes = wijken.resolve_choice(frame, info, asked.get("wijkjaar"),
                                                asked.get("wijkcijfer"))
    for note in notes:
        st.caption(note)
    if ind_id is None:
        st.info(f"Deze snapshot heeft over {year} geen wijkcijfers die het dashboard kan tonen.",
                icon=":material/info:")
        return
    st.session_state["wijk_jaar"] = year
    c1.selectbox("Jaar", list(reversed(yrs)), key="wijk_jaar",
                 on_change=components.bind_to_url("wijk_jaar", "wijkjaar"))
    offered = wijken.available(frame, info, year)
    st.session_state["wijk_cijfer"] = ind_id
    c2.selectbox("Cijfer op de kaart en in de tabel", offered, key="wijk_cijfer",
                 format_func=lambda k: wijken.label(inds[k]),
                 on_change=components.bind_to_url("wijk_cijfer", "wijkcijfer"))
    default = wijken.default_year(frame, info)
    components.set_url(wijkjaar=year, wijkcijfer=ind_id)
    values = dataio.per_snapshot(data, "wijken-per-wijk", (year,),
                                 lambda: wijken.per_wijk(frame, info, year))
    table = dataio.per_view(data, "wijk-table", (gemeente, year),
                            lambda: wijken.wijk_table(frame, info, gemeente, year, values))
    cbs_table = str(frame.loc[frame["year"] == year, "cbs_table"].iloc[0])
    newest = "het meest recente jaar met bedrijfsvestigingen per wijk in deze snapshot"
    st.caption(f"Cijfers per wijk over {year}" + (f": {newest}." if year == default else "."))
    # a gemeente formed after this year (a new code): the same land's wijken of its predecessors
    formed = wijken.formed_after(data.region_history, gemeente, year) if table.empty else None
    if formed:
        table = dataio.per_view(data, "wijk-table", (tuple(formed[2]), year),
                                lambda: wijken.wijk_table(frame, info, formed[2], year, values))
    st.markdown(wijken.summary(name, table, info, year, formed, ind_id))
    if table.empty:
        return
    country = dataio.per_snapshot(data, "wijken-nl", (year,),
                                  lambda: wijken.national(frame, info, year))
    code, how = wijken.centrum(table)
    vals = dataio.per_view(data, "wijk-groups", (tuple(table["code"]), year, code),
                           lambda: wijken.groups(frame, info, table, code))
    if code is not None:
        st.subheader("Centrum en de rest van de gemeente")
        st.caption(f"Het centrum is hier {how}.")
        with st.container(key=f"{components.NUMBERS}-wijk-centrum"):
            st.table(wijken.centrum_vs_rest(info, vals, country).set_index("Maatstaf"))
        st.caption("Rest: de andere wijken van de gemeente. Gemeente (heel) en NL (Nederland): "
                   "berekend uit al hun wijken samen, zoals de kolommen ernaast; voor Nederland "
                   "alleen de verhoudingen. * onnauwkeurig door de afronding van het CBS.")
    ind = inds[ind_id]
    ref = wijken.reference(info, vals, ind_id, country)
    features, bnds = dataio.wijk_geo(data, year, tuple(table["code"]))
    if features and len(table) > 1:
        st.subheader(f"Kaart: {ind.title[:1].lower() + ind.title[1:]}")
        if ref:
            st.caption(ref)
        spec = build.map_chart(wijken.map_frame(table, ind_id), wijken.map_meta(info, ind_id),
                               title=f"{wijken.label(ind)}, wijken van {name}, {year}",
                               source=f"CBS {cbs_table}", noun=("wijk", "wijken"))
        # the centrum selected: outlined, and the summary sentence names it and its value
        view = spec.for_selected(code) if code else spec
        components.chart(view, key="wijkkaart", filename=f"wijkkaart {name} {year}",
                         svg=svgmap.build(spec, features, bnds).render(
                             code, chart_text.summary(view)))
    elif len(table) > 1:
        st.caption(f"Geen wijkkaart van {year} in deze snapshot; de tabel hieronder heeft alle "
                   "wijken.")
    st.subheader("Alle wijken")
    if ref and not (features and len(table) > 1):
        st.caption(ref)
    changes = (ind_id, wijken.change(frame, info, table, ind_id))
    shown = wijken.display(table, info, code, changes, offered)
    device = components.device()  # drawn once for a known device; both (CSS chooses) if unknown
    if device != "phone":
        with components.wide_only("wijktabel"):
            st.dataframe(shown, hide_index=True, width="stretch")
    if device != "desktop":
        with components.narrow_only("wijktabel"):  # too wide for a phone: one figure at a time
            st.caption(f"{wijken.label(ind)} per wijk; kies hierboven een ander cijfer.")
            with st.container(key=f"{components.NUMBERS}-wijktabel"):  # no word split
                st.table(wijken.long_display(shown, info, ind_id), hide_index=True)
    components.downloads(
        f"wijken {name} {year}",
        lambda: {"Wijken": wijken.download_frame(info, table, vals, cbs_table, name, country),
                 "Tabel": shown}, data, [], key="wijken")
    st.caption(SOURCE_NOTE.format(year=year, table=cbs_table, map=(
        f"; wijkgrenzen: CBS wijk- en buurtkaart {year}" if features else "")))
