"""CBS OData v3 access: the only module that imports ``cbsodata``.

- The base URL is configurable (``CBS_ODATA_URL`` / ``--cbs-url``) so tests and development can
  point at the local stand-in (``python -m pipelines.standin``); default is the real CBS over https.
- Every request has a timeout; connection errors, timeouts, 5xx/429 answers and truncated JSON are
  retried with exponential backoff. 404 means the table (or entity) does not exist.
- We use ``download_data`` / ``get_meta`` / ``get_info``, never ``get_data``: dimension keys stay
  codes (GM0363), not titles. Padding is stripped later, in the transform step.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import cbsodata
import requests

log = logging.getLogger(__name__)

DEFAULT_URL = "https://opendata.cbs.nl"
ENV_URL = "CBS_ODATA_URL"


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

    @classmethod
    def from_env(cls, url: str | None = None, **kw) -> CbsConfig:
        return cls(base_url=url or os.environ.get(ENV_URL) or DEFAULT_URL, **kw)

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
        parts = urlsplit(self._normalised)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"CBS URL {self.base_url!r} is not an http(s) URL")


def _status(exc: BaseException) -> int | None:
    """HTTP status of a (cbsodata-wrapped) HTTPError; cbsodata keeps the response on __cause__."""
    for e in (exc, exc.__cause__):
        resp = getattr(e, "response", None)
        if resp is not None:
            return resp.status_code
    return None


class CbsClient:
    def __init__(self, config: CbsConfig, sleep: Callable[[float], None] = time.sleep):
        config.validate()
        self.config = config
        self._sleep = sleep
        self.requests_made = 0

    # -- low level -------------------------------------------------------------------------
    def _kwargs(self) -> dict:
        kw = {"timeout": (self.config.connect_timeout, self.config.read_timeout)}
        if self.config.is_loopback:
            kw["proxies"] = {}  # never send loopback traffic through an environment proxy
        return kw

    def _call(self, table: str, what: str, fn: Callable):
        cbsodata.options.use_https = self.config.use_https
        attempts = self.config.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return fn()
            except requests.HTTPError as exc:
                status = _status(exc)
                if status == 404:
                    raise CbsError(table, "not_found",
                                   f"{what}: CBS answers 404 - table or entity does not exist") from None
                retry = status is None or status >= 500 or status == 429
                err = CbsError(table, "http", f"{what}: HTTP {status}")
            except (requests.ConnectionError, requests.Timeout) as exc:
                retry, err = True, CbsError(table, "network", f"{what}: {type(exc).__name__}")
            except requests.RequestException as exc:  # e.g. ChunkedEncodingError
                retry, err = True, CbsError(table, "network", f"{what}: {type(exc).__name__}")
            except (json.JSONDecodeError, ValueError) as exc:
                retry, err = True, CbsError(table, "invalid", f"{what}: truncated or invalid JSON ({exc})")
            except (KeyError, TypeError) as exc:
                raise CbsError(table, "invalid", f"{what}: unexpected response shape ({exc})") from None
            if not retry or attempt == attempts:
                raise CbsError(err.table, err.kind,
                               f"{str(err).split(': ', 1)[1]} (after {attempt} attempt(s))") from None
            delay = self.config.backoff * 2 ** (attempt - 1)
            log.warning("cbs retry", extra={"table": table, "what": what, "attempt": attempt,
                                             "error": str(err), "delay_s": delay})
            self._sleep(delay)
        raise AssertionError("unreachable")

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

    def naive_get_data(self, table: str) -> list[dict]:
        """What a naive script does: ``cbsodata.get_data`` of the whole table (all rows, columns,
        titles instead of codes). Only the benchmark uses it, as the baseline to beat."""
        return self._call(table, "get_data", lambda: cbsodata.get_data(
            table, catalog_url=self.config.catalog_url, **self._kwargs()))
