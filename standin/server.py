"""The stand-in's HTTP server: :class:`StandIn` composes the OData dialects (:mod:`standin.v3`,
:mod:`standin.v4`) behind one loopback socket and adds what is not OData: injected faults
(:mod:`standin.faults`), request counters (:class:`Stats`, also at ``/_standin/stats`` for a
benchmark in another process), boundary files at ``/geo/<file>``, www.cbs.nl-like pages and
workbooks at ``/nl-nl/...`` and ``/-/media/...`` (:mod:`standin.web`, with ``web_dir``; GET and
HEAD), and a simulated latency and bandwidth.

A request goes to the v4 dialect when one is configured and the path is under ``/odata/v1/CBS``,
and to the v3 dialect otherwise. The dialect names the table and entity of the path, so one fault
list serves both; it answers with a dict or raises :class:`~standin.grammar.ODataError`, which is
sent with the dialect's error body. Parsed files are cached in one
:class:`~standin.documents.DocCache` shared by both dialects.

It is a test and development tool, so it only binds loopback addresses.
"""

from __future__ import annotations

import ipaddress
import socket
import socketserver
import struct
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from .documents import DocCache, dump
from .faults import Fault, Faults, partial, truncate
from .grammar import ODataError
from .v3 import V3Dialect, error_body
from .v4 import PREFIX as V4_PREFIX
from .v4 import V4Dialect
from .web import WebArea

JSON_TYPE = "application/json;charset=utf-8"


def is_loopback(host: str) -> bool:
    """True for localhost, 127.x.x.x and ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Dialect(Protocol):
    """What the server needs of an OData dialect (:class:`V3Dialect`, :class:`V4Dialect`)."""

    def target(self, path: str) -> tuple[str | None, str | None]:
        """(table, entity) of a request path, for matching faults."""

    def answer(self, path: str, query: str) -> dict:
        """The JSON answer; raises ODataError for a request error."""

    def error_body(self, message: str) -> dict:
        """The dialect's JSON error body."""


@dataclass
class Stats:
    """Request counters. ``log`` holds (method, request target as sent, status), status 0 for a
    connection reset; ``bytes_sent`` counts response bodies."""

    requests: int = 0
    bytes_sent: int = 0
    log: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path?query, status)
    v4_requests: int = 0  # of which OData v4 (/odata/v1/...)
    v4_bytes_sent: int = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], standin: StandIn, family: int):
        self.address_family = family
        self.standin = standin
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # the client went away (e.g. it timed out on a slow fault)
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "CBS-StandIn/1.0"

    def do_GET(self) -> None:
        self.server.standin._handle(self)

    def do_HEAD(self) -> None:  # only the web area answers HEAD (www.cbs.nl files' headers)
        self.server.standin._handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # StandIn logs itself (verbose=True)


class StandIn:
    """A local CBS OData server: v3 over a mirror folder, and v4 over ``v4_dir`` when given. Use
    ``with StandIn(dir) as s:`` or ``s = StandIn(dir).start()`` ... ``s.stop()``. ``port=0`` picks
    a free port."""

    def __init__(
        self,
        mirror_dir: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        page_size: int = 10_000,
        verbose: bool = False,
        latency: float = 0.0,
        bandwidth: float | None = None,
        geo_dir: str | Path | None = None,
        v4_dir: str | Path | None = None,
        v4_page_size: int | None = None,
        web_dir: str | Path | None = None,
    ):
        if not is_loopback(host):
            raise ValueError(f"refusing to bind non-loopback host {host!r}")
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.mirror_dir = Path(mirror_dir)
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self.verbose = verbose
        self.geo_dir = Path(geo_dir) if geo_dir else None  # served at /geo/<file>
        self.latency = latency  # seconds added to every answer (simulates a distant server)
        self.bandwidth = bandwidth  # bytes per second, None = as fast as loopback
        self._family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._stats = Stats()
        self._stats_lock = threading.Lock()
        self._faults = Faults()
        cache = DocCache()
        self.v3 = V3Dialect(self.mirror_dir, lambda: self.url, cache, page_size)
        self.v4: V4Dialect | None = None  # OData v4 under /odata/v1
        if v4_dir is not None:
            self.v4 = V4Dialect(Path(v4_dir), lambda: self.url, cache, v4_page_size or page_size)
        # www.cbs.nl-like pages and files (standin/web.py) at /nl-nl/... and /-/media/...
        self.web: WebArea | None = WebArea(web_dir) if web_dir is not None else None

    @property
    def page_size(self) -> int:
        """Rows per page of a v3 entity set; may be changed while serving."""
        return self.v3.page_size

    @page_size.setter
    def page_size(self, value: int) -> None:
        self.v3.page_size = value

    # lifecycle ---------------------------------------------------------------------------------

    def start(self) -> StandIn:
        if self._server is None:
            self._stopping.clear()
            self._server = _Server((self.host, self.port), self, self._family)
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name=f"cbs-standin-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes up requests sleeping in a "slow" fault
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8765``."""
        return f"http://{self.catalog_url}"

    @property
    def catalog_url(self) -> str:
        """What cbsodata's ``catalog_url`` wants: ``127.0.0.1:<port>``."""
        if not self.port:
            raise RuntimeError("the stand-in has not been started")
        host = f"[{self.host}]" if self._family == socket.AF_INET6 else self.host
        return f"{host}:{self.port}"

    # stats and faults --------------------------------------------------------------------------

    @property
    def stats(self) -> Stats:
        """A snapshot of the counters."""
        with self._stats_lock:
            s = self._stats
            return Stats(s.requests, s.bytes_sent, list(s.log), s.v4_requests, s.v4_bytes_sent)

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._stats = Stats()

    def add_fault(
        self,
        kind: str,
        table: str | None = None,
        entity: str | None = None,
        times: int | None = None,
        **opts: Any,
    ) -> Fault:
        """Make matching requests fail. ``table``/``entity`` None match anything (the service
        document has entity ""); the fault fires ``times`` times (None: always). Kinds:

        - ``status``: answer HTTP ``code`` (default 500) with a small JSON error body;
        - ``slow``: wait ``seconds`` (default 5), then answer normally;
        - ``truncate``: answer with only the first half of the body (Content-Length matching it);
        - ``reset``: close the connection with a TCP reset, without answering;
        - ``partial``: answer normally, but with only ``fraction`` (default 0.1) of the rows of each
          page (every n-th row): a table CBS serves cut short, as happens.

        ``rate=0.3`` makes a fault fire on about 30% of the matching requests (random, reproducible
        with ``seed``), e.g. ``add_fault("status", rate=0.3)`` for a flaky CBS.
        """
        return self._faults.add(kind, table, entity, times, **opts)

    def clear_faults(self) -> None:
        self._faults.clear()

    def set_modified(self, table: str, modified: str | None) -> None:
        """Answer ``modified`` as the table's TableInfos Modified (None: as in the mirror), as CBS
        does when it republishes a table - with the ``partial`` fault: a cut table that looks
        new."""
        self.v3.set_modified(table, modified)

    def _record(self, handler: _Handler, status: int, nbytes: int) -> None:
        with self._stats_lock:
            self._stats.requests += 1
            self._stats.bytes_sent += nbytes
            self._stats.log.append((handler.command, handler.path, status))
            if handler.path.startswith(V4_PREFIX + "/"):
                self._stats.v4_requests += 1
                self._stats.v4_bytes_sent += nbytes
        if self.verbose:
            print(f"{handler.command} {handler.path} -> {status} ({nbytes} bytes)", file=sys.stderr)

    # request handling --------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        path = unquote(parts.path)
        if path.startswith("/geo/") and self.geo_dir is not None:  # static boundary files
            name = path[len("/geo/"):]
            f = self.geo_dir / name
            if "/" in name or name.startswith(".") or not f.is_file():
                self._send(handler, 404, dump(error_body(f"no boundary file {name!r}")))
            else:
                self._send(handler, 200, f.read_bytes())
            return
        if self.web is not None and self.web.matches(path):
            self._web(handler, path)
            return
        if handler.command != "GET":
            self._send(handler, 405, dump(error_body(f"{handler.command} not allowed here")))
            return
        if path == "/_standin/stats":  # counters for a benchmark in another process; not counted
            with self._stats_lock:
                body = dump({"requests": self._stats.requests, "bytes_sent": self._stats.bytes_sent,
                             "v4_requests": self._stats.v4_requests,
                             "v4_bytes_sent": self._stats.v4_bytes_sent})
                if "reset=1" in parts.query:
                    self._stats = Stats()
            handler.send_response(200)
            handler.send_header("Content-Type", JSON_TYPE)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        dialect: Dialect = self.v4 if self.v4 is not None and self.v4.matches(path) else self.v3
        fault = self._faults.take(*dialect.target(path))
        if fault is not None and fault.kind == "status":
            code = int(fault.opts.get("code", 500))
            self._send(handler, code, dump(error_body(f"injected fault: HTTP {code}")))
            return
        if fault is not None and fault.kind == "reset":
            self._reset(handler)
            return
        if fault is not None and fault.kind == "slow":
            self._stopping.wait(float(fault.opts.get("seconds", 5)))
        try:
            status, body = 200, dump(dialect.answer(path, parts.query))
        except ODataError as exc:
            status, body = exc.status, dump(dialect.error_body(exc.message))
        except Exception:  # a bug in the stand-in: say so loudly, answer 500
            traceback.print_exc()
            status, body = 500, dump(error_body("internal error in the CBS stand-in"))
        if fault is not None and fault.kind == "truncate":
            body = truncate(body)
        if fault is not None and fault.kind == "partial" and status == 200:
            body = partial(body, float(fault.opts.get("fraction", 0.1)))
        self._send(handler, status, body)

    def _send(self, handler: _Handler, status: int, body: bytes) -> None:
        self._record(handler, status, len(body))  # before sending, so clients see it counted
        delay = self.latency + (len(body) / self.bandwidth if self.bandwidth else 0.0)
        if delay:
            self._stopping.wait(delay)
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", JSON_TYPE)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    def _web(self, handler: _Handler, path: str) -> None:
        status, headers, body = self.web.answer(path)
        self.web.agents.append(handler.headers.get("User-Agent") or "")
        self._record(handler, status, 0 if handler.command == "HEAD" else len(body))
        try:
            handler.send_response(status)
            for k, v in headers.items():
                handler.send_header(k, v)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    def _reset(self, handler: _Handler) -> None:
        self._record(handler, 0, 0)
        handler.close_connection = True
        sock = handler.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        handler.rfile.close()  # drop the last reference so close() really closes (sends RST)
        sock.close()
