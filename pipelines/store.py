"""On-disk stages: raw responses, published snapshots, the ``current`` switch, lock, run history.

Layout under the data folder (``--data-dir`` / ``REGIO_DATA_DIR`` / ``data``)::

    raw/<TABLE>/<fetched-at>/<Entity>.json + manifest.json    responses as received
    raw/<TABLE>/LATEST                                          the fetch the published snapshot
                                                                was built from ("last good")
    snapshots/<snapshot-id>/observations.parquet                tidy long table
                            regions.parquet                     region table
                            manifest.json                       provenance, indicators, coverage,
                                                                size + sha256 of every file
    current -> snapshots/<snapshot-id>                          switched atomically (symlink)
    runs.jsonl                                                  one JSON record per refresh run
    .refresh.lock                                               held while a refresh runs

Every write goes to a temporary name first and is renamed into place, so a reader (or a refresh
killed at any point) never sees a half-written file, folder or snapshot.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from .transform import RawTable

ENV_DATA_DIR = "REGIO_DATA_DIR"
_STAMP = "%Y%m%dT%H%M%S%fZ"
BOUNDARIES = "gemeenten.geojson"
SNAPSHOT_FILES = ("observations.parquet", "regions.parquet", "manifest.json")


def data_dir(arg: str | None = None) -> Path:
    return Path(arg or os.environ.get(ENV_DATA_DIR) or "data")


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- resource errors

RESOURCE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO,
                   errno.EMFILE, errno.ENFILE}


class StorageError(RuntimeError):
    """Writing to the data folder failed: disk full, permission denied, read-only file system.
    ``str()`` is one line naming the path; whatever was half-written has been removed."""

    def __init__(self, path: Path | str, exc: OSError):
        self.path = Path(exc.filename) if getattr(exc, "filename", None) else Path(path)
        self.errno = exc.errno
        self.reason = exc.strerror or str(exc) or exc.__class__.__name__
        super().__init__(f"cannot write {self.path}: {self.reason}")

    def __reduce__(self):  # picklable, for errors raised in worker processes
        return (_storage_error, (str(self.path), self.errno, self.reason))


def _storage_error(path: str, code: int | None, reason: str) -> StorageError:
    return StorageError(path, OSError(code, reason))


def is_resource_error(exc: BaseException) -> bool:
    return isinstance(exc, StorageError) or (
        isinstance(exc, OSError) and exc.errno in RESOURCE_ERRNOS)


@contextlib.contextmanager
def writing(path: Path, *, cleanup: Path | None = None):
    """Wrap writes to ``path``: an ``OSError`` becomes a :class:`StorageError` naming the path
    (a bare ``write()`` failing with ENOSPC names no file), and ``cleanup`` (a temporary file or
    folder) is removed on any failure, so a full disk is not filled further by leftovers."""
    try:
        yield
    except BaseException as exc:
        if cleanup is not None:
            _remove(cleanup)
        if isinstance(exc, OSError) and not isinstance(exc, StorageError):
            raise StorageError(path, exc) from exc
        raise


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with writing(path, cleanup=tmp):
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


def _json_bytes(obj, compact: bool = False) -> bytes:
    if compact:  # raw responses: large, read by machines
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8")


# --------------------------------------------------------------------------- lock

class LockedError(RuntimeError):
    pass


@contextlib.contextmanager
def refresh_lock(root: Path):
    """Exclusive, non-blocking. The kernel drops the lock when the process dies (even kill -9)."""
    with writing(root / ".refresh.lock"):
        root.mkdir(parents=True, exist_ok=True)
        fh = open(root / ".refresh.lock", "a+")  # noqa: SIM115 - held for the with-block
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise LockedError(f"another refresh is running ({holder}); try again later") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {utcnow()}")
        fh.flush()
        yield
    finally:
        fh.close()


# --------------------------------------------------------------------------- raw stage

class RawDamaged(RuntimeError):
    """A stored raw fetch is unreadable or differs from the hashes recorded when it was saved."""


class RawStore:
    def __init__(self, root: Path):
        self.root = root / "raw"

    def latest(self, table: str) -> RawTable | None:
        """The last good fetch: the one a published snapshot was built from (see
        :meth:`mark_good`). A fetch that failed its checks or was never published is not it."""
        tdir = self.root / table
        try:
            stamp = (tdir / "LATEST").read_text().strip()
        except OSError:
            return None
        return self.load(table, stamp)

    def verify(self, table: str, folder: str) -> list[str]:
        """What is wrong with one stored fetch: each file must match the sha256 its manifest
        recorded when it was saved. Empty list = intact."""
        path = self.root / table / folder
        try:
            files = json.loads((path / "manifest.json").read_text())["files"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return [f"{path / 'manifest.json'}: unreadable ({exc.__class__.__name__})"]
        problems = []
        for name, meta in files.items():
            try:
                digest = file_digest(path / f"{name}.json")["sha256"]
            except OSError as exc:
                problems.append(f"{path / name}.json: missing or unreadable ({exc.strerror})")
                continue
            if meta.get("sha256") and digest != meta["sha256"]:
                problems.append(f"{path / name}.json: sha256 differs from its manifest")
        return problems

    def load(self, table: str, folder: str) -> RawTable:
        """One stored fetch, each file checked against the sha256 its manifest recorded."""
        path = self.root / table / folder
        try:
            manifest = json.loads((path / "manifest.json").read_text())
            entities = {}
            for name, meta in manifest["files"].items():
                body = (path / f"{name}.json").read_bytes()
                if meta.get("sha256") and hashlib.sha256(body).hexdigest() != meta["sha256"]:
                    raise RawDamaged(f"{table}: raw fetch {path} is damaged ({name}.json differs "
                                     "from its sha256); run `python -m pipelines refresh --force` "
                                     "to download it again")
                entities[name] = json.loads(body)["value"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RawDamaged(f"{table}: raw fetch {path} is unreadable ({exc}); run `python -m "
                             "pipelines refresh --force` to download it again") from None
        return RawTable(table, entities, manifest)

    def manifest(self, table: str, folder: str) -> dict | None:
        try:
            return json.loads((self.root / table / folder / "manifest.json").read_text())
        except (OSError, ValueError):
            return None

    def latest_manifest(self, table: str) -> dict | None:
        try:
            stamp = (self.root / table / "LATEST").read_text().strip()
        except OSError:
            return None
        return self.manifest(table, stamp)

    def mark_good(self, table: str, folder: str) -> None:
        """Record ``folder`` as the last good fetch of ``table``: call only after a snapshot built
        from it was published."""
        tdir = self.root / table
        if (tdir / folder).is_dir():
            write_atomic(tdir / "LATEST", folder.encode())

    def save(self, table: str, entities: dict[str, list], manifest: dict, keep: int = 3) -> RawTable:
        """Store a fetch as received. It does not become "last good" (LATEST) here: that happens
        in :meth:`mark_good` once a snapshot built from it is published."""
        tdir = self.root / table
        with writing(tdir):
            tdir.mkdir(parents=True, exist_ok=True)
        stamp = manifest["fetched_at"].replace(":", "").replace("-", "")
        n = 0
        while (tdir / stamp).exists():
            n += 1
            stamp = f"{stamp.split('.')[0]}.{n}"
        tmp = tdir / f".tmp-{stamp}-{os.getpid()}"
        with writing(tmp, cleanup=tmp):
            tmp.mkdir()
            files = {}
            for name, value in entities.items():
                body = _json_bytes({"value": value}, compact=True)
                with writing(tmp / f"{name}.json"):
                    (tmp / f"{name}.json").write_bytes(body)
                files[name] = {"rows": len(value), "bytes": len(body),
                               "sha256": hashlib.sha256(body).hexdigest()}
            manifest = {**manifest, "folder": stamp, "files": files}
            with writing(tmp / "manifest.json"):
                (tmp / "manifest.json").write_bytes(_json_bytes(manifest))
            for f in tmp.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            os.rename(tmp, tdir / stamp)
        _fsync_dir(tdir)
        self._prune(tdir, keep)
        return RawTable(table, entities, manifest)

    @staticmethod
    def _prune(tdir: Path, keep: int) -> None:
        try:
            latest = (tdir / "LATEST").read_text().strip()
        except OSError:
            latest = None
        folders = sorted(p for p in tdir.iterdir() if p.is_dir() and not p.name.startswith("."))
        for old in folders[:-keep] if keep > 0 else []:
            if old.name != latest:
                shutil.rmtree(old, ignore_errors=True)
        for tmp in tdir.glob(".tmp-*"):  # left behind by a killed run
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- snapshots

@dataclass
class Snapshot:
    id: str
    path: Path
    manifest: dict
    observations: pd.DataFrame  # as published: each year on that year's gemeente boundaries
    regions: pd.DataFrame

    def frame(self, name: str) -> pd.DataFrame | None:
        """An optional snapshot table (observations_current, region_history,
        harmonisation_gaps); None in snapshots made before it existed."""
        path = self.path / f"{name}.parquet"
        return pd.read_parquet(path) if path.exists() else None


class NoSnapshot(LookupError):
    pass


def current_id(root: Path) -> str | None:
    link = root / "current"
    try:
        return Path(os.readlink(link)).name
    except OSError:
        return None


def snapshot_ids(root: Path) -> list[str]:
    sdir = root / "snapshots"
    if not sdir.is_dir():
        return []
    return sorted(p.name for p in sdir.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").exists())


def read_manifest(root: Path, snapshot_id: str | None = None) -> dict:
    sid = snapshot_id or current_id(root)
    if not sid:
        raise NoSnapshot(f"no published snapshot in {root}")
    try:
        return json.loads((root / "snapshots" / sid / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise NoSnapshot(f"snapshot {sid} in {root} is unreadable: {exc}") from None


def load_snapshot(root: Path, snapshot_id: str | None = None, verify: bool = True) -> Snapshot:
    """A published snapshot (default: ``current``). ``verify``: check every file against its
    sha256 first (:func:`verify_snapshot`) and raise :class:`NoSnapshot` when it is damaged."""
    sid = snapshot_id or current_id(root)
    if not sid:
        raise NoSnapshot(f"no published snapshot in {root}")
    problems = verify_snapshot(root, sid) if verify else []
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise NoSnapshot(f"snapshot {sid} in {root} is damaged: {problems[0]}{more}")
    path = root / "snapshots" / sid
    manifest = read_manifest(root, sid)
    try:
        obs = pd.read_parquet(path / "observations.parquet")
        regions = pd.read_parquet(path / "regions.parquet")
    except (OSError, ValueError) as exc:
        raise NoSnapshot(f"snapshot {sid} in {root} is unreadable: {exc}") from None
    return Snapshot(sid, path, manifest, obs, regions)


def publish(root: Path, observations: pd.DataFrame, regions: pd.DataFrame, manifest: dict,
            keep: int = 5, extra_files: dict[str, bytes] | None = None,
            extra_frames: dict[str, pd.DataFrame] | None = None) -> str:
    """Write a snapshot beside the current one and switch ``current`` to it in one rename."""
    sdir = root / "snapshots"
    with writing(sdir):
        sdir.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(observations, index=False).values.tobytes())
    h.update(pd.util.hash_pandas_object(regions, index=False).values.tobytes())
    # ids sort in publish order: UTC time to the microsecond, then the content hash
    now = datetime.now(UTC)
    existing = snapshot_ids(root)
    if existing:
        last = datetime.strptime(existing[-1][:22], _STAMP).replace(tzinfo=UTC)
        now = max(now, last + timedelta(microseconds=1))  # a clock that went back stays ordered
    stamp = now.strftime(_STAMP)
    sid = f"{stamp}-{h.hexdigest()[:8]}"
    tmp = sdir / f".tmp-{sid}"
    with writing(tmp, cleanup=tmp):
        tmp.mkdir()
        frames = {"observations.parquet": observations, "regions.parquet": regions,
                  **(extra_frames or {})}
        for name, frame in frames.items():
            with writing(tmp / name):
                frame.to_parquet(tmp / name, index=False)
        for name, body in (extra_files or {}).items():
            with writing(tmp / name):
                (tmp / name).write_bytes(body)
        files = {f.name: file_digest(f) for f in sorted(tmp.iterdir())}  # verified on load
        manifest = {**manifest, "snapshot_id": sid, "published_at": utcnow(),
                    "content_sha256": h.hexdigest(), "files": files}
        with writing(tmp / "manifest.json"):
            (tmp / "manifest.json").write_bytes(_json_bytes(manifest))
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        os.rename(tmp, sdir / sid)
    _fsync_dir(sdir)
    switch_current(root, sid)
    prune_snapshots(root, keep)
    return sid


def file_digest(path: Path) -> dict:
    """``{"bytes": size, "sha256": hex}`` of one file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": h.hexdigest()}


def verify_snapshot(root: Path, snapshot_id: str) -> list[str]:
    """What is wrong with a published snapshot: every file its manifest lists must exist with
    the recorded size and sha256 (a truncated, overwritten or deleted file is named). Empty list
    = intact. Snapshots published before per-file hashes can only be checked for presence."""
    path = root / "snapshots" / snapshot_id
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        files = manifest.get("files")
    except (OSError, ValueError, AttributeError) as exc:
        return [f"{path / 'manifest.json'}: unreadable ({exc.__class__.__name__})"]
    if not isinstance(files, dict):  # an older snapshot: presence only
        files = {n: None for n in SNAPSHOT_FILES if n != "manifest.json"}
    problems = []
    for name, want in files.items():
        f = path / name
        try:
            size = f.stat().st_size
            got = file_digest(f) if want else None
        except OSError as exc:
            problems.append(f"{f}: missing or unreadable ({exc.strerror or exc})")
            continue
        if want and size != want.get("bytes"):
            problems.append(f"{f}: {size} bytes, manifest says {want.get('bytes')}")
        elif want and got["sha256"] != want.get("sha256"):
            problems.append(f"{f}: sha256 differs from the manifest (file overwritten)")
    return problems


def newest_intact(root: Path, before: str | None = None) -> str | None:
    """The newest snapshot that passes :func:`verify_snapshot`, older than ``before`` if given."""
    for sid in reversed(snapshot_ids(root)):
        if (before is None or sid < before) and not verify_snapshot(root, sid):
            return sid
    return None


def switch_current(root: Path, sid: str) -> None:
    if not (root / "snapshots" / sid / "manifest.json").exists():
        raise NoSnapshot(f"snapshot {sid} does not exist in {root}")
    tmp_link = root / f".current.tmp-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp_link.unlink()
    with writing(root / "current", cleanup=tmp_link):
        os.symlink(Path("snapshots") / sid, tmp_link)
        os.replace(tmp_link, root / "current")  # atomic: readers see the old or the new, never none
    _fsync_dir(root)


def prune_snapshots(root: Path, keep: int) -> list[str]:
    sdir = root / "snapshots"
    cur = current_id(root)
    removed = []
    ids = snapshot_ids(root)
    for old in ids[:-keep] if keep > 0 else []:
        if old != cur:
            shutil.rmtree(sdir / old, ignore_errors=True)
            removed.append(old)
    for tmp in sdir.glob(".tmp-*"):  # a publish killed half-way
        shutil.rmtree(tmp, ignore_errors=True)
    return removed


def rollback(root: Path) -> str:
    """Point ``current`` at the newest intact snapshot before it. Returns the id now current."""
    cur = current_id(root)
    ids = snapshot_ids(root)
    if cur not in ids or ids.index(cur) == 0:
        raise NoSnapshot("no earlier snapshot to roll back to")
    prev = newest_intact(root, before=cur)
    if prev is None:
        raise NoSnapshot("no intact earlier snapshot to roll back to")
    switch_current(root, prev)
    return prev


# --------------------------------------------------------------------------- run history

def append_run(root: Path, record: dict) -> None:
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with writing(root / "runs.jsonl"):
        root.mkdir(parents=True, exist_ok=True)
        with open(root / "runs.jsonl", "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


def read_runs(root: Path, last: int | None = None) -> list[dict]:
    try:
        lines = (root / "runs.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    runs = []
    for ln in lines:
        with contextlib.suppress(ValueError):
            runs.append(json.loads(ln))  # a line cut by a crash is skipped
    return runs[-last:] if last else runs


CHECKED_OUTCOMES = ("ok", "noop")


def last_successful_check(runs: list[dict]) -> str | None:
    """When the data were last confirmed current at CBS: the end of the newest full refresh (not
    ``--only``) that checked every table and published or found nothing new ("ok", "noop").
    Freshness is judged by this, not by the publish date: quiet nights at CBS are fresh nights."""
    for r in reversed(runs):
        if (r.get("outcome") in CHECKED_OUTCOMES and not r.get("only")
                and str(r.get("command") or "refresh").startswith("refresh")):
            return r.get("ended") or r.get("started")
    return None
