"""The security headers the served dashboard sends (dashboard/ui/security_headers.py): a
Content-Security-Policy that allows exactly the inline scripts of the served page and of the
app's st.html elements by hash (no 'unsafe-inline' or 'unsafe-eval' for scripts), and the
framing, sniffing and referrer headers on every response. The browser side (no violation, charts
drawn, through nginx) is tests/e2e/test_proxy.py."""

from __future__ import annotations

import asyncio
import importlib.util
import re
from pathlib import Path

import pytest

from dashboard.ui import security_headers as sh
from dashboard.ui import streamlit_fixes
from tests.support.apptest import run_app


def directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        name, *values = part.split()
        assert name not in out, f"{name} twice"
        out[name] = values
    return out


def streamlit_index() -> bytes:
    spec = importlib.util.find_spec("streamlit")
    return (Path(spec.origin).parent / "static" / "index.html").read_bytes()


def test_policy_is_strict_where_streamlit_allows():
    d = directives(sh.policy())
    assert d["default-src"] == ["'self'"]
    script = d["script-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert all(s in ("'self'", "'wasm-unsafe-eval'") or s.startswith("'sha256-") for s in script)
    assert d["object-src"] == ["'none'"] and d["frame-ancestors"] == ["'none'"]
    assert d["base-uri"] == ["'self'"] and d["form-action"] == ["'self'"]
    assert d["connect-src"] == ["'self'"]
    assert d["img-src"] == ["'self'", "data:"] and d["font-src"] == ["'self'", "data:"]
    # no other host, no scheme-wide source (https:, blob:, *) anywhere
    assert not re.search(r"\*|https?:|blob:|wss?:", sh.policy())


def test_the_websocket_of_the_requested_host_only_when_the_host_is_well_formed():
    assert directives(sh.policy(host="dashboard.gemeente.nl"))["connect-src"] == [
        "'self'", "ws://dashboard.gemeente.nl", "wss://dashboard.gemeente.nl"]
    assert directives(sh.policy(host="127.0.0.1:8080"))["connect-src"][1] == "ws://127.0.0.1:8080"
    assert directives(sh.policy(host="[::1]:8501"))["connect-src"][2] == "wss://[::1]:8501"
    for bad in ("evil; script-src *", "a b", "x/y", "*", ""):
        csp = sh.policy(host=bad)
        assert directives(csp)["connect-src"] == ["'self'"], bad
        assert directives(csp)["script-src"][0] == "'self'"


def test_hash_is_the_browsers_sha256_of_the_exact_text():
    # the value Chromium reported for an empty inline <style> (the well-known sha256 of "")
    assert sh.script_hash("") == "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
    assert sh.script_hash(" x") != sh.script_hash("x")


@pytest.mark.parametrize("path", ["/", "/human_capital", "/vergelijken/", "/dwarsverbanden"])
def test_every_inline_script_of_the_served_page_is_allowed(path):
    """Streamlit's real index.html as the middleware serves it (its own inline script, the Dutch
    shell, the Plotly preload on chart pages): each inline script's hash is in the policy."""
    page = streamlit_fixes.dutch_html(streamlit_index(), path)
    scripts = sh.inline_scripts(page)
    assert streamlit_fixes.CHROME_JS.encode() in scripts
    assert any(b"prerenderReady" in s for s in scripts)  # Streamlit's own
    if path.strip("/") in streamlit_fixes.CHART_PAGES:
        assert any(b"import(" in s for s in scripts)
    # every <script> without src is found (a change to Streamlit's markup must fail here)
    assert len(scripts) == len(re.findall(rb"<script(?![^>]*\bsrc=)[^>]*>", page))
    allowed = directives(sh.policy(page))["script-src"]
    for s in scripts:
        assert sh.script_hash(s) in allowed, s[:80]
    # a script that is not on the page is not allowed
    assert sh.script_hash("alert(1)") not in allowed


def test_json_data_blocks_and_external_scripts_are_not_hashed():
    page = (b'<script src="./a.js"></script><script type="module" crossorigin src="./b.js">'
            b'</script><script type="application/json">"x"</script><script>run()</script>')
    assert sh.inline_scripts(page) == [b"run()"]


@pytest.mark.parametrize("page, params", [
    ("overzicht", {"gemeente": "GM0362"}),
    ("human_capital", {"gemeente": "GM0362", "indicator": "werkloosheid_pct"}),
    ("vergelijken", {"gemeente": "GM0362"}),
])
def test_every_script_the_pages_send_is_allowed_by_hash(dash_snapshot, monkeypatch, page, params):
    """The scripts the app sends over the websocket (st.html with unsafe_allow_javascript) are
    copied into <script> elements by Streamlit: each must be one of APP_SCRIPTS."""
    at = run_app(dash_snapshot, monkeypatch, page, **params)
    allowed = directives(sh.policy())["script-src"]
    sent = []
    for h in at.get("html"):
        if not h.proto.unsafe_allow_javascript:
            continue  # Streamlit's sanitiser removes scripts from these
        sent += sh.inline_scripts(h.proto.body.encode())
    assert sent, "expected the Dutch shell script at least"
    for s in sent:
        assert sh.script_hash(s) in allowed, s[:120]
    if page == "human_capital":  # the map and the series: the SVG loader, once per chart
        assert sent.count(streamlit_fixes.SVG_LOADER.encode()) >= 2


def run(path: str, ctype: bytes, body: bytes, extra: list | None = None, scope_type="http",
        host: bytes = b"dashboard.example.org"):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", ctype)] + (extra or [])})
        await send({"type": "http.response.body", "body": body[:7], "more_body": True})
        await send({"type": "http.response.body", "body": body[7:]})

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": scope_type, "path": path, "headers": [(b"host", host)]}
    asyncio.run(sh.SecurityHeaders(app)(scope, None, send))
    return sent


def test_middleware_sets_the_headers_on_every_response():
    page = b"<html><head><script>one()</script></head></html>"
    sent = run("/", b"text/html; charset=utf-8", page, [(b"x-frame-options", b"SAMEORIGIN")])
    headers = sent[0]["headers"]
    names = [k for k, _ in headers]
    assert names.count(b"x-frame-options") == 1  # replaced, not doubled
    h = dict(headers)
    assert h[b"x-frame-options"] == b"DENY"
    assert h[b"x-content-type-options"] == b"nosniff"
    assert h[b"referrer-policy"] == b"strict-origin-when-cross-origin"
    assert sh.script_hash("one()").encode() in h[b"content-security-policy"]
    assert b"connect-src 'self' ws://dashboard.example.org wss://dashboard.example.org;" in h[
        b"content-security-policy"]
    assert b"".join(m.get("body", b"") for m in sent[1:]) == page
    # an asset: the same headers, the body streamed on as it came
    sent = run("/static/js/x.js", b"application/javascript", b"var a = 1; var b = 2;")
    h = dict(sent[0]["headers"])
    assert h[b"x-frame-options"] == b"DENY" and b"frame-ancestors 'none'" in h[
        b"content-security-policy"]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, False]


def test_websockets_pass_untouched():
    sent = run("/_stcore/stream", b"text/html", b"<script>x()</script>", scope_type="websocket")
    assert b"content-security-policy" not in dict(sent[0]["headers"])


def test_serve_py_puts_the_headers_outside_the_page_rewrite():
    """The outermost middleware sees the page as served (with the Dutch shell's scripts)."""
    text = (Path(sh.__file__).parents[1] / "serve.py").read_text()
    m = re.search(r"middleware=\[(.*?)\]", text, re.S)
    assert m and re.findall(r"Middleware\((\w+)\)", m.group(1)) == ["SecurityHeaders",
                                                                   "DutchIndexHtml"]
