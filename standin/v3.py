"""Local stand-in for the CBS OData v3 feed (``opendata.cbs.nl/ODataFeed``) over a mirror folder.

The mirror holds one folder per table and one JSON file per entity set, each file being the whole
CBS response object ``{"odata.metadata": ..., "value": [...]}``
(see ``shared/cbs/mirror/README.md``).
The server speaks enough OData v3 for the real ``cbsodata`` client:

- ``/ODataFeed/odata/<TABLE>/``: the service document, its URLs pointing at this server;
- ``/ODataFeed/odata/<TABLE>/<Entity>``: an entity set, with ``$filter``, ``$select``, ``$top``,
  ``$skip`` and ``$orderby``, paged like CBS (``page_size`` rows, then an absolute
  ``odata.nextLink``). ``UntypedDataSet`` is made from ``TypedDataSet`` when the table has no file;
- ``/ODataCatalog/Tables``: the ``TableInfos`` record of every table (not paged);
- CBS-like JSON errors: 404 for an unknown table or entity, 400 for a bad query.

Table ids match case-insensitively (as on CBS); entity names must match exactly. Parsed files are
cached in memory and re-read when they change on disk. Faults (error status, slow answer, truncated
body, connection reset) can be injected for tests with :meth:`StandIn.add_fault`.

It is a test and development tool, so it only binds loopback addresses::

    python -m standin --mirror ../shared/cbs/mirror --port 8765
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import operator
import random
import re
import socket
import socketserver
import struct
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

JSON_TYPE = "application/json;charset=utf-8"
FAULT_KINDS = ("status", "slow", "truncate", "reset", "partial")
QUERY_OPTIONS = ("$format", "$filter", "$select", "$top", "$skip", "$orderby")

_FEED_RE = re.compile(r"^/odatafeed/odata(?:/(?P<rest>.*))?$", re.IGNORECASE)
_CATALOG_RE = re.compile(r"^/odatacatalog/tables/?$", re.IGNORECASE)
_ENTITY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST_RE = re.compile(r"^https?://[^/]+", re.IGNORECASE)
_CBS_ORDER = ("TableInfos", "UntypedDataSet", "TypedDataSet", "DataProperties", "CategoryGroups")


class ODataError(Exception):
    """A request error, answered with ``status`` and a CBS-like JSON error body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(message: str) -> dict:
    return {"odata.error": {"code": "", "message": {"lang": "nl-NL", "value": message}}}


# --------------------------------------------------------------------------------------------
# $filter: tokenizer and recursive-descent parser producing a predicate over a row dict.
#
#   or_expr    := and_expr ("or" and_expr)*
#   and_expr   := comparison ("and" comparison)*
#   comparison := unary (("eq"|"ne"|"gt"|"ge"|"lt"|"le") unary)?
#   unary      := "not" unary | primary
#   primary    := "(" or_expr ")" | function "(" args ")" | string | number | null | true
#                 | false | field
#
# Nodes carry a kind: "bool" (a condition) or "value"; and/or/not need conditions, and the whole
# filter must be one. Comparisons are exact (stored CBS keys keep their space padding); a
# comparison with null is false except "eq null" / "ne null", as in OData.
# --------------------------------------------------------------------------------------------

Row = dict[str, Any]
Predicate = Callable[[Row], bool]
_Node = tuple[str, Callable[[Row], Any]]  # (kind, evaluate)

_TOKEN_RE = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<str>'(?:[^']|'')*')"
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>[(),])"
)
_COMPARISONS = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_LITERALS = {"null": None, "true": True, "false": False}
_KEYWORDS = {"and", "or", "not", *_COMPARISONS}
# name -> (number of arguments, node kind, implementation on strings)
_FUNCTIONS: dict[str, tuple[int, str, Callable[..., Any]]] = {
    "substringof": (2, "bool", lambda needle, haystack: needle in haystack),
    "startswith": (2, "bool", lambda s, prefix: s.startswith(prefix)),
    "endswith": (2, "bool", lambda s, suffix: s.endswith(suffix)),
    "tolower": (1, "value", str.lower),
    "toupper": (1, "value", str.upper),
    "trim": (1, "value", str.strip),
    "length": (1, "value", len),
}


@dataclass(frozen=True)
class _Token:
    kind: str  # str | num | name | ( | ) | , | end
    value: Any
    pos: int

    def describe(self) -> str:
        return "end of filter" if self.kind == "end" else f"{self.text!r} at position {self.pos}"

    @property
    def text(self) -> str:
        return str(self.value) if self.kind != "str" else "'" + self.value.replace("'", "''") + "'"


def _tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            if text[pos] == "'":
                raise ODataError(400, f"$filter: unterminated string literal at position {pos}")
            raise ODataError(400, f"$filter: unexpected character {text[pos]!r} at position {pos}")
        kind = m.lastgroup
        raw = m.group()
        if kind == "str":
            tokens.append(_Token("str", raw[1:-1].replace("''", "'"), pos))
        elif kind == "num":
            number = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(_Token("num", number, pos))
        elif kind == "name":
            tokens.append(_Token("name", raw, pos))
        elif kind == "punct":
            tokens.append(_Token(raw, raw, pos))
        pos = m.end()
    tokens.append(_Token("end", None, len(text)))
    return tokens


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        if op == "eq":
            return a is None and b is None
        if op == "ne":
            return not (a is None and b is None)
        return False
    if isinstance(a, str) != isinstance(b, str):
        raise ODataError(400, f"$filter: cannot compare {a!r} with {b!r} using '{op}'")
    return _COMPARISONS[op](a, b)


class _FilterParser:
    def __init__(self, text: str, columns: list[str] | None,
                 functions: dict[str, tuple[int, str, Callable[..., Any]]] | None = None,
                 allow_in: bool = False):
        self.tokens = _tokenize(text)
        self.i = 0
        self.columns = None if columns is None else set(columns)
        self.functions = _FUNCTIONS if functions is None else functions
        self.allow_in = allow_in  # OData 4.01: Field in ('a','b')

    def parse(self) -> Predicate:
        kind, fn = self._or()
        tok = self._peek()
        if tok.kind != "end":
            raise self._error(f"unexpected {tok.describe()}")
        if kind != "bool":
            raise self._error("the filter is a value, not a condition")
        return fn

    # helpers
    def _peek(self) -> _Token:
        return self.tokens[self.i]

    def _next(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def _is_word(self, word: str) -> bool:
        tok = self._peek()
        return tok.kind == "name" and tok.value == word

    def _expect(self, kind: str) -> _Token:
        tok = self._next()
        if tok.kind != kind:
            raise self._error(f"expected {kind!r} but found {tok.describe()}")
        return tok

    @staticmethod
    def _error(message: str) -> ODataError:
        return ODataError(400, f"$filter: {message}")

    def _condition(self, node: _Node, what: str) -> Callable[[Row], Any]:
        if node[0] != "bool":
            raise self._error(f"'{what}' needs a condition on both sides (use parentheses)")
        return node[1]

    # grammar
    def _or(self) -> _Node:
        left = self._and()
        while self._is_word("or"):
            self._next()
            a, b = self._condition(left, "or"), self._condition(self._and(), "or")
            left = ("bool", lambda row, a=a, b=b: bool(a(row)) or bool(b(row)))
        return left

    def _and(self) -> _Node:
        left = self._comparison()
        while self._is_word("and"):
            self._next()
            a, b = self._condition(left, "and"), self._condition(self._comparison(), "and")
            left = ("bool", lambda row, a=a, b=b: bool(a(row)) and bool(b(row)))
        return left

    def _comparison(self) -> _Node:
        left = self._unary()
        tok = self._peek()
        if tok.kind == "name" and tok.value in _COMPARISONS:
            self._next()
            right = self._unary()
            op, a, b = tok.value, left[1], right[1]
            return ("bool", lambda row: _compare(op, a(row), b(row)))
        if self.allow_in and self._is_word("in"):
            self._next()
            self._expect("(")
            items = [self._expect_literal()]
            while self._peek().kind == ",":
                self._next()
                items.append(self._expect_literal())
            self._expect(")")
            a, allowed = left[1], frozenset(items)
            return ("bool", lambda row: a(row) in allowed)
        return left

    def _expect_literal(self) -> Any:
        tok = self._next()
        if tok.kind not in ("str", "num"):
            raise self._error(f"'in' takes a list of literals, found {tok.describe()}")
        return tok.value

    def _unary(self) -> _Node:
        if self._is_word("not"):
            self._next()
            kind, fn = self._unary()
            if kind != "bool":
                raise self._error("'not' needs a condition, e.g. not (RegioS eq 'NL01  ')")
            return ("bool", lambda row: not fn(row))
        return self._primary()

    def _primary(self) -> _Node:
        tok = self._next()
        if tok.kind == "(":
            node = self._or()
            self._expect(")")
            return node
        if tok.kind in ("str", "num"):
            return ("value", lambda row, v=tok.value: v)
        if tok.kind == "name":
            name = tok.value
            if name in _LITERALS:
                value = _LITERALS[name]
                return ("bool" if isinstance(value, bool) else "value", lambda row: value)
            if self._peek().kind == "(":
                return self._function(tok)
            if name in _KEYWORDS:
                raise self._error(f"unexpected {tok.describe()}")
            if self.columns is not None and name not in self.columns:
                raise self._error(f"unknown field '{name}' at position {tok.pos}")
            return ("value", lambda row: row.get(name))
        raise self._error(f"unexpected {tok.describe()}")

    def _function(self, tok: _Token) -> _Node:
        name = tok.value
        if name not in self.functions:
            raise self._error(f"unknown function '{name}' at position {tok.pos}")
        arity, kind, impl = self.functions[name]
        self._expect("(")
        args: list[Callable[[Row], Any]] = []
        while True:
            node = self._or()
            if node[0] != "value":
                raise self._error(f"{name}() takes values, not conditions")
            args.append(node[1])
            if self._peek().kind == ",":
                self._next()
                continue
            self._expect(")")
            break
        if len(args) != arity:
            raise self._error(f"{name}() takes {arity} argument(s), got {len(args)}")

        def call(row: Row) -> Any:
            values = [arg(row) for arg in args]
            if any(v is None for v in values):
                return False if kind == "bool" else None
            if not all(isinstance(v, str) for v in values):
                raise self._error(f"{name}() needs text arguments, got {values!r}")
            return impl(*values)

        return (kind, call)


# OData v4 (datasets.cbs.nl): contains() instead of substringof(), and the 'in' operator
V4_FUNCTIONS = {**{k: v for k, v in _FUNCTIONS.items() if k != "substringof"},
                "contains": (2, "bool", lambda haystack, needle: needle in haystack)}


def parse_filter(text: str, columns: list[str] | None = None, dialect: str = "v3") -> Predicate:
    """Parse an OData ``$filter`` into a predicate; ``columns`` (when known) are the valid fields.
    ``dialect`` "v4" takes ``contains(F,'x')`` and ``F in ('a','b')`` (not ``substringof``).

    Raises :class:`ODataError` (status 400) naming the problem.
    """
    if dialect == "v4":
        return _FilterParser(text, columns, V4_FUNCTIONS, allow_in=True).parse()
    return _FilterParser(text, columns).parse()


def _parse_select(text: str, columns: list[str] | None) -> list[str] | None:
    fields: list[str] = []
    for item in text.split(","):
        name = item.strip()
        if not name:
            raise ODataError(400, f"$select: empty column name in {text!r}")
        if name == "*":
            return None
        if columns is not None and name not in columns:
            raise ODataError(400, f"$select: unknown column '{name}'")
        if name not in fields:
            fields.append(name)
    return fields


def _order_rows(rows: list[Row], text: str, columns: list[str] | None) -> list[Row]:
    keys: list[tuple[str, bool]] = []
    for item in text.split(","):
        words = item.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise ODataError(400, f"$orderby: cannot parse {item.strip()!r}")
        if columns is not None and words[0] not in columns:
            raise ODataError(400, f"$orderby: unknown column '{words[0]}'")
        keys.append((words[0], len(words) == 2 and words[1] == "desc"))
    rows = list(rows)
    try:
        for name, descending in reversed(keys):  # stable sorts, least significant key first
            rows.sort(key=lambda r, n=name: (r.get(n) is not None, r.get(n)), reverse=descending)
    except TypeError as exc:
        raise ODataError(400, f"$orderby: values cannot be ordered ({exc})") from None
    return rows


def _count(params: dict[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    if not text.isdigit():
        raise ODataError(400, f"{name} must be a non-negative integer, got {text!r}")
    return int(text)


def _parse_query(query: str, options: tuple[str, ...] = QUERY_OPTIONS) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.startswith("$") and key not in options:
            raise ODataError(400, f"query option '{key}' is not supported")
        if key in params:
            raise ODataError(400, f"query option '{key}' is given more than once")
        params[key] = value
    return params


# --------------------------------------------------------------------------------------------
# UntypedDataSet, made from TypedDataSet like CBS makes it
# --------------------------------------------------------------------------------------------


def untyped_rows(rows: list[Row], properties: list[Row]) -> list[Row]:
    """Format every numeric topic as text with the topic's Decimals, right-aligned to the widest
    value in the column (at least 1); null becomes "". Keys and String topics stay as they are."""
    present = set(rows[0]) if rows else set()
    formatted: dict[str, list[str]] = {}
    for prop in properties:
        key = prop.get("Key")
        if prop.get("Type") != "Topic" or key not in present or prop.get("Datatype") == "String":
            continue
        decimals = int(prop.get("Decimals") or 0)
        texts = [_format_number(row.get(key), decimals) for row in rows]
        width = max([1, *map(len, texts)])
        formatted[key] = [t.rjust(width) if t else "" for t in texts]
    out = []
    for i, row in enumerate(rows):
        new = dict(row)
        for key, column in formatted.items():
            new[key] = column[i]
        out.append(new)
    return out


def _format_number(value: Any, decimals: int) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.{decimals}f}"
    return str(value)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """True for localhost, 127.x.x.x and ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Fault:
    """An injected fault; see :meth:`StandIn.add_fault`. ``fired`` counts how often it fired."""

    kind: str
    table: str | None = None
    entity: str | None = None
    times: int | None = None
    opts: dict[str, Any] = field(default_factory=dict)
    fired: int = 0
    _random: random.Random | None = field(default=None, repr=False)

    def matches(self, table: str | None, entity: str | None) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        for wanted, got in ((self.table, table), (self.entity, entity)):
            if wanted is not None and (got is None or wanted.lower() != got.lower()):
                return False
        rate = self.opts.get("rate")
        if rate is not None:  # a share of the matching requests, reproducibly (``seed``)
            if self._random is None:
                self._random = random.Random(self.opts.get("seed", 0))
            return self._random.random() < float(rate)
        return True


@dataclass
class Stats:
    """Request counters. ``log`` holds (method, request target as sent, status), status 0 for a
    connection reset; ``bytes_sent`` counts response bodies."""

    requests: int = 0
    bytes_sent: int = 0
    log: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path?query, status)
    v4_requests: int = 0  # of which OData v4 (/odata/v1/...)
    v4_bytes_sent: int = 0


@dataclass
class _Doc:
    """A parsed entity set: metadata URL, rows, the union of the row keys, and a file signature."""

    signature: Any
    metadata: str
    rows: list[Row]
    columns: list[str]


def _columns(rows: list[Row]) -> list[str]:
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return list(keys)


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

    def log_message(self, format: str, *args: Any) -> None:
        pass  # StandIn logs itself (verbose=True)


class StandIn:
    """A local CBS OData v3 server over a mirror folder. Use ``with StandIn(dir) as s:`` or
    ``s = StandIn(dir).start()`` ... ``s.stop()``. ``port=0`` picks a free port."""

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
    ):
        if not is_loopback(host):
            raise ValueError(f"refusing to bind non-loopback host {host!r}")
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.mirror_dir = Path(mirror_dir)
        if not self.mirror_dir.is_dir():
            raise ValueError(f"mirror folder {self.mirror_dir} does not exist")
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self.page_size = page_size
        self.verbose = verbose
        self.geo_dir = Path(geo_dir) if geo_dir else None  # served at /geo/<file>
        self.latency = latency  # seconds added to every answer (simulates a distant server)
        self.bandwidth = bandwidth  # bytes per second, None = as fast as loopback
        self._family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._cache: dict[Any, _Doc] = {}
        self._cache_lock = threading.Lock()
        self._stats = Stats()
        self._stats_lock = threading.Lock()
        self._faults: list[Fault] = []
        self._modified: dict[str, str] = {}  # table -> Modified to answer (set_modified)
        self._fault_lock = threading.Lock()
        self.v4 = None  # OData v4 under /odata/v1 (see standin/v4.py)
        if v4_dir is not None:
            from .v4 import V4Server

            self.v4 = V4Server(Path(v4_dir), lambda: self.url, self._load,
                               v4_page_size or page_size)

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
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for always)")
        fault = Fault(kind, table, entity, times, dict(opts))
        with self._fault_lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._fault_lock:
            self._faults.clear()

    def _take_fault(self, table: str | None, entity: str | None) -> Fault | None:
        with self._fault_lock:
            for fault in self._faults:
                if fault.matches(table, entity):
                    fault.fired += 1
                    return fault
        return None

    def _record(self, handler: _Handler, status: int, nbytes: int) -> None:
        with self._stats_lock:
            self._stats.requests += 1
            self._stats.bytes_sent += nbytes
            self._stats.log.append((handler.command, handler.path, status))
            if handler.path.startswith("/odata/v1/"):
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
                self._send(handler, 404, _dump(error_body(f"no boundary file {name!r}")))
            else:
                self._send(handler, 200, f.read_bytes())
            return
        if path == "/_standin/stats":  # counters for a benchmark in another process; not counted
            with self._stats_lock:
                body = _dump({"requests": self._stats.requests, "bytes_sent": self._stats.bytes_sent,
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
        v4 = self.v4 is not None and _is_v4(path)
        fault = self._take_fault(*(_v4_target(path) if v4 else _target(path)))
        if fault is not None and fault.kind == "status":
            code = int(fault.opts.get("code", 500))
            self._send(handler, code, _dump(error_body(f"injected fault: HTTP {code}")))
            return
        if fault is not None and fault.kind == "reset":
            self._reset(handler)
            return
        if fault is not None and fault.kind == "slow":
            self._stopping.wait(float(fault.opts.get("seconds", 5)))
        try:
            answer = self.v4.answer if v4 else self._answer
            status, body = 200, _dump(answer(path, parts.query))
        except ODataError as exc:
            status, body = exc.status, _dump(_v4_error(exc.message) if v4 else error_body(exc.message))
        except Exception:  # a bug in the stand-in: say so loudly, answer 500
            traceback.print_exc()
            status, body = 500, _dump(error_body("internal error in the CBS stand-in"))
        if fault is not None and fault.kind == "truncate":
            body = body[: len(body) // 2]
        if fault is not None and fault.kind == "partial" and status == 200:
            body = _partial(body, float(fault.opts.get("fraction", 0.1)))
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

    def _answer(self, path: str, query: str) -> dict:
        params = _parse_query(query)
        fmt = params.get("$format", "json")
        if fmt.lower() != "json":
            raise ODataError(415, f"$format '{fmt}' is not supported; use $format=json")
        if _CATALOG_RE.match(path):
            return self._catalog(params)
        m = _FEED_RE.match(path)
        segments = [s for s in (m.group("rest") or "").split("/") if s] if m else []
        if not segments or len(segments) > 2:
            raise ODataError(404, f"Resource not found for the segment '{path}'.")
        table_dir = self._table_dir(segments[0])
        if len(segments) == 1:
            return self._service_document(table_dir)
        return self._entity_set(table_dir, segments[1], params)

    def _tables(self) -> list[Path]:
        return sorted(
            (p for p in self.mirror_dir.iterdir() if p.is_dir() and p.name[0] not in "._"),
            key=lambda p: p.name,
        )

    def _table_dir(self, table: str) -> Path:
        for path in self._tables():
            if path.name.lower() == table.lower():
                return path
        raise ODataError(404, f"Resource not found for the segment '{table}'.")

    def _rewrite(self, url: str) -> str:
        return _HOST_RE.sub(self.url, url) if url else url

    def _service_document(self, table_dir: Path) -> dict:
        root = table_dir / "root.json"
        if root.is_file():
            doc = self._load(root)
            metadata, names = doc.metadata, [entry["name"] for entry in doc.rows]
        else:  # list the files, in CBS order; cbsodata needs both data sets listed
            metadata = f"{self.url}/ODataFeed/OData/{table_dir.name}/$metadata"
            found = {p.stem for p in table_dir.glob("*.json")}
            if "TypedDataSet" in found:
                found.add("UntypedDataSet")
            names = [n for n in _CBS_ORDER if n in found] + sorted(found - set(_CBS_ORDER))
        base = f"{self.url}/ODataFeed/odata/{table_dir.name}"
        return {
            "odata.metadata": self._rewrite(metadata),
            "value": [{"name": n, "url": f"{base}/{n}"} for n in names],
        }

    def set_modified(self, table: str, modified: str | None) -> None:
        """Answer ``modified`` as the table's TableInfos Modified (None: as in the mirror), as CBS
        does when it republishes a table - with the ``partial`` fault: a cut table that looks
        new."""
        with self._fault_lock:
            if modified is None:
                self._modified.pop(table.upper(), None)
            else:
                self._modified[table.upper()] = modified

    def _entity_set(self, table_dir: Path, entity: str, params: dict[str, str]) -> dict:
        doc = self._entity(table_dir, entity)
        page, next_skip, next_top = self._query(doc.rows, doc.columns, params, self.page_size)
        modified = self._modified.get(table_dir.name.upper()) if entity == "TableInfos" else None
        if modified is not None:
            page = [{**r, "Modified": modified} if "Modified" in r else r for r in page]
        out = {"odata.metadata": self._rewrite(doc.metadata), "value": page}
        if next_skip is not None:
            query = ["$format=json"]
            for key in ("$filter", "$select", "$orderby"):
                if params.get(key):
                    query.append(f"{key}={quote(params[key], safe='')}")
            if next_top is not None:
                query.append(f"$top={next_top}")
            query.append(f"$skip={next_skip}")
            link = f"{self.url}/ODataFeed/OData/{table_dir.name}/{entity}?" + "&".join(query)
            out["odata.nextLink"] = link
        return out

    @staticmethod
    def _query(
        rows: list[Row], columns: list[str], params: dict[str, str], page_size: int | None,
        dialect: str = "v3",
    ) -> tuple[list[Row], int | None, int | None]:
        """Apply the query options; return the page, and $skip/$top for the next page if any."""
        known = columns if rows else None  # an empty set has no columns to check against
        fields = _parse_select(params["$select"], known) if params.get("$select") else None
        predicate = (parse_filter(params["$filter"], known, dialect) if params.get("$filter")
                     else None)
        top, skip = _count(params, "$top"), _count(params, "$skip") or 0
        if predicate is not None:
            rows = [row for row in rows if predicate(row)]
        if params.get("$orderby"):
            rows = _order_rows(rows, params["$orderby"], known)
        window = rows[skip:] if top is None else rows[skip : skip + top]
        more = page_size is not None and len(window) > page_size
        page = window[:page_size] if more else window
        if fields is not None:
            page = [{f: row.get(f) for f in fields} for row in page]
        if not more:
            return page, None, None
        return page, skip + len(page), None if top is None else top - len(page)

    def _catalog(self, params: dict[str, str]) -> dict:
        rows = []
        for table_dir in self._tables():
            info = table_dir / "TableInfos.json"
            if info.is_file() and (records := self._load(info).rows):
                record = dict(records[0], ID=len(rows))
                record.setdefault("ApiUrl", f"{self.url}/ODataApi/OData/{table_dir.name}")
                record.setdefault("FeedUrl", f"{self.url}/ODataFeed/OData/{table_dir.name}")
                rows.append(record)
        page, _, _ = self._query(rows, _columns(rows), params, None)  # CBS does not page this
        return {"odata.metadata": f"{self.url}/ODataCatalog/$metadata#Tables", "value": page}

    # files and cache ---------------------------------------------------------------------------

    def _entity(self, table_dir: Path, entity: str) -> _Doc:
        if _ENTITY_RE.match(entity) and entity != "root":
            path = table_dir / f"{entity}.json"
            if path.is_file():
                return self._load(path)
            if entity == "UntypedDataSet" and (table_dir / "TypedDataSet.json").is_file():
                return self._untyped(table_dir)
        raise ODataError(404, f"Resource not found for the segment '{entity}'.")

    def _load(self, path: Path) -> _Doc:
        stat = path.stat()
        signature = (stat.st_mtime_ns, stat.st_size)
        with self._cache_lock:
            doc = self._cache.get(path)
            if doc is None or doc.signature != signature:
                data = json.loads(path.read_text(encoding="utf-8"))
                rows = data.get("value", [])
                doc = _Doc(signature, data.get("odata.metadata", ""), rows, _columns(rows))
                self._cache[path] = doc
            return doc

    def _untyped(self, table_dir: Path) -> _Doc:
        typed = self._load(table_dir / "TypedDataSet.json")
        props_path = table_dir / "DataProperties.json"
        props = self._load(props_path) if props_path.is_file() else None
        signature = (typed.signature, props and props.signature)
        key = (table_dir, "UntypedDataSet")
        with self._cache_lock:
            doc = self._cache.get(key)
            if doc is None or doc.signature != signature:
                rows = untyped_rows(typed.rows, props.rows if props else [])
                metadata = typed.metadata.replace("TypedDataSet", "UntypedDataSet")
                doc = _Doc(signature, metadata, rows, typed.columns)
                self._cache[key] = doc
            return doc


def _target(path: str) -> tuple[str | None, str | None]:
    """(table, entity) of a request path, for matching faults; the service document is ""."""
    if _CATALOG_RE.match(path):
        return None, "Tables"
    m = _FEED_RE.match(path)
    segments = [s for s in (m.group("rest") or "").split("/") if s] if m else []
    if len(segments) == 1:
        return segments[0], ""
    if len(segments) == 2:
        return segments[0], segments[1]
    return None, None


def _is_v4(path: str) -> bool:
    from .v4 import is_v4

    return is_v4(path)


def _v4_target(path: str) -> tuple[str | None, str | None]:
    from .v4 import target

    return target(path)


def _v4_error(message: str) -> dict:
    from .v4 import error_body as v4_error_body

    return v4_error_body(message)


def _partial(body: bytes, fraction: float) -> bytes:
    """Keep every n-th row of a page's ``value`` (n = 1 / fraction); other answers unchanged."""
    doc = json.loads(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("value"), list) or fraction >= 1:
        return body
    step = max(1, round(1 / fraction)) if fraction > 0 else len(doc["value"]) + 1
    doc["value"] = doc["value"][::step]
    return _dump(doc)


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m standin",
        description="Serve a CBS OData v3 mirror folder on a loopback address.",
    )
    parser.add_argument("--mirror", required=True, type=Path, help="mirror folder (<TABLE>/*.json)")
    parser.add_argument("--host", default="127.0.0.1", help="127.x.x.x, localhost or ::1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--verbose", action="store_true", help="print one line per request")
    parser.add_argument("--geo", type=Path, default=None,
                        help="folder of boundary files to serve at /geo/<file> (e.g. ../shared/cbs/geo)")
    parser.add_argument("--v4", type=Path, default=None,
                        help="folder of OData v4 tables to serve at /odata/v1/CBS/<id>/... "
                             "(e.g. ../shared/cbs/odata_v4)")
    parser.add_argument("--v4-page-size", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds added to every answer, to simulate a distant server")
    parser.add_argument("--bandwidth", type=float, default=None,
                        help="bytes per second, to simulate a slow link")
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        parser.error(
            f"refusing to bind non-loopback host {args.host!r}: "
            "the stand-in only serves 127.x.x.x, localhost or ::1"
        )
    if not args.mirror.is_dir():
        parser.error(f"mirror folder {args.mirror} does not exist")
    if args.page_size < 1:
        parser.error("--page-size must be at least 1")
    server = StandIn(args.mirror, args.host, args.port, args.page_size, args.verbose,
                     latency=args.latency, bandwidth=args.bandwidth, geo_dir=args.geo,
                     v4_dir=args.v4, v4_page_size=args.v4_page_size).start()
    print(f"CBS stand-in serving {args.mirror} at {server.url}", flush=True)
    if server.v4 is not None:
        print(f"OData v4: CBS_ODATA4_URL={server.v4.url}", flush=True)
    print(f"cbsodata: options.use_https = False; catalog_url = {server.catalog_url!r}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
