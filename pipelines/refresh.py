"""The refresh: fetch what changed, rebuild the tidy tables, check, publish atomically.

The orchestration (:func:`_refresh`) is the list of stages, each a function of explicit inputs:

    current_state   what is published and which raw fetches it was built from (first the raw
                    stage removes the temporary folders a killed run left: we hold the lock)
    fetch           per table (:func:`fetch_table`): changed at CBS since that fetch? then its
                    metadata -> the query (query.py: what to ask) -> download it (cbs.py: how
                    to ask, with the one retry layer) -> raw/; a table that fails for good
                    keeps its last good data
    gather          the raw data per table: new fetch, else the published one
    build_checked   regions + tidy (pure) -> contract checks -> plausibility against the
                    published snapshot, per period and per region (checks.py); an implausible
                    table goes back to its last good data
    enrich          manifest with provenance, changes, peers, maps (maps.py, beside geo.py),
                    built from the snapshot contract's models (snapshot.py)
    publish_snapshot  write, switch ``current`` (snapshot.publish); only then the fetches
                    become "last good"

Exit codes: 0 ok (or nothing to do), 1 failed (nothing published: CBS unreachable for every
table, a failed check, no data), 3 partial (some tables refreshed, at least one kept its last
good data: fetch failed or not plausible), 75 another refresh runs (recorded as outcome
"locked").

Progress: JSON logs for the nightly (:mod:`logs`); at a terminal a bar per table, one line per
table when done, and a summary at the end (the ``_text`` of the final record).
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from . import changes, checks, editions, geo, logs, maps, peers, query, runs, snapshot, store, wijken
from .catalog import Catalog
from .cbs import CbsClient, CbsError
from .history import History, HistoryError
from .query import Request, TableProblem, plan
from .regions import RegionError, add_dimension_regions, build_regions
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


@dataclass
class TableResult:
    action: str  # fetched | unchanged | failed (-> stale) | rejected (implausible)
    seconds: float = 0.0
    rows: int | None = None
    modified: str | None = None
    error: str | None = None
    kind: str | None = None
    warnings: list[str] = field(default_factory=list)


def fetch_table(client: CbsClient, raw: store.RawStore, req: Request, force: bool,
                prev: dict | None = None, bar: logs.TableBar | None = None
                ) -> tuple[TableResult, RawTable | None]:
    """Download ``req.table`` unless CBS's Modified (and our query) equal those of ``prev``: the
    raw manifest of the fetch the published snapshot was built from. Returns the result and the
    new fetch (None when unchanged). A new fetch is stored, but it becomes "last good" only once
    a snapshot built from it is published.

    The steps: table info -> unchanged? -> the metadata the request needs -> ``query.resolve``
    (what to ask; raises TableProblem when the table no longer fits the catalogue) ->
    ``client.download`` (how to ask; every request retried by the client's session) -> store.
    ``bar`` shows the rows as the pages come in (text mode)."""
    t0 = time.monotonic()
    table = req.table
    info = client.table_info(table)
    modified = info.get("Modified")
    res = TableResult("unchanged", modified=modified)
    status = (info.get("OutputStatus") or "").strip()
    if status and status.lower() not in ("regulier", "regular"):
        msg = (f"{table}: CBS marks this table as {status!r} (e.g. discontinued): look for its "
               "successor and update the catalogue")
        log.error(msg, extra={"table": table})
        res.warnings.append(msg)
    # a file CBS publishes as such (api file) also says which edition and file it is: Version
    version = info.get("Version")
    if (not force and prev and prev.get("modified") == modified
            and prev.get("signature") == req.signature and prev.get("version") == version):
        res.rows = data_file(prev).get("rows")
        res.seconds = time.monotonic() - t0
        log.info("table unchanged, not downloaded", extra={
            "table": table, "modified": modified,
            "_text": f"{table:<10} unchanged at CBS since {modified}: not downloaded"})
        return res, None

    q = query.resolve(req, {name: client.meta(table, name) for name in req.metadata})
    logs.detail(log, "downloading", table=table, filter=q.filter, select=q.select, api=q.api)
    bar = bar or logs.TableBar(None)
    entities = client.download(q, progress=lambda entity, n: bar.page(entity, n,
                                                                       entity == q.entity))
    rows = len(entities.get(q.entity, []))
    manifest = {
        "table": table, "title": info.get("Title"), "modified": modified,
        "fetched_at": store.utcnow(), "url": client.url_for(table, q.entity),
        "select": q.select, "filter": q.filter, "signature": q.signature, "api": q.api,
        # a file source's edition, landing page and the gemeente-indeling its regions follow
        **{k.lower(): info[k] for k in ("Version", "Edition", "Page", "Boundaries")
           if info.get(k) is not None},
    }
    saved = raw.save(table, entities, manifest, originals=client.originals(table))
    res.action, res.rows, res.seconds = "fetched", rows, time.monotonic() - t0
    log.info("fetched", extra={"table": table, "rows": rows, "seconds": round(res.seconds, 2),
                               "_text": f"{table:<10} {rows:>9,} rows {res.seconds:6.1f} s"})
    return res, saved


def check_editions(catalog: Catalog, client: CbsClient) -> list[dict]:
    """Newer editions of the catalogue's series in the CBS catalogue listing, logged loudly so
    the nightly log says what to add. A listing that cannot be read is a warning, not a failure."""
    found: list[dict] = []
    used = set(catalog.data_tables())
    checks = [(ser.name, lambda ser=ser: editions.check_series(client, ser))
              for ser in catalog.series.values()]
    checks += [(name, lambda name=name: client.for_api("file").new_editions(name))
               for name in catalog.files if name in used]  # found while fetching it
    for name, check in checks:
        try:
            new = check()
        except CbsError as exc:
            log.warning("cannot check for new editions", extra={"series": name,
                                                                "error": str(exc)})
            continue
        for n in new:
            log.warning(editions.message(n), extra={"series": name, "table": n["table"],
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
                      **{n: ser.boundaries for n, ser in catalog.series.items()},
                      **regimes_of(raws)})
    gaps: list[dict] = []
    obs_current = tidy(catalog, raws, indicators, boundaries=bnd, problems=gaps)
    violations += [checks.Violation(v.rule, v.indicator, v.table, "current boundaries: " + v.detail)
                   for v in checks.check(obs_current, regions, catalog, indicators)
                   if v.rule != "non_empty"]
    gaps_df = pd.DataFrame(gaps, columns=snapshot.HARMONISATION_GAPS.names).astype("string")
    region_names = dict(zip(regions["code"], regions["name"], strict=False))
    notes = {c: n for c in sorted(current)
             if (n := history.note_for(c, catalog.reference_year, region_names))}
    return Built(obs, obs_current, regions, history, gaps_df, notes,
                 checks.coverage(obs, regions, catalog, missing_df), violations, missing_df)


def regimes_of(raws: dict[str, RawTable]) -> dict[str, str]:
    """Tables whose fetch says which gemeente-indeling its regions follow (a file source: the
    edition's year), overriding the catalogue's ``boundaries``."""
    return {t: str(r.manifest["boundaries"]) for t, r in raws.items()
            if r.manifest.get("boundaries")}


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
            geo_url: str | None = None, data_source: str | None = None,
            accept: list[str] | tuple[str, ...] = ()) -> int:
    """``data_source``: where the CBS data comes from, recorded in the manifest (see
    :func:`data_source_of`): "cbs", "mirror" (the local development copy) or "test".
    ``accept``: tables whose new fetch is taken even if it fails the plausibility checks (a
    real, intended change at CBS)."""
    accepted = accept_tables(catalog, accept)
    started, t0 = store.utcnow(), time.monotonic()
    try:
        with store.refresh_lock(root):
            return _refresh(catalog, root, client, only=only, force=force, keep=keep,
                            command=command, workers=workers, geo_url=geo_url,
                            data_source=data_source, accept=accepted)
    except store.LockedError as exc:
        log.error(str(exc))
        return locked(root, exc, {"started": started, "command": command,
                                  "cbs_url": client.config.base_url, "only": only,
                                  "force": force})
    except OSError as exc:  # also from worker threads, re-raised by pool.map
        if not store.is_resource_error(exc):
            raise
        err = exc if isinstance(exc, store.StorageError) else store.StorageError(root, exc)
    except store.StorageError as exc:
        err = exc
    except store.RawDamaged as exc:  # a stored fetch was damaged on disk
        err = exc
    return resource_failure(root, err, {"started": started, "command": command,
                                        "cbs_url": client.config.base_url, "only": only,
                                        "force": force,
                                        "seconds": round(time.monotonic() - t0, 2)})


def resource_failure(root: Path, err: store.StorageError | store.RawDamaged, run: dict) -> int:
    """Disk full, permission denied, read-only folder, a damaged raw fetch: one error line
    naming the path, a failed ``runs.jsonl`` record (or a line on stderr when even that cannot be
    written), exit 1. The store has already removed what it half-wrote; the published snapshot
    is untouched."""
    kind = "storage" if isinstance(err, store.StorageError) else "raw_damaged"
    path = {"path": str(err.path)} if isinstance(err, store.StorageError) else {}
    log.error(f"refresh failed: {err}", extra={**path, "kind": kind})
    record = {"run_id": uuid.uuid4().hex[:12], **run, "ended": store.utcnow(),
              "outcome": "failed", "exit_code": EXIT_FAILED, "kind": kind,
              "error": str(err), **path}
    _record(root, record, f"refresh failed: {err}; and this run could not be recorded")
    return EXIT_FAILED


def _record(root: Path, record: dict, what: str) -> None:
    """Append ``record`` to the run history; when even that fails, say so on stderr (the
    journal under systemd), naming the file: a failure is never silent."""
    try:
        runs.append_run(root, record)
    except (store.StorageError, OSError) as exc:
        print(f"{what} in {root / runs.RUNS}: {getattr(exc, 'reason', None) or exc}",
              file=sys.stderr, flush=True)


def locked(root: Path, err: store.LockedError, run: dict) -> int:
    """Another refresh holds the lock: nothing was done, but the attempt is recorded
    (outcome "locked", exit 75), so a night whose refresh never ran is visible in ``status``
    and the history, not only in a log file. Appending is safe beside the running refresh: each
    record is one write to a file opened for appending."""
    record = {"run_id": uuid.uuid4().hex[:12], **run, "ended": store.utcnow(),
              "outcome": "locked", "exit_code": EXIT_LOCKED, "error": str(err)}
    _record(root, record, f"refresh not started: {err}; and this could not be recorded")
    return EXIT_LOCKED


def accept_tables(catalog: Catalog, accept) -> frozenset[str]:
    """``--accept`` values -> table ids; an id the catalogue does not use is an error."""
    known = {t.upper(): t for t in [*catalog.gebieden.values(), *catalog.data_tables()]}
    out = set()
    for a in accept or ():
        if a in catalog.series:
            out.update(catalog.series[a].tables)
        elif a.upper() in known:
            out.add(known[a.upper()])
        else:
            raise ValueError(f"--accept {a!r} is not a CBS table used by the catalogue")
    return frozenset(out)


# --------------------------------------------------------------------------- stages
#
#   current_state -> fetch -> gather -> build_checked (build, check, plausibility) -> enrich
#   -> publish_snapshot
#
# Each stage is a function of explicit inputs; _refresh only orders them and decides the outcome.


@dataclass
class Current:
    """What is published now: its manifest and, per table, the raw manifest of the fetch it was
    built from. The no-op decision and the plausibility checks compare with these, never with
    whatever the raw store fetched last (that fetch may have failed its checks). ``damaged``:
    integrity problems of the current snapshot; comparisons then use the newest intact one."""

    manifest: snapshot.Manifest | None
    inputs: dict[str, dict]
    root: Path
    damaged: list[str] = field(default_factory=list)
    _baseline: tuple | None = None

    @property
    def id(self) -> str | None:
        return self.manifest.snapshot_id if self.manifest else None

    @property
    def stale(self) -> list[str]:
        return sorted(self.manifest.stale_tables) if self.manifest else []

    def baseline(self) -> tuple[str | None, pd.DataFrame | None, dict]:
        """(id, observations, coverage) of the published data to compare with: the current
        snapshot, or the newest intact one before it when current is damaged."""
        if self._baseline is None:
            sid, obs, cov = None, None, {}
            if self.manifest:
                cur = snapshot.current_id(self.root)
                sid = snapshot.newest_intact(self.root, before=cur) if self.damaged else cur
            if sid:
                try:
                    snap = snapshot.load_snapshot(self.root, sid)
                    obs = snap.observations
                    cov = {k: c.model_dump() for k, c in snap.manifest.coverage.items()}
                except snapshot.NoSnapshot:
                    sid = None
            self._baseline = (sid if obs is not None else None, obs, cov)
        return self._baseline

    def observations(self) -> pd.DataFrame | None:
        return self.baseline()[1]


def current_state(root: Path, raw: store.RawStore) -> Current:
    """What is published now. A current snapshot whose manifest cannot be read (or does not
    fit the contract) counts as none: everything is fetched and published again."""
    manifest = None
    if snapshot.current_id(root):
        try:
            manifest = snapshot.read_manifest(root)
        except snapshot.NoSnapshot:
            manifest = None
    inputs = {}
    for t, tm in (manifest.tables if manifest else {}).items():
        folder = str(tm.raw_folder or "").rsplit("/", 1)[-1]
        m = raw.manifest(t, folder) if folder and folder != "None" else None
        if m is not None:
            inputs[t] = m
    return Current(manifest, inputs, root, current_damage(root))


def damaged_inputs(raw: store.RawStore, current: Current) -> dict[str, list[str]]:
    """The stored fetches the published snapshot was built from that no longer match their
    sha256 (table -> problems): they are downloaded again, as with ``--force``."""
    out = {}
    for t, m in current.inputs.items():
        problems = raw.verify(t, m.get("folder"))
        if problems:
            log.error("raw fetch is damaged; downloading it again",
                      extra={"table": t, "problems": problems})
            out[t] = problems
    return out


def current_damage(root: Path) -> list[str]:
    """Integrity problems of the published ``current`` snapshot (empty: intact or none yet).
    A damaged current is never a reason for a no-op: the run republishes from the raw store."""
    sid = snapshot.current_id(root)
    problems = snapshot.verify_snapshot(root, sid) if sid else []
    if problems:
        log.error("current snapshot is damaged; republishing",
                  extra={"snapshot_id": sid, "problems": problems})
    return problems


@dataclass
class Fetched:
    results: dict[str, TableResult]  # per table asked: fetched | unchanged | failed
    fresh: dict[str, RawTable]  # new fetches of this run, not yet "last good"
    new_editions: list[dict]

    @property
    def failed(self) -> dict[str, TableResult]:
        return {t: r for t, r in self.results.items() if r.action == "failed"}


def fetch(catalog: Catalog, client: CbsClient, raw: store.RawStore, todo: list[str],
          current: Current, force: bool, workers: int,
          refetch: frozenset[str] = frozenset()) -> Fetched:
    """Stage 1: ask CBS per table whether it changed since the published fetch; download what
    did (and, as with ``force``, the tables in ``refetch``: their stored fetch is damaged). A
    table that fails is reported and keeps its last good data later on."""
    fresh: dict[str, RawTable] = {}
    if todo:
        log.info("fetching", extra={"tables": len(todo), "workers": workers, "_text": (
            f"Asking CBS about {len(todo)} table(s), {max(1, workers)} at a time "
            f"({client.config.base_url}):")})

    def one(table: str, bars: logs.Progress) -> TableResult:
        with bars.table(table) as bar:
            try:
                req = plan(catalog, table)
                res, saved = fetch_table(client.for_api(req.api), raw, req,
                                         force or table in refetch, current.inputs.get(table), bar)
                if saved is not None:
                    fresh[table] = saved
                return res
            except (CbsError, TableProblem) as exc:  # retried already: what does it mean?
                kind = getattr(exc, "kind", "error")
                loud = kind in ("not_found", "missing_measure", "missing_category")
                (log.error if loud else log.warning)(
                    "table failed" + (" - DOES NOT EXIST or does not fit the catalogue"
                                      if loud else ""),
                    extra={"table": table, "error": str(exc), "kind": kind,
                           "_text": f"{table:<10} failed: {exc}" + (
                               " - it does not exist or does not fit the catalogue" if loud
                               else "") + "; its last good data (if any) is kept"})
                return TableResult("failed", error=str(exc), kind=kind)

    # a few tables at a time: CBS answers slowly per request, not per byte
    with logs.progress("CBS tables", len(todo)) as bars, \
            ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = dict(zip(todo, pool.map(lambda t: one(t, bars), todo), strict=True))
    return Fetched(results, fresh, check_editions(catalog, client) if todo else [])


def gather(raw: store.RawStore, needed: list[str], fresh: dict[str, RawTable], current: Current,
           keep_old: frozenset[str] = frozenset()) -> tuple[dict[str, RawTable], list[str]]:
    """Stage 2: the raw data each table contributes: this run's fetch, else (or for a table in
    ``keep_old``) the fetch the published snapshot was built from, else the last good one.
    Returns (raws, tables with no data at all)."""
    raws, absent = {}, []
    for table in needed:
        if table in fresh and table not in keep_old:
            raws[table] = fresh[table]
        elif table in current.inputs:
            raws[table] = raw.load(table, current.inputs[table]["folder"])
        elif (r := raw.latest(table)) is not None:
            raws[table] = r
        else:
            absent.append(table)
    return raws, absent


def check_rows(catalog: Catalog, fresh: dict[str, RawTable], current: Current,
               accept: frozenset[str]) -> list[checks.Implausible]:
    """Plausibility per table: rows of the new fetch against the published fetch of the same
    query (a changed catalogue filter changes the rows for a reason)."""
    out = []
    for t, r in fresh.items():
        prev = current.inputs.get(t)
        if t in accept or not prev or prev.get("signature") != r.manifest.get("signature"):
            continue
        bounds = catalog.bounds(catalog.tables.get(t))
        found = checks.rows_drop(t, data_file(r.manifest).get("rows") or 0,
                                 data_file(prev).get("rows"), bounds)
        if found:
            out.append(found)
    return out


@dataclass
class Checked:
    built: Built | None
    raws: dict[str, RawTable]
    rejected: dict[str, list[str]]  # table -> implausible findings; keeps its last good data
    error: str | None = None
    violations: list = field(default_factory=list)
    findings: list[checks.Implausible] = field(default_factory=list)  # the same, structured


def build_checked(catalog: Catalog, raw: store.RawStore, needed: list[str],
                  fresh: dict[str, RawTable], current: Current, usable: list,
                  accept: frozenset[str]) -> Checked:
    """Stages 3-4: build the tidy tables, check the contracts, then compare with the published
    snapshot. A table whose new fetch is implausible is put back on its published fetch and the
    rest is built again; contract violations publish nothing."""
    rejected: dict[str, list[str]] = {}
    findings = check_rows(catalog, fresh, current, accept)
    for f in findings:
        rejected.setdefault(f.table, []).append(str(f))
    for _attempt in range(3):  # rejecting one table can only remove changes: settles quickly
        raws, absent = gather(raw, needed, fresh, current, frozenset(rejected))
        lost = [t for t in absent if t in rejected]
        if lost:  # nothing earlier to fall back on: publish nothing rather than the doubtful
            return Checked(None, raws, rejected, findings=findings, error="; ".join(
                f"{t}: new data not plausible and no earlier data to keep ({rejected[t][0]}); "
                f"check it and take it with --accept {t}" for t in lost))
        try:
            built = build(catalog, raws, usable)
        except (TransformError, RegionError, HistoryError) as exc:
            log.error("transform failed", extra={"error": str(exc)})
            return Checked(None, raws, rejected, error=str(exc), findings=findings)
        if built.violations:
            return Checked(built, raws, rejected, violations=built.violations, findings=findings)
        changed = {t for t in raws if t in fresh and t not in rejected and t not in accept}
        names = dict(zip(built.regions["code"], built.regions["name"], strict=False))
        found = checks.plausibility(catalog, changed, built.observations, built.coverage,
                                    current.observations(), current.baseline()[2], usable, names)
        if not found:
            return Checked(built, raws, rejected, findings=findings)
        findings += found
        for f in found:
            rejected.setdefault(f.table, []).append(str(f))
    raise AssertionError("plausibility did not settle")  # pragma: no cover


@dataclass
class Enriched:
    manifest: snapshot.ManifestBody
    frames: dict[str, pd.DataFrame]  # optional tables by contract name
    files: dict[str, bytes]  # maps


def enrich(catalog: Catalog, built: Built, raws: dict[str, RawTable], current: Current,
           stale: list[str], failed: dict, not_yet: list[str], run: dict, root: Path,
           boundary_source: geo.Source, force: bool, data_source: str | None = None,
           plausibility: snapshot.Plausibility | None = None) -> Enriched:
    """Stage 5: what the dashboard needs beside the numbers: provenance manifest, changes since
    the published snapshot, comparable gemeenten (peers) and map boundaries (fetched from
    ``boundary_source``)."""
    obs, regions = built.observations, built.regions
    base_id, previous, _cov = current.baseline()  # changes are diffed against intact data only
    peer_table, peer_features = peers.compute(built.observations_current, regions)
    geojson, bounds = maps.boundaries(catalog, regions, current.manifest, root, boundary_source,
                                    force)
    old_maps, by_year = maps.historical_boundaries(catalog, regions, built.history,
                                                   current.manifest, root, boundary_source,
                                                   force)
    manifest = snapshot_manifest(
        catalog, raws, obs, built.coverage, stale, failed, not_yet,
        new_editions=run["new_editions"], cbs_url=run["cbs_url"], data_source=data_source,
        harmonisation=snapshot.Harmonisation(
            history_from=built.history.history_from, rows=len(built.observations_current),
            gaps=len(built.gaps), boundary_notes=built.boundary_notes,
            flags=built.observations_current["harmonisation"].value_counts().to_dict()),
        changes=snapshot.Changes(previous_snapshot=base_id,
                                 indicators=changes.diff(previous, obs)),
        peers=snapshot.PeersInfo(k=peers.K, min_common_features=peers.MIN_COMMON,
                                 features=[snapshot.PeerFeature(id=f, label=lbl)
                                           for f, lbl, _ in peers.FEATURES]),
        boundaries=bounds, boundaries_by_year=by_year, plausibility=plausibility)
    files = {snapshot.BOUNDARIES: geojson, **old_maps} if geojson else dict(old_maps)
    frames = {"observations_current": built.observations_current,
              "region_history": built.history.table(), "harmonisation_gaps": built.gaps,
              "peers": peer_table, "peer_features": peer_features,
              "missing_values": built.missing}
    return Enriched(manifest, frames, files)


def publish_snapshot(root: Path, raw: store.RawStore, built: Built, raws: dict[str, RawTable],
                     enriched: Enriched, keep: int) -> str:
    """Stage 6: write the snapshot and switch ``current`` (atomic); only then do the fetches it
    was built from become "last good"."""
    sid = snapshot.publish(root, built.observations, built.regions, enriched.manifest, keep=keep,
                           files=enriched.files, frames=enriched.frames)
    for t, r in raws.items():
        if r.manifest.get("folder"):
            raw.mark_good(t, r.manifest["folder"])
    logs.detail(log, "published", snapshot_id=sid, rows=len(built.observations))
    return sid


# --------------------------------------------------------------------------- orchestration

def _refresh(catalog, root, client, *, only, force, keep, command, workers, geo_url,
             data_source=None, accept=frozenset()) -> int:
    run = {"run_id": uuid.uuid4().hex[:12], "started": store.utcnow(), "command": command,
           "cbs_url": client.config.base_url, "only": only, "force": force,
           "catalogue_sha256": catalog.sha256, "tables": {}}
    if accept:
        run["accepted"] = sorted(accept)
    t_start = time.monotonic()
    tables, indicators = catalog.select(only)
    client.for_api("file").configure(catalog.files)  # the workbooks' editions and layout
    gebieden = list(dict.fromkeys(catalog.gebieden.values()))
    raw = store.RawStore(root)
    leftovers = raw.clean_temporary()  # ours to clean: we hold the lock, nobody else writes raw/
    if leftovers:
        run["removed_temporary"] = leftovers
    current = current_state(root, raw)
    if current.damaged:
        run["current_damaged"] = current.damaged
    todo = [t for t in dict.fromkeys([*gebieden, *tables])  # --only: keep the regions
            if not (t in gebieden and only and (t in current.inputs or raw.latest_manifest(t)))]

    damaged_raw = damaged_inputs(raw, current)
    if damaged_raw:
        run["raw_damaged"] = damaged_raw
    fetched = fetch(catalog, client, raw, todo, current, force, workers, frozenset(damaged_raw))
    run["tables"] = {t: r.__dict__ for t, r in fetched.results.items()}
    run["new_editions"] = fetched.new_editions
    failed = fetched.failed
    if todo and len(failed) == len(todo):
        first = next(iter(failed.values())).error
        return _finish(root, run, t_start, "failed", EXIT_FAILED,
                       error=f"CBS could not be reached for any table ({len(todo)}); nothing "
                             f"published. First error: {first}")

    needed = [*gebieden, *catalog.data_tables()]
    raws, absent = gather(raw, needed, fetched.fresh, current)
    fatal = [t for t in absent if t in set(tables) | set(gebieden)]
    if fatal:
        return _finish(root, run, t_start, "failed", EXIT_FAILED,
                       error="no data (fresh or earlier) for " + ", ".join(
                           f"{t} ({failed[t].error})" if t in failed else t for t in fatal))
    usable = [i for i in catalog.enabled
              if all(any(e in raws for e in catalog.tables_of(t)) for t in i.tables)]
    not_yet = [i.id for i in catalog.enabled if i not in usable]
    stale = sorted(t for t in failed if t in raws)
    wijk_changed = [] if only else wijk_news(client, catalog, current)
    if wijk_changed:
        run["wijken_news"] = wijk_changed
    if (not fetched.fresh and not wijk_changed
            and published_as_is(catalog, current, raws, force, stale)):
        _mark_stale(run, stale, raws)  # nothing new at CBS: no build, no new snapshot
        return _finish(root, run, t_start, "partial" if stale else "noop",
                       EXIT_PARTIAL if stale else EXIT_OK, snapshot_id=current.id)

    log.info("building", extra={"tables": len(needed), "_text": (
        f"Building the figures from {len(needed)} table(s) and checking them ...")})
    checked = build_checked(catalog, raw, needed, fetched.fresh, current, usable, accept)
    if checked.error or checked.violations:
        return _failed_checks(root, run, t_start, checked)
    raws = checked.raws
    _record_rejections(run, failed, checked.rejected, checked.findings)
    stale = sorted(t for t in failed if t in raws)
    if all(t in failed for t in todo):
        return _finish(root, run, t_start, "failed", EXIT_FAILED,
                       error="no table could be refreshed; nothing published: "
                             + "; ".join(r.error or t for t, r in failed.items()))
    _mark_stale(run, stale, raws)
    if not wijk_changed and published_as_is(catalog, current, raws, force, stale):  # only
        # rejected news
        return _finish(root, run, t_start, "partial" if stale else "noop",
                       EXIT_PARTIAL if stale else EXIT_OK, snapshot_id=current.id)

    plausible = (snapshot.Plausibility(rejected=checked.rejected, accepted=sorted(accept))
                 if checked.rejected or accept else None)
    boundary_source = geo.Source(geo.url_template(geo_url), client.boundary_file)
    enriched = enrich(catalog, checked.built, raws, current, stale, failed, not_yet, run, root,
                      boundary_source, force, data_source_of(client.config.base_url, data_source),
                      plausible)
    wijk_rows, wijk_maps = wijk_frame(client, current, run, catalog.wijken,
                                      geo.wijk_url_template(boundary_source.template),
                                      fetch=not only, bounds=catalog.bounds())
    if wijk_rows is not None:
        enriched.frames["wijk_observations"] = wijk_rows
        enriched.files.update(wijk_maps)
        if enriched.manifest.wijken is not None:  # which KWB edition (Modified) it holds
            enriched.manifest = enriched.manifest.model_copy(update={"wijken": (
                enriched.manifest.wijken.model_copy(update={
                    "tables": wijk_tables(wijk_rows, run, current),
                    "seen": wijk_seen(run, current)}))})
    if enriched.manifest.boundaries is not None:
        run["boundaries"] = enriched.manifest.boundaries.model_dump(mode="json",
                                                                    exclude_defaults=True)
    sid = publish_snapshot(root, raw, checked.built, raws, enriched, keep)
    outcome, code = ("partial", EXIT_PARTIAL) if stale else ("ok", EXIT_OK)
    return _finish(root, run, t_start, outcome, code, snapshot_id=sid,
                   rows=len(checked.built.observations))


def published_as_is(catalog: Catalog, current: Current, raws: dict[str, RawTable], force: bool,
                    stale: list[str]) -> bool:
    """True when a snapshot of ``raws`` would be the current one again: same fetches, same
    catalogue, same stale tables, and current intact (a damaged current is always republished)."""
    return bool(current.manifest and not force and not current.damaged
                and current.manifest.catalogue_sha256 == catalog.sha256
                and current.stale == stale
                and all(r.manifest.get("folder") == current.inputs.get(t, {}).get("folder")
                        for t, r in raws.items()))


def _failed_checks(root: Path, run: dict, t_start: float, checked: Checked) -> int:
    if checked.error:
        return _finish(root, run, t_start, "failed", EXIT_FAILED, error=checked.error)
    for v in checked.violations:
        log.error("check failed", extra={"rule": v.rule, "table": v.table,
                                         "indicator": v.indicator, "detail": v.detail})
    return _finish(root, run, t_start, "failed", EXIT_FAILED,
                   error=f"{len(checked.violations)} check(s) failed; nothing published",
                   violations=[str(v) for v in checked.violations])


def _record_rejections(run: dict, failed: dict[str, TableResult],
                       rejected: dict[str, list[str]],
                       findings: list[checks.Implausible] = ()) -> None:
    """Tables whose new data were not plausible: in the run record as "rejected", with the
    numbers (one line per table for a person; ``rejections``: the same as fields, also in the
    JSON log); they count as failed for the outcome and keep their last good data."""
    for t, found in rejected.items():
        msg = (f"{t}: new data not plausible, last good data kept: " + "; ".join(found)
               + f" (if CBS really changed this: python -m pipelines refresh --accept {t})")
        details = [f.record() for f in findings if f.table == t]
        log.error("implausible table", extra={"table": t, "findings": found,
                                              "details": details, "_text": msg})
        failed[t] = TableResult("rejected", error=msg, kind="plausibility")
        run["tables"][t].update(action="rejected", error=msg, kind="plausibility")
    if rejected:
        run["rejected"] = rejected
        run["rejections"] = [f.record() for f in findings if f.table in rejected]


def _mark_stale(run: dict, stale: list[str], raws: dict[str, RawTable]) -> None:
    for t in stale:
        if run["tables"].get(t, {}).get("action") == "failed":
            run["tables"][t]["action"] = "stale"
        log.error("keeping last good data",
                  extra={"table": t, "fetched_at": raws[t].manifest.get("fetched_at")})


DATA_SOURCES = ("cbs", "mirror", "test")


def data_source_of(base_url: str, declared: str | None) -> str:
    """The data source the manifest records: the declared one, else "cbs" for a CBS host and
    "onbekend" for anything else (the dashboard then warns that it is not CBS's own feed)."""
    if declared:
        return declared
    host = urlparse(base_url or "").hostname or ""
    return "cbs" if host == "cbs.nl" or host.endswith(".cbs.nl") else "onbekend"


def snapshot_manifest(catalog: Catalog, raws: dict[str, RawTable], obs: pd.DataFrame, cov: dict,
                      stale: list[str], failed: dict, not_yet: list[str],
                      **later: object) -> snapshot.ManifestBody:
    """The manifest of the snapshot built from ``raws``: provenance per CBS table, the
    catalogue's indicators, coverage. ``later``: the fields :func:`enrich` adds (changes,
    peers, maps, ...). Built from the contract's models, so a misspelt field fails here."""
    counts = obs.groupby("indicator").size().to_dict()
    tables = {}
    for t, r in raws.items():
        m = r.manifest
        tables[t] = snapshot.TableEntry(
            title=r.info.get("Title") or m.get("title"),
            catalogue_title=catalog.tables[t].title if t in catalog.tables else None,
            modified=m.get("modified"), fetched_at=m.get("fetched_at"), url=m.get("url"),
            filter=m.get("filter"), select=m.get("select"),
            rows=data_file(m).get("rows"), sha256=data_file(m).get("sha256"),
            api=m.get("api", "v3"),
            raw_folder=f"raw/{t}/{m.get('folder')}",
            stale=t in stale, error=failed[t].error if t in failed else None,
            boundaries=m.get("boundaries") or (catalog.tables[t].boundaries
                                                if t in catalog.tables else None),
            edition=m.get("edition"), page=m.get("page"),
            original=next(iter(m.get("originals") or {}), None),
            original_sha256=next(iter((m.get("originals") or {}).values()), {}).get("sha256"),
            # CBS TableInfos: "Regulier" or e.g. "Stopgezet" (discontinued); "Perjaar", ...
            output_status=r.info.get("OutputStatus"), frequency=r.info.get("Frequency"),
        )

    def table_ids(ind) -> list[str]:
        """CBS table ids behind an indicator: a series as its fetched editions, newest first
        (what the dashboard links to and looks up in ``tables``)."""
        out = []
        for t in ind.tables:
            if t in catalog.series:
                eds = [e for e in reversed(catalog.tables_of(t)) if e in raws]
                out += eds or list(reversed(catalog.tables_of(t)))
            else:
                out.append(t)
        return list(dict.fromkeys(out))

    inds = [snapshot.IndicatorEntry(
        id=i.id, theme=i.theme, title=i.title, description=i.description,
        unit=i.unit, decimals=i.decimals, higher_is_better=i.higher_is_better,
        levels=i.levels, tables=table_ids(i),
        series=[t for t in i.tables if t in catalog.series], measure=i.measure_label,
        formula=i.formula if i.derived else None, derived=i.derived,
        enabled=i.enabled, in_snapshot=i.id in counts, rows=int(counts.get(i.id, 0)),
        verified=all((catalog.series[t] if t in catalog.series else catalog.tables[t]
                      ).verified for t in i.tables),
        brede_welvaart=(snapshot.BredeWelvaart(dimensie=i.bw_dimension, thema=i.bw_theme)
                        if i.bw_dimension else None),
        kind=i.kind, rankable=i.rankable, disabled_reason=i.disabled_reason,
        breaks=[snapshot.SeriesBreak(year=y, note=n) for y, n in i.breaks],
    ) for i in catalog.indicators]
    return snapshot.ManifestBody(
        catalogue_sha256=catalog.sha256, reference_year=catalog.reference_year,
        gebieden_table=catalog.gebieden[catalog.reference_year],
        licence="CBS open data, CC BY 4.0 (Bron: CBS)",
        tables=tables, indicators=inds, coverage=cov,
        dwarsverbanden=list(catalog.pairs),
        stale_tables=stale, indicators_not_yet_fetched=not_yet,
        rows=len(obs), wijken=wijken_info(catalog), **later,
    )


def wijken_info(catalog: Catalog) -> snapshot.WijkenInfo | None:
    """The catalogue's wijk indicators as the snapshot carries them (the dashboard computes
    wijk, centrum, rest, gemeente and Nederland from ``wijk_observations`` with these)."""
    w = catalog.wijken
    if w is None:
        return None
    return snapshot.WijkenInfo(
        map=w.map, headline=w.headline,
        max_uncertainty_pct=dict(catalog.precision)["max_uncertainty_pct"],
        indicators=[snapshot.WijkIndicatorEntry(
            id=i.id, title=i.title, description=i.description, unit=i.unit,
            decimals=i.decimals, higher_is_better=i.higher_is_better, kind=i.kind,
            formula=i.formula, inputs=[snapshot.WijkInput(name=x.name, measure=x.measure,
                                                          additive=x.additive, weight=x.weight)
                                       for x in i.inputs]) for i in w.indicators])


def _finish(root: Path, run: dict, t0: float, outcome: str, code: int, **extra) -> int:
    run.update(extra)
    run.update({"ended": store.utcnow(), "seconds": round(time.monotonic() - t0, 2),
                "outcome": outcome, "exit_code": code})
    runs.append_run(root, run)
    level = logging.INFO if code == EXIT_OK else logging.ERROR
    log.log(level, f"refresh {outcome}", extra={**{k: v for k, v in run.items() if k != "tables"},
                                                "_text": summary(run)})
    return code


def summary(run: dict) -> str:
    """The end of a run in plain words, for a person at a terminal: what was published (or why
    nothing), from how many tables, how long it took."""
    acts: dict[str, int] = {}
    for t in (run.get("tables") or {}).values():
        acts[t["action"]] = acts.get(t["action"], 0) + 1
    n = sum(acts.values())
    seconds = run.get("seconds") or 0
    took = f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    kept = acts.get("stale", 0) + acts.get("rejected", 0)
    kept_text = f"; {kept} kept their last good data (see above)" if kept else ""
    outcome, sid = run.get("outcome"), run.get("snapshot_id")
    if outcome == "failed":
        return f"Refresh failed after {took}, nothing published: {run.get('error')}"
    if outcome == "noop" or (outcome == "partial" and "rows" not in run):
        return (f"Nothing new at CBS: snapshot {sid} stays current ({n} tables checked in "
                f"{took}{kept_text}).")
    parts = [f"{acts[a]} {w}" for a, w in (("fetched", "downloaded"), ("unchanged", "unchanged"))
             if acts.get(a)]
    return (f"Published snapshot {sid}: {run.get('rows', 0):,} figures from {n} tables "
            f"({', '.join(parts) or 'none asked'}{kept_text}) in {took}.")


def wijk_frame(client: CbsClient, current: Current, run: dict, wijk=None,
               geo_template: str | None = None, fetch: bool = True, bounds: dict | None = None,
               ) -> tuple[pd.DataFrame | None, dict[str, bytes]]:
    """The wijk rows of the KWB years in the catalogue's ``wijken.years`` (``wijk``: its
    :class:`~pipelines.catalog.Wijken`; the stems its wijk indicators need; one download per year,
    gemeente and wijk rows only) and the wijk boundaries of those years
    (``wijken_<year>.geojson``, from ``geo_template``: see :func:`geo.wijk_url_template`). Not
    fatal: a year CBS does not serve, or whose rows fail :func:`wijken.check`, keeps its
    published rows (left out when none were published) with a warning in the run record; a year
    whose rows are not plausible against the published
    snapshot's (:func:`checks.wijk_plausibility`, ``bounds`` as the gemeente tables') keeps the
    published rows and map of that year, with a warning naming the table, year and finding.
    When no year comes in, the published snapshot's wijk rows and maps are kept (None and no
    maps when it had none), as they are when ``fetch`` is False (``refresh --only``: only what
    was asked is downloaded). ``run["wijken"]`` holds per year the wijken and gemeenten, and the
    gemeenten of the KWB year without a wijk (also a warning: reported, not enforced)."""
    frames, files, missing = [], {}, {}
    published, published_maps = _published_wijken(current)

    def warn(line: str) -> None:
        run.setdefault("wijken_warnings", []).append(line)

    if wijk is None:  # no wijk section in the catalogue: no wijk figures in the snapshot
        return None, {}
    if not wijk.verified:  # unverified table ids are never presented as CBS figures
        warn("wijk figures off: the catalogue's wijken section is not verified")
        return None, {}
    for year in wijk.years if fetch else ():
        table = wijk.table(year)
        try:
            modified = str(client.table_info(table).get("Modified") or "")
            props = client.meta(table, "DataProperties")
            q, keys = wijken.query_for(table, props, wijken.stems(wijk))
            entities = client.download(q)
            # downloaded, so looked at (taken or refused below): not news again tomorrow; a
            # table CBS could not serve (CbsError above) is asked again the next night
            run.setdefault("wijken_seen", {})[table] = modified
            df = wijken.from_entities(entities, year, table, keys,
                                      wijken.steps(wijk, props, keys))
            if df.empty:
                raise wijken.WijkError("no wijk rows in this table")
        except (CbsError, wijken.WijkError, OSError, ValueError) as exc:
            was = (published[published["year"] == year] if published is not None
                   else pd.DataFrame())
            warn(f"{table} ({year}): {exc}" + ("; published rows of that year kept"
                                               if not was.empty else ""))
            log.warning("wijk rows not taken", extra={"table": table, "error": str(exc)})
            if not was.empty:  # a failed night never takes a year away from the dashboard
                frames.append(was)
                name = f"wijken_{year}.geojson"
                files.update({name: published_maps[name]} if name in published_maps else {})
            continue
        if published is not None and not published.empty:
            # continuity against the published years, so a new year meets its predecessor
            linked = wijken.link_years(pd.concat([published[published["year"] != year], df],
                                                 ignore_index=True))
            found = checks.wijk_plausibility(linked[linked["year"] == year], published, bounds)
            if found:
                kept = published[published["year"] == year]
                what = (f"published rows of {year} kept" if not kept.empty
                        else f"{year} left out (none published)")
                for f in found:
                    warn(f"{table} ({year}): new wijk rows not plausible, {what}: {f}")
                log.warning("wijk rows not plausible", extra={
                    "table": table, "year": year, "findings": [f.record() for f in found]})
                if not kept.empty:
                    frames.append(kept)
                    name = f"wijken_{year}.geojson"
                    files.update({name: published_maps[name]} if name in published_maps else {})
                continue
        frames.append(df)
        run.setdefault("wijken_modified", {})[table] = modified  # the edition taken
        kwb_gemeenten = {str(r.get(wijken.REGION_DIM, "")).strip(): "" for r in
                         entities.get("TypedDataSet", [])}
        kwb_gemeenten.update({str(c.get("Key", "")).strip(): str(c.get("Title", "")).strip()
                              for c in entities.get(wijken.REGION_DIM, [])})
        without = checks.gemeenten_without_wijken(
            df, {c: n for c, n in kwb_gemeenten.items() if c.startswith("GM")})
        if without:
            missing[year] = without
            warn(f"{table} ({year}): {len(without)} gemeente(n) without wijken: "
                 + ", ".join(without[:10]) + (f" (+{len(without) - 10} more)"
                                              if len(without) > 10 else ""))
        if geo_template:
            try:
                fc = client.boundary_file(geo_template.format(year=year))
            except CbsError as exc:
                fc = None
                warn(f"wijk map {year}: {exc}")
            if fc:
                files[f"wijken_{year}.geojson"] = wijken.boundaries(fc, set(df["region_code"]))
    if frames:
        df = wijken.link_years(pd.concat(frames, ignore_index=True))
        run["wijken"] = wijken.check(df)
        for year, without in missing.items():
            run["wijken"].setdefault(year, {})["gemeenten_without_wijken"] = without
        return df, files
    return published, published_maps


def wijk_news(client: CbsClient, catalog: Catalog, current: Current) -> list[str]:
    """The KWB tables of the catalogue's wijk years that CBS changed (TableInfos Modified) since
    the published snapshot took them, or serves now while the snapshot has none of them: a
    new edition's business counts per wijk make a new snapshot even on a night with nothing new
    for the gemeenten. One small request per year; a year CBS does not serve is no news."""
    w = catalog.wijken
    if w is None or current.manifest is None:
        return []
    info = current.manifest.wijken
    had = {**dict(info.tables), **dict(info.seen)} if info is not None else {}
    news = []
    for year in w.years:
        table = w.table(year)
        try:
            modified = str(client.table_info(table).get("Modified") or "")
        except (CbsError, OSError, ValueError):
            continue
        if modified and had.get(table) != modified:
            news.append(table)
    return news


def wijk_tables(rows: pd.DataFrame, run: dict, current: Current) -> dict[str, str]:
    """table -> Modified of the KWB editions whose wijk rows are in ``rows``: as taken this run
    (``run["wijken_modified"]``), else as the published snapshot recorded them (kept rows)."""
    was = dict(current.manifest.wijken.tables) if (
        current.manifest is not None and current.manifest.wijken is not None) else {}
    now = run.get("wijken_modified", {})
    return {t: now.get(t) or was.get(t, "") for t in sorted(set(rows["cbs_table"]))}


def wijk_seen(run: dict, current: Current) -> dict[str, str]:
    """table -> Modified of every KWB edition looked at, this run or before (taken, or refused
    by the checks: a refused edition is not news again until CBS changes it)."""
    was = dict(current.manifest.wijken.seen) if (
        current.manifest is not None and current.manifest.wijken is not None) else {}
    return {**was, **run.get("wijken_seen", {})}


def _published_wijken(current: Current) -> tuple[pd.DataFrame | None, dict[str, bytes]]:
    """The published snapshot's wijk rows and wijk maps (None and none when it has none)."""
    sid = current.baseline()[0]
    if sid:
        try:
            snap = snapshot.load_snapshot(current.root, sid)
            kept = {n: (snap.path / n).read_bytes() for n in snap.manifest.files
                    if n.startswith("wijken_")}
            return snap.frame("wijk_observations"), kept
        except (snapshot.NoSnapshot, OSError):
            return None, {}
    return None, {}
