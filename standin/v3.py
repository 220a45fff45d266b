"""The OData v3 dialect of the CBS stand-in (``opendata.cbs.nl/ODataFeed``) over a mirror folder,
served by :class:`standin.StandIn` at the root of its URL.

The mirror holds one folder per table and one JSON file per entity set, each file being the whole
CBS response object ``{"odata.metadata": ..., "value": [...]}``
(see ``shared/cbs/mirror/README.md``).
The dialect speaks enough OData v3 for the real ``cbsodata`` client:

- ``/ODataFeed/odata/<TABLE>/``: the service document, its URLs pointing at this server;
- ``/ODataFeed/odata/<TABLE>/<Entity>``: an entity set, with ``$filter``, ``$select``, ``$top``,
  ``$skip`` and ``$orderby`` (:mod:`standin.grammar`), paged like CBS (``page_size`` rows, then an
  absolute ``odata.nextLink``). ``UntypedDataSet`` is made from ``TypedDataSet`` when the table has
  no file (:func:`untyped_rows`, as CBS makes it);
- ``/ODataCatalog/Tables``: the ``TableInfos`` record of every table (not paged);
- CBS-like JSON errors (:func:`error_body`): 404 for an unknown table or entity, 400 for a bad
  query, 415 for a ``$format`` other than json.

Table ids match case-insensitively (as on CBS); entity names must match exactly. Files are read
through the server's :class:`~standin.documents.DocCache`. Every path the v4 dialect does not
claim comes here, so an unknown path is a v3 404.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .documents import Doc, DocCache, columns
from .grammar import ODataError, Row, apply_query, parse_query

QUERY_OPTIONS = ("$format", "$filter", "$select", "$top", "$skip", "$orderby")

_FEED_RE = re.compile(r"^/odatafeed/odata(?:/(?P<rest>.*))?$", re.IGNORECASE)
_CATALOG_RE = re.compile(r"^/odatacatalog/tables/?$", re.IGNORECASE)
_ENTITY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST_RE = re.compile(r"^https?://[^/]+", re.IGNORECASE)
_CBS_ORDER = ("TableInfos", "UntypedDataSet", "TypedDataSet", "DataProperties", "CategoryGroups")


def error_body(message: str) -> dict:
    """The JSON error body of the v3 feed."""
    return {"odata.error": {"code": "", "message": {"lang": "nl-NL", "value": message}}}


def target(path: str) -> tuple[str | None, str | None]:
    """(table, entity) of a request path, for matching faults; the service document is ""."""
    if _CATALOG_RE.match(path):
        return None, "Tables"
    segments = _segments(path)
    if len(segments) == 1:
        return segments[0], ""
    if len(segments) == 2:
        return segments[0], segments[1]
    return None, None


def _segments(path: str) -> list[str]:
    m = _FEED_RE.match(path)
    return [s for s in (m.group("rest") or "").split("/") if s] if m else []


# --------------------------------------------------------------------------------------------
# UntypedDataSet, made from TypedDataSet like CBS makes it
# --------------------------------------------------------------------------------------------


def untyped_rows(rows: list[Row], properties: list[Row]) -> list[Row]:
    """Format every numeric topic as text with the topic's Decimals, right-aligned to the widest
    value in the column (at least 1); null becomes "". Keys and String topics stay as they are."""
    present = set(rows[0]) if rows else set()
    formatted: dict[str, list[str]] = {}
    for prop in properties:
        key = prop.get("Key")
        if prop.get("Type") != "Topic" or key not in present or prop.get("Datatype") == "String":
            continue
        decimals = int(prop.get("Decimals") or 0)
        texts = [_format_number(row.get(key), decimals) for row in rows]
        width = max([1, *map(len, texts)])
        formatted[key] = [t.rjust(width) if t else "" for t in texts]
    out = []
    for i, row in enumerate(rows):
        new = dict(row)
        for key, column in formatted.items():
            new[key] = column[i]
        out.append(new)
    return out


def _format_number(value: Any, decimals: int) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.{decimals}f}"
    return str(value)


# --------------------------------------------------------------------------------------------
# The dialect
# --------------------------------------------------------------------------------------------


class V3Dialect:
    """Answers v3 paths for a :class:`~standin.StandIn`, which owns the socket, the faults, the
    stats and the file cache. ``base_url`` is a callable: the server's URL is known only once it
    has started."""

    def __init__(self, mirror_dir: Path, base_url: Callable[[], str], cache: DocCache,
                 page_size: int):
        self.mirror_dir = Path(mirror_dir)
        if not self.mirror_dir.is_dir():
            raise ValueError(f"mirror folder {self.mirror_dir} does not exist")
        self._base_url = base_url
        self._cache = cache
        self.page_size = page_size
        self._modified: dict[str, str] = {}  # table -> Modified to answer (set_modified)
        self._modified_lock = threading.Lock()

    @property
    def url(self) -> str:
        return self._base_url()

    def target(self, path: str) -> tuple[str | None, str | None]:
        return target(path)

    def error_body(self, message: str) -> dict:
        return error_body(message)

    def set_modified(self, table: str, modified: str | None) -> None:
        """See :meth:`standin.StandIn.set_modified`."""
        with self._modified_lock:
            if modified is None:
                self._modified.pop(table.upper(), None)
            else:
                self._modified[table.upper()] = modified

    # -- routing -------------------------------------------------------------------------------

    def answer(self, path: str, query: str) -> dict:
        params = parse_query(query, QUERY_OPTIONS)
        fmt = params.get("$format", "json")
        if fmt.lower() != "json":
            raise ODataError(415, f"$format '{fmt}' is not supported; use $format=json")
        if _CATALOG_RE.match(path):
            return self._catalog(params)
        segments = _segments(path)
        if not segments or len(segments) > 2:
            raise ODataError(404, f"Resource not found for the segment '{path}'.")
        table_dir = self._table_dir(segments[0])
        if len(segments) == 1:
            return self._service_document(table_dir)
        return self._entity_set(table_dir, segments[1], params)

    def _tables(self) -> list[Path]:
        return sorted(
            (p for p in self.mirror_dir.iterdir() if p.is_dir() and p.name[0] not in "._"),
            key=lambda p: p.name,
        )

    def _table_dir(self, table: str) -> Path:
        for path in self._tables():
            if path.name.lower() == table.lower():
                return path
        raise ODataError(404, f"Resource not found for the segment '{table}'.")

    def _rewrite(self, url: str) -> str:
        return _HOST_RE.sub(self.url, url) if url else url

    # -- answers -------------------------------------------------------------------------------

    def _service_document(self, table_dir: Path) -> dict:
        root = table_dir / "root.json"
        if root.is_file():
            doc = self._cache.load(root)
            metadata, names = doc.metadata, [entry["name"] for entry in doc.rows]
        else:  # list the files, in CBS order; cbsodata needs both data sets listed
            metadata = f"{self.url}/ODataFeed/OData/{table_dir.name}/$metadata"
            found = {p.stem for p in table_dir.glob("*.json")}
            if "TypedDataSet" in found:
                found.add("UntypedDataSet")
            names = [n for n in _CBS_ORDER if n in found] + sorted(found - set(_CBS_ORDER))
        base = f"{self.url}/ODataFeed/odata/{table_dir.name}"
        return {
            "odata.metadata": self._rewrite(metadata),
            "value": [{"name": n, "url": f"{base}/{n}"} for n in names],
        }

    def _entity_set(self, table_dir: Path, entity: str, params: dict[str, str]) -> dict:
        doc = self._entity(table_dir, entity)
        page, next_skip, next_top = apply_query(doc.rows, doc.columns, params, self.page_size)
        modified = self._modified.get(table_dir.name.upper()) if entity == "TableInfos" else None
        if modified is not None:
            page = [{**r, "Modified": modified} if "Modified" in r else r for r in page]
        out = {"odata.metadata": self._rewrite(doc.metadata), "value": page}
        if next_skip is not None:
            query = ["$format=json"]
            for key in ("$filter", "$select", "$orderby"):
                if params.get(key):
                    query.append(f"{key}={quote(params[key], safe='')}")
            if next_top is not None:
                query.append(f"$top={next_top}")
            query.append(f"$skip={next_skip}")
            link = f"{self.url}/ODataFeed/OData/{table_dir.name}/{entity}?" + "&".join(query)
            out["odata.nextLink"] = link
        return out

    def _catalog(self, params: dict[str, str]) -> dict:
        rows = []
        for table_dir in self._tables():
            info = table_dir / "TableInfos.json"
            if info.is_file() and (records := self._cache.load(info).rows):
                record = dict(records[0], ID=len(rows))
                record.setdefault("ApiUrl", f"{self.url}/ODataApi/OData/{table_dir.name}")
                record.setdefault("FeedUrl", f"{self.url}/ODataFeed/OData/{table_dir.name}")
                rows.append(record)
        page, _, _ = apply_query(rows, columns(rows), params, None)  # CBS does not page this
        return {"odata.metadata": f"{self.url}/ODataCatalog/$metadata#Tables", "value": page}

    # -- files ---------------------------------------------------------------------------------

    def _entity(self, table_dir: Path, entity: str) -> Doc:
        if _ENTITY_RE.match(entity) and entity != "root":
            path = table_dir / f"{entity}.json"
            if path.is_file():
                return self._cache.load(path)
            if entity == "UntypedDataSet" and (table_dir / "TypedDataSet.json").is_file():
                return self._untyped(table_dir)
        raise ODataError(404, f"Resource not found for the segment '{entity}'.")

    def _untyped(self, table_dir: Path) -> Doc:
        typed = self._cache.load(table_dir / "TypedDataSet.json")
        props_path = table_dir / "DataProperties.json"
        props = self._cache.load(props_path) if props_path.is_file() else None
        signature = (typed.signature, props and props.signature)

        def build() -> Doc:
            rows = untyped_rows(typed.rows, props.rows if props else [])
            metadata = typed.metadata.replace("TypedDataSet", "UntypedDataSet")
            return Doc(signature, metadata, rows, typed.columns)

        return self._cache.derived((table_dir, "UntypedDataSet"), signature, build)
