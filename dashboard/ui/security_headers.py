"""Security headers on every response of the served dashboard (``dashboard/serve.py``), so a
deployment is safe by default whatever sits in front of it (nginx, the Kubernetes ingress, or
nothing at all: ``make run``).

* ``Content-Security-Policy``: the policy of :func:`policy`. Only the app knows its inline scripts
  (Streamlit's ``index.html``, the Dutch page shell of :mod:`streamlit_fixes`, the scripts it sends
  with ``st.html``), so the app sends the policy, with the sha256 hash of each, and nginx/the
  ingress pass it on. Written for Streamlit 1.67 and checked in a real browser through nginx
  (``tests/e2e/test_proxy.py``: no violation is reported, every chart draws).
* ``X-Frame-Options: DENY`` (older browsers; ``frame-ancestors 'none'`` in the policy),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: strict-origin-when-cross-origin``.

No ``Strict-Transport-Security``: the app speaks plain HTTP; HSTS belongs where TLS ends (the
nginx TLS variant, the ingress controller). The headers replace any of the same name from inside.
"""

from __future__ import annotations

import base64
import hashlib
import re

from dashboard.ui import streamlit_fixes

# Scripts the app sends with st.html(..., unsafe_allow_javascript=True): Streamlit's Html element
# copies each into a new <script> element, which the browser checks against script-src like any
# inline script. Only these texts run; tests/dashboard/test_security_headers.py checks that every
# script the pages send is one of them.
APP_SCRIPTS = (streamlit_fixes.CHROME_JS, streamlit_fixes.SVG_LOADER)

# Why each source beyond 'self' is there (found with Chromium, every page, Streamlit 1.67):
# - script-src 'wasm-unsafe-eval': long.js inside Streamlit's protobuf bundle compiles a tiny
#   WebAssembly module for 64-bit arithmetic on every page load (it falls back to JavaScript
#   when refused, but each load then reports a violation). It allows WebAssembly compilation
#   only, not eval() of JavaScript.
# - style-src 'unsafe-inline': Streamlit styles its interface with emotion (CSS-in-JS), which
#   creates <style> elements at run time with no nonce (Streamlit offers no setting for one), and
#   Plotly and Streamlit's sanitised HTML set style="" attributes with computed values: neither
#   can be allowed by hash. Injected CSS cannot load anything from elsewhere: img-src, font-src
#   and connect-src stay 'self' (+ data: URIs).
# - img-src data: the trend lines of the overview (sparklines) are data: URI images.
# - font-src data: Streamlit's own stylesheet embeds one font as a data: URI.
# - connect-src 'self' ws://<host> wss://<host>: XHR to /_stcore/* and the websocket
#   /_stcore/stream. CSP Level 3 lets 'self' match ws:/wss: of the page's own origin (Chromium,
#   Firefox); older WebKit (Safari) did not, so the websocket of the host the request names is
#   listed too (only a well-formed Host header, else 'self' alone).
DIRECTIVES = (
    ("default-src", "'self'"),
    ("script-src", "'self' 'wasm-unsafe-eval' {hashes}"),
    ("style-src", "'self' 'unsafe-inline'"),
    ("img-src", "'self' data:"),
    ("font-src", "'self' data:"),
    ("connect-src", "'self'{websocket}"),
    ("object-src", "'none'"),
    ("base-uri", "'self'"),
    ("form-action", "'self'"),
    ("frame-ancestors", "'none'"),
)
STATIC_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}
# a host name, IPv4 or [IPv6] address with an optional port: nothing that could end a directive
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
# a classic or module script without src (data blocks such as application/json never run)
_INLINE_SCRIPT = re.compile(
    rb"<script(?![^>]*\bsrc=)(?:\s+type=\"?(?:module|text/javascript)\"?)?\s*>(.*?)</script>",
    re.IGNORECASE | re.DOTALL)


def script_hash(text: str | bytes) -> str:
    """The CSP hash source of one inline script's text, exactly as written (whitespace counts)."""
    data = text.encode() if isinstance(text, str) else text
    return "'sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode() + "'"


def inline_scripts(html: bytes) -> list[bytes]:
    """The texts of the inline scripts of a page that the browser runs."""
    return [m.group(1) for m in _INLINE_SCRIPT.finditer(html)]


def policy(page: bytes = b"", host: str | None = None) -> str:
    """The Content-Security-Policy for a response: the app's own scripts and the inline scripts of
    ``page`` (the served index.html) allowed by hash, no 'unsafe-inline' or 'unsafe-eval' for
    scripts; the websocket of ``host`` (the request's Host header) when it is well-formed."""
    hashes = dict.fromkeys([script_hash(s) for s in APP_SCRIPTS]
                           + [script_hash(s) for s in inline_scripts(page)])
    websocket = f" ws://{host} wss://{host}" if host and _HOST.fullmatch(host) else ""
    return "; ".join(f"{name} {value.format(hashes=' '.join(hashes), websocket=websocket)}"
                     for name, value in DIRECTIVES)


class SecurityHeaders:
    """ASGI middleware (outermost, so it sees the page as :class:`DutchIndexHtml` rewrote it): the
    headers above on every HTTP response; for an HTML page the policy carries the hashes of that
    page's inline scripts (the body is buffered: a page is ~10 kB). Websockets pass untouched."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict | None = None
        chunks: list[bytes] = []
        host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1") or None

        async def capture(message):
            nonlocal start
            if message["type"] == "http.response.start":
                ctype = dict(message.get("headers", [])).get(b"content-type", b"")
                if ctype.startswith(b"text/html"):
                    start = message
                    return
                await send(with_headers(message, policy(host=host)))
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = b"".join(chunks)
                await send(with_headers(start, policy(body, host)))
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, capture)


def with_headers(start: dict, csp: str) -> dict:
    """``start`` (an http.response.start message) with the security headers, replacing any of
    the same name."""
    ours = {**STATIC_HEADERS, "content-security-policy": csp}
    headers = [(k, v) for k, v in start.get("headers", []) if k.decode().lower() not in ours]
    headers += [(k.encode(), v.encode()) for k, v in ours.items()]
    return {**start, "headers": headers}
