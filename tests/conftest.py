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
