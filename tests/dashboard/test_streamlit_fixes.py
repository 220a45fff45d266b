"""The Streamlit workarounds (dashboard/ui/streamlit_fixes.py), each checked so that a Streamlit
upgrade that breaks one fails here: the Dutch page shell (lang, title, labels) served by the
middleware, the Plotly module preload, the inline-SVG insertion past st.html's sanitiser, and the
Styler rendered once."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pandas as pd

from dashboard.ui import streamlit_fixes as html_nl

INDEX = (b'<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8" />\n'
         b"    <title>Streamlit</title>\n  </head><body><div id=\"root\"></div></body></html>")


def test_index_html_gets_lang_nl_a_dutch_title_and_the_chrome_script():
    out = html_nl.dutch_html(INDEX).decode()
    assert '<html lang="nl">' in out and 'lang="en"' not in out
    assert f"<title>{html_nl.TITLE}</title><script>" in out
    assert "Direct naar de inhoud" in out and "Uitleg bij " in out
    assert out.count("<title>") == 1


def run_asgi(path: str, body: bytes, ctype: bytes, accept_encoding: bytes = b"gzip",
             method: str = "GET"):
    """Drive the middleware around a fake app; returns (headers seen by the app, messages)."""
    seen = {}

    async def app(scope, receive, send):
        seen["headers"] = dict(scope["headers"])
        seen["method"] = scope["method"]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", ctype),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body[:10], "more_body": True})
        await send({"type": "http.response.body", "body": body[10:]})

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path,
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


def test_inline_svg_survives_the_sanitiser_as_data_and_one_fixed_script():
    svg = '<svg><title>Bergen (L.) </script><b></title></svg>'
    html = html_nl.inline_svg_html(svg, "kaart")
    assert html.startswith('<div class="regio-svg regio-kaart"></div>')
    data = html.split('<script type="application/json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data  # DOMPurify drops a script whose text looks like markup
    assert json.loads(data) == svg
    # the script that runs is the same for every chart: the CSP allows it by its hash
    assert html.endswith(f"<script>{html_nl.SVG_LOADER}</script>")
    assert html_nl.inline_svg_html("<svg/>").endswith(f"<script>{html_nl.SVG_LOADER}</script>")
    assert "<" not in html_nl.SVG_LOADER


def test_a_styler_is_rendered_once_however_often_it_is_shown():
    calls = []
    df = pd.DataFrame({"a": [1.0, 2.0]})
    sty = html_nl.render_once(df.style.format(lambda v: calls.append(v) or f"{v:.1f}"))
    first = sty._translate(False, False)
    n = len(calls)
    assert n > 0 and sty._translate(False, False) is first  # the second call is the first result
    sty._compute()
    sty._compute()
    assert len(calls) == n
    # a Streamlit or pandas upgrade that stops calling these hooks makes this a no-op: check
    # that pandas still has them where render_once expects them
    assert callable(pd.io.formats.style.Styler._compute)
    assert callable(pd.io.formats.style.Styler._translate)


def test_a_head_request_gets_the_headers_of_the_get():
    _, got = run_asgi("/human_capital", INDEX, b"text/html")
    _, head = run_asgi("/human_capital", INDEX, b"text/html", method="HEAD")
    length = dict(got[0]["headers"])[b"content-length"]
    assert dict(head[0]["headers"])[b"content-length"] == length != b"0"
    assert b"".join(m.get("body", b"") for m in head[1:]) == b""


def test_ranking_styler_marks_only_the_chosen_and_comparable_rows_with_dutch_numbers():
    import pandas as pd  # noqa: PLC0415

    from dashboard.ui import components  # noqa: PLC0415

    df = pd.DataFrame({"naam": ["Breda ◀ gekozen", "Tilburg (vergelijkbaar)", "Vlieland"],
                       "waarde (%)": [3.51, None, 12.0]})
    sty = components.dutch_styler(df, {"waarde (%)": ("%", 1)},
                                  highlight=pd.Series([True, False, False]),
                                  secondary=pd.Series([False, True, False]))
    html = sty.to_html()
    assert "3,5%" in html and "12,0%" in html and "geen gegevens" in html
    # the CSS rules name the cells they style: only rows 0 (chosen) and 1 (comparable)
    rules = re.findall(r"([^{}]+)\{([^}]*)\}", html.split("</style>")[0])
    rows = {color: set(re.findall(r"_row(\d+)_col\d+", sel)) for sel, body in rules
            for color in ("#fff3b0", "#e3f1dc") if color in body}
    assert rows == {"#fff3b0": {"0"}, "#e3f1dc": {"1"}}
