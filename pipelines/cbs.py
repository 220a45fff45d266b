"""CBS access, OData v3 and v4, and the boundary service: the only module that talks HTTP.

v3 (``opendata.cbs.nl/ODataFeed``) goes through ``cbsodata``; v4 (``datasets.cbs.nl/odata/v1``,
one row per cell, measures as codes such as ``M000352``) through :class:`CbsV4Client`, plain
``requests``. Both answer the same interface (``table_info``, ``meta``, ``download``,
``url_for``, ``catalogue``), picked per table with :meth:`CbsClient.for_api`. What to ask for
(entity, ``$select``, ``$filter``, paging) is decided in :mod:`pipelines.query`; ``download``
sends a :class:`~pipelines.query.Query` as it is. :meth:`CbsClient.boundary_file` fetches a
gemeente boundary file (PDOK or the stand-in's ``/geo/``) for :mod:`pipelines.geo`.

- The base URLs are configurable (``CBS_ODATA_URL`` / ``--cbs-url``, ``CBS_ODATA4_URL`` /
  ``--cbs4-url``) so tests and development can point at the local stand-in
  (``python -m standin``); default is the real CBS over https.
- **One retry layer.** Every HTTP request - each cbsodata page, each v4 page, the catalogue
  listings, each boundary file - goes through one pooled :class:`CbsSession` per client, and one
  urllib3 ``Retry`` (:class:`RetryPolicy`) decides about every retry of it: connection errors,
  timeouts, resets, 429/5xx (``Retry-After`` honoured, up to ``RETRY_AFTER_MAX``), and - what
  urllib3 cannot see - a 2xx answer whose body arrives cut off or is not JSON, checked by the
  session's :class:`JsonAdapter` and counted against the *same* ``Retry`` (as a read error), so
  ``--retries N`` means at most N+1 requests for one page whatever goes wrong. Backoff is
  exponential with jitter (``--backoff`` for the first retry, doubling). Each retry is one
  ``cbs retry`` warning (table, url, attempt, error, delay). Nothing above the session retries:
  a :class:`CbsError` says the request has failed for good, and ``refresh.fetch`` only decides
  what that means for the table (it keeps its last good data).
- cbsodata's per-page ``Session()`` is pointed at the calling client's session, so a failure on
  page 7 repeats page 7, not the whole table, and pages share one keep-alive connection pool.
- Each request is one ``request`` log line (url, table; JSON mode) so long fetches show they
  move; a download reports its rows per page to a progress callback (the bars in text mode).
- 404 means the table (or entity, or boundary file) does not exist.
- We use ``download_data`` / ``get_meta`` / ``get_info``, never ``get_data``: dimension keys stay
  codes (GM0363), not titles. Padding is stripped later, in the transform step.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import cbsodata
import cbsodata.cbsodata3 as _cbsodata3
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, ProtocolError
from urllib3.util.retry import Retry

from . import logs
from .odata import v4_codes, v4_data_properties, v4_table_info

if TYPE_CHECKING:  # query.py imports transform.py, which imports this module
    from .query import Query

log = logging.getLogger(__name__)
http_log = logging.getLogger("pipelines.http")  # one line per request (JSON mode)

DEFAULT_URL = "https://opendata.cbs.nl"
ENV_URL = "CBS_ODATA_URL"
DEFAULT_V4_URL = "https://datasets.cbs.nl/odata/v1"
ENV_V4_URL = "CBS_ODATA4_URL"
APIS = ("v3", "v4")
_RETRY_STATUS = (429, 500, 502, 503, 504)  # answers worth asking again
BACKOFF_MAX = 60.0  # seconds: no single wait between two tries is longer ...
RETRY_AFTER_MAX = 300  # ... except when the server asks for it (Retry-After), up to 5 minutes


class CbsError(RuntimeError):
    """A CBS request that failed for good; ``table`` and ``kind`` say which and why."""

    def __init__(self, table: str, kind: str, message: str):
        super().__init__(f"{table}: {message}")
        self.table = table
        self.kind = kind  # not_found | http | network | invalid


@dataclass(frozen=True)
class CbsConfig:
    base_url: str = DEFAULT_URL
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    retries: int = 4
    backoff: float = 1.0  # seconds; doubles every attempt
    v4_url: str = DEFAULT_V4_URL

    @classmethod
    def from_env(cls, url: str | None = None, v4_url: str | None = None, **kw) -> CbsConfig:
        return cls(base_url=url or os.environ.get(ENV_URL) or DEFAULT_URL,
                   v4_url=v4_url or os.environ.get(ENV_V4_URL) or DEFAULT_V4_URL, **kw)

    @property
    def use_https(self) -> bool:
        return urlsplit(self._normalised).scheme == "https"

    @property
    def catalog_url(self) -> str:
        """What cbsodata calls catalog_url: host[:port][/prefix], without scheme."""
        parts = urlsplit(self._normalised)
        return (parts.netloc + parts.path).rstrip("/")

    @property
    def is_loopback(self) -> bool:
        return _is_loopback(self._normalised)

    @property
    def _normalised(self) -> str:
        url = self.base_url.strip()
        return url if "://" in url else "https://" + url

    def validate(self) -> None:
        for url in (self._normalised, self.v4_url.strip()):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"CBS URL {url!r} is not an http(s) URL")


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


# --------------------------------------------------------------------------- the retry layer

# What the current thread is asking: the table and entity (for log lines and error messages),
# the session cbsodata should use, and a download's progress callback. Set by the clients around
# each call (they run on the refresh's worker threads, one table per thread at a time).
_asked = threading.local()


@dataclass(frozen=True)
class _Asking:
    table: str | None = None
    what: str | None = None
    session: CbsSession | None = None
    progress: Callable[[str, int | None], None] | None = None


def _current() -> _Asking:
    return getattr(_asked, "now", None) or _Asking()


@contextmanager
def _asking(table: str, what: str, session: CbsSession | None = None,
            progress: Callable[[str, int | None], None] | None = None) -> Iterator[None]:
    before = _current()
    _asked.now = _Asking(table, what, session or before.session, progress or before.progress)
    try:
        yield
    finally:
        _asked.now = before


class BodyError(ProtocolError):
    """A 2xx answer whose body is cut off or not JSON. A ``ProtocolError``, so urllib3's
    ``Retry`` counts it as a read error: same budget, same backoff as a reset connection."""


class BadBody(requests.RequestException):
    """A 2xx answer whose body is cut off or not JSON, still so after every retry."""

    def __init__(self, reason: str, attempts: int, **kw):
        super().__init__(reason, **kw)
        self.reason, self.attempts = reason, attempts


class RetryPolicy(Retry):
    """urllib3's ``Retry`` with this pipeline's backoff, and each retry logged, counted and slept
    through the owning :class:`CbsSession` (its ``sleep`` can be replaced in tests).

    Backoff: ``backoff_factor * 2**(n-1)`` before retry n, plus up to as much again at random
    (jitter, so parallel workers do not retry in step), at most ``backoff_max``; the
    ``Retry-After`` of a 429/5xx answer replaces it (at most ``retry_after_max``)."""

    def __init__(self, *args: Any, owner: CbsSession | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.owner = owner

    def new(self, **kw: Any) -> RetryPolicy:
        out = super().new(**kw)
        out.owner = self.owner
        return out

    def get_backoff_time(self) -> float:
        n = len(self.history)
        if n == 0 or self.backoff_factor <= 0:
            return 0.0
        base = self.backoff_factor * 2 ** (n - 1)
        return float(min(self.backoff_max, base * (1 + random.random())))

    def sleep(self, response: Any = None) -> None:
        delay = None
        if response is not None and self.respect_retry_after_header:
            try:
                delay = self.get_retry_after(response)
            except InvalidHeader:
                delay = None
        if not delay:
            delay = self.get_backoff_time()
        if self.owner is not None:
            self.owner.retrying(self, delay)
        if delay > 0:
            (self.owner.sleep if self.owner is not None else time.sleep)(delay)


def _error_name(error: BaseException | None) -> str:
    """What went wrong at the network level, in one word: ReadTimeout, ConnectTimeout,
    ConnectionRefused, ConnectionReset, ... (urllib3 and requests wrap the cause a few times)."""
    if error is None:
        return "error"
    if isinstance(error, BodyError):
        return str(error)
    if isinstance(error, requests.Timeout):
        return type(error).__name__
    text = repr(error)
    for needle, name in (("ReadTimeout", "ReadTimeout"), ("Read timed out", "ReadTimeout"),
                         ("ConnectTimeout", "ConnectTimeout"), ("refused", "ConnectionRefused"),
                         ("reset", "ConnectionReset"), ("aborted", "ConnectionReset"),
                         ("RemoteDisconnected", "ConnectionReset"),
                         ("IncompleteRead", "ConnectionReset"),
                         ("ProtocolError", "ConnectionReset")):
        if needle in text:
            return name
    return type(error).__name__


def _body_problem(resp: requests.Response) -> tuple[str | None, Any]:
    """(None, parsed JSON) for a complete JSON body, else (what is wrong, None)."""
    try:
        content = resp.content
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError,
            requests.ConnectionError) as exc:  # cut off mid-body: reset, timeout, short read
        return f"body cut off: {_error_name(exc)}", None
    try:
        return None, json.loads(content)
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError
        return f"{type(exc).__name__}: {exc}", None


class JsonAdapter(HTTPAdapter):
    """The session's transport: urllib3 retries what it can see (no answer, a 429/5xx), and a
    2xx answer is read and parsed here; a cut-off or non-JSON body is retried on the *same*
    ``Retry`` object (``increment`` with a :class:`BodyError`, then its ``sleep``), so there is
    one budget and one backoff per request. Out of retries: :class:`BadBody`.

    ``requests`` hands ``self.max_retries`` to urllib3 on every send; while a body retry is
    under way it is the already incremented ``Retry`` of this thread's request."""

    def __init__(self, retry: RetryPolicy, pool: int):
        self._ongoing = threading.local()
        super().__init__(pool_connections=pool, pool_maxsize=pool, max_retries=retry)

    @property
    def max_retries(self) -> Retry:  # type: ignore[override]
        ongoing = getattr(self._ongoing, "retry", None)
        return ongoing if ongoing is not None else self._retry

    @max_retries.setter
    def max_retries(self, value: Retry) -> None:
        self._retry = value

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        owner = getattr(self._retry, "owner", None)
        if owner is not None:
            owner.sending(request)
        retry = self._retry
        try:
            while True:
                self._ongoing.retry = retry
                try:
                    resp = super().send(request, stream=stream, timeout=timeout, verify=verify,
                                        cert=cert, proxies=proxies)
                finally:
                    self._ongoing.retry = None
                resp.attempts = owner.attempts() if owner is not None else 1
                if stream or request.method != "GET" or not 200 <= resp.status_code < 300:
                    return resp
                problem, body = _body_problem(resp)
                if problem is None:
                    if owner is not None:
                        owner.answered(request, resp, body)
                    return resp
                used = getattr(resp.raw, "retries", None) or retry
                resp.close()
                try:
                    retry = used.increment(request.method, request.path_url,
                                           error=BodyError(problem))
                except MaxRetryError:
                    raise BadBody(problem, len(used.history) + 1, request=request) from None
                retry.sleep()
        except (requests.ConnectionError, requests.Timeout) as exc:
            exc.attempts = owner.attempts() if owner is not None else None
            raise


class CbsSession(requests.Session):
    """The one pooled session of a client (keep-alive across pages and tables): a
    :class:`JsonAdapter` with a :class:`RetryPolicy` built from :class:`CbsConfig` (retries,
    backoff; timeouts per request). Counts what it sends (``requests_made``: every HTTP request,
    retries included) and the bytes of the answers it accepts (``bytes_received``); logs each
    request and each retry."""

    def __init__(self, config: CbsConfig, sleep: Callable[[float], None] = time.sleep,
                 pool: int = 8):
        super().__init__()
        self.config, self.sleep = config, sleep
        self.timeout = (config.connect_timeout, config.read_timeout)
        self.requests_made = 0
        self.bytes_received = 0
        self._lock = threading.Lock()
        self._tries = threading.local()  # attempts of the request under way on this thread
        n = config.retries
        retry = RetryPolicy(total=n, connect=n, read=n, status=n, other=0,
                            backoff_factor=config.backoff, backoff_max=BACKOFF_MAX,
                            retry_after_max=RETRY_AFTER_MAX, status_forcelist=_RETRY_STATUS,
                            allowed_methods=frozenset({"GET"}), respect_retry_after_header=True,
                            raise_on_status=False, owner=self)
        adapter = JsonAdapter(retry, pool)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.headers["Accept"] = "application/json"

    # -- called by the adapter and the Retry ----------------------------------------------
    def sending(self, request: requests.PreparedRequest) -> None:
        self._tries.n = 1
        with self._lock:
            self.requests_made += 1
        url = request.url or ""
        asked = _current()
        logs.detail(http_log, "request", url=url.split("?")[0] + (
            " (next page)" if "skip=" in url or "skiptoken=" in url else ""),
            **({"table": asked.table} if asked.table else {}))

    def retrying(self, retry: Retry, delay: float) -> None:
        self._tries.n = getattr(self._tries, "n", 1) + 1
        with self._lock:
            self.requests_made += 1
        last = retry.history[-1]
        asked = _current()
        path = str(last.url or "").split("?")[0]
        error = f"HTTP {last.status}" if last.status else _error_name(last.error)
        attempt = len(retry.history)
        log.warning("cbs retry", extra={
            **({"table": asked.table} if asked.table else {}), "url": path, "attempt": attempt,
            "error": error, "delay_s": round(delay, 3),
            "_text": f"{asked.table or path}: {path.rstrip('/').rsplit('/', 1)[-1]} failed "
                     f"({error}); retry {attempt} of {self.config.retries} in {delay:.1f} s"})

    def attempts(self) -> int:
        return getattr(self._tries, "n", 1)

    def answered(self, request: requests.PreparedRequest, resp: requests.Response,
                 body: Any) -> None:
        with self._lock:
            self.bytes_received += len(resp.content)
        progress = _current().progress
        if progress is not None:
            value = body.get("value") if isinstance(body, dict) else None
            entity = urlsplit(request.url or "").path.rstrip("/").rsplit("/", 1)[-1]
            progress(entity, len(value) if isinstance(value, list) else None)

    # -- for the clients -------------------------------------------------------------------
    def fetch(self, url: str, params: dict | None = None) -> requests.Response:
        """One GET with this session's timeouts; a loopback URL never through an environment
        proxy (``send`` skips the environment; ``get`` reads it, for a proxy to CBS)."""
        if _is_loopback(url):
            prepared = self.prepare_request(requests.Request("GET", url, params=params))
            return self.send(prepared, timeout=self.timeout, proxies={})
        return self.get(url, params=params, timeout=self.timeout)


def http_session(config: CbsConfig, sleep: Callable[[float], None] = time.sleep) -> CbsSession:
    """The session factory: every client, and the boundary download, use one of these."""
    return CbsSession(config, sleep)


def _attempts(exc: BaseException, default: int) -> int:
    """How many requests a failed one took: the adapter puts the number on the response or the
    exception (cbsodata keeps the HTTPError's response on ``__cause__``)."""
    for e in (exc, exc.__cause__):
        for holder in (e, getattr(e, "response", None)):
            n = getattr(holder, "attempts", None)
            if isinstance(n, int):
                return n
    return default


def _status(exc: BaseException) -> int | None:
    """HTTP status of a (cbsodata-wrapped) HTTPError; cbsodata keeps the response on __cause__."""
    for e in (exc, exc.__cause__):
        resp = getattr(e, "response", None)
        if resp is not None:
            return resp.status_code
    return None


def _call(session: CbsSession, table: str, what: str, fn: Callable[[], Any],
          progress: Callable[[str, int | None], None] | None = None) -> Any:
    """Run one client call with ``session`` as this thread's session. What comes out has been
    retried already (by the session, per request); it is mapped to a :class:`CbsError` naming
    the table, the entity, what went wrong and after how many attempts."""
    retries = session.config.retries
    with _asking(table, what, session, progress):
        try:
            return fn()
        except requests.HTTPError as exc:
            status = _status(exc)
            if status == 404:
                raise CbsError(table, "not_found",
                               f"{what}: CBS answers 404 - table or entity does not exist"
                               ) from None
            raise CbsError(table, "http", f"{what}: HTTP {status} (after "
                           f"{_attempts(exc, 1)} attempt(s))") from None
        except BadBody as exc:
            raise CbsError(table, "invalid", f"{what}: truncated or invalid JSON ({exc.reason}) "
                           f"(after {exc.attempts} attempt(s))") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = exc.args[0] if exc.args else exc
            reason = getattr(reason, "reason", None) or reason  # urllib3's MaxRetryError
            raise CbsError(table, "network", f"{what}: {_error_name(reason)} (after "
                           f"{_attempts(exc, retries + 1)} attempt(s))") from None
        except requests.RequestException as exc:
            raise CbsError(table, "network", f"{what}: {type(exc).__name__}") from None
        except (json.JSONDecodeError, ValueError) as exc:
            raise CbsError(table, "invalid", f"{what}: truncated or invalid JSON ({exc})"
                           ) from None
        except (KeyError, TypeError) as exc:
            raise CbsError(table, "invalid", f"{what}: unexpected response shape ({exc})"
                           ) from None


# cbsodata opens a new ``requests.Session()`` for every page it requests and retries nothing.
# Its module looks the name ``Session`` up at each page, so it is pointed at a factory that hands
# out the calling client's session (:class:`CbsSession`, set for the thread while a client call
# runs): every HTTP request cbsodata makes - TableInfos, each metadata entity, each page of the
# TypedDataSet - goes through the one retry layer, and pages share one keep-alive connection
# pool. Outside a client call cbsodata gets a plain session, as before.
_PLAIN_SESSION = requests.Session


def _session_for_cbsodata() -> requests.Session:
    session = _current().session
    return session if session is not None else _PLAIN_SESSION()


if not hasattr(_cbsodata3, "Session"):  # pragma: no cover - a cbsodata we have not checked
    raise ImportError("cbsodata no longer creates sessions via cbsodata3.Session; "
                      "pipelines/cbs.py must be adapted to this cbsodata version")
_cbsodata3.Session = _session_for_cbsodata


# urllib3 logs its own warning for a retry after a broken connection; ours (``cbs retry``) says
# the same with the table, once per retry of any kind.
logging.getLogger("urllib3.connectionpool").addFilter(
    lambda record: not hasattr(record, "__urllib3-retry-warning"))


class CbsClient:
    """OData v3 (through cbsodata); ``for_api("v4")`` gives the v4 client, on the same session.
    ``requests_made``/``bytes_received``: what that session sent and received so far."""

    api = "v3"

    def __init__(self, config: CbsConfig, sleep: Callable[[float], None] = time.sleep,
                 session: CbsSession | None = None):
        config.validate()
        self.config = config
        self.session = session or http_session(config, sleep)
        self.v4 = CbsV4Client(config, sleep, session=self.session)

    def for_api(self, api: str) -> CbsClient | CbsV4Client:
        if api not in APIS:
            raise ValueError(f"unknown CBS api {api!r}; use one of {', '.join(APIS)}")
        return self.v4 if api == "v4" else self

    @property
    def requests_made(self) -> int:
        return self.session.requests_made

    @property
    def bytes_received(self) -> int:
        return self.session.bytes_received

    # -- low level -------------------------------------------------------------------------
    def _kwargs(self) -> dict:
        kw = {"timeout": self.session.timeout}
        if self.config.is_loopback:
            kw["proxies"] = {}  # never send loopback traffic through an environment proxy
        return kw

    def _call(self, table: str, what: str, fn: Callable, progress=None):
        cbsodata.options.use_https = self.config.use_https
        return _call(self.session, table, what, fn, progress)

    # -- API -------------------------------------------------------------------------------
    def table_info(self, table: str) -> dict:
        """The TableInfos record (Modified, Title, ...): one small request."""
        info = self._call(table, "TableInfos", lambda: cbsodata.get_info(
            table, catalog_url=self.config.catalog_url, **self._kwargs()))
        if not info:
            raise CbsError(table, "invalid", "TableInfos is empty")
        return info

    def meta(self, table: str, name: str) -> list[dict]:
        """One metadata entity (DataProperties, RegioS, Perioden, ...)."""
        return self._call(table, name, lambda: cbsodata.get_meta(
            table, name, catalog_url=self.config.catalog_url, **self._kwargs()))

    def download(self, query: Query,
                 progress: Callable[[str, int | None], None] | None = None) -> dict[str, list]:
        """All metadata entities plus the TypedDataSet restricted by the query's $select/$filter
        (cbsodata follows ``odata.nextLink``). ``progress(entity, rows)`` is called after each
        page. Keys are kept as CBS sends them (codes, padded). Returns {entity name: values}."""
        return self._call(query.table, query.entity, lambda: cbsodata.download_data(
            query.table, select=query.select, filters=query.filter,
            catalog_url=self.config.catalog_url, **self._kwargs()), progress)

    def url_for(self, table: str, entity: str = "") -> str:
        scheme = "https" if self.config.use_https else "http"
        return f"{scheme}://{self.config.catalog_url}/ODataFeed/odata/{table}/{entity}"

    def catalogue(self, title_contains: str) -> list[dict]:
        """Tables of the CBS v3 catalogue (``ODataCatalog/Tables``) whose title contains the text:
        Identifier, Title, Modified, OutputStatus. One request, filtered at CBS."""
        scheme = "https" if self.config.use_https else "http"
        url = f"{scheme}://{self.config.catalog_url}/ODataCatalog/Tables"
        text = title_contains.replace("'", "''")
        params = {"$format": "json", "$filter": f"substringof('{text}',Title)",
                  "$select": "Identifier,Title,Modified,OutputStatus"}

        def get():
            resp = self.session.fetch(url, params)
            resp.raise_for_status()
            return resp.json()["value"]
        return self._call("ODataCatalog", "Tables", get)

    def boundary_file(self, url: str) -> dict | None:
        """One gemeente boundary file (GeoJSON) of the boundary service, through this client's
        session and retry layer; None when the service has no such file (404)."""
        def get():
            resp = self.session.fetch(url)
            resp.raise_for_status()
            body = resp.json()
            if not isinstance(body, dict):
                raise TypeError("not a GeoJSON object")
            return body
        try:
            return _call(self.session, "boundaries", url.split("?")[0], get)
        except CbsError as exc:
            if exc.kind == "not_found":
                return None
            raise

    def naive_get_data(self, table: str) -> list[dict]:
        """What a naive script does: ``cbsodata.get_data`` of the whole table (all rows, columns,
        titles instead of codes). Only the benchmark uses it, as the baseline to beat."""
        return self._call(table, "get_data", lambda: cbsodata.get_data(
            table, catalog_url=self.config.catalog_url, **self._kwargs()))


# --------------------------------------------------------------------------- OData v4

class CbsV4Client:
    """CBS OData v4: ``<base>/CBS/<ID>/Observations`` with $filter/$select, following
    ``@odata.nextLink``; ``MeasureCodes``, ``Dimensions``, ``<Dim>Codes`` and ``Properties``.

    Same interface as :class:`CbsClient` (``table_info``, ``meta``, ``download``, ``url_for``,
    ``catalogue``) and, given one, the same session. Entities are returned as received (keys are
    not padded in v4); the pure reshaping into the v3 shapes the transform reads is in
    :mod:`pipelines.odata`."""

    api = "v4"

    def __init__(self, config: CbsConfig, sleep: Callable[[float], None] = time.sleep,
                 session: CbsSession | None = None):
        config.validate()
        self.config = config
        self.session = session or http_session(config, sleep)

    @property
    def requests_made(self) -> int:
        return self.session.requests_made

    @property
    def bytes_received(self) -> int:
        return self.session.bytes_received

    @property
    def base(self) -> str:
        return self.config.v4_url.strip().rstrip("/")

    def url_for(self, table: str, entity: str = "") -> str:
        return f"{self.base}/CBS/{table}/{entity}"

    # -- low level -------------------------------------------------------------------------
    def _get(self, table: str, what: str, url: str, params: dict | None = None) -> dict:
        """One GET through the session (which retries it, see :class:`CbsSession`); 404 ->
        CbsError(kind="not_found"), anything else that failed for good -> CbsError."""
        def get() -> dict:
            resp = self.session.fetch(url, params)
            resp.raise_for_status()
            body = resp.json()
            if not isinstance(body, dict):
                raise TypeError("not a JSON object")
            return body
        return _call(self.session, table, what, get)

    def _values(self, table: str, entity: str, params: dict | None = None,
                next_link: str = "@odata.nextLink") -> list[dict]:
        """An entity set, all pages: follows ``next_link`` (an absolute URL that already
        carries the query) until there is none."""
        url, out, pages = self.url_for(table, entity), [], 0
        while url:
            body = self._get(table, entity, url, params)
            value = body.get("value")
            if not isinstance(value, list):
                raise CbsError(table, "invalid", f"{entity}: response has no 'value' list")
            out.extend(value)
            pages += 1
            url, params = body.get(next_link), None
            if pages > 100_000:
                raise CbsError(table, "invalid", f"{entity}: endless {next_link} chain")
        return out

    # -- API -------------------------------------------------------------------------------
    def properties(self, table: str) -> dict:
        body = self._get(table, "Properties", self.url_for(table, "Properties"))
        if not body.get("Identifier") and not body.get("Title"):
            raise CbsError(table, "invalid", "Properties is empty")
        return {k: v for k, v in body.items() if not k.startswith("@odata")}

    def table_info(self, table: str) -> dict:
        """The Properties record in TableInfos' words (Title, Modified, OutputStatus) plus
        everything CBS sent."""
        return v4_table_info(self.properties(table))

    def meta(self, table: str, name: str) -> list[dict]:
        """``DataProperties`` (made from Dimensions + MeasureCodes, v3-shaped: Key, Type, Title,
        Unit, Decimals), ``MeasureCodes``, ``Dimensions`` or a dimension's codes as
        ``{Key, Title, Status, ...}`` (``name`` = dimension identifier, e.g. ``RegioS``)."""
        if name == "DataProperties":
            return v4_data_properties(self._values(table, "Dimensions"),
                                      self._values(table, "MeasureCodes"))
        if name in ("MeasureCodes", "Dimensions"):
            return self._values(table, name)
        return v4_codes(self._values(table, f"{name}Codes"))

    def download(self, query: Query,
                 progress: Callable[[str, int | None], None] | None = None) -> dict[str, list]:
        """Properties, Dimensions, MeasureCodes, every ``<Dim>Codes`` and the Observations
        restricted by the query's $filter/$select, all pages (``query.next_link``), as received
        (Properties as a one-element list). ``progress(entity, rows)`` after each page."""
        table = query.table
        with _asking(table, query.entity, progress=progress):
            props = self.properties(table)
            dims = self._values(table, "Dimensions")
            entities: dict[str, list] = {"Properties": [props], "Dimensions": dims,
                                         "MeasureCodes": self._values(table, "MeasureCodes")}
            for d in dims:
                ident = d.get("Identifier")
                if ident and d.get("ContainsCodes", True) is not False:
                    entities[f"{ident}Codes"] = self._values(table, f"{ident}Codes")
            entities[query.entity] = self._values(table, query.entity, query.params or None,
                                                  query.next_link)
        return entities

    def catalogue(self, title_contains: str) -> list[dict]:
        """Datasets of the v4 catalogue (``<base>/CBS/Datasets``) whose title contains the text."""
        text = title_contains.replace("'", "''")
        url = f"{self.base}/CBS/Datasets"
        params = {"$filter": f"contains(Title,'{text}')",
                  "$select": "Identifier,Title,Modified,Status"}
        out: list[dict] = []
        while url:
            body = self._get("Datasets", "Datasets", url, params)
            out.extend(body.get("value") or [])
            url, params = body.get("@odata.nextLink"), None
        return [{**r, "OutputStatus": r.get("Status")} for r in out]
