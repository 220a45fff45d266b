"""Work that is the same for every visitor is done once per snapshot and shared by sessions
(issue 13): the map of an indicator/year and the ranking are built once for all gemeenten and
sessions, a gemeente's series once per gemeente; a new snapshot builds them again."""

from __future__ import annotations

import gc
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.core import compute
from dashboard.core.charts import build
from dashboard.ui import data as dataio
from pipelines import snapshot
from tests.support.apptest import svg_of

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PAGE = "app_pages/human_capital.py"


@pytest.fixture
def counted(monkeypatch):
    """Counts the builds of the map, the ranking and the time series (new sessions in one
    process, as on a server; the shared caches start empty)."""
    calls = {"choropleth": 0, "ranking": 0, "time_series": 0}

    def counting(name, fn):
        def wrapper(*a, **k):
            calls[name] += 1
            return fn(*a, **k)
        return wrapper

    monkeypatch.setattr(build, "map_chart", counting("choropleth", build.map_chart))
    monkeypatch.setattr(build, "series_chart", counting("time_series", build.series_chart))
    monkeypatch.setattr(compute, "ranking", counting("ranking", compute.ranking))
    caches = (dataio._per_snapshot, dataio._per_view, dataio._per_view_large,
              dataio._per_snapshot_large)
    for c in caches:
        c.clear()
    yield calls
    for c in caches:
        c.clear()


def session(data_dir: Path, monkeypatch, gemeente: str) -> AppTest:
    """A new browser session opening a deep link to the Human Capital page."""
    monkeypatch.setenv("REGIO_DATA_DIR", str(data_dir))
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["gemeente"] = gemeente
    at.query_params["indicator"] = "werkloosheid_pct"
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def outlined(at: AppTest) -> list[str]:
    """Names outlined on the map (the red 'gekozen' path of the inline SVG)."""
    return [t.split(" (gekozen)")[0]
            for t in re.findall(r"<title>([^<]*\(gekozen\)[^<]*)</title>", svg_of(at, "kaart"))]


def test_sessions_share_the_map_and_ranking_per_snapshot(tmp_path, monkeypatch, counted,
                                                         snapshot_builder):
    data = snapshot_builder(tmp_path)
    a = session(data, monkeypatch, "GM0355")
    b = session(data, monkeypatch, "GM0344")  # another session, another gemeente
    assert counted["choropleth"] == 1 and counted["ranking"] == 1
    assert counted["time_series"] == 2  # the series is the gemeente's own
    # each session sees only its own gemeente outlined (the shared map is not changed per view)
    assert outlined(a) == ["Zeist"] and outlined(b) == ["Utrecht"]
    session(data, monkeypatch, "GM0344")  # the same link again (a meeting): nothing rebuilt
    assert counted == {"choropleth": 1, "ranking": 1, "time_series": 2}

    first = snapshot.current_id(data)
    snapshot_builder(data)  # the nightly run publishes a new snapshot
    assert snapshot.current_id(data) != first
    session(data, monkeypatch, "GM0355")
    assert counted == {"choropleth": 2, "ranking": 2, "time_series": 3}


def test_the_loaded_snapshot_is_kept_out_of_the_garbage_collectors_walk(tmp_path, monkeypatch,
                                                                       snapshot_builder):
    """Streamlit collects garbage after every script run; the long-lived heap (libraries, the
    snapshot and its map geometry) is frozen so that walk stays small (data.freeze_long_lived)."""
    gc.unfreeze()
    data = snapshot_builder(tmp_path)
    session(data, monkeypatch, "GM0355")
    assert gc.get_freeze_count() > 0

