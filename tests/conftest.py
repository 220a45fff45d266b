"""Fixtures shared by every test folder.

The tree mirrors the product: ``tests/pipelines``, ``tests/dashboard``, ``tests/standin``,
``tests/deploy``, ``tests/docs`` (README.md and docs/ against the code), ``tests/e2e`` (a real
browser), and ``tests/support`` (factories, the CBS stand-in worlds, browser helpers, paths).
Nothing reads ``../shared`` when a module is imported: real-data fixtures skip with the reason
when it is absent, so ``make test`` passes on a fresh clone as well as beside ``../shared``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from standin import StandIn
from tests.support.paths import REPO, SHARED_CBS, require_shared
from tests.support.snapshot_factory import build_snapshot


@pytest.fixture
def standin() -> Iterator[Callable[..., StandIn]]:
    """Factory: ``standin(mirror_dir, **kw)`` starts a CBS stand-in on 127.0.0.1 (free port);
    every server started this way is stopped at teardown."""
    servers: list[StandIn] = []

    def start(mirror_dir: str | Path, **kw) -> StandIn:
        server = StandIn(mirror_dir, **kw).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def _never_leave_the_machine(monkeypatch):
    """Safety net: a test that forgets to point the pipeline at a stand-in hits a closed loopback
    port, never CBS or PDOK."""
    monkeypatch.setenv("CBS_ODATA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CBS_WEB_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("GEO_URL", "http://127.0.0.1:9/geo/gemeente_{year}.geojson")


# --------------------------------------------------------------------------- dashboard snapshots

@pytest.fixture(scope="session")
def dash_snapshot(tmp_path_factory) -> Path:
    """A data folder with the small synthetic snapshot of ``support/snapshot_factory.py``."""
    return build_snapshot(tmp_path_factory.mktemp("dash-data"))


@pytest.fixture
def empty_data_dir(tmp_path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def snapshot_builder():
    return build_snapshot


# --------------------------------------------------------------------------- real CBS data

@pytest.fixture(scope="session")
def dev_mirror(tmp_path_factory) -> Path:
    """The development mirror built by ``scripts/build_dev_mirror.py`` from the real data in
    ../shared/cbs (once per session): ``v3/``, ``v4/``, ``catalog.yaml``, ``PROVENANCE.json``,
    ``availability.json``. Skips when ../shared is absent."""
    require_shared()
    import importlib.util

    script = REPO / "scripts" / "build_dev_mirror.py"
    spec = importlib.util.spec_from_file_location("build_dev_mirror", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path_factory.mktemp("devmirror")
    mod.build(SHARED_CBS, out, REPO / "pipelines" / "indicators.yaml")
    return out


def mirror_snapshot(out: Path) -> Path:
    """Publish the real-data snapshot into ``out`` with scripts/mirror-snapshot.sh, run by this
    interpreter (no .venv needed)."""
    env = {**os.environ, "VENV_BIN": str(Path(sys.executable).parent),
           "REGIO_SHARED_DIR": str(SHARED_CBS.parent)}
    res = subprocess.run(["scripts/mirror-snapshot.sh", str(out)], cwd=REPO, capture_output=True,
                         text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    return out


@pytest.fixture(scope="session")
def real_data(tmp_path_factory) -> Path:
    """A data folder with a snapshot of the real CBS data in ../shared (built once per session
    by scripts/mirror-snapshot.sh, a few seconds). Skips with the reason when ../shared is
    absent."""
    require_shared()
    return mirror_snapshot(tmp_path_factory.mktemp("real-data") / "data")
