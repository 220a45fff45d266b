"""The OData v4 dialect of the CBS stand-in (``datasets.cbs.nl/odata/v1``) over folders of real v4
responses, served by :class:`standin.StandIn` under ``/odata/v1``.

A v4 folder holds one folder per table in the layout of ``shared/cbs/odata_v4/<id>/``::

    properties.json          Properties (one object)
    dimensions.json          Dimensions
    measure-codes.json       MeasureCodes
    codes-<Dim>.json         <Dim>Codes          groups-<Dim>.json   <Dim>Groups (optional)
    observations-page-*.json Observations (all pages, in page order)

plus an optional ``_catalog.json`` (a ``Datasets`` response) at the top; the catalogue served at
``/odata/v1/CBS/Datasets`` is that file plus every table folder's Properties.

Requests: ``/odata/v1/CBS/<ID>/`` (service document), ``/odata/v1/CBS/<ID>/<Entity>`` with
``$filter`` (v4 grammar: eq ne gt ge lt le, and or not, startswith endswith contains, ``in``),
``$select``, ``$top``, ``$skip``, ``$orderby`` (:mod:`standin.grammar`) and ``$count=true``;
entity sets are paged at ``page_size`` rows with an absolute ``@odata.nextLink``. Unknown
tables/entities answer 404 with a v4 error body (:func:`error_body`); the faults of the stand-in
apply to v4 requests too (the server matches them on :func:`target`). Files are read through the
server's :class:`~standin.documents.DocCache`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .documents import Doc, DocCache, columns
from .grammar import ODataError, apply_query, parse_filter, parse_query

PREFIX = "/odata/v1"
_V4_RE = re.compile(r"^/odata/v1/CBS(?:/(?P<rest>.*))?$", re.IGNORECASE)
_OPTIONS = ("$filter", "$select", "$top", "$skip", "$orderby", "$count", "$format")
_FILES = {"Properties": "properties.json", "Dimensions": "dimensions.json",
          "MeasureCodes": "measure-codes.json"}


def is_v4(path: str) -> bool:
    """Whether ``path`` is a v4 one (under ``/odata/v1/CBS``)."""
    return bool(_V4_RE.match(path))


def target(path: str) -> tuple[str | None, str | None]:
    """(table, entity) of a v4 request path, for matching faults ("" = service document)."""
    m = _V4_RE.match(path)
    segments = [s for s in (m.group("rest") or "").split("/") if s] if m else []
    if segments == ["Datasets"]:
        return None, "Datasets"
    if len(segments) == 1:
        return segments[0], ""
    if len(segments) == 2:
        return segments[0], segments[1]
    return None, None


def error_body(message: str) -> dict:
    """The JSON error body of the v4 API."""
    return {"error": {"code": "", "message": message}}


class V4Dialect:
    """Answers v4 paths for a :class:`~standin.StandIn`, which owns the socket, the faults, the
    stats and the file cache. ``base_url`` is a callable: the server's URL is known only once it
    has started."""

    def __init__(self, folder: Path, base_url: Callable[[], str], cache: DocCache, page_size: int):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ValueError(f"v4 folder {self.folder} does not exist")
        self._base_url = base_url
        self._cache = cache
        self.page_size = page_size

    @property
    def url(self) -> str:
        return f"{self._base_url()}{PREFIX}"

    def matches(self, path: str) -> bool:
        return is_v4(path)

    def target(self, path: str) -> tuple[str | None, str | None]:
        return target(path)

    def error_body(self, message: str) -> dict:
        return error_body(message)

    # -- routing -------------------------------------------------------------------------------
    def answer(self, path: str, query: str) -> dict:
        params = parse_query(query, _OPTIONS)
        m = _V4_RE.match(path)
        segments = [s for s in (m.group("rest") or "").split("/") if s] if m else []
        if segments == ["Datasets"]:
            return self._datasets(params)
        if not segments or len(segments) > 2:
            raise ODataError(404, f"No HTTP resource was found that matches '{path}'.")
        table_dir = self._table_dir(segments[0])
        if len(segments) == 1:
            return self._service_document(table_dir)
        entity = segments[1]
        if entity == "Properties":
            props = self._object(table_dir / _FILES["Properties"])
            return {"@odata.context": f"{self.url}/CBS/{table_dir.name}/$metadata#Properties",
                    **{k: v for k, v in props.items() if not k.startswith("@odata")}}
        return self._entity_set(table_dir, entity, params)

    def _tables(self) -> list[Path]:
        return sorted((p for p in self.folder.iterdir()
                       if p.is_dir() and p.name[0] not in "._" and (p / "properties.json").is_file()),
                      key=lambda p: p.name)

    def _table_dir(self, table: str) -> Path:
        for path in self._tables():
            if path.name.lower() == table.lower():
                return path
        raise ODataError(404, f"Dataset '{table}' does not exist.")

    def _entities(self, table_dir: Path) -> list[str]:
        names = ["Observations", "Dimensions", "MeasureCodes", "Properties"]
        for f in sorted(table_dir.glob("codes-*.json")):
            names.append(f.stem[len("codes-"):] + "Codes")
        for f in sorted(table_dir.glob("groups-*.json")):
            names.append(f.stem[len("groups-"):] + "Groups")
        return names

    def _service_document(self, table_dir: Path) -> dict:
        return {"@odata.context": f"{self.url}/CBS/{table_dir.name}/$metadata",
                "value": [{"name": n, "kind": "EntitySet", "url": n}
                          for n in self._entities(table_dir)]}

    # -- files ---------------------------------------------------------------------------------
    def _object(self, path: Path) -> dict:
        if not path.is_file():
            raise ODataError(404, f"No HTTP resource was found for '{path.stem}'.")
        return json.loads(path.read_text(encoding="utf-8"))

    def _rows(self, table_dir: Path, entity: str) -> Doc:
        if entity == "Observations":
            pages = self._observation_pages(table_dir)
            docs = [self._cache.load(p) for p in pages]
            rows = [r for d in docs for r in d.rows]
            return Doc(tuple(d.signature for d in docs), "", rows, columns(rows[:1]))
        if entity in _FILES:
            name = _FILES[entity]
        elif entity.endswith("Codes"):
            name = f"codes-{entity[:-5]}.json"
        elif entity.endswith("Groups"):
            name = f"groups-{entity[:-6]}.json"
        else:
            raise ODataError(404, f"No HTTP resource was found for '{entity}'.")
        path = table_dir / name
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not path.is_file():
            raise ODataError(404, f"No HTTP resource was found for '{entity}'.")
        return self._cache.load(path)

    @staticmethod
    def _observation_pages(table_dir: Path) -> list[Path]:
        index = table_dir / "index.json"
        if index.is_file():
            names = json.loads(index.read_text(encoding="utf-8")).get("observationPages") or []
            if names:
                return [table_dir / n for n in names]
        pages = sorted(table_dir.glob("observations-page-*.json"),
                       key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
        if not pages:
            raise ODataError(404, "No HTTP resource was found for 'Observations'.")
        return pages

    # -- queries -------------------------------------------------------------------------------
    def _entity_set(self, table_dir: Path, entity: str, params: dict[str, str]) -> dict:
        doc = self._rows(table_dir, entity)
        context = f"{self.url}/CBS/{table_dir.name}/$metadata#{entity}"
        return self._page(doc.rows, params, context, f"{self.url}/CBS/{table_dir.name}/{entity}")

    def _page(self, rows: list[dict], params: dict[str, str], context: str, link_base: str,
              page_size: int | None = -1) -> dict:
        page_size = self.page_size if page_size == -1 else page_size
        count = params.get("$count", "false").lower()
        if count not in ("true", "false"):
            raise ODataError(400, "$count must be true or false")
        page, next_skip, next_top = apply_query(rows, columns(rows[:50]), params, page_size,
                                                dialect="v4")
        out: dict[str, Any] = {"@odata.context": context}
        if count == "true":
            total = rows
            if params.get("$filter"):
                keep = parse_filter(params["$filter"], None, dialect="v4")
                total = [r for r in rows if keep(r)]
            out["@odata.count"] = len(total)
        out["value"] = page
        if next_skip is not None:
            query = [f"{k}={quote(params[k], safe='')}" for k in ("$filter", "$select", "$orderby")
                     if params.get(k)]
            if next_top is not None:
                query.append(f"$top={next_top}")
            query.append(f"$skip={next_skip}")
            out["@odata.nextLink"] = f"{link_base}?" + "&".join(query)
        return out

    def _datasets(self, params: dict[str, str]) -> dict:
        rows: dict[str, dict] = {}
        cat = self.folder / "_catalog.json"
        if cat.is_file():
            for r in self._cache.load(cat).rows:
                rows[str(r.get("Identifier", "")).lower()] = r
        for table_dir in self._tables():
            props = self._object(table_dir / "properties.json")
            rows[table_dir.name.lower()] = {
                k: props.get(k) for k in ("Identifier", "Title", "Description", "Status",
                                          "DatasetType", "Language", "Modified")}
        return self._page(list(rows.values()), params, f"{self.url}/CBS/$metadata#Datasets",
                          f"{self.url}/CBS/Datasets")
