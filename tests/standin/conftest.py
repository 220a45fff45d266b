"""Fixtures of the stand-in tests: ``server`` serves the small table ``T1`` of
:mod:`tests.support.standin_feed`, and cbsodata talks plain HTTP to it."""

from __future__ import annotations

import cbsodata
import pytest

from standin import StandIn
from tests.support.standin_feed import make_table


@pytest.fixture(autouse=True)
def plain_http(monkeypatch):
    monkeypatch.setattr(cbsodata.options, "use_https", False)


@pytest.fixture
def server(tmp_path, standin) -> StandIn:
    make_table(tmp_path)
    return standin(tmp_path)
