"""The dashboard reads the snapshot through the contract: a manifest key the pipeline renamed is
refused when the snapshot is loaded, with a message naming the key in the log and the Dutch
"beschadigd of onleesbaar" path on screen (or the earlier snapshot, with a notice), never a
traceback or a silent "geen gegevens"."""

from __future__ import annotations

import json
import logging

import pytest

from dashboard.core import dashdata
from dashboard.ui import data as dataio
from pipelines import snapshot
from tests.support.apptest import run_app, texts


def rename_key(root, *path: str, to: str) -> None:
    """Rename the key at ``path`` in the current snapshot's manifest.json, as a pipeline that
    renamed a field would have written it."""
    file = root / "current" / snapshot.MANIFEST
    raw = json.loads(file.read_text())
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[to] = node.pop(path[-1])
    file.write_text(json.dumps(raw))


def test_the_loader_refuses_a_renamed_key_and_says_which(tmp_path, snapshot_builder,
                                                         monkeypatch, caplog):
    snapshot_builder(tmp_path)
    rename_key(tmp_path, "coverage", "werkloosheid_pct", "covered", to="gemeenten_met_cijfer")
    monkeypatch.setenv("REGIO_DATA_DIR", str(tmp_path))
    with caplog.at_level(logging.ERROR, logger="dashboard.ui.data"):
        data, reason = dataio.load_current()
    assert data is None and "beschadigd of onleesbaar" in reason
    logged = caplog.text
    assert "does not fit the snapshot contract" in logged
    assert "coverage.werkloosheid_pct.covered: Field required" in logged
    assert "coverage.werkloosheid_pct.gemeenten_met_cijfer: Extra inputs" in logged


def test_the_app_shows_the_dutch_unreadable_page_not_a_traceback(tmp_path, snapshot_builder,
                                                                 monkeypatch):
    snapshot_builder(tmp_path)
    rename_key(tmp_path, "indicators", 0, "unit", to="eenheid")
    at = run_app(tmp_path, monkeypatch)  # asserts: no exception
    shown = texts(at)
    assert "beschadigd of onleesbaar" in shown and "python -m pipelines refresh" in " ".join(
        c.value for c in at.code)
    assert "geen gegevens" not in shown.lower()


def test_the_app_falls_back_to_the_earlier_snapshot_with_a_notice(tmp_path, snapshot_builder,
                                                                  monkeypatch):
    snapshot_builder(tmp_path)
    first = snapshot.current_id(tmp_path)
    snapshot_builder(tmp_path)
    rename_key(tmp_path, "tables", "86088NED", "fetched_at", to="opgehaald")
    monkeypatch.setenv("REGIO_DATA_DIR", str(tmp_path))
    data, reason = dataio.load_current()
    assert reason is None and data.snapshot_id == first
    assert "nieuwste cijfers zijn beschadigd of onleesbaar" in data.notice
    at = run_app(tmp_path, monkeypatch, "human_capital", gemeente="GM0355")
    assert any("beschadigd of onleesbaar" in e.value for e in at.error)
    assert any(first in c.value for c in at.caption)


def test_the_dashboard_holds_the_typed_manifest(dash_snapshot):
    dd = dashdata.build(snapshot.load_snapshot(dash_snapshot))
    assert isinstance(dd.manifest, snapshot.Manifest)
    meta = dd.indicators["werkloosheid_pct"]
    assert isinstance(meta, snapshot.IndicatorEntry) and meta.unit == "%"
    with pytest.raises(AttributeError):
        meta.get("unit")  # no dict access left to fail silently
