"""Injected faults (``standin/faults.py``, carried out by the server): error status, slow answer,
truncated body, connection reset, rows cut short; how often and where they fire."""

from __future__ import annotations

import json
import threading
import time

import cbsodata
import pytest
import requests

from standin.faults import Faults, partial, truncate
from tests.support.standin_feed import ROWS, client, get, make_table


def test_fault_status(server):
    fault = server.add_fault("status", table="T1", entity="TypedDataSet", code=500)
    with pytest.raises(requests.HTTPError, match="500") as info:
        cbsodata.get_data("T1", **client(server))
    assert info.value.__cause__.response.status_code == 500
    assert fault.fired == 1
    assert get(server, "RegioS").status_code == 200  # other entities are unaffected
    server.add_fault("status", entity="", code=503)  # the service document
    with pytest.raises(requests.HTTPError, match="503"):
        cbsodata.get_data("T1", **client(server))


def test_fault_truncate(server):
    server.add_fault("truncate", entity="typeddataset")  # entity matches case-insensitively
    with pytest.raises(ValueError):  # json.JSONDecodeError from cbsodata's json.loads
        cbsodata.get_data("T1", **client(server))
    r = get(server, "TypedDataSet")
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == len(r.content) > 0
    with pytest.raises(ValueError):
        json.loads(r.content)


def test_fault_reset(server):
    server.add_fault("reset", entity="TypedDataSet")
    with pytest.raises(requests.ConnectionError):
        cbsodata.get_data("T1", **client(server))
    assert ("GET", "/ODataFeed/odata/T1/TypedDataSet?%24format=json", 0) in server.stats.log


def test_fault_slow_times_out(server):
    server.add_fault("slow", entity="TypedDataSet", seconds=2)
    start = time.monotonic()
    with pytest.raises(requests.Timeout):
        cbsodata.get_data("T1", timeout=0.5, **client(server))
    assert time.monotonic() - start < 1.5


def test_fault_slow_does_not_block_other_requests(server):
    server.add_fault("slow", entity="TypedDataSet", seconds=1)
    result = {}
    slow = threading.Thread(target=lambda: result.update(r=get(server, "TypedDataSet")))
    slow.start()
    time.sleep(0.1)
    start = time.monotonic()
    assert get(server, "RegioS").status_code == 200
    assert time.monotonic() - start < 0.5
    slow.join(5)
    assert result["r"].status_code == 200
    assert len(result["r"].json()["value"]) == len(ROWS)


def test_fault_times_and_scope(tmp_path, standin):
    make_table(tmp_path, "T1")
    make_table(tmp_path, "T2")
    s = standin(tmp_path)
    fault = s.add_fault("status", table="t1", times=1, code=502)
    assert len(cbsodata.get_data("T2", **client(s))) == len(ROWS)  # other table: no fault
    with pytest.raises(requests.HTTPError, match="502"):
        cbsodata.get_data("T1", **client(s))
    assert len(cbsodata.get_data("T1", **client(s))) == len(ROWS)  # fired once, then normal
    assert fault.fired == 1
    s.add_fault("reset")
    s.clear_faults()
    assert len(cbsodata.get_data("T1", **client(s))) == len(ROWS)
    with pytest.raises(ValueError):
        s.add_fault("explode")


def test_fault_rate_fires_on_a_share_of_requests(server):
    server.add_fault("status", rate=0.3, seed=1)
    codes = [requests.get(f"{server.url}/ODataFeed/odata/T1/TableInfos?$format=json",
                          timeout=5).status_code for _ in range(60)]
    assert 8 <= codes.count(500) <= 30 and codes.count(200) >= 30


def test_fault_partial_serves_a_share_of_the_rows_with_a_newer_modified(server):
    url = f"{server.url}/ODataFeed/odata/T1"
    full = requests.get(f"{url}/TypedDataSet?$format=json", timeout=5).json()["value"]
    server.add_fault("partial", table="T1", entity="TypedDataSet", fraction=0.25)
    server.set_modified("T1", "2030-01-01T00:00:00")
    cut = requests.get(f"{url}/TypedDataSet?$format=json", timeout=5).json()["value"]
    assert cut == full[::4]
    info = requests.get(f"{url}/TableInfos?$format=json", timeout=5).json()["value"][0]
    assert info["Modified"] == "2030-01-01T00:00:00"


def test_partial_and_truncate_cut_a_body():
    body = json.dumps({"odata.metadata": "m", "value": list(range(10))}).encode()
    assert json.loads(partial(body, 0.25))["value"] == [0, 4, 8]
    assert partial(body, 1) == body  # everything kept: the body as it was
    assert partial(b'{"odata.error":{}}', 0.5) == b'{"odata.error":{}}'  # no rows to cut
    assert truncate(body) == body[: len(body) // 2]


def test_a_request_takes_the_first_matching_fault_only():
    faults = Faults()
    first = faults.add("status", table="T1", times=1, code=502)
    second = faults.add("reset", entity="TypedDataSet")
    assert faults.take("t1", "TypedDataSet") is first
    assert faults.take("T1", "TypedDataSet") is second  # the first one is used up
    assert faults.take("T1", "RegioS") is None
    assert faults.take(None, None) is None  # no table or entity: no scoped fault
    assert (first.fired, second.fired) == (1, 1)
    with pytest.raises(ValueError, match="times must be at least 1"):
        faults.add("slow", times=0)
