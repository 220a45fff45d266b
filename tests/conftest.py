"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from standin import StandIn


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
    monkeypatch.setenv("GEO_URL", "http://127.0.0.1:9/geo/gemeente_{year}.geojson")


SHARED_CBS = Path(__file__).resolve().parents[1].parent / "shared" / "cbs"


@pytest.fixture(scope="session")
def dev_mirror(tmp_path_factory) -> Path:
    """The development mirror built by ``scripts/build_dev_mirror.py`` from the real data in
    ../shared/cbs (once per session): ``v3/``, ``v4/``, ``catalog.yaml``, ``PROVENANCE.json``,
    ``availability.json``. Skips when ../shared is absent."""
    if not (SHARED_CBS / "mirror" / "85755NED").is_dir():
        pytest.skip(f"real CBS data not found at {SHARED_CBS} (../shared is absent)")
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts" / "build_dev_mirror.py"
    spec = importlib.util.spec_from_file_location("build_dev_mirror", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path_factory.mktemp("devmirror")
    mod.build(SHARED_CBS, out, Path(__file__).resolve().parents[1] / "pipelines" / "indicators.yaml")
    return out


REPO = Path(__file__).resolve().parents[1]
SHARED_MIRROR = REPO.parent / "shared" / "cbs" / "mirror"


@pytest.fixture(scope="session")
def real_data(tmp_path_factory) -> Path:
    """A data folder with a snapshot of the real CBS data in ../shared (built once per session
    by scripts/mirror-snapshot.sh, a few seconds). Skips with the reason when ../shared is
    absent."""
    import subprocess

    if not (SHARED_MIRROR / "85755NED").is_dir():
        pytest.skip(f"real CBS mirror not found at {SHARED_MIRROR} (../shared is absent)")
    out = tmp_path_factory.mktemp("real-data") / "data"
    res = subprocess.run(["scripts/mirror-snapshot.sh", str(out)], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return out
