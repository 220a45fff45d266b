"""Serving entry point: ``streamlit run dashboard/serve.py`` (what `make run` and the service use).

Streamlit serves one ``index.html`` for every page with ``<html lang="en">`` and
``<title>Streamlit</title>``. A screen reader reads the first load with that language before any
script can change it, so this thin ASGI wrapper (``st.App``) rewrites the served HTML to
``lang="nl"`` and a Dutch title. ``app.py`` also sets both on every run, so a plain
``streamlit run dashboard/app.py`` (development) ends up right too, a moment after load.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run dashboard/serve.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from dashboard.ui.streamlit_fixes import DutchIndexHtml  # noqa: E402

app = st.App(Path(__file__).with_name("app.py"), middleware=[Middleware(DutchIndexHtml)])
