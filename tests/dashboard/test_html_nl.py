"""The Dutch page shell (dashboard/html_nl.py) and the accessible sparkline (dashboard/sparkline.py):
pure functions, no browser."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dashboard.core.charts import sparkline
from dashboard.ui import html_nl

INDEX = (b'<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8" />\n'
         b"    <title>Streamlit</title>\n  </head><body><div id=\"root\"></div></body></html>")


def test_index_html_gets_lang_nl_a_dutch_title_and_the_chrome_script():
    out = html_nl.dutch_html(INDEX).decode()
    assert '<html lang="nl">' in out and 'lang="en"' not in out
    assert f"<title>{html_nl.TITLE}</title><script>" in out
    assert "Direct naar de inhoud" in out and "Uitleg bij " in out
    assert out.count("<title>") == 1


def run_asgi(path: str, body: bytes, ctype: bytes, accept_encoding: bytes = b"gzip"):
    """Drive the middleware around a fake app; returns (headers seen by the app, messages)."""
    seen = {}

    async def app(scope, receive, send):
        seen["headers"] = dict(scope["headers"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", ctype),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body[:10], "more_body": True})
        await send({"type": "http.response.body", "body": body[10:]})

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path,
             "headers": [(b"accept-encoding", accept_encoding), (b"host", b"x")]}
    asyncio.run(html_nl.DutchIndexHtml(app)(scope, None, send))
    return seen["headers"], sent


def test_middleware_rewrites_page_html_and_fixes_content_length():
    headers, sent = run_asgi("/human_capital", INDEX, b"text/html; charset=utf-8")
    assert b"accept-encoding" not in headers  # uncompressed, so it can be rewritten
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert b'<html lang="nl">' in body
    length = dict(sent[0]["headers"])[b"content-length"]
    assert int(length) == len(body)


def test_middleware_leaves_assets_and_other_types_alone():
    js = b"var x = '<html lang=\"en\">';"
    headers, sent = run_asgi("/static/js/index.js", js, b"application/javascript")
    assert headers[b"accept-encoding"] == b"gzip"
    assert b"".join(m.get("body", b"") for m in sent[1:]) == js
    _, sent = run_asgi("/_stcore/health", b"ok", b"text/plain")
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"ok"


def test_sparkline_has_a_dutch_text_alternative():
    out = sparkline.svg([13.9, 13.2, 15.8, 15.0], ["2015", "2017", "2019", "2024"],
                        "per 1.000 inwoners", 1)
    text = ("Verloop 2015–2024: van 13,9 naar 15,0; laagste 13,2 (2017), hoogste 15,8 (2019).")
    assert out.startswith("<svg ") and f'aria-label="{text}"' in out
    assert f"<title>{text}</title>" in out
    tag = sparkline.img([13.9, 13.2, 15.8, 15.0], ["2015", "2017", "2019", "2024"],
                        "per 1.000 inwoners", 1)
    assert tag.startswith('<img src="data:image/svg+xml;base64,') and f'alt="{text}"' in tag
    assert sparkline.description([], [], None, 0) == "Geen verloop beschikbaar."
    flat = sparkline.svg([5.0, 5.0], ["2023", "2024"], "%", 1)  # no division by zero
    assert "van 5,0% naar 5,0%" in flat


def test_chart_pages_start_loading_the_plotly_module_at_once():
    chunk = html_nl.plotly_chunk()
    # a Streamlit upgrade that renames its Plotly module must fail here, not silently lose this
    assert chunk and chunk.startswith("PlotlyChart.") and chunk.endswith(".js")
    tag = f'<script type="module">import("./static/js/{chunk}")</script>'
    assert tag in html_nl.dutch_html(INDEX, "/vergelijken/").decode()
    # no plotly chart (the kernthema pages draw SVG): nothing extra to load
    for page in ("/", "/over_de_data", "/toegankelijkheid", "/human_capital"):
        assert "import(" not in html_nl.dutch_html(INDEX, page).decode()
    _, sent = run_asgi("/dwarsverbanden", INDEX, b"text/html")
    assert tag.encode() in b"".join(m.get("body", b"") for m in sent[1:])
    # the pages named are the dashboard's pages (url paths in app.py)
    app = (Path(html_nl.__file__).parents[1] / "app.py").read_text()
    assert all(f'url_path="{p}"' in app for p in html_nl.CHART_PAGES)
