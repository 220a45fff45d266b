"""Gemeente boundaries for the dashboard's maps (PDOK / CBS gebiedsindelingen, generalised).

The URL is a template with ``{year}``: env ``GEO_URL`` or ``--geo-url``; default PDOK's WFS in
WGS84. For the year of the data we try that year, then the nearest other years, and keep the first
whose ``statcode`` set equals the current gemeenten exactly (no gemeente changed in between, so
the map is right). Coordinates are rounded to keep the map payload small (< 500 KB).

This module only matches years and shapes the map; the HTTP request is made by
:meth:`pipelines.cbs.CbsClient.boundary_file` (a :class:`Source`'s ``get``), through the same
session, timeouts and retry layer as every request to CBS.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .cbs import CbsError

log = logging.getLogger(__name__)

ENV_URL = "GEO_URL"
DEFAULT_URL = ("https://service.pdok.nl/cbs/gebiedsindelingen/{year}/wfs/v1_0?request=GetFeature"
               "&service=WFS&version=2.0.0&typeName=gebiedsindelingen:gemeente_gegeneraliseerd"
               "&outputFormat=application/json&srsName=EPSG:4326")
MAX_BYTES = 500_000
WIJK_ENV_URL = "WIJK_GEO_URL"  # wijk boundaries (CBS wijk- en buurtkaart) per year
WIJK_MAX_BYTES = 4_000_000  # ~3,300 wijken: the whole country at 4-5 decimals


class GeoError(RuntimeError):
    """No year's boundaries fit. ``missing``: the service has no file for any year tried (404),
    rather than a file that does not fit or a service that failed."""

    def __init__(self, message: str, missing: bool = False):
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Source:
    """Where boundary files come from: the URL template with ``{year}`` and ``get(url)`` -> the
    parsed GeoJSON, None when there is no such file (404); other failures raise CbsError."""

    template: str
    get: Callable[[str], dict | None]

    @property
    def host(self) -> str:
        parts = urlsplit(self.template)
        return parts.netloc or self.template

    @property
    def is_local(self) -> bool:
        host = urlsplit(self.template).hostname or ""
        return host in ("localhost", "::1") or host.startswith("127.")


def url_template(arg: str | None = None) -> str:
    return arg or os.environ.get(ENV_URL) or DEFAULT_URL


def wijk_url_template(gemeente_template: str, arg: str | None = None) -> str:
    """The wijk boundaries' URL template: ``arg``, ``WIJK_GEO_URL``, or the gemeente template
    with ``gemeente_`` read as ``wijk_`` (PDOK's typeName ``wijk_gegeneraliseerd``; the
    stand-in's ``wijk_<year>.geojson``)."""
    return arg or os.environ.get(WIJK_ENV_URL) or gemeente_template.replace("gemeente_", "wijk_")


def _round(coords, nd: int):
    if isinstance(coords, (int, float)):
        return round(coords, nd)
    out = [_round(c, nd) for c in coords]
    if out and isinstance(out[0], list) and out and isinstance(out[0][0], float):
        # a ring: drop points that became duplicates after rounding (keep closure)
        ring = [out[0]] + [p for a, p in zip(out, out[1:], strict=False) if p != a]
        return ring if len(ring) >= 4 else out
    return out


def simplify(fc: dict, max_bytes: int = MAX_BYTES) -> bytes:
    """Keep only statcode/statnaam and round coordinates until the payload fits."""
    for nd in (5, 4, 3):
        feats = []
        for f in fc.get("features", []):
            p = f.get("properties") or {}
            feats.append({"type": "Feature", "id": p.get("statcode"),
                          "properties": {"statcode": p.get("statcode"),
                                         "statnaam": p.get("statnaam")},
                          "geometry": {"type": f["geometry"]["type"],
                                       "coordinates": _round(f["geometry"]["coordinates"], nd)}})
        body = json.dumps({"type": "FeatureCollection", "features": feats},
                          separators=(",", ":"), ensure_ascii=False).encode()
        if len(body) <= max_bytes:
            return body
    return body


def fetch_boundaries(source: Source, year: int, codes: set[str], years_around: int = 2
                     ) -> tuple[bytes, dict]:
    """Return (geojson bytes, provenance). Raises GeoError when no year matches ``codes``."""
    tried, absent = [], 0
    candidates = [year] + [y for d in range(1, years_around + 1) for y in (year + d, year - d)]
    for y in candidates:
        url = source.template.format(year=y)
        try:
            fc = source.get(url)
        except CbsError as exc:  # already retried; "<what>: HTTP 503 (after 5 attempt(s))"
            tried.append(f"{y}: {str(exc).split(': ', 2)[-1]}")
            continue
        if fc is None:
            tried.append(f"{y}: 404")
            absent += 1
            continue
        got = {str((f.get("properties") or {}).get("statcode", "")).strip()
               for f in fc.get("features", [])}
        if got != codes:
            tried.append(f"{y}: {len(got ^ codes)} gemeente codes differ")
            continue
        body = simplify(fc)
        return body, {"year": y, "data_year": year, "url": url, "features": len(got),
                      "bytes": len(body)}
    raise GeoError("no gemeente boundaries match the gemeenten of "
                   f"{year} ({'; '.join(tried)})", missing=absent == len(candidates))
