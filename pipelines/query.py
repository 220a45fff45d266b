"""What to ask CBS for one table: the one place that plans CBS requests (pure, no network, no disk).

Two steps, because the second needs the table's own metadata:

    plan(catalog, table)        -> Request   what the catalogue wants from the table: measures
                                             (or, for an edition of a series, measure stems),
                                             categories per dimension, region levels, api; its
                                             ``signature`` tells the raw store whether a stored
                                             fetch answered the same question
    resolve(request, metadata)  -> Query     that request in this table's words: stems -> this
                                             edition's keys, the region dimension it uses,
                                             measures and categories checked to exist (else a
                                             :class:`TableProblem`), v3 keys in CBS's padded
                                             form, v4 ``Measure`` selection plus every dimension
                                             column; the entity, ``$select``, ``$filter`` and how
                                             the answer pages; for a workbook CBS publishes as a
                                             file (api ``file``) no $filter but the categories
                                             and region levels to keep (``keep``, ``levels``)

``cbs.py`` sends a :class:`Query` as it is (``client.download(query)``) and decides nothing about
its content; ``refresh.fetch_table`` only orders the steps. The metadata ``resolve`` needs is
named by :attr:`Request.metadata` (DataProperties and the filtered dimensions) and asked for
before the data, because the query depends on it (the download stores every metadata entity
again beside the data, as received, so the raw fetch is complete on its own).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .catalog import Catalog
from .editions import EditionError, resolve_measure
from .regions import LEVEL_PREFIXES
from .transform import REGION_DIMENSIONS

V4_VALUE_COLUMNS = ("Measure", "ValueAttribute", "Value")
#: How each API pages: the key of the next page's absolute URL in a response body. cbsodata
#: follows v3's itself; the v4 client follows v4's.
NEXT_LINK = {"v3": "odata.nextLink", "v4": "@odata.nextLink", "file": ""}
DATA_ENTITY = {"v3": "TypedDataSet", "v4": "Observations", "file": "TypedDataSet"}


class TableProblem(RuntimeError):
    """The table exists but does not fit the catalogue (vanished measure, unknown category)."""

    def __init__(self, table: str, message: str, kind: str = "catalogue_mismatch"):
        super().__init__(f"{table}: {message}")
        self.table = table
        self.kind = kind


@dataclass(frozen=True)
class Request:
    """What the catalogue wants from one table, before CBS is asked anything. ``select`` is
    ``RegioS, Perioden, <filtered dimensions>, <measures>`` (measure stems for an ``edition``);
    None for a table read whole (the Gebieden in Nederland region tables)."""

    table: str
    select: list[str] | None
    filter_dims: dict[str, list[str]]  # dimension -> stripped keys wanted
    levels: tuple[str, ...]
    api: str = "v3"  # v4: one row per cell, see resolve
    edition: bool = False  # one year of a series: measures are stems, resolved per edition

    @property
    def signature(self) -> str:
        """A hash of the question (not of CBS's answer). The raw store compares it with the
        stored fetch's to decide a no-op night, so it must not change for an unchanged request:
        a new signature makes every deployment download every table again once."""
        parts = [self.select, self.filter_dims, self.levels] + ([self.api] if self.api != "v3"
                                                                else [])
        body = json.dumps(parts, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    @property
    def metadata(self) -> list[str]:
        """The metadata entities :func:`resolve` needs: DataProperties and each filtered
        dimension's categories; none for a table read whole."""
        return ["DataProperties", *self.filter_dims] if self.select else []


@dataclass(frozen=True)
class Query:
    """One table's data request as the client sends it: the entity with ``$select`` and
    ``$filter``, following ``next_link`` (an absolute URL in each answer) until it is absent.
    ``signature`` is the planned :class:`Request`'s, stored with the fetch."""

    table: str
    api: str = "v3"
    select: list[str] | None = None
    filter: str | None = None
    signature: str = ""
    # a file (api "file") has no $filter: the client keeps these categories and region levels
    keep: tuple[tuple[str, tuple[str, ...]], ...] = ()
    levels: tuple[str, ...] = ()

    @property
    def entity(self) -> str:
        return DATA_ENTITY[self.api]

    @property
    def next_link(self) -> str:
        return NEXT_LINK[self.api]

    @property
    def params(self) -> dict[str, str]:
        """The OData query options (without ``$format``, which only v3 wants)."""
        out = {}
        if self.filter:
            out["$filter"] = self.filter
        if self.select:
            out["$select"] = ",".join(self.select)
        return out


def is_dimension(prop: dict) -> bool:
    """A DataProperties entry that is a dimension: Dimension, GeoDimension, TimeDimension, and
    GeoDetail (the region dimension WijkenEnBuurten of the real Kerncijfers wijken en buurten)."""
    kind = str(prop.get("Type"))
    return "Dimension" in kind or kind == "GeoDetail"


def plan(catalog: Catalog, table: str) -> Request:
    """The catalogue's question to ``table``: every measure and category its indicators use, at
    the region levels they are shown at. A region table (Gebieden in Nederland) is read whole."""
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


def resolve(req: Request, metadata: dict[str, list[dict]]) -> Query:
    """``req`` in the table's own words, checked against its ``metadata`` (the entities named by
    :attr:`Request.metadata`). Raises :class:`TableProblem` (``missing_measure``,
    ``missing_category``) when the catalogue asks for what the table does not have."""
    table = req.table
    if not req.select:
        return Query(table, req.api, None, odata_filter(req, {}), req.signature)
    props = metadata["DataProperties"]
    topics = {p.get("Key") for p in props if p.get("Type") == "Topic"}
    dims = [p.get("Key") for p in props if is_dimension(p)]
    wanted = [c for c in req.select if c not in ("RegioS", "Perioden")]
    select, region = req.select, "RegioS"
    if req.edition:  # stems -> this edition's keys (suffixes shift between editions)
        try:
            wanted = [c if c in dims else resolve_measure(c, props, table) for c in wanted]
        except EditionError as exc:
            raise TableProblem(table, str(exc).split(": ", 1)[1], "missing_measure") from None
        region = next((d for d in REGION_DIMENSIONS if d in dims), "RegioS")
        select = [d for d in (region, "Perioden") if d in dims] + wanted
    missing = [m for m in wanted if m not in topics and m not in dims]
    if missing:
        raise TableProblem(table, f"measure(s) {', '.join(missing)} do not exist in this "
                                  "table (anymore): check the catalogue", "missing_measure")
    measures = None
    if req.api == "file":  # the file client applies the selection itself (no OData there)
        unknown = [f"{d} {k}" for d, keys in req.filter_dims.items() for k in keys
                   if k not in {str(i["Key"]) for i in metadata[d]}]
        if unknown:
            raise TableProblem(table, f"has no category {', '.join(unknown)}", "missing_category")
        return Query(table, "file", select, None, req.signature,
                     tuple((d, tuple(k)) for d, k in req.filter_dims.items()), req.levels)
    if req.api == "v4":  # one row per cell: ask for the measures, keep every dimension column
        measures = [m for m in wanted if m in topics]
        select = [*V4_VALUE_COLUMNS, *dims]
    padded = {}
    for dim, keys in req.filter_dims.items():
        padded[dim] = {str(i["Key"]).strip(): i["Key"] for i in metadata[dim]}
        unknown = [k for k in keys if k not in padded[dim]]
        if unknown:
            raise TableProblem(table, f"{dim} has no category {', '.join(unknown)}",
                               "missing_category")
    return Query(table, req.api, select, odata_filter(req, padded, measures, region),
                 req.signature)


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
