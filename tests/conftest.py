"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipelines.standin import StandIn


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
