"""Real-browser test: `streamlit run` on 127.0.0.1 driven by headless Chromium (Playwright).

Needs Debian's chromium at /usr/bin/chromium and the playwright python package. Screenshots of
every page are written to a temporary folder whose path is printed (run with -s to see it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from dashboard.core.charts import svgmap
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    open_page,
    start_streamlit,
    stop,
    wait_idle,
)

# the map (an inline SVG, dashboard/svgmap.py) and the series (plotly) are on the page
CHARTS = ("() => (document.querySelectorAll('.js-plotly-plot').length"
          " + document.querySelectorAll('.regio-svg svg').length) >= 2")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} missing (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api",
                                     reason="the playwright python package is not installed")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, snapshot_builder):
    data = snapshot_builder(tmp_path_factory.mktemp("browser-data"), geo="real")
    port = free_port()
    log = tmp_path_factory.mktemp("browser-log") / "streamlit.log"
    # a plain `streamlit run dashboard/app.py` (development): the page must end up Dutch by
    # itself as well (the production entry point, serve.py, is tested in test_accessibility)
    proc = start_streamlit(data, port, log, script="dashboard/app.py")
    yield f"http://127.0.0.1:{port}"
    stop(proc)


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    with playwright_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 900},
            locale="nl-NL")
        yield ctx
        ctx.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="dashboard-screens-"))
    print(f"\nscreenshots: {folder}")
    return folder


def full_screenshot(page, path: Path, width: int = 1400) -> None:
    """Streamlit scrolls inside its main container: grow the viewport to the content first."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=\"stMain\"], "
        "[data-testid=\"stAppViewContainer\"], section.main')].map(e => e.scrollHeight), 900)")
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 9000)})
    page.wait_for_timeout(1200)  # let plotly resize and redraw
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 900 if width > 600 else 844})


def plot_count(page) -> int:
    return page.locator(".js-plotly-plot").count()


def test_deep_link_map_series_switch_and_screenshots(app_url, browser_context, shots):
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    open_page(page, f"{app_url}/human_capital?gemeente=GM0362&indicator=werkloosheid_pct")
    page.wait_for_function(CHARTS,
                           timeout=30_000)
    assert page.locator("h1").first.inner_text() == "Human Capital"
    # a plain `streamlit run dashboard/app.py` ends up Dutch too (app.py's own chrome script)
    page.wait_for_function("() => document.documentElement.lang === 'nl'", timeout=10_000)
    assert page.title() == "Human Capital · Regionale economie"
    page.get_by_text("Amstelveen, 2023", exact=True).wait_for(timeout=10_000)
    # the map is an inline SVG with a named path per gemeente and Amstelveen outlined in red;
    # the series (an SVG too) has its lines
    page.wait_for_selector(".regio-kaart svg path", timeout=30_000)
    assert page.locator(".regio-kaart svg > g > path").count() >= 5  # a small test snapshot
    outline = page.locator(f'.regio-kaart path[stroke="{svgmap.OUTLINE}"] title')
    assert outline.count() == 1 and outline.text_content().startswith("Amstelveen (gekozen): ")
    assert page.locator(".regio-kaart svg").get_attribute("aria-label").startswith("Kaart van ")
    assert page.locator(".regio-grafiek svg polyline").count() >= 3
    assert "indicator=werkloosheid_pct" in page.url and "gemeente=GM0362" in page.url
    assert page.get_by_text("Traceback").count() == 0
    full_screenshot(page, shots / "2-human-capital-amstelveen.png")

    # switch gemeente through the searchable picker in the sidebar
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stSelectbox"]').first.click()
    page.keyboard.type("Zeist")
    page.get_by_role("option", name="Zeist", exact=True).click()
    page.wait_for_url("**gemeente=GM0355**", timeout=30_000)
    wait_idle(page)
    page.wait_for_function(CHARTS)
    page.get_by_text("Zeist, 2023", exact=True).wait_for(timeout=10_000)
    page.wait_for_function(  # the same map, now with Zeist outlined
        f"""() => document.querySelector('.regio-kaart path[stroke="{svgmap.OUTLINE}"] title')
                  ?.textContent.startsWith('Zeist (gekozen)')""", timeout=10_000)
    full_screenshot(page, shots / "3-human-capital-zeist.png")

    # the gemeente survives a page switch through the navigation
    sidebar.get_by_role("link", name="Overzicht").click()
    page.wait_for_function("() => document.querySelector('h1')?.innerText === 'Zeist'",
                           timeout=30_000)
    wait_idle(page)
    assert "gemeente=GM0355" in page.url

    for name, path in [("1-overzicht", "/"), ("4-mkb-innovatie", "/mkb_innovatie"),
                       ("5-ruimtelijke-economie", "/ruimtelijke_economie"),
                       ("6-vergelijken", "/vergelijken"), ("7-over-de-data", "/over_de_data"),
                       ("9-brede-welvaart", "/brede_welvaart"),
                       ("10-dwarsverbanden", "/dwarsverbanden")]:
        open_page(page, f"{app_url}{path}?gemeente=GM0355")
        assert page.get_by_text("Traceback").count() == 0, name
        if path == "/dwarsverbanden":
            page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 1")
        if path in ("/mkb_innovatie", "/ruimtelijke_economie"):
            page.wait_for_function(
                CHARTS)
        full_screenshot(page, shots / f"{name}.png")

    # a bad deep link shows the Dutch message, not an error
    open_page(page, f"{app_url}/?gemeente=%3Cscript%3Ealert(1)%3C/script%3E&jaar=abc")
    assert page.get_by_text("geen geldige gemeentecode").count() == 1
    full_screenshot(page, shots / "8-foute-link.png")
    assert not errors, errors
    assert len(list(shots.glob("*.png"))) == 10
    page.close()


def test_thema_param_on_start_page_opens_the_thema_page(app_url, browser_context):
    page = browser_context.new_page()
    open_page(page, f"{app_url}/?gemeente=GM0344&thema=ruimtelijke_economie")
    page.wait_for_url("**/ruimtelijke_economie?**", timeout=30_000)
    page.get_by_text("Utrecht, 2023", exact=True).wait_for(timeout=30_000)
    wait_idle(page)
    page.close()



def test_a_page_that_does_not_exist_says_so_in_dutch(app_url, browser_context):
    """Streamlit answers an unknown page path with an English dialog ("Page not found") and
    shows the start page; the dialog's texts are Dutch."""
    page = browser_context.new_page()
    open_page(page, f"{app_url}/bestaat_niet?gemeente=GM0344")
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Pagina niet gevonden").wait_for(timeout=30_000)
    text = dialog.inner_text()
    assert "startpagina" in text and "Page not found" not in text and "Running" not in text
    page.close()


PHONE = {"width": 390, "height": 844}
PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36")
ALL_PAGES = ["/", "/mkb_innovatie", "/human_capital", "/ruimtelijke_economie", "/wijken", "/vergelijken",
             "/brede_welvaart", "/dwarsverbanden", "/over_de_data"]
# Content wider than the screen: the page scrolls sideways, or an element sticks out of the main
# area without a scrollable box of its own around it (a table's own scroller is fine).
OVERFLOW_JS = """() => {
  const W = innerWidth, main = document.querySelector('[data-testid=stMain]'), out = [];
  for (const e of main.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.right <= W + 1) continue;
    let p = e.parentElement, inScroller = false;
    while (p && p !== main) {
      if (/(auto|scroll)/.test(getComputedStyle(p).overflowX)
          && p.getBoundingClientRect().right <= W + 1) { inScroller = true; break; }
      p = p.parentElement;
    }
    if (!inScroller) out.push(`${e.tagName}.${String(e.className).slice(0, 40)} right=${r.right}`
                              + ` "${(e.textContent || '').slice(0, 40)}"`);
  }
  // a visible table (glide grid) must fit too: its columns, not only the page
  const tables = [...main.querySelectorAll('[data-testid=stDataFrame] .dvn-scroller'),
                  ...main.querySelectorAll('[data-testid=stTable] *')]
    .filter(e => e.offsetParent && /(auto|scroll)/.test(getComputedStyle(e).overflowX))
    .map(e => [e.scrollWidth, e.clientWidth]);
  return {doc: document.scrollingElement.scrollWidth, width: W,
          main: [main.scrollWidth, main.clientWidth], out: out.slice(0, 8), tables};
}"""


def test_phone_width_has_no_horizontal_scroll(app_url, browser_context, shots):
    """390 px wide: no page scrolls sideways and nothing sticks out on any page; the gemeente
    choice is on the page itself; the chart toolbar speaks Dutch; wide tables give way."""
    page = browser_context.new_page()
    page.set_viewport_size(PHONE)
    # a phone's browser says so (user agent): the ranking is then sent in its phone form only
    browser_context.new_cdp_session(page).send("Emulation.setUserAgentOverride",
                                               {"userAgent": PHONE_UA})
    (shots / "telefoon").mkdir(exist_ok=True)
    # every page for one gemeente; the pages with charts and cards also for one with gaps
    for gm, paths in (("GM0355", ALL_PAGES), ("GM0352", ALL_PAGES[:4])):
        for path in paths:
            open_page(page, f"{app_url}{path}?gemeente={gm}")
            if path in ("/mkb_innovatie", "/human_capital", "/ruimtelijke_economie"):
                page.wait_for_function(
                    CHARTS)
            page.wait_for_timeout(300)  # plotly draws after the script finished
            res = page.evaluate(OVERFLOW_JS)
            assert res["doc"] <= res["width"], (gm, path, res)
            assert res["main"][0] <= res["main"][1], (gm, path, res)
            assert not res["out"], (gm, path, res)
            if path != "/over_de_data":  # reference tables there scroll, their name pinned
                assert all(sw <= cw + 1 for sw, cw in res["tables"]), f"{gm} {path} {res}"
            assert page.locator(".st-key-narrow-only-gemeente").is_visible(), path
            if gm == "GM0355":
                full_screenshot(page, shots / "telefoon" / f"{path.strip('/') or 'overzicht'}.png",
                                width=PHONE["width"])
    # the charts' tables, opened from the keyboard, fit as well (six lines in the chart)
    open_page(page, f"{app_url}/human_capital?gemeente=GM0355&vergelijk=GM0344,PV26")
    page.wait_for_function(CHARTS)
    summaries = page.locator("summary", has_text="Tabel bij deze grafiek")
    assert summaries.count() == 2
    for i in range(2):
        summaries.nth(i).focus()
        page.keyboard.press("Enter")
    page.get_by_role("button", name="Deze gegevens als CSV").nth(1).wait_for()
    res = page.evaluate(OVERFLOW_JS)
    assert not res["out"] and all(sw <= cw + 1 for sw, cw in res["tables"]), res
    for part in ("eigen", "alle"):  # the gemeente with its peers, then all gemeenten
        assert page.locator(f".st-key-ranglijst-{part}-telefoon").is_visible()
        assert page.locator(f".st-key-ranglijst-{part}-breed").count() == 0
    # plotly's toolbar (Vergelijken's bars): only the Dutch PNG button
    open_page(page, f"{app_url}/vergelijken?gemeente=GM0355&vergelijk=GM0344")
    page.wait_for_selector(".modebar-btn", state="attached", timeout=30_000)
    titles = {page.locator(".modebar-btn").nth(i).get_attribute("data-title")
              for i in range(page.locator(".modebar-btn").count())}
    assert titles == {"Grafiek downloaden als PNG"}
    page.close()
    # a desktop browser gets the full table only, and the sidebar's picker only
    page = browser_context.new_page()
    open_page(page, f"{app_url}/human_capital?gemeente=GM0355")
    page.wait_for_function(CHARTS)
    for part in ("eigen", "alle"):
        assert page.locator(f".st-key-ranglijst-{part}-breed").is_visible()
        assert page.locator(f".st-key-ranglijst-{part}-telefoon").count() == 0
    assert not page.locator(".st-key-narrow-only-gemeente").is_visible()
    page.close()
