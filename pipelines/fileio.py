"""Writing to the data folder safely: atomic replacement, fsync, errors that name the path.

Standard library only: the snapshot contract (:mod:`pipelines.snapshot`), the run history
(:mod:`pipelines.runs`), the raw stage (:mod:`pipelines.store`) and the dashboard's briefing CLI
all write through these helpers, and the dashboard must be able to import them without pulling
in network code.

Every write goes to a temporary name first and is renamed into place, so a reader (or a process
killed at any point) never sees a half-written file. A failure (disk full, permission denied,
read-only file system) becomes one :class:`StorageError` naming the path, and whatever was
half-written is removed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path


def utcnow() -> str:
    """Now in UTC, to the second, as every record of the data folder writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
            remove(cleanup)
        if isinstance(exc, OSError) and not isinstance(exc, StorageError):
            raise StorageError(path, exc) from exc
        raise


def remove(path: Path) -> None:
    """Remove a file or a folder tree; whatever cannot be removed stays (best effort)."""
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (best effort: not every file system can)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_files(folder: Path) -> None:
    """fsync every file of ``folder`` (before the folder is renamed into place)."""
    for f in folder.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with writing(path, cleanup=tmp):
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


def json_bytes(obj, compact: bool = False) -> bytes:
    """UTF-8 JSON: indented for files people read (manifests), ``compact`` for large ones read
    by machines (raw responses)."""
    if compact:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8")


def file_digest(path: Path) -> dict:
    """``{"bytes": size, "sha256": hex}`` of one file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": h.hexdigest()}
