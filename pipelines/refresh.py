"""The refresh: fetch what changed, rebuild the tidy tables, check, publish atomically.

    fetch (cbs.py) -> raw/ (store.RawStore) -> regions + tidy (pure) -> checks -> publish

Exit codes: 0 ok (or nothing to do), 1 failed (nothing published), 3 partial (published, but at
least one table kept its last good data because fetching it failed), 75 another refresh runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from . import changes, checks, editions, geo, peers, store
from .catalog import Catalog
from .cbs import CbsClient, CbsError
from .editions import EditionError, resolve_measure
from .history import History, HistoryError
from .regions import LEVEL_PREFIXES, RegionError, add_dimension_regions, build_regions
from .transform import (
    MISSING_COLUMNS,
    REGION_DIMENSIONS,
    Boundaries,
    RawTable,
    TransformError,
    tidy,
)

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_PARTIAL, EXIT_LOCKED = 0, 1, 3, 75


class TableProblem(RuntimeError):
    """The table exists but does not fit the catalogue (vanished measure, unknown category)."""

    def __init__(self, table: str, message: str, kind: str = "catalogue_mismatch"):
        super().__init__(f"{table}: {message}")
        self.table = table
        self.kind = kind


@dataclass(frozen=True)
class Request:
    table: str
    select: list[str] | None
    filter_dims: dict[str, list[str]]  # dimension -> stripped keys wanted
    levels: tuple[str, ...]
    api: str = "v3"  # v4: select holds measure codes and dimensions, see fetch_table
    edition: bool = False  # one year of a series: measures are stems, resolved per edition

    @property
    def signature(self) -> str:
        parts = [self.select, self.filter_dims, self.levels] + ([self.api] if self.api != "v3"
                                                                else [])
        body = json.dumps(parts, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]


def plan(catalog: Catalog, table: str) -> Request:
    api = catalog.tables[table].api if table in catalog.tables else "v3"
    if table in catalog.gebieden.values():
        return Request(table, None, {}, (), api)
    inputs = catalog.inputs_for(table)
    dims: dict[str, set[str]] = {}
    for inp in inputs:
        for d, k in inp.filters:
            dims.setdefault(d, set()).add(k)
    measures = sorted({i.measure for i in inputs})
    select = ["RegioS", "Perioden", *sorted(dims), *measures]
    edition = table in catalog.tables and catalog.tables[table].series is not None
    return Request(table, select, {d: sorted(k) for d, k in sorted(dims.items())},
                   catalog.levels_for(table), api, edition)


def odata_filter(req: Request, padded: dict[str, dict[str, str]],
                 measures: list[str] | None = None, region: str = "RegioS") -> str | None:
    """$filter for the wanted categories and region levels; keys compared in CBS's padded form
    (v3; v4 keys are not padded). ``measures``: v4 measure codes (one row per cell there)."""
    parts = []
    if measures:
        parts.append("(" + " or ".join(f"Measure eq '{m}'" for m in measures) + ")")
    for dim, keys in req.filter_dims.items():
        ors = " or ".join(f"{dim} eq '{padded[dim][k]}'" for k in keys)
        parts.append(f"({ors})")
    if req.levels and set(req.levels) != set(LEVEL_PREFIXES):
        ors = " or ".join(f"startswith({region},'{lv}')" for lv in req.levels)
        parts.append(f"({ors})")
    return " and ".join(parts) or None


@dataclass
class TableResult:
    action: str  # fetched | unchanged | failed
    seconds: float = 0.0
    rows: int | None = None
    modified: str | None = None
    error: str | None = None
    kind: str | None = None
    warnings: list[str] = field(default_factory=list)


def fetch_table(client: CbsClient, raw: store.RawStore, req: Request, force: bool) -> TableResult:
    t0 = time.monotonic()
    table = req.table
    info = client.table_info(table)
    modified = info.get("Modified")
    res = TableResult("unchanged", modified=modified)
    v4 = getattr(client, "api", "v3") == "v4"
    status = (info.get("OutputStatus") or "").strip()
    if status and status.lower() not in ("regulier", "regular"):
        msg = (f"{table}: CBS marks this table as {status!r} (e.g. discontinued): look for its "
               "successor and update the catalogue")
        log.error(msg, extra={"table": table})
        res.warnings.append(msg)
    prev = raw.latest_manifest(table)
    if (not force and prev and prev.get("modified") == modified
            and prev.get("signature") == req.signature):
        res.rows = data_file(prev).get("rows")
        res.seconds = time.monotonic() - t0
        log.info("table unchanged, not downloaded", extra={"table": table, "modified": modified})
        return res

    padded: dict[str, dict[str, str]] = {}
    select, measures, region = req.select, None, "RegioS"
    if req.select:
        props = client.meta(table, "DataProperties")
        topics = {p.get("Key") for p in props if p.get("Type") == "Topic"}
        dims = {p.get("Key") for p in props if "Dimension" in str(p.get("Type"))}
        wanted = [c for c in req.select if c not in ("RegioS", "Perioden")]
        if req.edition:  # stems -> this edition's keys (suffixes shift between editions)
            try:
                wanted = [c if c in dims else resolve_measure(c, props, table) for c in wanted]
            except EditionError as exc:
                raise TableProblem(table, str(exc).split(": ", 1)[1], "missing_measure") from None
            region = next((d for d in REGION_DIMENSIONS if d in dims), "RegioS")
            select = [d for d in (region, "Perioden") if d in dims] + wanted
        missing_m = [m for m in wanted if m not in topics and m not in dims]
        if missing_m:
            raise TableProblem(table, f"measure(s) {', '.join(missing_m)} do not exist in this "
                                      "table (anymore): check the catalogue", "missing_measure")
        if v4:  # one row per cell: ask for the measures, keep every dimension column
            measures = [m for m in wanted if m in topics]
            select = ["Measure", "ValueAttribute", "Value",
                      *[p.get("Key") for p in props if "Dimension" in str(p.get("Type"))]]
        for dim, keys in req.filter_dims.items():
            items = client.meta(table, dim)
            padded[dim] = {str(i["Key"]).strip(): i["Key"] for i in items}
            unknown = [k for k in keys if k not in padded[dim]]
            if unknown:
                raise TableProblem(table, f"{dim} has no category {', '.join(unknown)}",
                                   "missing_category")
    flt = odata_filter(req, padded, measures, region)
    log.info("downloading", extra={"table": table, "filter": flt, "select": select,
                                   "api": req.api})
    entities = client.download(table, select, flt)
    entity = "Observations" if v4 else "TypedDataSet"
    rows = len(entities.get(entity, []))
    manifest = {
        "table": table, "title": info.get("Title"), "modified": modified,
        "fetched_at": store.utcnow(), "url": client.url_for(table, entity),
        "select": select, "filter": flt, "signature": req.signature, "api": req.api,
    }
    raw.save(table, entities, manifest)
    res.action, res.rows, res.seconds = "fetched", rows, time.monotonic() - t0
    log.info("fetched", extra={"table": table, "rows": rows, "seconds": round(res.seconds, 2)})
    return res


def check_editions(catalog: Catalog, client: CbsClient) -> list[dict]:
    """Newer editions of the catalogue's series in the CBS catalogue listing, logged loudly so
    the nightly log says what to add. A listing that cannot be read is a warning, not a failure."""
    found: list[dict] = []
    for ser in catalog.series.values():
        try:
            new = editions.check_series(client, ser)
        except CbsError as exc:
            log.warning("cannot check for new editions", extra={"series": ser.name,
                                                                "error": str(exc)})
            continue
        for n in new:
            log.warning(editions.message(n), extra={"series": ser.name, "table": n["table"],
                                                    "year": n["year"]})
        found += new
    return found


def data_file(manifest: dict) -> dict:
    """The manifest entry of the data entity: TypedDataSet (v3) or Observations (v4)."""
    files = manifest.get("files", {})
    return files.get("TypedDataSet") or files.get("Observations") or {}


def build(catalog: Catalog, raws: dict[str, RawTable], indicators, history: History | None = None):
    """Pure: raw responses -> Built (both boundary views, regions, coverage, violations)."""
    ref = catalog.gebieden[catalog.reference_year]
    g = raws[ref]
    regions = build_regions(g.data, g.dimension("DataProperties"), ref)
    dims = {t: next((d for n in REGION_DIMENSIONS if (d := r.dimension(n))), [])
            for t, r in raws.items() if t not in catalog.gebieden.values()}
    regions = add_dimension_regions(regions, dims)
    missing: list[dict] = []
    obs = tidy(catalog, raws, indicators, missing=missing)
    missing_df = pd.DataFrame(missing, columns=MISSING_COLUMNS).astype("string")
    violations = checks.check(obs, regions, catalog, indicators)

    history = history or History.load()
    editions = {y: {str(r.get("RegioS", "")).strip() for r in raws[t].data}
                for y, t in catalog.gebieden.items() if t in raws}
    violations += [checks.Violation("herindelingen", "-", "herindelingen.yaml", p)
                   for p in history.validate(editions)]
    current = frozenset(regions.loc[(regions["level"] == "GM") & regions["is_current"], "code"])
    bnd = Boundaries(history, current, catalog.reference_year,
                     {**{t: tb.boundaries for t, tb in catalog.tables.items()},
                      **{n: ser.boundaries for n, ser in catalog.series.items()}})
    gaps: list[dict] = []
    obs_current = tidy(catalog, raws, indicators, boundaries=bnd, problems=gaps)
    violations += [checks.Violation(v.rule, v.indicator, v.table, "current boundaries: " + v.detail)
                   for v in checks.check(obs_current, regions, catalog, indicators)
                   if v.rule != "non_empty"]
    gaps_df = pd.DataFrame(gaps, columns=["indicator", "table", "region_code", "period_key",
                                          "reason"]).astype("string")
    region_names = dict(zip(regions["code"], regions["name"], strict=False))
    notes = {c: n for c in sorted(current)
             if (n := history.note_for(c, catalog.reference_year, region_names))}
    return Built(obs, obs_current, regions, history, gaps_df, notes,
                 checks.coverage(obs, regions, catalog, missing_df), violations, missing_df)


@dataclass
class Built:
    observations: pd.DataFrame
    observations_current: pd.DataFrame
    regions: pd.DataFrame
    history: History
    gaps: pd.DataFrame
    boundary_notes: dict[str, str]
    coverage: dict
    violations: list
    missing: pd.DataFrame | None = None  # cells CBS left empty, with its reason (v4)


def refresh(catalog: Catalog, root: Path, client: CbsClient, *, only: str | None = None,
            force: bool = False, keep: int = 5, command: str = "refresh", workers: int = 4,
            geo_url: str | None = None, data_source: str | None = None) -> int:
    """``data_source``: where the CBS data comes from, recorded in the manifest (see
    :func:`data_source_of`): "cbs", "mirror" (the local development copy) or "test"."""
    try:
        with store.refresh_lock(root):
            return _refresh(catalog, root, client, only=only, force=force, keep=keep,
                            command=command, workers=workers, geo_url=geo_url,
                            data_source=data_source)
    except store.LockedError as exc:
        log.error(str(exc))
        return EXIT_LOCKED


def _refresh(catalog, root, client, *, only, force, keep, command, workers, geo_url,
             data_source=None) -> int:
    run = {"run_id": uuid.uuid4().hex[:12], "started": store.utcnow(), "command": command,
           "cbs_url": client.config.base_url, "only": only, "force": force,
           "catalogue_sha256": catalog.sha256, "tables": {}}
    t_start = time.monotonic()
    tables, indicators = catalog.select(only)
    gebieden = list(dict.fromkeys(catalog.gebieden.values()))
    raw = store.RawStore(root)
    failed: dict[str, TableResult] = {}

    todo = [t for t in dict.fromkeys([*gebieden, *tables])
            if not (t in gebieden and only and raw.latest_manifest(t))]  # --only: keep regions

    def one(table: str) -> TableResult:
        try:
            req = plan(catalog, table)
            return fetch_table(client.for_api(req.api), raw, req, force)
        except (CbsError, TableProblem) as exc:
            kind = getattr(exc, "kind", "error")
            loud = kind in ("not_found", "missing_measure", "missing_category")
            (log.error if loud else log.warning)(
                "table failed" + (" - DOES NOT EXIST or does not fit the catalogue" if loud else ""),
                extra={"table": table, "error": str(exc), "kind": kind})
            return TableResult("failed", error=str(exc), kind=kind)

    # a few tables at a time: CBS answers slowly per request, not per byte
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for table, res in zip(todo, pool.map(one, todo), strict=True):
            run["tables"][table] = res.__dict__
            if res.action == "failed":
                failed[table] = res

    run["new_editions"] = check_editions(catalog, client)

    # everything the snapshot needs, from the last good raw fetch of each table
    needed = [*gebieden, *catalog.data_tables()]
    raws, absent = {}, []
    for table in needed:
        r = raw.latest(table)
        if r is None:
            absent.append(table)
        else:
            raws[table] = r
    asked = set(tables) | set(gebieden)
    fatal = [t for t in absent if t in asked]
    if fatal:
        return _finish(root, run, t_start, "failed", EXIT_FAILED,
                       error="no data (fresh or earlier) for " + ", ".join(
                           f"{t} ({failed[t].error})" if t in failed else t for t in fatal))
    stale = sorted(t for t in failed if t in raws)
    for t in stale:
        run["tables"][t]["action"] = "stale"
        log.error("keeping last good data", extra={"table": t,
                                                   "fetched_at": raws[t].manifest.get("fetched_at")})
    usable = [i for i in catalog.enabled
              if all(any(e in raws for e in catalog.tables_of(t)) for t in i.tables)]
    not_yet = [i.id for i in catalog.enabled if i not in usable]

    cur_manifest = None
    if store.current_id(root):
        try:
            cur_manifest = store.read_manifest(root)
        except store.NoSnapshot:
            cur_manifest = None
    damaged = current_damage(root)
    if damaged:
        run["current_damaged"] = damaged
    fetched_any = any(d["action"] == "fetched" for d in run["tables"].values())
    if (cur_manifest and not fetched_any and not force and not damaged
            and cur_manifest.get("catalogue_sha256") == catalog.sha256
            and sorted(cur_manifest.get("stale_tables", [])) == stale):
        outcome = "partial" if stale else "noop"
        return _finish(root, run, t_start, outcome, EXIT_PARTIAL if stale else EXIT_OK,
                       snapshot_id=cur_manifest.get("snapshot_id"))

    try:
        built = build(catalog, raws, usable)
    except (TransformError, RegionError, HistoryError) as exc:
        log.error("transform failed", extra={"error": str(exc)})
        return _finish(root, run, t_start, "failed", EXIT_FAILED, error=str(exc))
    if built.violations:
        for v in built.violations:
            log.error("check failed", extra={"rule": v.rule, "table": v.table,
                                             "indicator": v.indicator, "detail": v.detail})
        return _finish(root, run, t_start, "failed", EXIT_FAILED,
                       error=f"{len(built.violations)} check(s) failed; nothing published",
                       violations=[str(v) for v in built.violations])

    obs, regions = built.observations, built.regions
    manifest = snapshot_manifest(catalog, raws, obs, built.coverage, stale, failed, not_yet)
    manifest["new_editions"] = run["new_editions"]
    manifest["cbs_url"] = client.config.base_url
    manifest["data_source"] = data_source_of(client.config.base_url, data_source)
    manifest["harmonisation"] = {
        "history_from": built.history.history_from, "rows": len(built.observations_current),
        "gaps": len(built.gaps), "boundary_notes": built.boundary_notes,
        "flags": built.observations_current["harmonisation"].value_counts().to_dict(),
    }
    previous = None
    cur_id = store.current_id(root)  # changes are diffed against intact data only
    base = store.newest_intact(root, before=cur_id) if damaged else cur_id
    if cur_manifest and base:
        try:
            previous = store.load_snapshot(root, base).observations
        except store.NoSnapshot:
            previous = None
    manifest["changes"] = {"previous_snapshot": base if previous is not None else None,
                           "indicators": changes.diff(previous, obs)}
    peer_table, peer_features = peers.compute(built.observations_current, regions)
    manifest["peers"] = {"k": peers.K, "min_common_features": peers.MIN_COMMON,
                         "features": [{"id": f, "label": lbl} for f, lbl, _ in peers.FEATURES]}
    geojson, manifest["boundaries"] = boundaries(catalog, regions, cur_manifest, root, geo_url, force)
    old_maps, manifest["boundaries_by_year"] = historical_boundaries(
        catalog, regions, built.history, cur_manifest, root, geo_url, force)
    run["boundaries"] = manifest["boundaries"]
    extra = {store.BOUNDARIES: geojson, **old_maps} if geojson else dict(old_maps)
    frames = {"observations_current.parquet": built.observations_current,
              "region_history.parquet": built.history.table(),
              "harmonisation_gaps.parquet": built.gaps,
              "peers.parquet": peer_table, "peer_features.parquet": peer_features,
              "missing_values.parquet": built.missing}
    sid = store.publish(root, obs, regions, manifest, keep=keep, extra_files=extra,
                        extra_frames=frames)
    log.info("published", extra={"snapshot_id": sid, "rows": len(obs)})
    outcome, code = ("partial", EXIT_PARTIAL) if stale else ("ok", EXIT_OK)
    return _finish(root, run, t_start, outcome, code, snapshot_id=sid)


def current_damage(root: Path) -> list[str]:
    """Integrity problems of the published ``current`` snapshot (empty: intact or none yet).
    A damaged current is never a reason for a no-op: the run republishes from the raw store."""
    sid = store.current_id(root)
    problems = store.verify_snapshot(root, sid) if sid else []
    if problems:
        log.error("current snapshot is damaged; republishing",
                  extra={"snapshot_id": sid, "problems": problems})
    return problems


def boundaries(catalog: Catalog, regions: pd.DataFrame, cur_manifest: dict | None, root: Path,
               geo_url: str | None, force: bool) -> tuple[bytes | None, dict]:
    """Map boundaries for the current gemeenten: reuse the published ones when they still fit,
    otherwise fetch. A failure keeps the previous map (or none) and is reported, not fatal."""
    codes = set(regions.loc[(regions["level"] == "GM") & regions["is_current"], "code"])
    prev_meta = (cur_manifest or {}).get("boundaries") or {}
    return _map_for(catalog.reference_year, codes, store.BOUNDARIES, prev_meta, cur_manifest,
                    root, geo_url, force)


def historical_boundaries(catalog: Catalog, regions: pd.DataFrame, history: History,
                          cur_manifest: dict | None, root: Path, geo_url: str | None,
                          force: bool) -> tuple[dict[str, bytes], dict]:
    """Maps for earlier years whose gemeenten differ from today's (for series shown on the
    boundaries of their year): one per distinct gemeente set, named gemeenten_<year>.geojson.
    Missing maps are reported in the manifest; the dashboard then says it has no map."""
    current = set(regions.loc[(regions["level"] == "GM") & regions["is_current"], "code"])
    files, metas = {}, {}
    seen: dict[frozenset, str | None] = {frozenset(current): None}  # set -> key of its map entry
    prev_all = (cur_manifest or {}).get("boundaries_by_year") or {}
    for year in range(catalog.reference_year - 1, history.history_from - 2, -1):
        codes = frozenset(history.codes_in_year(year, current, catalog.reference_year))
        if codes in seen:
            if seen[codes] is not None:  # same gemeenten as a later year: that map serves
                metas[seen[codes]]["years"].append(year)
            continue
        seen[codes] = key = str(year)
        name = f"gemeenten_{year}.geojson"
        prev = prev_all.get(key) or {}
        body, meta = _map_for(year, set(codes), name, prev, cur_manifest, root, geo_url, force,
                              years_around=0)
        metas[key] = {**meta, "file": name if body else None, "gemeenten": len(codes),
                      "years": [year]}
        if body:
            files[name] = body
    return files, metas


def _map_for(year: int, codes: set[str], name: str, prev_meta: dict, cur_manifest: dict | None,
             root: Path, geo_url: str | None, force: bool, years_around: int = 2
             ) -> tuple[bytes | None, dict]:
    sha = hashlib.sha256(",".join(sorted(codes)).encode()).hexdigest()[:16]
    if prev_meta.get("error") and prev_meta.get("codes_sha") == sha and not force:
        return None, prev_meta  # known to be unavailable: do not ask again every night
    prev, prev_codes = None, set()
    if cur_manifest and prev_meta.get("year"):
        path = root / "snapshots" / cur_manifest["snapshot_id"] / name
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
        meta.update(fetched_at=store.utcnow(), codes_sha=sha)
        log.info("boundaries fetched", extra=meta)
        return body, meta
    except geo.GeoError as exc:
        log.warning("boundaries not updated", extra={"year": year, "error": str(exc)})
        if prev is not None and prev_codes == codes:
            return prev, {**prev_meta, "stale": True, "error": str(exc)}
        return None, {"data_year": year, "error": str(exc), "codes_sha": sha,
                      "checked_at": store.utcnow()}


DATA_SOURCES = ("cbs", "mirror", "test")


def data_source_of(base_url: str, declared: str | None) -> str:
    """The data source the manifest records: the declared one, else "cbs" for a CBS host and
    "onbekend" for anything else (the dashboard then warns that it is not CBS's own feed)."""
    if declared:
        return declared
    host = urlparse(base_url or "").hostname or ""
    return "cbs" if host == "cbs.nl" or host.endswith(".cbs.nl") else "onbekend"


def snapshot_manifest(catalog: Catalog, raws: dict[str, RawTable], obs: pd.DataFrame, cov: dict,
                      stale: list[str], failed: dict, not_yet: list[str]) -> dict:
    counts = obs.groupby("indicator").size().to_dict()
    tables = {}
    for t, r in raws.items():
        m = r.manifest
        tables[t] = {
            "title": r.info.get("Title") or m.get("title"),
            "catalogue_title": catalog.tables[t].title if t in catalog.tables else None,
            "modified": m.get("modified"), "fetched_at": m.get("fetched_at"), "url": m.get("url"),
            "filter": m.get("filter"), "select": m.get("select"),
            "rows": data_file(m).get("rows"), "sha256": data_file(m).get("sha256"),
            "api": m.get("api", "v3"),
            "raw_folder": f"raw/{t}/{m.get('folder')}",
            "stale": t in stale, "error": failed[t].error if t in failed else None,
            "boundaries": catalog.tables[t].boundaries if t in catalog.tables else None,
            # CBS TableInfos: "Regulier" or e.g. "Stopgezet" (discontinued); "Perjaar", ...
            "output_status": r.info.get("OutputStatus"), "frequency": r.info.get("Frequency"),
        }
    inds = []
    for i in catalog.indicators:
        inds.append({
            "id": i.id, "theme": i.theme, "title": i.title, "description": i.description,
            "unit": i.unit, "decimals": i.decimals, "higher_is_better": i.higher_is_better,
            "levels": list(i.levels), "tables": list(i.tables), "measure": i.measure_label,
            "formula": i.formula if i.derived else None, "derived": i.derived,
            "enabled": i.enabled, "in_snapshot": i.id in counts, "rows": int(counts.get(i.id, 0)),
            "verified": all((catalog.series[t] if t in catalog.series else catalog.tables[t]
                             ).verified for t in i.tables),
            "brede_welvaart": ({"dimensie": i.bw_dimension, "thema": i.bw_theme}
                               if i.bw_dimension else None),
            "kind": i.kind, "rankable": i.rankable,
        })
    return {
        "catalogue_sha256": catalog.sha256, "reference_year": catalog.reference_year,
        "gebieden_table": catalog.gebieden[catalog.reference_year],
        "licence": "CBS open data, CC BY 4.0 (Bron: CBS)",
        "tables": tables, "indicators": inds, "coverage": cov,
        "dwarsverbanden": list(catalog.pairs),
        "stale_tables": stale, "indicators_not_yet_fetched": not_yet,
        "rows": len(obs),
    }


def _finish(root: Path, run: dict, t0: float, outcome: str, code: int, **extra) -> int:
    run.update(extra)
    run.update({"ended": store.utcnow(), "seconds": round(time.monotonic() - t0, 2),
                "outcome": outcome, "exit_code": code})
    store.append_run(root, run)
    level = logging.INFO if code == EXIT_OK else logging.ERROR
    log.log(level, f"refresh {outcome}", extra={k: v for k, v in run.items() if k != "tables"})
    return code
