"""The HTTP server (``standin/server.py``): lifecycle, loopback only, routing to the v3 and v4
dialects, request counters (also at ``/_standin/stats``), boundary files at ``/geo/<file>``,
simulated latency, and a bug in the stand-in answered as a 500."""

from __future__ import annotations

import time
from urllib.parse import unquote

import pytest
import requests

from standin import StandIn, is_loopback
from tests.support.standin_feed import get, make_table


def test_stats_count_requests_and_bytes(server):
    get(server, "")
    server.reset_stats()
    ok, missing = get(server, "TypedDataSet"), get(server, "Nope")
    stats = server.stats
    assert stats.requests == 2
    assert stats.bytes_sent == len(ok.content) + len(missing.content)
    assert [(m, unquote(p), code) for m, p, code in stats.log] == [
        ("GET", "/ODataFeed/odata/T1/TypedDataSet?$format=json", 200),
        ("GET", "/ODataFeed/odata/T1/Nope?$format=json", 404),
    ]



def test_stats_endpoint_serves_the_counters_to_another_process(server):
    get(server, "TypedDataSet")
    url = f"{server.url}/_standin/stats"
    counters = requests.get(f"{url}?reset=1", timeout=5).json()
    assert counters["requests"] == 1 and counters["bytes_sent"] > 0
    assert counters["v4_requests"] == counters["v4_bytes_sent"] == 0
    # asking is not counted, and reset=1 started the counters afresh
    assert requests.get(url, timeout=5).json() == {"requests": 0, "bytes_sent": 0,
                                                   "v4_requests": 0, "v4_bytes_sent": 0}
    assert server.stats.log == []


def test_refuses_non_loopback_host(tmp_path):
    with pytest.raises(ValueError, match="loopback"):
        StandIn(tmp_path, host="0.0.0.0")
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and is_loopback("::1")
    assert not is_loopback("192.168.1.1") and not is_loopback("example.org")


def test_lifecycle_and_bad_settings(tmp_path):
    make_table(tmp_path)
    s = StandIn(tmp_path, host="localhost")
    with pytest.raises(RuntimeError, match="not been started"):
        s.url  # noqa: B018 - the property is what is tested
    with s:
        assert s.url == f"http://127.0.0.1:{s.port}"
        assert get(s, "TypedDataSet").status_code == 200
    with pytest.raises(requests.ConnectionError):
        get(s, "TypedDataSet")
    s.stop()  # stopping twice is harmless
    with pytest.raises(ValueError, match="does not exist"):
        StandIn(tmp_path / "nope")
    with pytest.raises(ValueError, match="page_size"):
        StandIn(tmp_path, page_size=0)
    with pytest.raises(ValueError, match="v4 folder"):
        StandIn(tmp_path, v4_dir=tmp_path / "nope")


def test_geo_serves_boundary_files_and_nothing_else(tmp_path, standin):
    mirror, geo = tmp_path / "mirror", tmp_path / "geo"
    make_table(mirror)
    geo.mkdir()
    (geo / "gemeente_2024.geojson").write_bytes(b'{"type":"FeatureCollection","features":[]}')
    (geo / ".secret").write_text("x")
    s = standin(mirror, geo_dir=geo)
    r = requests.get(f"{s.url}/geo/gemeente_2024.geojson", timeout=5)
    assert r.status_code == 200 and r.content == (geo / "gemeente_2024.geojson").read_bytes()
    for name in ("gemeente_1999.geojson", ".secret", "..%2Fmirror%2FT1%2FTableInfos.json"):
        r = requests.get(f"{s.url}/geo/{name}", timeout=5)
        assert r.status_code == 404, name
        assert "no boundary file" in r.json()["odata.error"]["message"]["value"]
    # without geo_dir, /geo/ is just an unknown v3 path
    assert requests.get(f"{standin(mirror).url}/geo/gemeente_2024.geojson", timeout=5).status_code == 404


def test_v4_paths_without_a_v4_folder_are_v3_404s(server):
    r = requests.get(f"{server.url}/odata/v1/CBS/90003NED/Observations", timeout=5)
    assert r.status_code == 404 and "odata.error" in r.json()
    assert server.v4 is None


def test_latency_delays_every_answer(tmp_path, standin):
    make_table(tmp_path)
    s = standin(tmp_path, latency=0.3)
    start = time.monotonic()
    assert get(s, "TableInfos").status_code == 200
    assert time.monotonic() - start >= 0.3


def test_a_bug_in_the_stand_in_is_a_500(server, monkeypatch, capsys):
    def broken(path: str, query: str) -> dict:
        raise KeyError("oops")

    monkeypatch.setattr(server.v3, "answer", broken)
    r = get(server, "TypedDataSet")
    assert r.status_code == 500
    assert r.json()["odata.error"]["message"]["value"] == "internal error in the CBS stand-in"
    assert "KeyError: 'oops'" in capsys.readouterr().err
