"""Entry point: ``streamlit run dashboard/app.py``.

Page config, navigation over ``app_pages/``, URL state, the shared sidebar (gemeente picker) and
the footer (snapshot date, stale warnings). Pages read their context from ``components.context()``.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException  # noqa: E402

from dashboard.core import compute, state  # noqa: E402
from dashboard.core import format as fmt  # noqa: E402
from dashboard.core import presentation as pr  # noqa: E402
from dashboard.ui import components, streamlit_fixes  # noqa: E402
from dashboard.ui import data as dataio  # noqa: E402
from pipelines.catalog import THEMES  # noqa: E402

log = logging.getLogger("dashboard")
SITE = "Regionale economie"
st.set_page_config(page_title=f"{SITE} · VNG Bestuurlijk Netwerk Economie", page_icon="📊",
                   layout="wide")

DEEPLINK_DONE = "_deeplink_done"


def no_snapshot_page(reason: str | None) -> None:
    st.title("Regionale economie")
    st.info((reason or "Er zijn nog geen cijfers gepubliceerd.")
            + "\n\nMaak een snapshot met de nachtelijke pipeline en ververs daarna deze pagina:",
            icon=":material/info:")
    st.code("python -m pipelines refresh", language="bash")
    st.caption(f"Gegevensmap: {dataio.data_root()} (in te stellen met REGIO_DATA_DIR).")


def pages() -> dict[str, st.Page]:
    return {
        "overzicht": st.Page("app_pages/overzicht.py", title="Overzicht", default=True,
                             icon=":material/home:"),
        "mkb_innovatie": st.Page("app_pages/mkb_innovatie.py", title=THEMES["mkb_innovatie"],
                                 url_path="mkb_innovatie", icon=":material/storefront:"),
        "human_capital": st.Page("app_pages/human_capital.py", title=THEMES["human_capital"],
                                 url_path="human_capital", icon=":material/groups:"),
        "ruimtelijke_economie": st.Page("app_pages/ruimtelijke_economie.py",
                                        title="Ruimtelijke economie & vitale kernen",
                                        url_path="ruimtelijke_economie",
                                        icon=":material/location_city:"),
        "wijken": st.Page("app_pages/wijken.py", title="Wijken", url_path="wijken",
                          icon=":material/holiday_village:"),
        "vergelijken": st.Page("app_pages/vergelijken.py", title="Vergelijken",
                               url_path="vergelijken", icon=":material/compare_arrows:"),
        "brede_welvaart": st.Page("app_pages/brede_welvaart.py", title="Brede welvaart",
                                  url_path="brede_welvaart", icon=":material/balance:"),
        "dwarsverbanden": st.Page("app_pages/dwarsverbanden.py", title="Dwarsverbanden",
                                  url_path="dwarsverbanden", icon=":material/scatter_plot:"),
        "over": st.Page("app_pages/over_de_data.py", title="Over de data",
                        url_path="over_de_data", icon=":material/info:"),
        "toegankelijkheid": st.Page("app_pages/toegankelijkheid.py", title="Toegankelijkheid",
                                    url_path="toegankelijkheid",
                                    icon=":material/accessibility_new:"),
    }


NAV_GROUPS = {"Start": ["overzicht"], "Kernthema's": list(THEMES),
              "Analyse": ["wijken", "vergelijken", "brede_welvaart", "dwarsverbanden"],
              "Over dit dashboard": ["over", "toegankelijkheid"]}


NAV_LABELS = {"ruimtelijke_economie": "Ruimtelijke economie"}  # fits the sidebar in full


def navigation(page_map: dict[str, st.Page]) -> None:
    """Our own page links (streamlit_fixes.page_links: Streamlit's page list has invalid list
    markup), on a phone also at the top of the page under a labelled "Menu"; the gemeente
    travels with the session."""
    streamlit_fixes.page_links({group: [page_map[k] for k in keys]
                                for group, keys in NAV_GROUPS.items()},
                               {page_map[k].url_path: label for k, label in NAV_LABELS.items()},
                               phone_menu=lambda: components.narrow_only("menu"))


def sidebar(data: dataio.DashData, sel: state.Selection) -> None:
    gemeente = sel.gemeente
    with st.sidebar:
        st.session_state["w_gemeente"] = gemeente
        st.selectbox("Gemeente", data.gemeenten["code"].tolist(),
                     format_func=data.names.get, key="w_gemeente",
                     on_change=components.bind_to_url("w_gemeente", "gemeente"),
                     help="Typ een deel van de naam om te zoeken.", filter_mode="contains")
        row = compute.region_row(data.regions, gemeente)
        inw, when = compute.latest_population(data.view(sel.grenzen), gemeente, row,
                                              data.manifest.reference_year)
        facts = [f"Provincie: {row.get('provincie') or fmt.MISSING}",
                 f"COROP-gebied: {row.get('corop') or fmt.MISSING}",
                 f"Arbeidsmarktregio: {row.get('arbeidsmarktregio') or fmt.MISSING}",
                 f"Inwoners: {fmt.number(inw)}" + (f" ({when})" if when else "")]
        st.caption("  \n".join(facts))
        st.session_state["w_grenzen"] = sel.grenzen
        st.radio("Gemeentegrenzen", list(state.GRENZEN), format_func=state.GRENZEN.get,
                 key="w_grenzen", disabled=not data.has_current,
                 on_change=components.bind_to_url("w_grenzen", "grenzen"),
                 help="Huidige gemeentegrenzen: cijfers van vóór een herindeling zijn omgerekend "
                      "naar de gemeente van nu (opgeteld of geschat). Grenzen van dat jaar: "
                      "zoals het CBS ze publiceerde.")
        if not data.has_current:
            st.caption("Deze snapshot bevat alleen cijfers op de grenzen van dat jaar.")
        st.session_state["w_peers"] = sel.peers
        st.selectbox("Vergelijkbare gemeenten", list(state.PEERS), format_func=state.PEERS.get,
                     key="w_peers", on_change=components.bind_to_url("w_peers", "peers"))
        st.caption("De link in de adresbalk bewaart deze weergave; deel hem om hetzelfde beeld "
                   "te tonen.")


def dutch_chrome() -> None:
    """lang="nl" and Dutch labels for Streamlit's own interface (streamlit_fixes, 1); the served
    page already has them when run through dashboard/serve.py."""
    st.html(f"<script>{streamlit_fixes.CHROME_JS}</script>", unsafe_allow_javascript=True)


def footer(data: dataio.DashData, statement: st.Page) -> None:
    st.divider()
    for w in compute.freshness_warnings(data.manifest, dataio.run_history(), datetime.now(UTC)):
        st.warning(w, icon=":material/schedule:")
    st.caption(
        f"Cijfers: CBS StatLine, snapshot van {fmt.datetime_nl(data.manifest.published_at)}"
        f" ({data.snapshot_id}). {pr.credit_line()}. Het dashboard leest alleen deze snapshot; de "
        "pipeline ververst de cijfers elke nacht.")
    # on every page, also on a phone where the page links sit in the folded sidebar
    st.page_link(statement, label="Toegankelijkheidsverklaring", icon=":material/accessibility_new:")


PAGE_FAILED = ("Deze weergave kon niet worden getoond. Kies een andere gemeente, indicator of "
               "periode, of open de pagina opnieuw. De fout is vastgelegd voor de beheerder.")


def guarded(where: str, fn) -> None:
    """Run ``fn`` (a page, or the shell around it); an unexpected error becomes a short Dutch
    message on the page and one log line with the page and its URL parameters (the traceback
    in the server log, never in the browser). Streamlit's own control flow (st.stop, st.rerun,
    st.switch_page) passes through."""
    try:
        fn()
    except ScriptControlException:
        raise
    except Exception:
        params = {k: st.query_params.get_all(k) for k in st.query_params}
        log.exception("page failed", extra={"page": where, "params": params})
        st.error(PAGE_FAILED, icon=":material/error:")


def main() -> None:
    dutch_chrome()
    data, reason = dataio.load_current()
    if data is None:
        st.navigation([st.Page(lambda: no_snapshot_page(reason), title="Geen cijfers",
                               default=True)], position="hidden").run()
        return
    page_map = pages()
    pg = st.navigation({group: [page_map[k] for k in keys] for group, keys in NAV_GROUPS.items()},
                       position="hidden")
    page = next(k for k, p in page_map.items() if p.url_path == pg.url_path)
    st.set_page_config(page_title=f"{pg.title} · {SITE}")  # a distinct <title> per page
    page_thema = page if page in THEMES else None
    sel, warnings, thema_asked = components.read_url_state(data, page_thema)
    first_run = not st.session_state.get(DEEPLINK_DONE)
    st.session_state[DEEPLINK_DONE] = True
    if first_run and page == "overzicht" and sel.thema and thema_asked:
        st.switch_page(page_map[sel.thema], query_params=sel.to_params(with_thema=True))
    components.write_url(sel.to_params(with_thema=page_thema is not None))
    peer = data.peer_set(sel.gemeente, sel.peers)
    st.session_state[components.CTX_KEY] = components.Ctx(data, sel, page, data.view(sel.grenzen),
                                                          peer)
    components.page_style()
    navigation(page_map)
    sidebar(data, sel)
    components.gemeente_picker_on_page(data, sel.gemeente)
    components.show_warnings(warnings)
    components.demo_banner(data)
    if data.notice:  # current is damaged: an earlier, intact snapshot is shown
        st.error(data.notice, icon=":material/report:")
    guarded(page, pg.run)
    footer(data, page_map["toegankelijkheid"])


guarded("app", main)
