"""The map stage of a refresh: gemeente boundaries for the snapshot, beside :mod:`geo` (which
matches a year's boundary file to the gemeenten; the file comes through cbs.py's session).

Reuses the published map when its gemeenten still fit, fetches otherwise; maps for earlier years
whose gemeenten differ from today's (series shown on the boundaries of their year). A failure
keeps the previous map (or none) and is reported in the manifest (``boundaries``,
``boundaries_by_year``: :class:`snapshot.MapEntry` / :class:`snapshot.YearMap`), never fatal.
Earlier years without a map are expected where the boundary service lacks their files (the
development mirror has only a few): they are explained in one warning, in plain words, not one
per year.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pandas as pd

from . import geo, logs, snapshot
from .catalog import Catalog
from .fileio import utcnow
from .history import History

log = logging.getLogger(__name__)


def _plain(entry: snapshot.MapEntry | None) -> dict:
    """A published map entry as the dict this module works with (only what it says)."""
    return entry.model_dump(exclude_defaults=True) if entry is not None else {}


def boundaries(catalog: Catalog, regions: pd.DataFrame, cur_manifest: snapshot.Manifest | None,
               root: Path, source: geo.Source, force: bool
               ) -> tuple[bytes | None, snapshot.MapEntry]:
    """Map boundaries for the current gemeenten: reuse the published ones when they still fit,
    otherwise fetch. A failure keeps the previous map (or none) and is reported, not fatal."""
    codes = set(regions.loc[(regions["level"] == "GM") & regions["is_current"], "code"])
    prev_meta = _plain(cur_manifest.boundaries if cur_manifest else None)
    body, meta = _map_for(catalog.reference_year, codes, snapshot.BOUNDARIES, prev_meta,
                          cur_manifest, root, source, force)
    return body, snapshot.MapEntry(**meta)


def historical_boundaries(catalog: Catalog, regions: pd.DataFrame, history: History,
                          cur_manifest: snapshot.Manifest | None, root: Path,
                          source: geo.Source, force: bool
                          ) -> tuple[dict[str, bytes], dict[str, snapshot.YearMap]]:
    """Maps for earlier years whose gemeenten differ from today's (for series shown on the
    boundaries of their year): one per distinct gemeente set, named gemeenten_<year>.geojson.
    Missing maps are reported in the manifest; the dashboard then says it has no map. Those
    not fetched this time are explained in one warning (:func:`explain_missing`)."""
    current = set(regions.loc[(regions["level"] == "GM") & regions["is_current"], "code"])
    files, metas = {}, {}
    seen: dict[frozenset, str | None] = {frozenset(current): None}  # set -> key of its map entry
    prev_all = cur_manifest.boundaries_by_year if cur_manifest else {}
    failed: list[tuple[int, geo.GeoError]] = []
    for year in range(catalog.reference_year - 1, history.history_from - 2, -1):
        codes = frozenset(history.codes_in_year(year, current, catalog.reference_year))
        if codes in seen:
            if seen[codes] is not None:  # same gemeenten as a later year: that map serves
                metas[seen[codes]]["years"].append(year)
            continue
        seen[codes] = key = str(year)
        name = f"gemeenten_{year}.geojson"
        prev = _plain(prev_all.get(key))
        body, meta = _map_for(year, set(codes), name, prev, cur_manifest, root, source, force,
                              years_around=0, failed=failed)
        metas[key] = {**meta, "file": name if body else None, "gemeenten": len(codes),
                      "years": [year]}
        if body:
            files[name] = body
    explain_missing(failed, metas, source)
    return files, {k: snapshot.YearMap(**m) for k, m in metas.items()}


def explain_missing(failed: list[tuple[int, geo.GeoError]], metas: dict, source: geo.Source
                    ) -> None:
    """One warning for the earlier years left without a map this run: which (with the years
    that share their gemeenten), why, and what the dashboard does then. Each year's own error
    is a detail line (JSON)."""
    if not failed:
        return
    years = sorted({y for f, _ in failed for y in metas.get(str(f), {}).get("years", [f])})
    absent = all(e.missing for _, e in failed)
    if absent:
        why = f"the boundary service ({source.host}) has no file for them (HTTP 404)"
        if source.is_local:
            why += "; a local mirror holds only the boundary files it was given"
    else:
        why = "the boundary service could not deliver a fitting file: " + str(failed[0][1])
    text = (f"No gemeente map for {len(years)} earlier year(s) ({_spans(years)}): {why}.\n"
            "        The dashboard shows those years' figures on their own boundaries without a "
            "map (it says so); on today's boundaries every year has a map.")
    log.warning("no map for earlier years", extra={"years": years, "missing_files": absent,
                                                    "reason": why, "_text": text})


def _spans(years: list[int]) -> str:
    """[2010, 2011, 2012, 2014] -> '2010-2012, 2014'."""
    out, start = [], None
    for i, y in enumerate(years):
        start = y if start is None else start
        if i + 1 == len(years) or years[i + 1] != y + 1:
            out.append(str(y) if start == y else f"{start}-{y}")
            start = None
    return ", ".join(out)


def _map_for(year: int, codes: set[str], name: str, prev_meta: dict,
             cur_manifest: snapshot.Manifest | None, root: Path, source: geo.Source, force: bool,
             years_around: int = 2, failed: list[tuple[int, geo.GeoError]] | None = None
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
        body, meta = geo.fetch_boundaries(source, year, codes, years_around=years_around)
        meta.update(fetched_at=utcnow(), codes_sha=sha)
        log.info("boundaries fetched", extra={
            **meta, "_text": f"map of the gemeenten of {meta['year']}: {meta['features']} "
                             f"gemeenten ({meta['bytes']:,} bytes)"})
        return body, meta
    except geo.GeoError as exc:
        kept = prev is not None and prev_codes == codes
        if failed is not None and not kept:  # explained with the other years: explain_missing
            failed.append((year, exc))
            logs.detail(log, "boundaries not updated", level=logging.WARNING, year=year,
                        error=str(exc))
        else:
            log.warning("boundaries not updated", extra={"year": year, "error": str(exc), "_text": (
                f"Map of the gemeenten of {year} not updated ({exc}); the published one still "
                "fits and is kept." if kept else f"No map of the gemeenten of {year} ({exc}). "
                "The dashboard shows the figures without a map.")})
        if kept:
            return prev, {**prev_meta, "stale": True, "error": str(exc)}
        return None, {"data_year": year, "error": str(exc), "codes_sha": sha,
                      "checked_at": utcnow()}
