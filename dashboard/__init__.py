"""Streamlit dashboard over the published CBS snapshot (read-only; never calls CBS).

Only this package imports streamlit. Modules: ``data`` (loading + caching), ``state`` (URL
parameters), ``compute`` (pure pandas), ``charts`` (plotly figures), ``format`` (Dutch
formatting), ``exports`` (CSV/Excel), ``components`` (shared widgets), ``app_pages`` (pages).
"""
