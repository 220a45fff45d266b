"""The map stage of a refresh: gemeente boundaries for the snapshot, beside :mod:`geo` (which
fetches them from PDOK).

Reuses the published map when its gemeenten still fit, fetches otherwise; maps for earlier years
whose gemeenten differ from today's (series shown on the boundaries of their year). A failure
keeps the previous map (or none) and is reported in the manifest (``boundaries``,
``boundaries_by_year``: :class:`snapshot.MapEntry` / :class:`snapshot.YearMap`), never fatal.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pandas as pd

from . import geo, snapshot
from .catalog import Catalog
from .fileio import utcnow
from .history import History

log = logging.getLogger(__name__)


def _plain(entry: snapshot.MapEntry | None) -> dict:
    """A published map entry as the dict this module works with (only what it says)."""
    return entry.model_dump(exclude_defaults=True) if entry is not None else {}


def boundaries(catalog: Catalog, regions: pd.DataFrame, cur_manifest: snapshot.Manifest | None,
               root: Path, geo_url: str | None, force: bool
               ) -> tuple[bytes | None, snapshot.MapEntry]:
    """Map boundaries for the current gemeenten: reuse the published ones when they still fit,
    otherwise fetch. A failure keeps the previous map (or none) and is reported, not fatal."""
    codes = set(regions.loc[(regions["level"] == "GM") & regions["is_current"], "code"])
    prev_meta = _plain(cur_manifest.boundaries if cur_manifest else None)
    body, meta = _map_for(catalog.reference_year, codes, snapshot.BOUNDARIES, prev_meta,
                          cur_manifest, root, geo_url, force)
    return body, snapshot.MapEntry(**meta)


def historical_boundaries(catalog: Catalog, regions: pd.DataFrame, history: History,
                          cur_manifest: snapshot.Manifest | None, root: Path,
                          geo_url: str | None, force: bool
                          ) -> tuple[dict[str, bytes], dict[str, snapshot.YearMap]]:
    """Maps for earlier years whose gemeenten differ from today's (for series shown on the
    boundaries of their year): one per distinct gemeente set, named gemeenten_<year>.geojson.
    Missing maps are reported in the manifest; the dashboard then says it has no map."""
    current = set(regions.loc[(regions["level"] == "GM") & regions["is_current"], "code"])
    files, metas = {}, {}
    seen: dict[frozenset, str | None] = {frozenset(current): None}  # set -> key of its map entry
    prev_all = cur_manifest.boundaries_by_year if cur_manifest else {}
    for year in range(catalog.reference_year - 1, history.history_from - 2, -1):
        codes = frozenset(history.codes_in_year(year, current, catalog.reference_year))
        if codes in seen:
            if seen[codes] is not None:  # same gemeenten as a later year: that map serves
                metas[seen[codes]]["years"].append(year)
            continue
        seen[codes] = key = str(year)
        name = f"gemeenten_{year}.geojson"
        prev = _plain(prev_all.get(key))
        body, meta = _map_for(year, set(codes), name, prev, cur_manifest, root, geo_url, force,
                              years_around=0)
        metas[key] = {**meta, "file": name if body else None, "gemeenten": len(codes),
                      "years": [year]}
        if body:
            files[name] = body
    return files, {k: snapshot.YearMap(**m) for k, m in metas.items()}


def _map_for(year: int, codes: set[str], name: str, prev_meta: dict,
             cur_manifest: snapshot.Manifest | None,
             root: Path, geo_url: str | None, force: bool, years_around: int = 2
             ) -> tuple[bytes | None, dict]:
    sha = hashlib.sha256(",".join(sorted(codes)).encode()).hexdigest()[:16]
    if prev_meta.get("error") and prev_meta.get("codes_sha") == sha and not force:
        return None, prev_meta  # known to be unavailable: do not ask again every night
    prev, prev_codes = None, set()
    if cur_manifest and prev_meta.get("year"):
        path = root / "snapshots" / cur_manifest.snapshot_id / name
        try:
            prev = path.read_bytes()
            prev_codes = {f["properties"]["statcode"] for f in json.loads(prev)["features"]}
        except (OSError, ValueError, KeyError):
            prev, prev_codes = None, set()
        if prev is not None and prev_codes == codes and not force:
            return prev, prev_meta
    try:
        body, meta = geo.fetch_boundaries(geo.url_template(geo_url), year, codes,
                                          years_around=years_around)
        meta.update(fetched_at=utcnow(), codes_sha=sha)
        log.info("boundaries fetched", extra=meta)
        return body, meta
    except geo.GeoError as exc:
        log.warning("boundaries not updated", extra={"year": year, "error": str(exc)})
        if prev is not None and prev_codes == codes:
            return prev, {**prev_meta, "stale": True, "error": str(exc)}
        return None, {"data_year": year, "error": str(exc), "codes_sha": sha,
                      "checked_at": utcnow()}
