"""The dashboard over the published CBS snapshot (read-only; never calls CBS).

Two halves, and a test says so (``tests/dashboard/test_imports.py``):

    core/           no streamlit: presentation rules, compute (pandas), URL state, brede
                    welvaart, exports, the snapshot view (dashdata), the chart model (charts/)
                    and the PDF briefing. Everything here can run in a script or a test.
    ui/             streamlit: loaders and caches (data), shared widgets (components), the
                    kernthema view, and every Streamlit workaround (streamlit_fixes).
    app.py          the Streamlit entry point: page config, navigation, sidebar, footer;
    serve.py        what is served (st.App with the Dutch page shell);
    app_pages/      one thin file per page: selection -> load -> compute -> render.

``python -m dashboard briefing GM0758 --out briefing.pdf`` writes a briefing (``__main__``).
"""
