"""Serving entry point: ``streamlit run dashboard/serve.py`` (what `make run` and the service use).

Streamlit serves one ``index.html`` for every page with ``<html lang="en">`` and
``<title>Streamlit</title>``. A screen reader reads the first load with that language before any
script can change it, so this thin ASGI wrapper (``st.App``) rewrites the served HTML to
``lang="nl"`` and a Dutch title. ``app.py`` also sets both on every run, so a plain
``streamlit run dashboard/app.py`` (development) ends up right too, a moment after load.

Every response also gets the security headers of ``dashboard/ui/security_headers.py``
(Content-Security-Policy with the hashes of the page's inline scripts, X-Frame-Options, ...), so
the dashboard is safe to serve with or without a proxy in front.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run dashboard/serve.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from dashboard.ui.security_headers import SecurityHeaders  # noqa: E402
from dashboard.ui.streamlit_fixes import DutchIndexHtml  # noqa: E402

# the first is the outermost: SecurityHeaders hashes the inline scripts of the rewritten page
app = st.App(Path(__file__).with_name("app.py"),
             middleware=[Middleware(SecurityHeaders), Middleware(DutchIndexHtml)])
