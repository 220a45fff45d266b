"""The pipeline's own stages on disk: raw responses as received, and the refresh lock.

Layout under the data folder (``--data-dir`` / ``REGIO_DATA_DIR`` / ``data``)::

    raw/<TABLE>/<fetched-at>/<Entity>.json + manifest.json    responses as received
    raw/<TABLE>/<fetched-at>/<name>.xlsx                        a file CBS publishes as such (the
                                                                Landelijke Monitor Leegstand
                                                                workbook), byte for byte, beside
                                                                the entities read from it
    raw/<TABLE>/LATEST                                          the fetch the published snapshot
                                                                was built from ("last good")
    snapshots/, current                                         published snapshots: the contract
                                                                with the dashboard, written and
                                                                read by pipelines/snapshot.py
    runs.jsonl                                                  run history: pipelines/runs.py
    .refresh.lock                                               held while a refresh runs

Every write goes to a temporary name first and is renamed into place (pipelines/fileio.py), so a
reader (or a refresh killed at any point) never sees a half-written file or folder. The dashboard
never imports this module: a raw fetch is turned into tables by ``transform``, which the
snapshot's readers do not need.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

from .fileio import (  # noqa: F401 - the pipeline's callers use these through store
    StorageError,
    file_digest,
    fsync_dir,
    fsync_files,
    is_resource_error,
    json_bytes,
    utcnow,
    write_atomic,
    writing,
)
from .transform import RawTable

log = logging.getLogger(__name__)

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
            manifest = json.loads((path / "manifest.json").read_text())
            files, originals = manifest["files"], manifest.get("originals") or {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return [f"{path / 'manifest.json'}: unreadable ({exc.__class__.__name__})"]
        problems = []
        for name, meta in originals.items():
            try:
                digest = file_digest(path / name)["sha256"]
            except OSError as exc:
                problems.append(f"{path / name}: missing or unreadable ({exc.strerror})")
                continue
            if digest != meta.get("sha256"):
                problems.append(f"{path / name}: sha256 differs from its manifest")
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

    def save(self, table: str, entities: dict[str, list], manifest: dict, keep: int = 3,
             originals: dict[str, bytes] | None = None) -> RawTable:
        """Store a fetch as received. It does not become "last good" (LATEST) here: that happens
        in :meth:`mark_good` once a snapshot built from it is published. ``originals``: files
        received as such (a workbook; name -> bytes), kept byte for byte with their sha256 in
        the manifest (``originals``) beside the entities read from them."""
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
                body = json_bytes({"value": value}, compact=True)
                with writing(tmp / f"{name}.json"):
                    (tmp / f"{name}.json").write_bytes(body)
                files[name] = {"rows": len(value), "bytes": len(body),
                               "sha256": hashlib.sha256(body).hexdigest()}
            kept = {}
            for name, body in (originals or {}).items():
                name = Path(name).name  # a file name, never a path out of the folder
                if not name or name.startswith(".") or name == "manifest.json" \
                        or name.endswith(".json"):
                    raise ValueError(f"{table}: {name!r} cannot be kept as a raw file")
                with writing(tmp / name):
                    (tmp / name).write_bytes(body)
                kept[name] = {"bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
            manifest = {**manifest, "folder": stamp, "files": files,
                        **({"originals": kept} if kept else {})}
            with writing(tmp / "manifest.json"):
                (tmp / "manifest.json").write_bytes(json_bytes(manifest))
            fsync_files(tmp)
            os.rename(tmp, tdir / stamp)
        fsync_dir(tdir)
        self._prune(tdir, keep)
        return RawTable(table, entities, manifest)

    def clean_temporary(self) -> list[str]:
        """Remove the temporary folders (``raw/<TABLE>/.tmp-*``) a killed run left behind, at
        the start of a run, under the refresh lock: no other process writes them then. Each
        save also cleans its own table's folder, but a table that is not downloaded again (no
        change at CBS) would keep its leftover for good. Returns the removed paths, relative to
        the data folder; what cannot be removed stays (the next run tries again)."""
        removed = []
        try:
            tables = [p for p in self.root.iterdir() if p.is_dir()]
        except OSError:  # no raw stage yet
            return removed
        for tdir in tables:
            for tmp in tdir.glob(".tmp-*"):
                shutil.rmtree(tmp, ignore_errors=True)
                if not tmp.exists():
                    removed.append(str(tmp.relative_to(self.root.parent)))
        if removed:
            log.info("removed temporary raw folders left by an interrupted run",
                     extra={"folders": removed})
        return sorted(removed)

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
