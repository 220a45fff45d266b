"""CBS access, OData v3 and v4: the only module that talks to CBS.

v3 (``opendata.cbs.nl/ODataFeed``) goes through ``cbsodata``; v4 (``datasets.cbs.nl/odata/v1``,
one row per cell, measures as codes such as ``M000352``) through :class:`CbsV4Client`, plain
``requests`` with the same timeouts, per-request retries and error kinds. Both answer the same
interface (``table_info``, ``meta``, ``download``, ``url_for``, ``catalogue``), picked per table
with :meth:`CbsClient.for_api`.

- The base URL is configurable (``CBS_ODATA_URL`` / ``--cbs-url``) so tests and development can
  point at the local stand-in (``python -m standin``); default is the real CBS over https.
- Every HTTP request has a timeout and is retried *on its own* (v3 and v4 alike) through one
  pooled :func:`http_session` per client: urllib3's ``Retry`` for connection errors, timeouts,
  resets and 5xx/429 (``Retry-After`` honoured), :class:`RetryingSession` for a cut-off or
  non-JSON body; exponential backoff with jitter. cbsodata's per-page ``Session()`` is pointed
  at that session, so a failure on page 7 repeats page 7, not the whole table.
  404 means the table (or entity) does not exist.
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
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import cbsodata
import cbsodata.cbsodata3 as _cbsodata3
import requests
from urllib3.util.retry import Retry

from .odata import v4_codes, v4_data_properties, v4_table_info

log = logging.getLogger(__name__)

DEFAULT_URL = "https://opendata.cbs.nl"
ENV_URL = "CBS_ODATA_URL"
DEFAULT_V4_URL = "https://datasets.cbs.nl/odata/v1"
ENV_V4_URL = "CBS_ODATA4_URL"
APIS = ("v3", "v4")


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
        host = urlsplit(self._normalised).hostname or ""
        return host in ("localhost", "::1") or host.startswith("127.")

    @property
    def _normalised(self) -> str:
        url = self.base_url.strip()
        return url if "://" in url else "https://" + url

    def validate(self) -> None:
        for url in (self._normalised, self.v4_url.strip()):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"CBS URL {url!r} is not an http(s) URL")


def _status(exc: BaseException) -> int | None:
    """HTTP status of a (cbsodata-wrapped) HTTPError; cbsodata keeps the response on __cause__."""
    for e in (exc, exc.__cause__):
        resp = getattr(e, "response", None)
        if resp is not None:
            return resp.status_code
    return None


# cbsodata opens a new ``requests.Session()`` for every page it requests and retries nothing.
# Its module looks the name ``Session`` up at each page, so it is pointed at a factory that hands
# out the calling client's retrying session (:func:`http_session`, one per client, thread-local
# while a call runs): every HTTP request cbsodata makes - TableInfos, each metadata entity, each
# page of the TypedDataSet - is retried on its own, with backoff and jitter, and pages share one
# keep-alive connection pool. Outside a client call cbsodata gets a plain session, as before.
_cbsodata_session = threading.local()
_PLAIN_SESSION = requests.Session


def _session_for_cbsodata() -> requests.Session:
    session = getattr(_cbsodata_session, "current", None)
    return session if session is not None else _PLAIN_SESSION()


if not hasattr(_cbsodata3, "Session"):  # pragma: no cover - a cbsodata we have not checked
    raise ImportError("cbsodata no longer creates sessions via cbsodata3.Session; "
                      "pipelines/cbs.py must be adapted to this cbsodata version")
_cbsodata3.Session = _session_for_cbsodata


class CbsClient:
    """OData v3 (through cbsodata); ``for_api("v4")`` gives the v4 client with the same config."""

    api = "v3"

    def __init__(self, config: CbsConfig, sleep: Callable[[float], None] = time.sleep):
        config.validate()
        self.config = config
        self._sleep = sleep
        self.requests_made = 0
        self._session = http_session(config.retries, config.backoff, loopback=config.is_loopback,
                                     sleep=sleep)
        self.v4 = CbsV4Client(config, sleep)

    def for_api(self, api: str) -> CbsClient | CbsV4Client:
        if api not in APIS:
            raise ValueError(f"unknown CBS api {api!r}; use one of {', '.join(APIS)}")
        return self.v4 if api == "v4" else self

    # -- low level -------------------------------------------------------------------------
    def _kwargs(self) -> dict:
        kw = {"timeout": (self.config.connect_timeout, self.config.read_timeout)}
        if self.config.is_loopback:
            kw["proxies"] = {}  # never send loopback traffic through an environment proxy
        return kw

    def _call(self, table: str, what: str, fn: Callable):
        """Run one cbsodata call with this client's retrying session. Retries happen per HTTP
        request inside the session; what comes out here has been retried already and is mapped
        to a :class:`CbsError` naming the table, the entity and the number of attempts."""
        cbsodata.options.use_https = self.config.use_https
        previous = getattr(_cbsodata_session, "current", None)
        _cbsodata_session.current = self._session
        try:
            return fn()
        except requests.HTTPError as exc:
            status = _status(exc)
            if status == 404:
                raise CbsError(table, "not_found",
                               f"{what}: CBS answers 404 - table or entity does not exist") from None
            resp = getattr(exc.__cause__, "response", None)  # (a Response of 5xx is falsy)
            resp = resp if resp is not None else getattr(exc, "response", None)
            tries = _attempts(resp) if resp is not None else 1
            raise CbsError(table, "http", f"{what}: HTTP {status} (after {tries} attempt(s))"
                           ) from None
        except BadBody as exc:
            raise CbsError(table, "invalid", f"{what}: truncated or invalid JSON ({exc.reason}) "
                           f"(after {exc.attempts} attempt(s))") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise CbsError(table, "network", f"{what}: {_network_error(exc)} (after "
                           f"{self.config.retries + 1} attempt(s))") from None
        except requests.RequestException as exc:
            raise CbsError(table, "network", f"{what}: {type(exc).__name__}") from None
        except (json.JSONDecodeError, ValueError) as exc:
            raise CbsError(table, "invalid", f"{what}: truncated or invalid JSON ({exc})") from None
        except (KeyError, TypeError) as exc:
            raise CbsError(table, "invalid", f"{what}: unexpected response shape ({exc})") from None
        finally:
            _cbsodata_session.current = previous
            self.requests_made = self._session.requests_made

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

    def download(self, table: str, select: list[str] | None, filters: str | None) -> dict[str, list]:
        """All metadata entities plus the TypedDataSet restricted by $select/$filter.

        Keys are kept as CBS sends them (codes, padded). Returns {entity name: value list}.
        """
        return self._call(table, "TypedDataSet", lambda: cbsodata.download_data(
            table, select=select, filters=filters, catalog_url=self.config.catalog_url,
            **self._kwargs()))

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
            resp = self._session.get(url, params=params, **self._kwargs())
            resp.raise_for_status()
            return resp.json()["value"]
        return self._call("ODataCatalog", "Tables", get)

    def naive_get_data(self, table: str) -> list[dict]:
        """What a naive script does: ``cbsodata.get_data`` of the whole table (all rows, columns,
        titles instead of codes). Only the benchmark uses it, as the baseline to beat."""
        return self._call(table, "get_data", lambda: cbsodata.get_data(
            table, catalog_url=self.config.catalog_url, **self._kwargs()))


# --------------------------------------------------------------------------- OData v4

_RETRY_STATUS = (429, 500, 502, 503, 504)


class BadBody(requests.RequestException):
    """A 2xx answer whose body is cut off or not JSON, still so after every retry."""

    def __init__(self, reason: str, attempts: int):
        super().__init__(reason)
        self.reason, self.attempts = reason, attempts


class RetryingSession(requests.Session):
    """A session whose every request is retried on its own: urllib3's ``Retry`` on the adapter
    (connection errors, timeouts, resets, 429/5xx honouring ``Retry-After``; exponential backoff
    with jitter), plus - what ``Retry`` cannot see - a 2xx JSON answer whose body arrives cut off
    or unparsable is asked again with the same backoff. Only GET is used."""

    def __init__(self, retries: int, backoff: float, sleep: Callable[[float], None] = time.sleep):
        super().__init__()
        self.body_retries, self.backoff, self._sleep = retries, backoff, sleep
        self.requests_made = 0

    def send(self, request, **kwargs):
        for attempt in range(1, self.body_retries + 2):
            self.requests_made += 1
            try:
                resp = super().send(request, **kwargs)
                if resp.status_code < 300 and not kwargs.get("stream"):
                    json.loads(resp.content)  # cut off or not JSON: ask again
                return resp
            except (requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError, ValueError) as exc:
                reason = (f"{type(exc).__name__}: {exc}" if isinstance(exc, ValueError)
                          else type(exc).__name__)
                if attempt > self.body_retries:
                    raise BadBody(reason, attempt) from None
                delay = self.backoff * 2 ** (attempt - 1) * (1 + random.random())  # jitter
                log.warning("cbs retry", extra={"url": request.url.split("?")[0],
                                                 "attempt": attempt, "error": reason,
                                                 "delay_s": round(delay, 3)})
                self._sleep(delay)
        raise AssertionError("unreachable")


def http_session(retries: int = 4, backoff: float = 1.0, pool: int = 8,
                 loopback: bool = False, sleep: Callable[[float], None] = time.sleep
                 ) -> RetryingSession:
    """A pooled session (keep-alive across pages) that retries each request with urllib3's
    ``Retry``: connection errors, read timeouts and resets, and 429/5xx answers (honouring
    ``Retry-After``), with exponential backoff plus jitter; and a cut-off or non-JSON body
    (:class:`RetryingSession`). Only GET is used."""
    retry = Retry(total=retries, connect=retries, read=retries, status=retries, other=0,
                  backoff_factor=backoff, backoff_max=60, backoff_jitter=backoff,
                  status_forcelist=_RETRY_STATUS, allowed_methods=frozenset({"GET"}),
                  respect_retry_after_header=True, raise_on_status=False)
    session = RetryingSession(retries, backoff, sleep)
    adapter = requests.adapters.HTTPAdapter(pool_connections=pool, pool_maxsize=pool,
                                            max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if loopback:
        session.trust_env = False  # never send loopback traffic through an environment proxy
    session.headers["Accept"] = "application/json"
    return session


def _network_error(exc: BaseException) -> str:
    """What went wrong at the network level, after the session's retries: ReadTimeout,
    ConnectTimeout, ConnectionRefused, ConnectionReset, ... (urllib3 wraps the last cause in
    MaxRetryError, which requests reports as a plain ConnectionError)."""
    if isinstance(exc, requests.Timeout):
        return type(exc).__name__
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    text = f"{type(reason).__name__}: {reason}" if reason is not None else str(exc)
    for needle, name in (("ReadTimeout", "ReadTimeout"), ("ConnectTimeout", "ConnectTimeout"),
                         ("Read timed out", "ReadTimeout"), ("refused", "ConnectionRefused"),
                         ("reset", "ConnectionReset"), ("aborted", "ConnectionReset"),
                         ("ProtocolError", "ConnectionReset")):
        if needle in text:
            return name
    return type(exc).__name__


def _attempts(resp: requests.Response) -> int:
    history = getattr(getattr(resp.raw, "retries", None), "history", ()) or ()
    return len(history) + 1


class CbsV4Client:
    """CBS OData v4: ``<base>/CBS/<ID>/Observations`` with $filter/$select, following
    ``@odata.nextLink``; ``MeasureCodes``, ``Dimensions``, ``<Dim>Codes`` and ``Properties``.

    Same interface as :class:`CbsClient` (``table_info``, ``meta``, ``download``, ``url_for``,
    ``catalogue``). Entities are returned as received (keys are not padded in v4); the pure
    reshaping into the v3 shapes the transform reads is in :mod:`pipelines.odata`."""

    api = "v4"

    def __init__(self, config: CbsConfig, sleep: Callable[[float], None] = time.sleep,
                 session: requests.Session | None = None):
        config.validate()
        self.config = config
        self._sleep = sleep
        host = urlsplit(config.v4_url).hostname or ""
        self._loopback = host in ("localhost", "::1") or host.startswith("127.")
        self._session = session or http_session(config.retries, config.backoff,
                                                loopback=self._loopback, sleep=sleep)
        self.requests_made = 0
        self.bytes_received = 0

    @property
    def base(self) -> str:
        return self.config.v4_url.strip().rstrip("/")

    def url_for(self, table: str, entity: str = "") -> str:
        return f"{self.base}/CBS/{table}/{entity}"

    # -- low level -------------------------------------------------------------------------
    def _get(self, table: str, what: str, url: str, params: dict | None = None) -> dict:
        """One GET. The session retries connection errors, timeouts, resets and 429/5xx
        (:func:`http_session`); a body that arrives truncated or is not JSON is asked again here,
        with the same backoff. 404 -> CbsError(kind="not_found") at once."""
        attempts = self.config.retries + 1
        timeout = (self.config.connect_timeout, self.config.read_timeout)
        for attempt in range(1, attempts + 1):
            try:
                self.requests_made += 1
                resp = self._session.get(url, params=params, timeout=timeout)
                self.bytes_received += len(resp.content)
            except BadBody as exc:  # the session asked again already
                raise CbsError(table, "invalid", f"{what}: truncated or invalid JSON "
                               f"({exc.reason}) (after {exc.attempts} attempt(s))") from None
            except (requests.ConnectionError, requests.Timeout) as exc:  # session retried
                raise CbsError(table, "network", f"{what}: {_network_error(exc)} (after "
                               f"{attempts} attempt(s))") from None
            except requests.RequestException as exc:  # body cut off: ChunkedEncodingError, ...
                retry, err = True, CbsError(table, "network", f"{what}: {type(exc).__name__}")
            else:
                if resp.status_code == 404:
                    raise CbsError(table, "not_found",
                                   f"{what}: CBS answers 404 - table or entity does not exist")
                if resp.status_code >= 400:
                    raise CbsError(table, "http", f"{what}: HTTP {resp.status_code} (after "
                                   f"{_attempts(resp)} attempt(s))")
                try:
                    body = resp.json()
                except ValueError as exc:  # requests' JSONDecodeError included
                    retry, err = True, CbsError(table, "invalid",
                                                f"{what}: truncated or invalid JSON ({exc})")
                else:
                    if not isinstance(body, dict):
                        raise CbsError(table, "invalid", f"{what}: unexpected response shape")
                    return body
            if not retry or attempt == attempts:
                raise CbsError(err.table, err.kind,
                               f"{str(err).split(': ', 1)[1]} (after {attempt} attempt(s))")
            delay = self.config.backoff * 2 ** (attempt - 1)
            log.warning("cbs retry", extra={"table": table, "what": what, "attempt": attempt,
                                             "error": str(err), "delay_s": delay, "api": "v4"})
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _values(self, table: str, entity: str, params: dict | None = None) -> list[dict]:
        """An entity set, all pages: follows ``@odata.nextLink`` (an absolute URL that already
        carries the query) until there is none."""
        url, out, pages = self.url_for(table, entity), [], 0
        while url:
            body = self._get(table, entity, url, params)
            value = body.get("value")
            if not isinstance(value, list):
                raise CbsError(table, "invalid", f"{entity}: response has no 'value' list")
            out.extend(value)
            pages += 1
            url, params = body.get("@odata.nextLink"), None
            if pages > 100_000:
                raise CbsError(table, "invalid", f"{entity}: endless @odata.nextLink chain")
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

    def download(self, table: str, select: list[str] | None, filters: str | None
                 ) -> dict[str, list]:
        """Properties, Dimensions, MeasureCodes, every ``<Dim>Codes`` and the Observations
        restricted by $filter/$select, as received (Properties as a one-element list)."""
        props = self.properties(table)
        dims = self._values(table, "Dimensions")
        entities: dict[str, list] = {"Properties": [props], "Dimensions": dims,
                                     "MeasureCodes": self._values(table, "MeasureCodes")}
        for d in dims:
            ident = d.get("Identifier")
            if ident and d.get("ContainsCodes", True) is not False:
                entities[f"{ident}Codes"] = self._values(table, f"{ident}Codes")
        params = {}
        if filters:
            params["$filter"] = filters
        if select:
            params["$select"] = ",".join(select)
        entities["Observations"] = self._values(table, "Observations", params or None)
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
