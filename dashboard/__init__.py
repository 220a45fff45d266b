"""Streamlit dashboard over the published CBS snapshot (read-only; never calls CBS).

Only this package imports streamlit. Modules: ``data`` (loading + caching), ``state`` (URL
parameters), ``compute`` (pure pandas), ``welvaart`` (brede-welvaart standing and trend,
correlations; pure), ``charts`` (plotly figures), ``format`` (Dutch formatting), ``exports``
(CSV/Excel), ``briefing`` (PDF), ``components`` (shared widgets), ``app_pages`` (pages).
"""
