"""Accessibility in a real browser: axe-core (npm, WCAG 2.0/2.1 A+AA rules) on every page at desktop
(1400 px) and phone (390 px) width for three gemeenten of a real-data snapshot, plus a keyboard-only
walkthrough.

One Streamlit server and one Chromium for the whole module; the snapshot is published from the real
CBS copy in ../shared (scripts/mirror-snapshot.sh, a few seconds). Skipped with the reason when
Chromium, playwright, axe-core (`npm ci`, done by `make test`) or ../shared is missing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.browser import (
    AXE_JS,
    CHROMIUM,
    CHROMIUM_ARGS,
    blocking,
    describe,
    free_port,
    open_page,
    run_axe,
    start_streamlit,
    stop,
    wait_idle,
)
from tests.support.paths import MIRROR as SHARED_MIRROR

MIRROR = SHARED_MIRROR
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} missing (apt-get install chromium)"),
    pytest.mark.skipif(not AXE_JS.exists(),
                       reason=f"{AXE_JS} missing: run `npm ci` in the repository (make test does)"),
    pytest.mark.skipif(not MIRROR.is_dir(),
                       reason=f"real CBS mirror not found at {MIRROR} (../shared is absent)"),
]
playwright_api = pytest.importorskip("playwright.sync_api",
                                     reason="the playwright python package is not installed")

# a large city, a 2023 herindeling (Brielle, Hellevoetsluis, Westvoorne) and the smallest gemeente
GEMEENTEN = {"GM0758": "Breda", "GM1992": "Voorne aan Zee", "GM0096": "Vlieland"}
PAGES = {  # url path -> the page's own title (the <title> starts with it)
    "": "Overzicht",
    "mkb_innovatie": "Breed MKB en innovatie",
    "human_capital": "Human Capital",
    "ruimtelijke_economie": "Ruimtelijke economie & vitale kernen",
    "wijken": "Wijken",
    "vergelijken": "Vergelijken",
    "brede_welvaart": "Brede welvaart",
    "dwarsverbanden": "Dwarsverbanden",
    "over_de_data": "Over de data",
    "toegankelijkheid": "Toegankelijkheid",
}
WIDTHS = {"desktop": (1400, 900), "phone": (390, 844)}
# pages whose serious/critical violations are still being fixed (strict: an xfail that passes fails)
KNOWN_FAILING: dict[str, str] = {}
TIMINGS: dict[str, float] = {}
# Streamlit's English interface texts a user meets (text, aria-label, title, placeholder)
ENGLISH = ["Skip to main content", "Help for", "Collapse sidebar", "Expand sidebar",
           "Choose an option", "Download as CSV", "Show/hide columns", "Fullscreen",
           "Link to heading", "Record screen", "Print", "Search", "Sidebar", "Open",
           "Download plot as a png", "Zoom", "Pan", "Reset axes", "Autoscale", "Reset view",
           "Toggle attribution", "Vega visualization", "No results", "Clear all", "Map"]
ENGLISH_JS = """(words) => {
  const seen = new Set(), hit = (t) => t && words.some(w => t === w || t.startsWith(w + " "));
  document.querySelectorAll('[aria-label],[title],[placeholder]').forEach(e => {
    for (const a of ['aria-label', 'title', 'placeholder'])
      if (hit(e.getAttribute(a))) seen.add(a + '=' + e.getAttribute(a)); });
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT); let n;
  while ((n = w.nextNode())) if (hit(n.textContent.trim())) seen.add(n.textContent.trim());
  return [...seen]; }"""


@pytest.fixture(scope="module")
def app_url(real_data, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("a11y-log") / "streamlit.log"
    proc = start_streamlit(real_data, port, log)
    yield f"http://127.0.0.1:{port}"
    stop(proc)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with playwright_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("a11y-profile")), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 900},
            locale="nl-NL", accept_downloads=True)
        yield ctx
        ctx.close()


@pytest.fixture(scope="module")
def tabs(browser):
    """One browser tab per width, reused by every page check."""
    pages = {}
    for name, (w, h) in WIDTHS.items():
        pages[name] = browser.new_page()
        pages[name].set_viewport_size({"width": w, "height": h})
    yield pages
    for p in pages.values():
        p.close()
    if TIMINGS:  # what the axe pass costs (run with -s to see it)
        print("\naxe per page (3 gemeenten x 2 widths): "
              + ", ".join(f"{k} {v:.1f}s" for k, v in TIMINGS.items())
              + f"; total {sum(TIMINGS.values()):.0f}s")


def wait_charts(page, timeout: float = 30_000) -> None:
    """Every plotly chart drawn (its SVG present), so axe sees what the user sees."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
        ".every(c => c.querySelector('.main-svg'))", timeout=timeout)


def page_params():
    for path in PAGES:
        marks = [pytest.mark.xfail(reason=KNOWN_FAILING[path], strict=True)] \
            if path in KNOWN_FAILING else []
        yield pytest.param(path, id=path or "overzicht", marks=marks)


@pytest.mark.parametrize("path", list(page_params()))
def test_axe_finds_no_serious_violations(app_url, tabs, path):
    started = time.monotonic()
    problems = []
    for code, name in GEMEENTEN.items():
        for width, page in tabs.items():
            open_page(page, f"{app_url}/{path}?gemeente={code}")
            wait_charts(page)
            assert page.get_by_text("Traceback").count() == 0
            assert page.title() == f"{PAGES[path]} · Regionale economie"
            assert page.evaluate("() => document.documentElement.lang") == "nl"
            english = page.evaluate(ENGLISH_JS, ENGLISH)
            if english:
                problems.append(f"/{path} {name} {width}: English interface text {english}")
            if path == "":  # the cards' trend lines are there, each with its text alternative
                page.locator('img[alt^="Verloop "]').nth(2).wait_for(timeout=15_000)
            found = blocking(run_axe(page))
            if found:
                problems.append(describe(f"/{path} {name} {width}", found))
    TIMINGS[path or "overzicht"] = time.monotonic() - started
    assert not problems, "serious/critical axe violations:\n" + "\n".join(problems)


def test_served_page_is_dutch_before_any_script_runs(app_url):
    """What a screen reader gets on the very first load: the raw HTML, no JavaScript run."""
    import urllib.request

    for path in ("", "human_capital?gemeente=GM0758"):
        with urllib.request.urlopen(f"{app_url}/{path}", timeout=10) as r:
            html = r.read().decode()
        assert '<html lang="nl">' in html and 'lang="en"' not in html
        assert "<title>Regionale economie · VNG Bestuurlijk Netwerk Economie</title>" in html
        assert "<title>Streamlit</title>" not in html


def test_axe_is_injected_and_reports_a_known_violation(app_url, tabs):
    """The harness itself can fail: an image without alt text is found as a critical violation."""
    page = tabs["desktop"]
    open_page(page, f"{app_url}/over_de_data?gemeente=GM0758")
    page.evaluate("() => { const i = document.createElement('img'); i.src = 'data:,'; "
                  "document.querySelector('[data-testid=\"stMain\"]').appendChild(i); }")
    ids = {v["id"] for v in blocking(run_axe(page))}
    assert "image-alt" in ids
    wait_idle(page)


def tab_to(page, predicate: str, key: str = "Tab", limit: int = 200) -> None:
    """Press Tab (or Shift+Tab) until the focused element satisfies the JS ``predicate(el)``.
    First waits until such an element is on the page (Streamlit draws an element once its code
    has loaded, which may be a moment after the script run finished)."""
    page.wait_for_function(f"() => [...document.querySelectorAll('a, button, summary, input, "
                           f"[tabindex]')].some({predicate})", timeout=15_000)
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!el && ({predicate})(el); }}"):
            return
    focused = page.evaluate("() => document.activeElement?.outerHTML.slice(0, 200)")
    raise AssertionError(f"{key} x{limit} never reached {predicate}; focus on {focused}")


def test_keyboard_only_walkthrough(app_url, browser):
    """Change gemeente, switch page, open a chart's table and download a CSV: keys only."""
    page = browser.new_page()
    page.set_viewport_size({"width": 1400, "height": 900})
    try:
        open_page(page, f"{app_url}/?gemeente=GM0758")
        page.locator("body").focus()
        # 1. the gemeente picker in the sidebar: type to search, Enter to choose
        tab_to(page, "el => el.getAttribute('role') === 'combobox' "
                     "&& !!el.closest('[data-testid=\"stSidebar\"]')")
        page.keyboard.type("Vlieland")
        page.keyboard.press("Enter")
        page.wait_for_url("**gemeente=GM0096**", timeout=30_000)
        page.wait_for_function("() => document.querySelector('h1')?.innerText === 'Vlieland'",
                               timeout=30_000)
        wait_idle(page)
        # 2. our own page links: back up to 'Human Capital' and follow it
        tab_to(page, "el => el.tagName === 'A' && el.innerText.trim().endsWith('Human Capital')",
               key="Shift+Tab")
        page.keyboard.press("Enter")
        page.wait_for_url("**/human_capital?**", timeout=30_000)
        assert "gemeente=GM0096" in page.url
        page.wait_for_function("() => document.querySelector('h1')?.innerText === 'Human Capital'",
                               timeout=30_000)
        wait_idle(page)
        # 3. the table view of the first chart
        tab_to(page, "el => el.tagName === 'SUMMARY' "
                     "&& el.innerText.includes('Tabel bij deze grafiek')")
        page.keyboard.press("Enter")
        details = page.locator("details", has=page.locator(":focus"))
        page.wait_for_function("() => document.activeElement.closest('details')?.open === true",
                               timeout=10_000)
        details.locator("table").first.wait_for(state="visible", timeout=10_000)
        # 4. its CSV, still with the keyboard
        tab_to(page, "el => el.tagName === 'BUTTON' && el.innerText.includes('CSV')")
        with page.expect_download(timeout=30_000) as dl:
            page.keyboard.press("Enter")
        download = dl.value
        assert download.suggested_filename.endswith(".csv")
        body = Path(download.path()).read_text(encoding="utf-8-sig")
        assert "Vlieland" in body and len(body.splitlines()) > 1
    finally:
        page.close()


def _pick(page, label: str, text: str, param: str) -> None:
    """Type into a Vergelijken multiselect (found by its label), choose the first match and
    wait until the link carries ``param``."""
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text=label).locator("input")
    box.click()
    box.type(text)
    page.get_by_role("option").filter(has_text=text).first.wait_for(timeout=15_000)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{param}**", timeout=30_000)
    wait_idle(page)


def _phone_table(page) -> str:
    page.locator('[data-testid="stTable"]').first.wait_for(timeout=15_000)
    return page.locator('[data-testid="stTable"]').first.inner_text()


def test_workbench_selection_link_opens_the_same_table(app_url, browser):
    """Build 'Breda with the other large Brabantse gemeenten' on a phone, copy the link, open it
    in a new tab (a new Streamlit session: nothing carried over but the link): the same table.
    No sideways scroll at 390 px; axe finds nothing serious at 390 and 1400 px."""
    page = browser.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    fresh = browser.new_page()
    try:
        open_page(page, f"{app_url}/vergelijken?gemeente=Breda")
        _pick(page, "Alle gemeenten in", "Noord-Brabant (provincie)", "regio=PV30")
        _pick(page, "Grootteklasse", "250 000 inwoners of meer", "grootteklasse=8")
        _pick(page, "Grootteklasse", "150 000 tot 250 000 inwoners", "grootteklasse=8%2C7")
        table = _phone_table(page)
        assert "Breda ◀ gekozen" in table and "Eindhoven" in table and "Tilburg" in table
        assert "Helmond" not in table and "Mediaan van de selectie" in table
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        link = page.url
        fresh.set_viewport_size({"width": 390, "height": 844})
        open_page(fresh, link)
        assert _phone_table(fresh) == table
        problems = []
        for width, size in WIDTHS.items():
            fresh.set_viewport_size({"width": size[0], "height": size[1]})
            wait_charts(fresh)
            found = blocking(run_axe(fresh))
            if found:
                problems.append(describe(f"/vergelijken selection {width}", found))
        assert not problems, "\n".join(problems)
    finally:
        page.close()
        fresh.close()


PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36")


def test_wijken_on_a_phone_with_real_wijk_data(app_url, browser, tmp_path_factory):
    """"Done means" of the wijken issue on a phone (390 px, a phone's user agent), Breda's real
    KWB wijk rows: the summary names the centrum and its value, centrum versus the rest fits, the
    wijk map is drawn, the phone table lists the 11 wijken with one figure, another figure is
    chosen from the keyboard, nothing scrolls sideways, and axe finds nothing serious."""
    page = browser.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    browser.new_cdp_session(page).send("Emulation.setUserAgentOverride", {"userAgent": PHONE_UA})
    try:
        open_page(page, f"{app_url}/wijken?gemeente=GM0758")
        main = page.locator("[data-testid=stMain]")
        main.get_by_text("Het centrum is Breda centrum").wait_for(timeout=30_000)
        assert "bedrijfsvestigingen per km² land 1.738" in main.inner_text()
        # elements arrive after the script run's first text: wait for them, then count
        rows = page.locator(".st-key-narrow-only-wijktabel table tbody tr")
        rows.nth(10).wait_for(timeout=30_000)
        assert rows.count() == 11
        assert page.locator(".st-key-narrow-only-wijktabel").is_visible()
        assert page.locator(".st-key-wide-only-wijktabel").count() == 0  # phone form only
        page.locator("svg path").nth(10).wait_for(state="attached", timeout=30_000)
        assert page.locator("svg path").count() >= 11  # the wijk map
        # another figure, keys only: the selector, type, Enter
        box = page.get_by_role("combobox", name="Cijfer op de kaart en in de tabel")
        box.focus()
        page.keyboard.type("Onbewoonde")
        page.keyboard.press("Enter")
        main.get_by_text("onbewoonde woningen (ook tweede woningen) 6%").wait_for(
            timeout=30_000)
        wait_idle(page)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        assert widths[0] <= widths[1], widths
        found = blocking(run_axe(page))
        assert not found, describe("/wijken Breda phone", found)
        shots = tmp_path_factory.getbasetemp() / "wijken-telefoon.png"
        page.screenshot(path=str(shots), full_page=True)
    finally:
        page.close()
