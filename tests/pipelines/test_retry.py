"""One retry layer: with ``--retries N`` a request that keeps failing - whatever the failure: an
HTTP 503, a body cut off, a reset connection - reaches the server exactly N+1 times, for v3
(cbsodata), v4 and a boundary file alike; the kinds share that one budget and its backoff
(``Retry-After`` honoured), and each retry is one warning."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines import geo
from pipelines.cbs import CbsClient, CbsConfig, CbsError
from pipelines.query import Query
from tests.pipelines.test_v4 import BEV, write_bevolking
from tests.support.world import VEST, write_world

N = 3  # retries: N + 1 requests at most


class Boundaries:
    """A boundary service on 127.0.0.1 that answers from a script: each request takes the next
    (status, body, headers) - the last one repeats - and is counted."""

    def __init__(self, *answers: tuple[int, bytes, dict]):
        self.answers, self.requests = list(answers), 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with lock:
                    owner.requests += 1
                    status, body, headers = owner.answers[min(owner.requests,
                                                              len(owner.answers)) - 1]
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.template = f"http://127.0.0.1:{self.server.server_port}/geo/gemeente_{{year}}.json"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


GEOJSON = json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"statcode": "GM0001", "statnaam": "A"},
     "geometry": {"type": "Point", "coordinates": [5.0, 52.0]}}]}).encode()
CUT = GEOJSON[: len(GEOJSON) // 2]
UNAVAILABLE = (503, b'{"error": "busy"}', {})


@pytest.fixture
def boundaries():
    made = []

    def start(*answers):
        made.append(Boundaries(*answers))
        return made[-1]

    yield start
    for b in made:
        b.close()


@pytest.fixture
def cbs(tmp_path, standin):
    mirror = write_world(tmp_path / "mirror")
    write_bevolking(tmp_path / "v4", pages=2)
    server = standin(mirror, v4_dir=tmp_path / "v4", v4_page_size=7)
    return server


def client_for(server=None, retries=N, backoff=0.0, sleep=None) -> CbsClient:
    url = server.url if server else "http://127.0.0.1:9"
    config = CbsConfig(base_url=url, v4_url=f"{url}/odata/v1", retries=retries, backoff=backoff,
                       read_timeout=2)
    return CbsClient(config, **({"sleep": sleep} if sleep else {}))


def asked(server, fragment: str) -> int:
    return sum(1 for _m, p, _s in server.stats.log if fragment in p)


@pytest.mark.parametrize("fault,opts,says", [
    ("status", {"code": 503}, f"HTTP 503 (after {N + 1} attempt(s))"),
    ("truncate", {}, f"(after {N + 1} attempt(s))"),
    ("reset", {}, f"ConnectionReset (after {N + 1} attempt(s))"),
])
def test_v3_a_failing_page_is_asked_n_plus_1_times(cbs, fault, opts, says):
    cbs.add_fault(fault, table=VEST, entity="TypedDataSet", **opts)
    client = client_for(cbs)
    with pytest.raises(CbsError) as exc:
        client.download(Query(VEST))
    assert asked(cbs, f"/{VEST}/TypedDataSet") == N + 1
    assert str(exc.value).startswith(f"{VEST}: TypedDataSet: ") and says in str(exc.value)
    if fault == "truncate":
        assert exc.value.kind == "invalid" and "truncated or invalid JSON" in str(exc.value)


@pytest.mark.parametrize("fault,opts", [("status", {"code": 503}), ("truncate", {})])
def test_v4_a_failing_page_is_asked_n_plus_1_times(cbs, fault, opts):
    cbs.add_fault(fault, table=BEV, entity="Observations", **opts)
    client = client_for(cbs).for_api("v4")
    with pytest.raises(CbsError, match=rf"{BEV}: Observations: .*after {N + 1} attempt"):
        client.download(Query(BEV, "v4"))
    assert asked(cbs, f"/CBS/{BEV}/Observations") == N + 1


@pytest.mark.parametrize("answer,says", [(UNAVAILABLE, "HTTP 503"),
                                         ((200, CUT, {}), "truncated or invalid JSON")])
def test_a_failing_boundary_file_is_asked_n_plus_1_times(boundaries, answer, says):
    service = boundaries(answer)
    source = geo.Source(service.template, client_for().boundary_file)
    with pytest.raises(geo.GeoError) as exc:
        geo.fetch_boundaries(source, 2024, {"GM0001"}, years_around=0)
    assert service.requests == N + 1
    assert says in str(exc.value) and f"after {N + 1} attempt(s)" in str(exc.value)
    assert not exc.value.missing  # the service failed: not the same as having no file


def test_a_missing_boundary_file_is_asked_once(boundaries):
    service = boundaries((404, b'{"error": "no such file"}', {}))
    source = geo.Source(service.template, client_for().boundary_file)
    with pytest.raises(geo.GeoError, match=r"2024: 404; 2025: 404; 2023: 404") as exc:
        geo.fetch_boundaries(source, 2024, {"GM0001"}, years_around=1)
    assert service.requests == 3 and exc.value.missing


def test_every_kind_of_failure_draws_on_the_same_budget(cbs, caplog):
    caplog.set_level(logging.WARNING)
    for kind, opts in (("status", {"code": 500}), ("truncate", {}), ("reset", {})):
        cbs.add_fault(kind, table=VEST, entity="TypedDataSet", times=1, **opts)
    client = client_for(cbs, retries=3)
    data = client.download(Query(VEST))  # 500, cut-off body, reset: three retries, then data
    assert len(data["TypedDataSet"]) == 60 and asked(cbs, f"/{VEST}/TypedDataSet") == 4
    retries = [r for r in caplog.records if r.getMessage() == "cbs retry"]
    assert [(r.table, r.attempt) for r in retries] == [(VEST, 1), (VEST, 2), (VEST, 3)]
    assert retries[0].error == "HTTP 500" and retries[2].error == "ConnectionReset"
    assert retries[1].error.startswith("JSONDecodeError")  # the cut-off body
    assert all(r.url.endswith(f"/{VEST}/TypedDataSet") and r.delay_s == 0 for r in retries)

    cbs.reset_stats()
    for kind, opts in (("status", {"code": 500}), ("truncate", {}), ("reset", {})):
        cbs.add_fault(kind, table=VEST, entity="TypedDataSet", times=1, **opts)
    with pytest.raises(CbsError, match=r"TypedDataSet: ConnectionReset \(after 3 attempt"):
        client_for(cbs, retries=2).download(Query(VEST))
    assert asked(cbs, f"/{VEST}/TypedDataSet") == 3


def test_backoff_doubles_with_jitter_and_retry_after_is_honoured(boundaries, caplog):
    caplog.set_level(logging.WARNING)
    service = boundaries((429, b"{}", {"Retry-After": "7"}), UNAVAILABLE, UNAVAILABLE,
                         (200, CUT, {}), (200, GEOJSON, {}))
    slept: list[float] = []
    client = client_for(retries=4, backoff=1.0, sleep=slept.append)
    fc = client.boundary_file(service.template.format(year=2024))
    assert fc["features"][0]["properties"]["statcode"] == "GM0001"
    assert service.requests == 5 and client.requests_made == 5
    assert slept[0] == 7  # what the server asked for
    for n, delay in enumerate(slept[1:], start=2):  # backoff * 2**(n-1), plus up to as much
        assert 2 ** (n - 1) <= delay < 2 ** n
    warned = [(r.attempt, r.delay_s) for r in caplog.records if r.getMessage() == "cbs retry"]
    assert warned == [(n, round(d, 3)) for n, d in enumerate(slept, start=1)]
