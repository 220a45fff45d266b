"""Every place the dashboard works around Streamlit, in one module.

Each workaround names the Streamlit version it was written for (1.67, the version
``requirements.lock`` pins and CI tests) and, where there is one, the Streamlit issue it works
around, so that after an upgrade each can be checked and removed when Streamlit fixed it.
``tests/dashboard/test_streamlit_fixes.py`` fails when one stops working (a renamed Plotly module,
a changed index.html, a changed Styler hook).

1. **Dutch page shell** (:class:`DutchIndexHtml`, :data:`CHROME_JS`): Streamlit serves one
   ``index.html`` with ``<html lang="en">`` and ``<title>Streamlit</title>``, and has English
   labels no configuration changes ("Skip to main content", "Help for …", the table toolbar).
   streamlit/streamlit#15726 (open; a ``page_lang`` option was proposed in #16024, not merged).
   The middleware (used by ``dashboard/serve.py`` through ``st.App``) serves the page with
   ``lang="nl"``, a Dutch title and :data:`CHROME_JS` from the first paint, so a screen reader
   meets Dutch on the very first load; ``app.py`` also injects :data:`CHROME_JS` on every run
   (``st.html``), so a plain ``streamlit run dashboard/app.py`` ends up right a moment after load.
   The script sets ``lang="nl"`` and translates Streamlit's English labels as they appear, and
   the texts of its "Page not found" dialog (a link to a page that does not exist).
2. **Plotly module preload** (:func:`preload`): Streamlit loads its Plotly chart module
   (4.7 MB) only when the first chart arrives; on the two pages with plotly charts the served page
   starts loading it at once (~0.7 s sooner, ``benchmarks/load.py``).
3. **Inline SVG** (:func:`inline_svg`): ``st.html`` sanitises with DOMPurify's HTML profile,
   which removes ``<svg>`` (Streamlit 1.67 offers no SVG element); a one-line script, the same for
   every chart (:data:`SVG_LOADER`, allowed by its hash in the Content-Security-Policy), puts our
   own SVG in place.
4. **A Styler rendered once** (:func:`render_once`): ``st.dataframe`` runs a Styler's style
   functions and builds its cell table on every call, a large part of a page view's CPU for a
   300-row ranking (streamlit/streamlit#10952, open): the second and later calls reuse the first
   result.
5. **Our own page links** (:func:`page_links`): the page list ``st.navigation`` draws in the
   sidebar has invalid list markup (axe ``list``/``listitem``: its ``<ul>`` holds ``<div>``s) and
   cannot be fixed by configuration; the navigation is hidden and plain ``st.page_link`` links
   are drawn instead. On a phone the sidebar hides behind an unlabelled 28 px chevron: the same
   links also sit at the top of the page in an expander called "Menu".
6. **English element toolbars hidden** (:data:`HIDE_TOOLBARS_CSS`): the dataframe and chart
   toolbars ('Download as CSV', 'Search', 'Fullscreen') and column menus ('Sort ascending') are
   English and cannot be translated; every page has Dutch CSV/Excel buttons and every chart a
   table with a CSV button instead, and a click on a column head still sorts.

Only the functions that need it import streamlit; the middleware runs in the web server.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------- 1. Dutch shell

LANG = "nl"
TITLE = "Regionale economie · VNG Bestuurlijk Netwerk Economie"
# Streamlit's English interface labels (aria-label, title, placeholder or text) -> Dutch
LABELS = {
    "Skip to main content": "Direct naar de inhoud",
    "Collapse sidebar": "Zijbalk inklappen",
    "Expand sidebar": "Zijbalk uitklappen",
    "Sidebar": "Zijbalk",
    "Open": "Openen",
    "Close": "Sluiten",
    "Clear all": "Alles wissen",
    "Clear value": "Keuze wissen",
    "Choose an option": "Maak een keuze",
    "No results": "Geen resultaten",
    "Link to heading": "Link naar deze kop",
    "Download as CSV": "Downloaden als CSV",
    "Search": "Zoeken",
    "Fullscreen": "Volledig scherm",
    "Close fullscreen": "Volledig scherm sluiten",
    "Show/hide columns": "Kolommen tonen of verbergen",
    "Help": "Uitleg",
    # the map (MapLibre inside plotly) and plotly's toolbar, wherever they still show
    "Map": "Kaart",
    "Toggle attribution": "Bronvermelding van de kaart tonen of verbergen",
    "Zoom in": "Inzoomen",
    "Zoom out": "Uitzoomen",
    "Reset bearing to north": "Noorden boven",
    "Reset view": "Beginbeeld",
    "Zoom": "Zoomen",
    "Pan": "Verschuiven",
    "Autoscale": "Automatisch schalen",
    "Reset axes": "Assen herstellen",
    "Download plot as a png": "Grafiek downloaden als PNG",
    "Vega visualization": "Grafiek",
}
PREFIXES = {"Help for ": "Uitleg bij "}
# Streamlit's English dialog texts (a link to a page that does not exist) -> Dutch; whole texts
# or, for the one that names the page, its start
DIALOG_TEXTS = {
    "Page not found": "Pagina niet gevonden",
    "The page that you have requested does not seem to exist. Running the app's main page.":
        "Deze pagina bestaat niet. U ziet nu de startpagina (Overzicht).",
    "You have requested page /":
        "Deze pagina bestaat niet. U ziet nu de startpagina (Overzicht).",
}
CHROME_JS = """
(function () {
  if (window.__dutchChrome) return; window.__dutchChrome = true;
  const LABELS = __LABELS__, PREFIXES = __PREFIXES__, ATTRS = ["aria-label", "title", "placeholder"];
  const DIALOG = __DIALOG__;
  const dialogText = (root) => {  // only inside a dialog: no text walk over every page update
    const box = root.closest && root.closest('[role="dialog"]')
      || root.querySelector && root.querySelector('[role="dialog"]');
    if (!box) return;
    const walk = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const t = n.nodeValue.trim();
      for (const k in DIALOG) if (t === k || (k.endsWith("/") && t.startsWith(k))) {
        n.nodeValue = DIALOG[k]; break;
      }
    }
  };
  const nl = (t) => {
    if (LABELS[t]) return LABELS[t];
    for (const p in PREFIXES) if (t.startsWith(p)) return PREFIXES[p] + t.slice(p.length);
    return null;
  };
  const fix = (el) => {
    for (const a of ATTRS) {
      const v = el.getAttribute && el.getAttribute(a), d = v && nl(v);
      if (d) el.setAttribute(a, d);
    }
    if (el.matches && el.matches('[data-testid="stSkipToContent"]')) {
      const d = nl(el.textContent.trim()); if (d) el.textContent = d;
    }
    // the sidebar scrolls on its own: reachable by keyboard (WCAG 2.1.1, axe
    // scrollable-region-focusable; Streamlit leaves it without a tab stop while folded away)
    if (el.matches && el.matches('[data-testid="stSidebarContent"]')
        && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "0");
  };
  const sweep = (root) => {
    if (root.nodeType !== 1) return;
    fix(root); dialogText(root);
    root.querySelectorAll('[aria-label],[title],[placeholder],[data-testid="stSkipToContent"],'
                          + '[data-testid="stSidebarContent"]').forEach(fix);
  };
  const html = document.documentElement;
  const lang = () => { if (html.lang !== "nl") html.lang = "nl"; };
  lang(); sweep(html);
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "attributes") { if (r.target === html) lang(); else fix(r.target); }
      else r.addedNodes.forEach(sweep);
    }
  }).observe(html, {subtree: true, childList: true, attributes: true,
                    attributeFilter: ATTRS.concat(["lang"])});
})();
""".replace("__LABELS__", json.dumps(LABELS, ensure_ascii=False)).replace(
    "__PREFIXES__", json.dumps(PREFIXES, ensure_ascii=False)).replace(
    "__DIALOG__", json.dumps(DIALOG_TEXTS, ensure_ascii=False))
_HTML_TAG = re.compile(rb"<html\b[^>]*>", re.IGNORECASE)
_TITLE = re.compile(rb"<title>.*?</title>", re.IGNORECASE | re.DOTALL)


# --------------------------------------------------------------------------- 2. preload

# url paths of the pages that draw plotly charts (app.py's st.Page url_path values)
# (the kernthema pages draw their map and series as SVG: no Plotly there)
CHART_PAGES = frozenset({"vergelijken", "dwarsverbanden"})


def _streamlit_js() -> Path | None:
    spec = importlib.util.find_spec("streamlit")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "static" / "static" / "js"


@functools.cache
def plotly_chunk() -> str | None:
    """File name of Streamlit's Plotly chart module (``PlotlyChart.<hash>.js``) in the installed
    Streamlit, or None (then nothing is preloaded; tests/test_html_nl.py fails on that)."""
    folder = _streamlit_js()
    found = sorted(folder.glob("PlotlyChart.*.js")) if folder and folder.is_dir() else []
    return found[0].name if len(found) == 1 else None


def preload(path: str) -> str:
    """For a first load of a chart page: start loading and evaluating Streamlit's Plotly module
    (4.7 MB, the largest part of drawing the first chart) while the page connects and the
    script runs, instead of after the first chart arrived. Measured in benchmarks/load.py: a
    deep link to a chart page draws its charts ~0.7 s sooner. Other pages load it as usual
    (only when a chart comes)."""
    page = path.strip("/").rsplit("/", 1)[-1]
    chunk = plotly_chunk()
    if page not in CHART_PAGES or not chunk:
        return ""
    return f'<script type="module">import("./static/js/{chunk}")</script>'


def dutch_html(body: bytes, path: str = "/") -> bytes:
    """``<html lang="..">`` -> ``lang="nl"``; the first ``<title>`` -> the dashboard's title,
    followed by :data:`CHROME_JS` (and, for a chart page at ``path``, :func:`preload`)."""
    body = _HTML_TAG.sub(f'<html lang="{LANG}">'.encode(), body, count=1)
    shell = f"<title>{TITLE}</title><script>{CHROME_JS}</script>{preload(path)}"
    return _TITLE.sub(lambda _: shell.encode(), body, count=1)


class DutchIndexHtml:
    """ASGI middleware: rewrites ``text/html`` responses with :func:`dutch_html`.

    The request goes on without ``Accept-Encoding`` for page loads (not for assets), so the HTML
    arrives uncompressed and can be rewritten; Content-Length is set to the new size.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD") \
                or not _page_path(scope.get("path", "/")):
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"accept-encoding"]
        head = scope.get("method") == "HEAD"
        # a HEAD answers with the GET's headers: the page is made as for a GET, then sent bodiless
        scope = {**scope, "headers": headers, "method": "GET" if head else scope["method"]}
        start: dict | None = None
        chunks: list[bytes] = []

        async def capture(message):
            nonlocal start
            if message["type"] == "http.response.start":
                ctype = dict(message.get("headers", [])).get(b"content-type", b"")
                if not ctype.startswith(b"text/html"):
                    await send(message)
                    start = {}
                    return
                start = message
                return
            if message["type"] == "http.response.body" and start:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = dutch_html(b"".join(chunks), scope.get("path", "/"))
                hdrs = [(k, v) for k, v in start.get("headers", [])
                        if k.lower() != b"content-length"]
                hdrs.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": hdrs})
                await send({"type": "http.response.body", "body": b"" if head else body})
                return
            await send(message)

        await self.app(scope, receive, capture)


def _page_path(path: str) -> bool:
    """A page URL (``/``, ``/human_capital``, ``/index.html``), not an asset or an API call."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if path.startswith("/_stcore") or "/static/" in path or "/component/" in path:
        return False
    return "." not in last or last.endswith(".html")


# --------------------------------------------------------------------------- 3. inline SVG

# The one script every inline SVG runs: the same text for every chart, so the page's
# Content-Security-Policy allows it by its sha256 hash (dashboard/ui/security_headers.py) without
# 'unsafe-inline'. It moves the SVG out of the JSON data block before it into the <div> before that.
SVG_LOADER = ("(function(s){var d=s.previousElementSibling;"
              "d.previousElementSibling.innerHTML=JSON.parse(d.textContent);d.remove();})"
              "(document.currentScript)")


def inline_svg_html(svg: str, kind: str = "grafiek") -> str:
    """HTML for ``st.html(..., unsafe_allow_javascript=True)`` that shows ``svg`` inline.
    st.html sanitises with DOMPurify's HTML profile, which removes ``<svg>``; the SVG travels as a
    JSON data block (``<script type="application/json">``: never executed, so no CSP question)
    and :data:`SVG_LOADER`, the same script for every chart, puts it in place (our own markup
    only: every data-derived text in ``svg`` is escaped). '<' is written as \\u003c so the
    sanitiser sees no markup inside the data block."""
    payload = json.dumps(svg).replace("<", "\\u003c")
    return (f'<div class="regio-svg regio-{kind}"></div>'
            f'<script type="application/json">{payload}</script><script>{SVG_LOADER}</script>')


def inline_svg(svg: str, kind: str = "grafiek") -> None:
    import streamlit as st

    st.html(inline_svg_html(svg, kind), unsafe_allow_javascript=True)


# --------------------------------------------------------------------------- 4. Styler once

_RENDER_LOCK = threading.Lock()


def render_once(sty):
    """The same Styler, rendered once: st.dataframe runs the style functions (``_compute``) and
    builds the cell table (``_translate``) on every call. After this the second and later calls
    (the phone table of the same view, other sessions sharing it through the per-view cache)
    reuse the first result; do not change the Styler afterwards. (Instance attributes:
    st.dataframe only takes the Styler class itself.)"""
    compute_, translate_ = sty._compute, sty._translate
    memo: dict = {}

    def _compute():
        with _RENDER_LOCK:
            if "computed" not in memo:
                compute_()
                memo["computed"] = True
        return sty

    def _translate(*args, **kwargs):
        key = (args, tuple(sorted(kwargs.items())))
        with _RENDER_LOCK:
            if key not in memo:
                memo[key] = translate_(*args, **kwargs)
            return memo[key]

    sty._compute, sty._translate = _compute, _translate
    return sty


# --------------------------------------------------------------------------- 5. page links

def page_links(groups: dict[str, list], labels: dict | None = None,
               phone_menu: Callable[[], Any] | None = None) -> None:
    """Plain links per group (``{group title: [st.Page, ...]}``) in the sidebar, instead of
    st.navigation's page list (invalid list markup). Keyboard reachable; the URL state travels
    with the session. ``phone_menu``: a container shown on a phone only, where the sidebar is
    folded behind Streamlit's unlabelled chevron: the same links in an expander named "Menu"."""
    import streamlit as st

    labels = labels or {}

    def links() -> None:
        for group, pages in groups.items():
            st.markdown(f"**{group}**")
            for page in pages:
                st.page_link(page, label=labels.get(page.url_path, page.title), icon=page.icon)

    with st.sidebar, st.container(key="hoofdnavigatie"):
        links()
    if phone_menu is not None:
        with phone_menu(), st.expander("Menu: alle pagina's", icon=":material/menu:"):
            links()


# --------------------------------------------------------------------------- 6. toolbars

HIDE_TOOLBARS_CSS = """
[data-testid="stElementToolbar"], [data-testid="stDataFrameColumnMenu"],
[data-testid="stDataFrameColumnVisibilityMenu"], [data-testid="stDataFrameColumnFormattingMenu"],
[data-testid="stDataFrameStatisticsMenu"] { display: none !important; }
"""
