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

import hashlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import cbsodata
import cbsodata.cbsodata3 as _cbsodata3
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, ProtocolError
from urllib3.util.retry import Retry

from . import logs, workbook
from .odata import v4_codes, v4_data_properties, v4_table_info
from .workbook import XLSX_TYPE, WorkbookError, is_workbook

if TYPE_CHECKING:  # query.py imports transform.py, which imports this module
    from .query import Query

log = logging.getLogger(__name__)
http_log = logging.getLogger("pipelines.http")  # one line per request (JSON mode)

DEFAULT_URL = "https://opendata.cbs.nl"
ENV_URL = "CBS_ODATA_URL"
DEFAULT_V4_URL = "https://datasets.cbs.nl/odata/v1"
ENV_V4_URL = "CBS_ODATA4_URL"
DEFAULT_WEB_URL = "https://www.cbs.nl"  # landing pages and workbooks (api: file)
ENV_WEB_URL = "CBS_WEB_URL"
ENV_USER_AGENT = "CBS_USER_AGENT"
# cbs.nl refuses anonymous scripted downloads (a public project reports it): say who asks
USER_AGENT = ("regio-economie-dashboard/0.1 (VNG Bestuurlijk Netwerk Economie; nightly refresh "
              "of CBS open data)")
APIS = ("v3", "v4", "file")
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
    web_url: str = DEFAULT_WEB_URL
    user_agent: str = USER_AGENT

    @classmethod
    def from_env(cls, url: str | None = None, v4_url: str | None = None,
                 web_url: str | None = None, **kw) -> CbsConfig:
        return cls(base_url=url or os.environ.get(ENV_URL) or DEFAULT_URL,
                   v4_url=v4_url or os.environ.get(ENV_V4_URL) or DEFAULT_V4_URL,
                   web_url=web_url or os.environ.get(ENV_WEB_URL) or DEFAULT_WEB_URL,
                   user_agent=os.environ.get(ENV_USER_AGENT) or USER_AGENT, **kw)

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
        for url in (self._normalised, self.v4_url.strip(), self.web_url.strip()):
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
    """(None, parsed JSON) for a complete JSON body, else (what is wrong, None). What the
    request asked for (``Accept``) says what complete means: JSON parses; a workbook is a whole
    zip archive; anything else (a landing page) has arrived in full."""
    try:
        content = resp.content
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError,
            requests.ConnectionError) as exc:  # cut off mid-body: reset, timeout, short read
        return f"body cut off: {_error_name(exc)}", None
    accept = str(resp.request.headers.get("Accept") or "") if resp.request is not None else ""
    if accept and "json" not in accept:
        if XLSX_TYPE in accept and not is_workbook(content):
            return "body cut off: not a whole workbook (zip)", None
        return None, None
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
                            allowed_methods=frozenset({"GET", "HEAD"}),
                            respect_retry_after_header=True,
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
    def fetch(self, url: str, params: dict | None = None, headers: dict | None = None,
              method: str = "GET") -> requests.Response:
        """One GET (or HEAD) with this session's timeouts; a loopback URL never through an
        environment proxy (``send`` skips the environment; ``request`` reads it, for a proxy to
        CBS)."""
        if _is_loopback(url):
            prepared = self.prepare_request(requests.Request(method, url, params=params,
                                                             headers=headers))
            return self.send(prepared, timeout=self.timeout, proxies={})
        return self.request(method, url, params=params, headers=headers, timeout=self.timeout)


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
        self.file = CbsFileClient(config, sleep, session=self.session)

    def for_api(self, api: str) -> CbsClient | CbsV4Client | CbsFileClient:
        if api not in APIS:
            raise ValueError(f"unknown CBS api {api!r}; use one of {', '.join(APIS)}")
        return self.v4 if api == "v4" else self.file if api == "file" else self

    def originals(self, table: str) -> dict[str, bytes]:
        """Files received as such (not as OData entities) for ``table``: none in OData."""
        return {}

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

    def originals(self, table: str) -> dict[str, bytes]:
        """Files received as such (not as OData entities): none in OData v4."""
        return {}

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


# --------------------------------------------------------------------------- files on www.cbs.nl

@dataclass(frozen=True)
class Located:
    """The edition a file client fetches: its year, landing page and workbook URL; whether the
    catalogue lists it as verified, and whether it was discovered (newer than the catalogue)."""

    year: int
    page: str | None
    file: str
    verified: bool
    discovered: bool


class CbsFileClient:
    """Workbooks CBS publishes on www.cbs.nl (``api: file`` in the catalogue; the Landelijke
    Monitor Leegstand): the same interface as the OData clients (``table_info``, ``meta``,
    ``download``, ``url_for``), on the same session and retry layer, so ``refresh.fetch_table``
    fetches one as it fetches a table. The base is ``CBS_WEB_URL`` / ``--cbs-web-url``.

    - **Which edition**: an edition newer than the catalogue's newest, found by asking for the
      landing pages CBS uses (``discover``: a few ISO weeks of the last ``years`` years; at most
      ``len(pages) * len(weeks) * years`` requests, none once the catalogue lists the newest
      edition of a year whose publication weeks have passed), else the catalogue's newest
      edition. The workbook is the .xlsx link on its landing page whose name matches
      ``workbook.link``. A discovered edition is used (its data pass the same checks as any)
      and reported (:meth:`new_editions`) so the catalogue can list it.
    - **Unchanged?** ``table_info`` asks only the landing page and the workbook's headers (a
      HEAD: ETag, Last-Modified, length): ``Version`` changes with the edition or the file.
      Without such headers the workbook itself is downloaded to know (its sha256).
    - Every request sends an identifying ``User-Agent`` (cbs.nl refuses anonymous scripts).
    - The workbook is read by :mod:`pipelines.workbook` into OData-shaped entities; a workbook
      that does not fit the catalogue fails the table with one line naming file, sheet and
      what is missing (:class:`CbsError` kind ``missing_measure`` / ``missing_category`` /
      ``invalid``). The file as received is kept in the raw stage (:meth:`originals`).

    ``sources`` (the catalogue's ``files``) are set by the refresh (:meth:`configure`); ``today``
    is the clock discovery reads (tests set it)."""

    api = "file"

    def __init__(self, config: CbsConfig, sleep: Callable[[float], None] = time.sleep,
                 session: CbsSession | None = None, sources: dict | None = None,
                 today: Callable[[], Any] | None = None):
        config.validate()
        self.config = config
        self.session = session or http_session(config, sleep)
        self.today = today or (lambda: datetime.now(UTC).date())
        self.configure(sources or {})

    def configure(self, sources: dict) -> None:
        """Use the catalogue's file sources (name -> FileSource); forget what was found."""
        self.sources = dict(sources)
        self._located: dict[str, Located] = {}
        self._discovered: dict[str, list[Located]] = {}
        self._received: dict[str, tuple[str, bytes]] = {}
        self._parsed: dict[str, workbook.Parsed] = {}
        self._info: dict[str, dict] = {}

    @property
    def requests_made(self) -> int:
        return self.session.requests_made

    @property
    def base(self) -> str:
        return self.config.web_url.strip().rstrip("/")

    def absolute(self, path: str) -> str:
        """A catalogue path (``/nl-nl/maatwerk/...``) under ``CBS_WEB_URL``; a URL as it is."""
        return path if "://" in path else f"{self.base}/{path.lstrip('/')}"

    def _source(self, table: str):
        try:
            return self.sources[table]
        except KeyError:
            raise CbsError(table, "not_found", f"{table} is no file source of the catalogue"
                           ) from None

    def _get(self, table: str, what: str, url: str, accept: str,
             method: str = "GET") -> requests.Response:
        headers = {"Accept": accept, "User-Agent": self.config.user_agent}

        def get() -> requests.Response:
            resp = self.session.fetch(url, headers=headers, method=method)
            resp.raise_for_status()
            return resp
        return _call(self.session, table, what, get)

    # -- which edition ---------------------------------------------------------------------
    def _page_workbook(self, table: str, src, page: str) -> tuple[str | None, str]:
        """(workbook URL, problem) of a landing page: the first .xlsx link matching the
        catalogue's ``link``; None and what was found instead otherwise."""
        html = self._get(table, "landing page", page, "text/html").text
        matched, xlsx = workbook.workbook_links(html, page, src.link)
        if matched:
            return matched[0], ""
        return None, (f"no workbook link matching {src.link!r} on {page} (.xlsx links there: "
                      + (", ".join(workbook.file_name(u) for u in xlsx) or "none") + ")")

    def _discover(self, table: str, src) -> list[Located]:
        """Editions newer than the catalogue's, newest first (at most one per year): the landing
        pages of ``discover`` for the years after the catalogue's newest edition, within the
        last ``discover.years`` years, in the weeks that have begun."""
        if table in self._discovered:
            return self._discovered[table]
        today = self.today()
        week = today.isocalendar()[1]
        found: list[Located] = []
        first = max(src.latest + 1, today.year - src.discover_years + 1)
        for year in range(today.year, first - 1, -1):
            weeks = [w for w in src.discover_weeks if year < today.year or w <= week]
            hit = None
            for w in weeks:
                for pattern in src.discover_pages:
                    page = self.absolute(pattern.format(year=year, week=f"{w:02d}"))
                    try:
                        url, problem = self._page_workbook(table, src, page)
                    except CbsError as exc:
                        if exc.kind == "not_found":
                            continue
                        raise
                    if url is None:
                        log.warning("landing page without the workbook", extra={
                            "table": table, "page": page, "problem": problem})
                        continue
                    hit = Located(year, page, url, False, True)
                    break
                if hit:
                    break
            if hit:
                found.append(hit)
        self._discovered[table] = found
        return found

    def locate(self, table: str) -> Located:
        """The edition to fetch: the newest discovered one, else the catalogue's newest (see the
        class docstring). Never an older edition when the newest fails: that is an error."""
        if table in self._located:
            return self._located[table]
        src = self._source(table)
        new = self._discover(table, src)
        if new:
            located = new[0]
        else:
            ed = src.editions[src.latest]
            if ed.file:
                located = Located(ed.year, None, self.absolute(ed.file), ed.verified, False)
            else:
                page = self.absolute(ed.page)
                url, problem = self._page_workbook(table, src, page)
                if url is None:
                    raise CbsError(table, "not_found", f"edition {ed.year}: {problem}")
                located = Located(ed.year, page, url, ed.verified, False)
        self._located[table] = located
        return located

    def new_editions(self, table: str) -> list[dict]:
        """Editions found at CBS that the catalogue does not list, as the manifest's
        ``new_editions`` records (oldest first)."""
        src = self._source(table)
        return [{"series": table, "year": e.year, "table": table, "url": e.page or e.file,
                 "title": src.title.replace("{year}", str(e.year)), "modified": None}
                for e in reversed(self._discover(table, src))]

    # -- API -------------------------------------------------------------------------------
    def table_info(self, table: str) -> dict:
        """What the edition in use is and whether its file changed: Title, Modified (the file's
        Last-Modified), Version (workbook URL + ETag / Last-Modified / length, else its sha256),
        Edition, Page, File and Boundaries. Asks the landing page(s) and the workbook's headers
        (HEAD); downloads the workbook only when the headers do not say."""
        if table in self._info:
            return self._info[table]
        src = self._source(table)
        loc = self.locate(table)
        stamp, modified = None, None
        try:
            head = self._get(table, "workbook (HEAD)", loc.file, XLSX_TYPE, method="HEAD")
            h = head.headers
            modified = _http_date(h.get("Last-Modified"))
            stamp = h.get("ETag") or h.get("Last-Modified") or (
                f"{h['Content-Length']} bytes" if h.get("Content-Length") else None)
        except CbsError as exc:
            if exc.kind == "not_found":
                raise CbsError(table, "not_found", f"edition {loc.year}: the workbook {loc.file} "
                               "does not exist (404)") from None
            stamp = None  # e.g. HEAD not allowed: the file itself tells
        if stamp is None:
            name, body = self._receive(table, loc)
            stamp = "sha256:" + hashlib.sha256(body).hexdigest()
        boundaries = f"fixed:{loc.year}" if src.boundaries == "edition" else src.boundaries
        info = {"Identifier": table, "Title": src.title.replace("{year}", str(loc.year)),
                "Modified": modified, "Version": f"{loc.file} {stamp}",
                "OutputStatus": "Regulier", "Frequency": "Perjaar", "Edition": loc.year,
                "Page": loc.page, "File": loc.file, "Boundaries": boundaries,
                "EditionVerified": loc.verified, "Discovered": loc.discovered}
        self._info[table] = info
        return info

    def _receive(self, table: str, loc: Located) -> tuple[str, bytes]:
        if table not in self._received:
            resp = self._get(table, "workbook", loc.file, XLSX_TYPE)
            self._received[table] = (workbook.file_name(loc.file) or f"{table}.xlsx",
                                     resp.content)
        return self._received[table]

    def _read(self, table: str) -> workbook.Parsed:
        if table not in self._parsed:
            src, loc = self._source(table), self.locate(table)
            name, body = self._receive(table, loc)
            try:
                parsed = workbook.parse(body, name, src, loc.year)
            except WorkbookError as exc:
                raise CbsError(table, exc.kind, str(exc)) from None
            if parsed.skipped or parsed.extra_categories:
                log.info("workbook read", extra={
                    "table": table, "sheet": parsed.sheet, "header_row": parsed.header_row,
                    "rows": parsed.rows, "rows_without_known_region": parsed.skipped,
                    "categories_not_in_catalogue": parsed.extra_categories})
            self._parsed[table] = parsed
        return self._parsed[table]

    def meta(self, table: str, name: str) -> list[dict]:
        """DataProperties or a dimension's categories, as read from the workbook (which is
        downloaded once for the whole fetch)."""
        entities = self._read(table).entities
        if name not in entities:
            raise CbsError(table, "not_found", f"{name}: not in the workbook's layout")
        return entities[name]

    def download(self, query: Query,
                 progress: Callable[[str, int | None], None] | None = None) -> dict[str, list]:
        """Every entity read from the workbook, the rows restricted to the query's categories
        and region levels (as an OData server applies a $filter), plus TableInfos and a
        ``Workbook`` record (file, sheet, header row, sha256) for the raw stage."""
        table = query.table
        info = self.table_info(table)
        parsed = self._read(table)
        keep = {d: set(keys) for d, keys in query.keep}
        levels = tuple(query.levels)
        rows = [r for r in parsed.entities["TypedDataSet"]
                if all(r.get(d) in ks for d, ks in keep.items())
                and (not levels or str(r["RegioS"])[:2] in levels)]
        name, body = self._received[table]
        entities = {**parsed.entities, "TypedDataSet": rows, "TableInfos": [info],
                    "Workbook": [{"file": name, "url": info["File"], "page": info["Page"],
                                  "edition": info["Edition"], "sheet": parsed.sheet,
                                  "header_row": parsed.header_row, "rows": parsed.rows,
                                  "rows_without_known_region": parsed.skipped,
                                  "bytes": len(body),
                                  "sha256": hashlib.sha256(body).hexdigest()}]}
        if progress is not None:
            progress(query.entity, len(rows))
        return entities

    def originals(self, table: str) -> dict[str, bytes]:
        """The workbook as received, to keep beside the entities read from it."""
        return dict([self._received[table]]) if table in self._received else {}

    def url_for(self, table: str, entity: str = "") -> str:
        loc = self._located.get(table)
        return loc.file if loc else self.base

    def catalogue(self, title_contains: str) -> list[dict]:
        """Files have no catalogue listing; new editions come from :meth:`new_editions`."""
        return []


def _http_date(value: str | None) -> str | None:
    """An HTTP date (Last-Modified) as the ISO time the manifest records, None if unreadable."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    except (TypeError, ValueError):
        return None
