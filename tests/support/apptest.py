"""AppTest helpers: run the dashboard (``dashboard/app.py``) on a data folder, read what a page
shows."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.support.paths import APP as APP_PATH

APP = str(APP_PATH)
PAGES = {
    "overzicht": ("app_pages/overzicht.py", "Amstelveen"),
    "mkb_innovatie": ("app_pages/mkb_innovatie.py", "Breed MKB en innovatie"),
    "human_capital": ("app_pages/human_capital.py", "Human Capital"),
    "ruimtelijke_economie": ("app_pages/ruimtelijke_economie.py",
                             "Ruimtelijke economie en vitale kernen"),
    "wijken": ("app_pages/wijken.py", "Wijken"),
    "vergelijken": ("app_pages/vergelijken.py", "Vergelijken"),
    "brede_welvaart": ("app_pages/brede_welvaart.py", "Brede welvaart"),
    "dwarsverbanden": ("app_pages/dwarsverbanden.py", "Dwarsverbanden"),
    "over": ("app_pages/over_de_data.py", "Over de data"),
}


def run_app(data_dir: Path, monkeypatch, page: str | None = None, **params: str) -> AppTest:
    monkeypatch.setenv("REGIO_DATA_DIR", str(data_dir))
    at = AppTest.from_file(APP, default_timeout=30)
    for k, v in params.items():
        at.query_params[k] = v
    if page:
        at.switch_page(PAGES[page][0])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def qp(at: AppTest, key: str) -> str:
    v = at.query_params[key]
    return v if isinstance(v, str) else v[-1]


def svg_of(at: AppTest, kind: str) -> str:
    """The SVG of the page's map ('kaart') or time series ('grafiek'), out of the st.html
    element that puts it in place (streamlit_fixes.inline_svg); '' when the page has none."""
    for h in at.get("html"):
        if f"regio-{kind}" in h.proto.body:
            data = h.proto.body.split('<script type="application/json">', 1)[1]
            return json.loads(data.split("</script>", 1)[0])
    return ""


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [i.value for i in at.info] + [w.value for w in at.warning]
    parts += [f"{m.label}={m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def metric(at: AppTest, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def rankings(at: AppTest):
    """(the chosen gemeente with its comparable gemeenten, all regions) of a kernthema page:
    its ranking tables (both drawn by AppTest, which sends no User-Agent: the wide table first;
    the phone's copy of each follows it)."""
    tables = [d.value for d in at.dataframe if "naam" in d.value.columns]
    own = tables[0] if len(tables) == 4 else None  # none when the gemeente has no row
    return own, tables[-2]
