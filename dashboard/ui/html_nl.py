"""Dutch page shell for Streamlit's own interface (its "chrome").

Streamlit serves one ``index.html`` with ``<html lang="en">`` and ``<title>Streamlit</title>`` and
has a few English labels that no configuration changes ("Skip to main content", "Help for …",
"Collapse sidebar", the table toolbar). Two pieces fix that:

- :class:`DutchIndexHtml`, a pure ASGI middleware used by ``dashboard/serve.py``: the served HTML
  says ``lang="nl"``, has a Dutch title and carries :data:`CHROME_JS` from the first paint, so a
  screen reader meets Dutch on the very first load;
- :data:`CHROME_JS` itself, also injected by ``app.py`` on every run (``st.html``), so a plain
  ``streamlit run dashboard/app.py`` ends up right too, a moment after load. It sets
  ``lang="nl"`` and translates Streamlit's English labels as they appear (a MutationObserver,
  installed once per document).

No streamlit import here: the middleware runs in the web server.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path

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
CHROME_JS = """
(function () {
  if (window.__dutchChrome) return; window.__dutchChrome = true;
  const LABELS = __LABELS__, PREFIXES = __PREFIXES__, ATTRS = ["aria-label", "title", "placeholder"];
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
    fix(root);
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
    "__PREFIXES__", json.dumps(PREFIXES, ensure_ascii=False))
_HTML_TAG = re.compile(rb"<html\b[^>]*>", re.IGNORECASE)
_TITLE = re.compile(rb"<title>.*?</title>", re.IGNORECASE | re.DOTALL)


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
        scope = {**scope, "headers": headers}
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
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, capture)


def _page_path(path: str) -> bool:
    """A page URL (``/``, ``/human_capital``, ``/index.html``), not an asset or an API call."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if path.startswith("/_stcore") or "/static/" in path or "/component/" in path:
        return False
    return "." not in last or last.endswith(".html")
