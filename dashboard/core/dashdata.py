"""The dashboard's read-only view of one published snapshot (pure: no streamlit).

:func:`build` derives from a loaded snapshot (``pipelines.snapshot``: the typed manifest and the
tables, checked against the snapshot contract) what every page needs: observations per
indicator (as published and on current gemeente boundaries), the current gemeenten and their
names, the map features, the freshness rules. The manifest and its indicator entries stay the
contract's frozen models (``data.manifest.tables``, ``meta.unit``): a key the pipeline renamed
is an error when the snapshot is loaded, not a silent "geen gegevens" on a page. The UI's loader
(``dashboard/ui/data.py``) caches one :class:`DashData` per snapshot and process and hands it a
``memo`` for work shared by sessions. Callers must never mutate what it holds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.core import compute, state
from dashboard.core import presentation as pr
from pipelines.history import History
from pipelines.snapshot import BOUNDARIES, IndicatorEntry, Manifest, Snapshot, YearMap

log = logging.getLogger(__name__)
GEOJSON_NAME = BOUNDARIES
GEO_DECIMALS = 4  # ~10 m; plenty for a national choropleth and keeps the payload small


@dataclass(frozen=True)
class DashData:
    snapshot_id: str
    path: Path
    manifest: Manifest
    observations: pd.DataFrame
    regions: pd.DataFrame
    indicators: dict[str, IndicatorEntry]   # id -> manifest entry, catalogue order, with data
    by_indicator: dict[str, pd.DataFrame]   # id -> its observations
    gemeenten: pd.DataFrame                 # current gemeenten, sorted by name
    names: dict[str, str]                   # region code -> plain name
    levels: dict[str, str]                  # region code -> level
    geo: dict[str, dict] | None             # GM code -> GeoJSON feature (None: no map)
    geo_bounds: tuple[float, float, float, float] | None  # lon0, lat0, lon1, lat1
    known: state.Known
    # optional tables of newer snapshots (None in older ones)
    by_indicator_current: dict[str, pd.DataFrame] | None = None  # on current boundaries
    peers: pd.DataFrame | None = None
    region_history: pd.DataFrame | None = None
    gaps: pd.DataFrame | None = None  # values that could not be put on current boundaries
    lags: pr.Lags | None = None  # freshness rules of this snapshot (presentation.lags)
    notice: str | None = None  # set when this is a fallback because `current` is damaged
    # shared work: memo(kind, key, build) -> build() once (the UI passes its per-snapshot cache;
    # without one, every call builds)
    memo: Callable[[str, tuple, Callable[[], Any]], Any] = field(default=None, repr=False,
                                                                  compare=False)

    def indicators_of(self, theme: str) -> dict[str, IndicatorEntry]:
        return {k: m for k, m in self.indicators.items() if m.theme == theme}

    @property
    def has_current(self) -> bool:
        return self.by_indicator_current is not None

    def view(self, grenzen: str) -> dict[str, pd.DataFrame]:
        """Observations per indicator for the chosen boundaries: 'huidig' (current gemeente
        boundaries, when the snapshot has them) or 'historisch' (as CBS published them)."""
        if grenzen == "huidig" and self.by_indicator_current is not None:
            return self.by_indicator_current
        return self.by_indicator

    def boundary_note(self, code: str) -> str | None:
        harm = self.manifest.harmonisation
        note = harm.boundary_notes.get(code) if harm else None
        return compute.names_in(note, self.regions) if note else note

    def profile(self, grenzen: str, gemeente: str, peer: compute.Peers) -> list[dict]:
        """The key figures of ``gemeente`` with the presentation rules applied (see
        compute.key_figure): the page model of Overzicht, the exports and the briefing.
        Computed once per snapshot, boundaries, gemeente and peer set in this process and shared
        by all sessions (``memo``); do not mutate the result."""
        current = grenzen == "huidig" and self.has_current
        return self._memo("profile", (current, gemeente, peer.method, peer.codes),
                        lambda: compute.profile(self.view(grenzen), self.regions, self.indicators,
                                                gemeente, peer, lags=self.lags,
                                                manifest=self.manifest,
                                                gaps=self.gaps if current else None))

    def _memo(self, kind: str, key: tuple, build: Callable[[], Any]) -> Any:
        return self.memo(kind, key, build) if self.memo is not None else build()

    def peer_set(self, gemeente: str, method: str) -> compute.Peers:
        """compute.peer_set of ``gemeente``, once per snapshot (shared by all sessions)."""
        return self._memo("peers", (gemeente, method),
                        lambda: compute.peer_set(self.peers, self.regions, gemeente, method))


def _round(coords, nd: int):
    if isinstance(coords, (int, float)):
        return round(coords, nd)
    return [_round(c, nd) for c in coords]


def read_geojson(path: Path) -> dict[str, dict] | None:
    """GM code -> feature (coordinates rounded, only statcode/statnaam kept); None if absent."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("unreadable %s: %s", path, exc)
        return None
    out = {}
    for f in raw.get("features", []):
        props = f.get("properties") or {}
        code = props.get("statcode")
        geom = f.get("geometry")
        if not code or not geom:
            continue
        out[code] = {"type": "Feature", "id": code,
                     "properties": {"statcode": code, "statnaam": props.get("statnaam", code)},
                     "geometry": {"type": geom["type"],
                                  "coordinates": _round(geom["coordinates"], GEO_DECIMALS)}}
    return out or None


def bounds(features: dict[str, dict] | None) -> tuple[float, float, float, float] | None:
    if not features:
        return None
    xs: list[float] = []
    ys: list[float] = []

    def walk(c) -> None:
        if isinstance(c[0], (int, float)):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for sub in c:
                walk(sub)

    for f in features.values():
        walk(f["geometry"]["coordinates"])
    return min(xs), min(ys), max(xs), max(ys)


def build(snap: Snapshot) -> DashData:
    """Derive the read-only structures the pages use from a loaded snapshot (pure)."""
    obs = snap.observations
    regions = snap.regions
    by_ind = {iid: g.sort_values(["region_code", "period"]).reset_index(drop=True)
              for iid, g in obs.groupby("indicator", sort=False)}
    indicators = {m.id: m for m in snap.manifest.indicators if m.enabled and m.id in by_ind}
    gemeenten = compute.current_gemeenten(regions).reset_index(drop=True)
    uniq = regions.drop_duplicates("code")
    names = dict(zip(uniq["code"], uniq["name"], strict=True))
    levels = dict(zip(uniq["code"], uniq["level"], strict=True))
    current = regions[regions["is_current"].astype(bool)]
    history = _optional(snap, "region_history")
    known = state.Known(
        gemeenten=frozenset(gemeenten["code"]),
        regions=frozenset(current.loc[current["level"].isin(["GM", "PV", "CR", "AM"]), "code"]),
        indicators={k: m.theme for k, m in indicators.items()},
        default_gemeente=str(gemeenten["code"].iloc[0]) if len(gemeenten) else "",
        successors=state.successors(_history_rows(history), gemeenten["code"]),
        by_name=_unique_names(gemeenten),
        names=names,
        size_classes=_classes(gemeenten, "size_class"),
        urbanities=_classes(gemeenten, "urbanity"),
    )
    geo = read_geojson(snap.path / GEOJSON_NAME)
    cur = _optional(snap, "observations_current")
    by_cur = None
    if cur is not None:
        by_cur = {iid: g.sort_values(["region_code", "period"]).reset_index(drop=True)
                  for iid, g in cur.groupby("indicator", sort=False)}
        # an indicator without rows on current boundaries keeps its published series
        by_cur = {iid: by_cur.get(iid, by_ind[iid]) for iid in by_ind}
    lags = pr.lags(snap.manifest, indicators,
                   compute.latest_periods({k: by_ind[k] for k in indicators}))
    return DashData(snap.id, snap.path, snap.manifest, obs, regions, indicators, by_ind,
                    gemeenten, names, levels, geo, bounds(geo), known, by_cur,
                    _optional(snap, "peers"), history,
                    _optional(snap, "harmonisation_gaps"), lags)


def _history_rows(history: pd.DataFrame | None) -> list[dict]:
    """The herindelingen behind a link's old gemeente code: the snapshot's own table, else the
    catalogue's herindelingen.yaml (an older snapshot without region_history)."""
    if history is None:
        try:
            history = History.load().table()
        except Exception:  # noqa: BLE001 - a link note is not worth a failed start
            log.warning("herindelingen.yaml unreadable; old gemeente codes are not resolved")
            return []
    return history.to_dict("records")


def _unique_names(gemeenten: pd.DataFrame) -> dict[str, str]:
    """Casefolded name -> code for names exactly one current gemeente has (a link by name)."""
    keys = gemeenten["name"].map(lambda n: " ".join(str(n).split()).casefold())
    unique = ~keys.duplicated(keep=False)
    return dict(zip(keys[unique], gemeenten.loc[unique, "code"], strict=True))


def _classes(gemeenten: pd.DataFrame, column: str) -> dict[str, str]:
    """'Gebieden in Nederland' class code -> label (grootteklasse, stedelijkheid), in code
    order; empty when the snapshot's regions do not carry the column."""
    if f"{column}_code" not in gemeenten.columns:
        return {}
    pairs = gemeenten[[f"{column}_code", column]].dropna().drop_duplicates(f"{column}_code")
    pairs = pairs.sort_values(f"{column}_code", key=lambda c: pd.to_numeric(c, errors="coerce"))
    return {str(c): str(n) for c, n in pairs.itertuples(index=False)}


def _optional(snap: Snapshot, name: str) -> pd.DataFrame | None:
    """An optional snapshot table; None when absent or unreadable (logged, never raised)."""
    try:
        return snap.frame(name)
    except Exception as exc:  # noqa: BLE001 - a damaged optional table must not stop the app
        log.warning("optional table %s unreadable: %s", name, exc)
        return None


def map_entry(manifest: Manifest, year: int | None) -> tuple[str, YearMap] | None:
    """The manifest ``boundaries_by_year`` entry (key, map) whose years include ``year``; None
    when that year's gemeenten are today's (the reference map serves) or the snapshot predates
    per-year maps. A map without ``file`` means the map of that year could not be fetched."""
    if year is None:
        return None
    for key, meta in manifest.boundaries_by_year.items():
        if year in meta.years:
            return key, meta
    return None
