"""JSON documents of the stand-in: the mirror's files as parsed entity sets (:class:`Doc`), kept in a
cache shared by both dialects (:class:`DocCache`), and :func:`dump`, the one way answers are
encoded.

The mirror files are big (a v3 ``TypedDataSet`` or a v4 observation page runs to megabytes) and a
refresh asks for the same file page after page, so each file is parsed once and kept. A test or a
developer may rewrite a file while the server runs (CBS republishing a table), so a cached file is
re-read when its modification time or size changes. One cache and one lock serve the v3 and v4
dialects alike; the server owns it and hands it to both.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Doc:
    """A parsed entity set: metadata URL, rows, the union of the row keys, and a file signature."""

    signature: Any
    metadata: str
    rows: list[dict[str, Any]]
    columns: list[str]


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """The union of the rows' keys, in order of first appearance."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return list(keys)


class DocCache:
    """Parsed files, re-read when they change on disk, and documents derived from them."""

    def __init__(self) -> None:
        self._docs: dict[Hashable, Doc] = {}
        self._lock = threading.Lock()

    def load(self, path: Path) -> Doc:
        """The CBS response object in ``path`` (``{"odata.metadata": ..., "value": [...]}``)."""
        stat = path.stat()
        signature = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            doc = self._docs.get(path)
            if doc is None or doc.signature != signature:
                data = json.loads(path.read_text(encoding="utf-8"))
                rows = data.get("value", [])
                doc = Doc(signature, data.get("odata.metadata", ""), rows, columns(rows))
                self._docs[path] = doc
            return doc

    def derived(self, key: Hashable, signature: Any, build: Callable[[], Doc]) -> Doc:
        """The document under ``key``, made by ``build`` (which gives it ``signature``) when there
        is none yet or the signature of its sources changed: e.g. an ``UntypedDataSet`` made from
        the ``TypedDataSet`` and ``DataProperties`` files."""
        with self._lock:
            doc = self._docs.get(key)
            if doc is None or doc.signature != signature:
                doc = build()
                self._docs[key] = doc
            return doc


def dump(obj: Any) -> bytes:
    """JSON as the stand-in sends it: compact UTF-8, non-ASCII characters as they are."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
