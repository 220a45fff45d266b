"""The only module that loads data. Read-only over the published snapshot (``current``).

Every script run reads the current snapshot id (one ``readlink``) and passes it as the cache key,
so a new nightly snapshot is picked up without a restart, while the frames are loaded once per
process and shared by all sessions (``st.cache_resource``). Callers must never mutate what these
functions return.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.core import briefing, compute
from dashboard.core import format as fmt
from dashboard.core.dashdata import DashData, bounds, build, map_entry, read_geojson
from pipelines import runs, snapshot

log = logging.getLogger(__name__)


def data_root() -> Path:
    return snapshot.data_dir()


def current_snapshot_id(root: Path | None = None) -> str | None:
    return snapshot.current_id(root or data_root())


@st.cache_resource(max_entries=2, show_spinner="Cijfers laden…")
def _load(root: str, snapshot_id: str) -> DashData:
    log.info("loading snapshot %s from %s", snapshot_id, root)
    gc.unfreeze()  # a previous snapshot, once evicted, can be collected again
    data = build(snapshot.load_snapshot(Path(root), snapshot_id, verify=False))  # see _problems
    key = f"{data.snapshot_id}@{data.path}"
    data = dataclasses.replace(data, memo=lambda kind, k, fn: _per_view(key, kind, k, fn))
    freeze_long_lived()
    return data


def freeze_long_lived() -> None:
    """Move what is alive now (imported libraries, the loaded snapshot with its map geometry)
    out of the cyclic garbage collector's way (``gc.freeze``). Streamlit collects garbage after
    every script run (``runner.postScriptGC``); without this each collection walks the whole
    long-lived heap, about a third of the server CPU of a page view. What a view creates is
    still collected as before."""
    gc.collect()
    gc.freeze()


@st.cache_data(max_entries=32, show_spinner=False)
def _problems(root: str, snapshot_id: str) -> tuple[str, ...]:
    """Integrity problems of one snapshot (its manifest against the snapshot contract, size and
    sha256 of every file against the manifest), checked once per snapshot id and process: a
    snapshot is never changed after publishing."""
    return tuple(snapshot.verify_snapshot(Path(root), snapshot_id))


def damaged_notice(damaged: str, shown: DashData) -> str:
    """Plain Dutch for the visitor; the snapshot ids are in the log and the footer."""
    log.warning("showing snapshot %s instead of damaged %s", shown.snapshot_id, damaged)
    return ("Let op: de nieuwste cijfers zijn beschadigd of onleesbaar en worden niet getoond. U "
            f"ziet de vorige versie, van {fmt.datetime_nl(shown.manifest.published_at)}. De "
            "volgende verversing publiceert de nieuwste cijfers opnieuw.")


# --------------------------------------------------------------------------- shared work
# Work that is the same for every visitor (a map of an indicator and year, a ranking, a
# gemeente's key figures) is done once per snapshot in this process and shared by all sessions:
# a meeting where 50 people open the same link builds each figure once. Keys start with the
# snapshot (id and path), so a new nightly snapshot gets new entries; max_entries bounds the
# memory and evicts the least recently used (old snapshots' entries go first). Results are
# shared objects: callers must never mutate them.

# Bounds (entry sizes measured on the real-data snapshot): a map ~20 kB (its boundaries are
# shared with the snapshot), a ranking ~50 kB, a gemeente's series ~0.3 MB, a rendered ranking
# table ~1.5 MB; at most ~60 MB per process when every bound is reached (benchmarks/load.py:
# memory after a meeting should return to within 20% of the start).
PER_SNAPSHOT_ENTRIES = 96   # maps and rankings: indicators x years x boundaries
PER_VIEW_ENTRIES = 128      # per gemeente: key figures, time series, peer sets
PER_VIEW_LARGE_ENTRIES = 8  # per gemeente, large: rendered tables (the shared link's)
PER_SNAPSHOT_LARGE_ENTRIES = 16  # the same for everyone, large: rendered ranking tables


@st.cache_resource(max_entries=PER_SNAPSHOT_ENTRIES, show_spinner=False)
def _per_snapshot(snapshot: str, kind: str, key: tuple, _build: Callable[[], Any]) -> Any:
    return _build()


@st.cache_resource(max_entries=PER_SNAPSHOT_LARGE_ENTRIES, show_spinner=False)
def _per_snapshot_large(snapshot: str, kind: str, key: tuple, _build: Callable[[], Any]) -> Any:
    return _build()


@st.cache_resource(max_entries=PER_VIEW_ENTRIES, show_spinner=False)
def _per_view(snapshot: str, kind: str, key: tuple, _build: Callable[[], Any]) -> Any:
    return _build()


@st.cache_resource(max_entries=PER_VIEW_LARGE_ENTRIES, show_spinner=False)
def _per_view_large(snapshot: str, kind: str, key: tuple, _build: Callable[[], Any]) -> Any:
    return _build()


def _snapshot_key(data: DashData) -> str:
    return f"{data.snapshot_id}@{data.path}"


def per_snapshot(data: DashData, kind: str, key: tuple, build: Callable[[], Any], *,
                 large: bool = False) -> Any:
    """``build()`` once per (snapshot, kind, key) in this process, shared by all sessions. For
    what is the same for every gemeente (``key`` must hold every input ``build`` reads besides
    the snapshot, as plain values); ``large``: entries of a MB or more (a rendered table), kept
    in a smaller cache."""
    return (_per_snapshot_large if large else _per_snapshot)(_snapshot_key(data), kind, key,
                                                             build)


def per_view(data: DashData, kind: str, key: tuple, build: Callable[[], Any], *,
             large: bool = False) -> Any:
    """As :func:`per_snapshot`, for what depends on the gemeente or another per-view choice
    (a separate bound, so those entries do not evict the maps); ``large``: entries of a MB or
    more (a rendered table), kept in a smaller cache."""
    return (_per_view_large if large else _per_view)(_snapshot_key(data), kind, key, build)


def load_current() -> tuple[DashData | None, str | None]:
    """(data, None) or (None, Dutch reason). Cheap when the snapshot is already cached.

    A damaged ``current`` (a file truncated, overwritten or missing) or one that does not fit
    the snapshot contract (a manifest key renamed, a column missing) is never shown: the newest
    usable earlier snapshot is, with ``notice`` saying so. The reason is logged in full."""
    root = data_root()
    sid = current_snapshot_id(root)
    if not sid:
        return None, None
    key = str(root.resolve())
    problems = _problems(key, sid)
    if not problems:
        try:
            return _load(key, sid), None
        except snapshot.NoSnapshot as exc:  # incl. ContractError
            problems = (str(exc),)
    log.error("snapshot %s is damaged: %s", sid, "; ".join(problems))
    for earlier in reversed([s for s in snapshot.snapshot_ids(root) if s < sid]):
        if _problems(key, earlier):
            continue
        try:
            data = _load(key, earlier)
        except snapshot.NoSnapshot:
            continue
        return dataclasses.replace(data, notice=damaged_notice(sid, data)), None
    return None, ("De gepubliceerde snapshot is beschadigd of onleesbaar en er is geen eerdere, "
                  "bruikbare versie.")


@st.cache_resource(max_entries=16, show_spinner=False)
def _year_geo(path: str) -> tuple[dict[str, dict] | None, tuple | None]:
    features = read_geojson(Path(path))
    return features, bounds(features)


def year_geo(data: DashData, year: int | None) -> tuple[dict[str, dict] | None, tuple | None,
                                                        str | None]:
    """(features, bounds, map year) of the map for the gemeenten of ``year``: an earlier-year
    map when the snapshot has one, else (None, None, reason) when it should exist but is
    missing, else the reference map."""
    hit = map_entry(data.manifest, year)
    if hit is None:
        year_of_map = data.manifest.boundaries.year if data.manifest.boundaries else None
        return data.geo, data.geo_bounds, str(year_of_map or "nu")
    key, meta = hit
    if not meta.file:
        return None, None, key
    features, bnds = _year_geo(str(data.path / meta.file))
    return features, bnds, key


@st.cache_resource(max_entries=2, show_spinner=False)
def _briefing_source(root: str, snapshot_id: str) -> briefing.Source:
    d = _load(root, snapshot_id)
    by_ind = d.view("huidig")
    return briefing.Source(d.snapshot_id, d.manifest, d.regions, by_ind, d.indicators,
                           "current" if d.has_current else "historical", d.lags,
                           d.gaps if d.has_current else None,
                           _wijk_frame(str(d.path), snapshot_id), d.region_history)


@st.cache_data(max_entries=32, show_spinner="Briefing maken…")
def _briefing_pdf(root: str, snapshot_id: str, gemeente: str, peers_method: str,
                  group: tuple[str, ...] = (), group_text: str = "") -> bytes:
    d = _load(root, snapshot_id)
    peer = (compute.selection_peers(group, gemeente, group_text) if group
            else compute.peer_set(d.peers, d.regions, gemeente, peers_method))
    return briefing.render(_briefing_source(root, snapshot_id), gemeente, peer)


def briefing_pdf(data: DashData, gemeente: str, peers_method: str,
                 group: tuple[str, ...] = (), group_text: str = "") -> bytes:
    """The one-page tagged PDF briefing of ``gemeente`` (built from the cached snapshot, once per
    snapshot, gemeente and peer choice). ``group``: the Vergelijken selection as the comparison
    group instead of the comparable gemeenten (``group_text`` says what defines it)."""
    return _briefing_pdf(str(data_root().resolve()), data.snapshot_id, gemeente, peers_method,
                         tuple(group), group_text)


@st.cache_data(max_entries=4, show_spinner=False)
def _runs(path: str, mtime_ns: int) -> list[dict]:
    return runs.read_runs(Path(path), last=50)


def run_history() -> list[dict]:
    """The pipeline's run records (newest last); re-read only when runs.jsonl changes. The
    history only adds to a page (footer, "Over de data"): whatever is wrong with it, the page
    renders without it (``runs.read_runs`` skips bad lines with a warning naming the line)."""
    root = data_root()
    try:
        mtime = (root / "runs.jsonl").stat().st_mtime_ns
        return _runs(str(root.resolve()), mtime)
    except FileNotFoundError:  # no refresh has run here yet
        return []
    except Exception:  # noqa: BLE001 - never a reason for a page to fail
        log.exception("run history %s not read; pages show none", root / "runs.jsonl")
        return []


@st.cache_resource(max_entries=2, show_spinner=False)
def _wijk_frame(path: str, snapshot_id: str):
    f = Path(path) / snapshot.WIJK_OBSERVATIONS.file
    if not f.exists():
        return None
    import pandas as pd  # only for the wijk table; the snapshot contract checks it
    try:
        return snapshot.WIJK_OBSERVATIONS.check(pd.read_parquet(f), f"{snapshot_id}/{f.name}")
    except Exception as exc:  # noqa: BLE001 - a damaged optional table must not stop a page
        log.warning("optional table %s unreadable: %s", f.name, exc)
        return None


def wijk_frame(data: DashData):
    """The snapshot's wijk rows (``wijk_observations``), None in snapshots without them."""
    return _wijk_frame(str(data.path), data.snapshot_id)


@st.cache_resource(max_entries=4, show_spinner=False)
def _wijk_geo(path: str) -> dict[str, dict] | None:
    return read_geojson(Path(path))


def wijk_geo(data: DashData, year: int, codes: tuple[str, ...]
             ) -> tuple[dict[str, dict] | None, tuple | None]:
    """(features, bounds) of ``codes`` on the wijk map of ``year``: the gemeente's own bounds,
    so the map shows the gemeente, not the country. (None, None) without a map."""
    features = _wijk_geo(str(data.path / f"wijken_{year}.geojson"))
    if not features:
        return None, None
    mine = {c: features[c] for c in codes if c in features}
    return (mine, bounds(mine)) if mine else (None, None)
