"""The snapshot contract: what the pipeline publishes and the dashboard reads, in one place.

A *snapshot* is one folder of the data folder (``--data-dir`` / ``REGIO_DATA_DIR`` / ``data``),
written once by :func:`publish` and never changed after::

    snapshots/<snapshot-id>/
        manifest.json                 provenance, indicators, coverage, ...: :class:`Manifest`
        observations.parquet          tidy long table, each year on that year's gemeente
                                      boundaries, as CBS publishes (:data:`OBSERVATIONS`)
        regions.parquet               region table: gemeenten, COROP, provincies, ... (:data:`REGIONS`)
        observations_current.parquet  the same series on today's gemeente boundaries, with a
                                      ``harmonisation`` flag per value (:data:`OBSERVATIONS_CURRENT`)
        region_history.parquet        the herindelingen used for that (:data:`REGION_HISTORY`)
        harmonisation_gaps.parquet    values that could not be put on today's boundaries
        peers.parquet                 comparable gemeenten per gemeente and method (:data:`PEERS`)
        peer_features.parquet         the standardised features behind the statistical peers
        missing_values.parquet        cells CBS left empty, with its reason (OData v4)
        gemeenten.geojson             map of the reference year's gemeenten (if it could be fetched)
        gemeenten_<year>.geojson      maps of earlier years whose gemeenten differ
    current -> snapshots/<snapshot-id>  switched atomically (:func:`switch_current`)

Only ``manifest.json``, ``observations.parquet`` and ``regions.parquet`` are required; the other
tables are newer and a reader gets ``None`` for them in older snapshots (:meth:`Snapshot.frame`).
``manifest.json`` lists size and sha256 of every other file (``files``), so a truncated,
overwritten or deleted file is detected (:func:`verify_snapshot`).

**One definition, written and read by the same code.** The manifest is the pydantic model
:class:`Manifest` (parts: :class:`TableEntry` per CBS table, :class:`IndicatorEntry` per
indicator, :class:`CoverageEntry`, ...), frozen and with ``extra="forbid"``: the pipeline builds
it from these classes (:class:`ManifestBody`, completed by :func:`publish`), the dashboard and
``python -m pipelines status|export`` read it through :func:`read_manifest` /
:func:`load_snapshot` as attributes. A misspelt, renamed or missing key is an error where it
happens, naming the key, never a silent "geen gegevens". The tables are contracts too
(:class:`FrameContract`: column names, dtypes, unique keys, like dbt's column contracts),
checked by :func:`publish` before anything is written and by :func:`load_snapshot` /
:meth:`Snapshot.frame` when read. ``pipelines/snapshot.schema.json`` is the JSON Schema of the
manifest plus the frame contracts (``x-frames``), generated from this module
(``python -m pipelines.snapshot --schema``) and compared with it by a test, so every change to
the contract is a visible, reviewed change of that file.

**Schema version.** ``schema_version`` is :data:`SCHEMA_VERSION` in what :func:`publish` writes;
a manifest without it is version 1 (everything published before the contract existed) and
loads. A manifest of a newer version than this code knows is refused with that reason.
``python -m pipelines.snapshot --check DATA_DIR`` checks a published snapshot against the
contract; ``python -m pipelines status`` shows its version.

**What does not fit.** :func:`verify_snapshot` reports a manifest that does not fit as damage
(so ``status`` says DAMAGED, the next refresh republishes, ``rollback`` skips it) and
:func:`load_snapshot` raises :class:`ContractError` (a :class:`NoSnapshot`): the dashboard then
shows the newest earlier snapshot that fits, with a notice, or its Dutch "beschadigd of
onleesbaar" page.

**Adding or changing a field.**

1. Add it to the model with a default that means "this snapshot predates the field" (``None``,
   an empty tuple or dict), so every snapshot already published still loads. Fields present in
   every manifest since the first snapshot are required; later ones never are.
2. Set it where the pipeline builds the manifest (``refresh.snapshot_manifest`` / ``enrich``);
   read it as an attribute in the dashboard.
3. Regenerate the schema (``python -m pipelines.snapshot --schema``) and commit it with the
   change; ``tests/pipelines/test_snapshot_contract.py`` fails until you do.
4. Renaming or removing a key breaks every snapshot already published (they no longer fit):
   keep the old key readable (a pydantic ``validation_alias``), or bump :data:`SCHEMA_VERSION`
   and run ``python -m pipelines refresh --force`` right after deploying (it republishes; until
   then the dashboard shows its "onleesbaar" page).

5. A column added to a frame: add it to the contract's ``columns`` and to its ``added`` with the
   value rows of older snapshots get (NaN, ""), so those still load (:meth:`FrameContract.upgrade`).
   Schema 3 added ``uncertainty`` and ``quality`` to the observations (pipelines/precision.py).

Standard library, pandas and pydantic only: the dashboard imports this module, never the
network code of the pipeline (``cbs.py``, ``geo.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pandas.api import types as ptypes
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .fileio import file_digest, fsync_dir, fsync_files, json_bytes, utcnow, writing

SCHEMA_VERSION = 3
ENV_DATA_DIR = "REGIO_DATA_DIR"
MANIFEST = "manifest.json"
BOUNDARIES = "gemeenten.geojson"
_YEAR_MAP = re.compile(r"gemeenten_\d{4}\.geojson")
_WIJK_MAP = re.compile(r"wijken_\d{4}\.geojson")  # wijk boundaries of one KWB year
SCHEMA_FILE = Path(__file__).with_name("snapshot.schema.json")
_STAMP = "%Y%m%dT%H%M%S%fZ"


def data_dir(arg: str | None = None) -> Path:
    return Path(arg or os.environ.get(ENV_DATA_DIR) or "data")


# --------------------------------------------------------------------------- the manifest

class Model(BaseModel):
    """Frozen, and an unknown key is an error: a renamed or misspelt key fails loudly. The
    docstring under a field is its description in the JSON Schema."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class FileEntry(Model):
    """Size and sha256 of one file of the snapshot folder, checked by :func:`verify_snapshot`."""

    bytes: int
    sha256: str


class TableEntry(Model):
    """Provenance of one CBS table: what was fetched, when, how, and from which raw fetch."""

    title: str | None
    """CBS's title of the table (TableInfos / Properties)."""
    catalogue_title: str | None
    """The title the catalogue (indicators.yaml) expects; None for the region tables."""
    modified: str | None
    """CBS's Modified of the table when it was fetched."""
    fetched_at: str | None
    url: str | None
    """The data entity asked (TypedDataSet in v3, Observations in v4)."""
    filter: str | None
    """The OData $filter asked (None: every row)."""
    select: tuple[str, ...] | None
    """The OData $select asked (None: every column)."""
    rows: int | None
    """Rows of the data entity received."""
    sha256: str | None
    """Of the raw data entity as stored under raw_folder."""
    raw_folder: str | None
    """raw/<table>/<fetched-at>: the stored fetch this snapshot was built from."""
    stale: bool
    """The last fetch failed or was not plausible: the earlier data were kept."""
    error: str | None
    """Why the last fetch failed (with stale)."""
    boundaries: str | None
    """Catalogue: "yearly" (each year on its own gemeenten) or "fixed:<year>"."""
    api: Literal["v3", "v4", "file"] = "v3"
    """v3 / v4: a StatLine table (OData); file: a workbook CBS publishes on www.cbs.nl."""
    output_status: str | None = None
    """CBS: "Regulier", or e.g. "Stopgezet" for a discontinued table."""
    frequency: str | None = None
    """CBS: "Perjaar", "Perkwartaal", ..."""
    edition: int | None = None
    """A file source: the edition fetched (its year: peildatum 1 januari)."""
    page: str | None = None
    """A file source: the landing page on www.cbs.nl the workbook was linked from."""
    original: str | None = None
    """A file source: the file as received, kept under raw_folder (sha256 in original_sha256)."""
    original_sha256: str | None = None


class BredeWelvaart(Model):
    dimensie: str
    """hier_en_nu, later or elders (CBS Monitor Brede Welvaart)."""
    thema: str | None = None


class SeriesBreak(Model):
    """A break in an indicator's series: ``year`` is the first year measured the new way."""

    year: int
    note: str
    """What changed, in plain Dutch (shown with the series)."""


class IndicatorEntry(Model):
    """One catalogue indicator as published (disabled ones included, with ``enabled`` false)."""

    id: str
    theme: str
    """mkb_innovatie, human_capital or ruimtelijke_economie."""
    title: str
    description: str | None
    unit: str
    decimals: int
    higher_is_better: bool | None
    """The good direction; None: neither direction is better."""
    levels: tuple[str, ...]
    """Region levels it is published for: NL, PV, CR, AM, GM, ..."""
    tables: tuple[str, ...]
    """CBS table ids (keys of ``tables``); a series as its fetched editions, newest first."""
    measure: str | None
    """What the export's measure column says: the CBS key, or the formula with its inputs."""
    formula: str | None
    """The formula of a derived indicator."""
    derived: bool
    enabled: bool
    in_snapshot: bool
    """Has rows in observations.parquet."""
    rows: int
    verified: bool
    """Every table behind it is verified against CBS in the catalogue."""
    series: tuple[str, ...] = ()
    """The catalogue series (yearly editions) among its tables."""
    brede_welvaart: BredeWelvaart | None = None
    kind: Literal["size", "rate", "index"] | None = None
    """size (never ranked), rate or index; None in older snapshots: the unit decides."""
    rankable: bool | None = None
    disabled_reason: str | None = None
    breaks: tuple[SeriesBreak, ...] = ()
    """Breaks in the series (a new method from that year on): marked in every time series."""


class CoverageEntry(Model):
    """Current gemeenten with a value in the latest period of one indicator."""

    latest_period: str | None
    covered: int
    expected: int
    missing: tuple[str, ...]
    """The gemeenten without a value, as "GM0050 Zeewolde"."""
    missing_reasons: dict[str, str] = {}
    """Gemeente code -> CBS's reason for the empty cell (OData v4 ValueAttribute)."""


class Dwarsverband(Model):
    """A curated pair of indicators, offered as a preset on the Dwarsverbanden page."""

    theme: str
    x: str
    y: str
    vraag: str = ""


class WijkInput(Model):
    """One input of a wijk indicator: a KWB measure stem, summed over wijken (``additive``) or
    averaged weighted by another input (``weight``); neither: one wijk only."""

    name: str
    measure: str
    additive: bool = False
    weight: str | None = None


class WijkIndicatorEntry(Model):
    """One catalogue wijk indicator: computed from ``wijk_observations`` by
    ``pipelines.wijken.indicator_values`` for a wijk or a group of wijken."""

    id: str
    title: str
    description: str | None
    unit: str
    decimals: int
    higher_is_better: bool | None
    kind: Literal["size", "rate", "index"]
    formula: str
    inputs: tuple[WijkInput, ...]


class WijkenInfo(Model):
    """The catalogue's wijk section as published: the indicators, the one the map shows first,
    the ones of "centrum en de rest" and the briefing, and the precision bound."""

    map: str
    headline: tuple[str, ...]
    max_uncertainty_pct: float
    indicators: tuple[WijkIndicatorEntry, ...]
    tables: dict[str, str] = {}
    """KWB table -> its Modified (TableInfos) as taken: a changed one makes a new snapshot."""
    seen: dict[str, str] = {}
    """KWB table -> its Modified when last looked at, taken or refused by the checks."""


class NewEdition(Model):
    """A newer edition of a catalogue series that CBS lists and the catalogue does not use."""

    series: str
    year: int
    table: str
    title: str | None = None
    modified: str | None = None
    url: str | None = None
    """A file source: the landing page of the edition found (the refresh already uses it)."""


class Harmonisation(Model):
    """How the series were put on today's gemeente boundaries (observations_current)."""

    history_from: int
    """The first year the herindelingen list covers."""
    rows: int
    gaps: int
    """Values that could not be put on today's boundaries (harmonisation_gaps.parquet)."""
    boundary_notes: dict[str, str]
    """Gemeente code -> a Dutch sentence on its herindelingen, shown under its charts."""
    flags: dict[str, int]
    """gepubliceerd / opgeteld / geschat -> number of values."""


class RevisedExample(Model):
    region_code: str
    period: str
    old: float
    new: float


class IndicatorChange(Model):
    """What changed in one indicator since the previous snapshot (``removed``: it is gone)."""

    new_periods: tuple[str, ...] = ()
    new_values: int = 0
    revised: int = 0
    revised_periods: tuple[str, ...] = ()
    revised_examples: tuple[RevisedExample, ...] = ()
    status_changed: int = 0
    status_changes: tuple[str, ...] = ()
    """E.g. "Voorlopig -> Definitief"."""
    removed: bool = False


class Changes(Model):
    """What changed since the previous snapshot ("Sinds de vorige verversing")."""

    previous_snapshot: str | None
    """The intact snapshot compared with; None: nothing earlier to compare with."""
    indicators: dict[str, IndicatorChange]


class PeerFeature(Model):
    id: str
    label: str


class PeersInfo(Model):
    """How peers.parquet was made (pipelines/peers.py)."""

    k: int
    """Statistical peers per gemeente."""
    min_common_features: int
    features: tuple[PeerFeature, ...]


class MapEntry(Model):
    """A gemeente map: fetched (``year``, ``url``, ``features``, ``bytes``, ``fetched_at``),
    kept from the previous snapshot after a failed fetch (``stale``, ``error``) or unavailable
    (``error``, ``checked_at``)."""

    year: int | None = None
    """The map's year (a neighbouring year with the same gemeenten may serve)."""
    data_year: int | None = None
    """The year whose gemeenten the map is for."""
    url: str | None = None
    features: int | None = None
    bytes: int | None = None
    fetched_at: str | None = None
    codes_sha: str | None = None
    """Identifies the set of gemeenten (a map that is known to be unavailable is not asked
    for again while it stays the same)."""
    stale: bool = False
    error: str | None = None
    checked_at: str | None = None


class YearMap(MapEntry):
    """A map of an earlier year whose gemeenten differ from today's (``boundaries_by_year``)."""

    file: str | None
    """gemeenten_<year>.geojson in the snapshot folder; None: not available."""
    gemeenten: int
    years: tuple[int, ...]
    """The years it serves (the same gemeenten)."""


class Plausibility(Model):
    """New CBS data that were not taken (failed the plausibility checks) or taken anyway."""

    rejected: dict[str, tuple[str, ...]] = {}
    """Table -> the findings; the table kept its earlier data (and is in stale_tables)."""
    accepted: tuple[str, ...] = ()
    """Tables taken with --accept despite the checks."""


class ManifestBody(Model):
    """What the pipeline writes; :func:`publish` completes it into a :class:`Manifest`."""

    catalogue_sha256: str
    """Of indicators.yaml: a changed catalogue is always republished."""
    reference_year: int
    """The gemeente division of the snapshot (current gemeenten, maps)."""
    gebieden_table: str
    """The CBS "Gebieden in Nederland" table of the reference year."""
    licence: str
    rows: int
    """Rows of observations.parquet."""
    tables: dict[str, TableEntry]
    """Every CBS table the snapshot was built from, by table id."""
    indicators: tuple[IndicatorEntry, ...]
    """Every catalogue indicator, in catalogue order."""
    coverage: dict[str, CoverageEntry]
    """Per enabled indicator with gemeente data."""
    stale_tables: tuple[str, ...]
    """Tables whose earlier data were kept (the last fetch failed or was not plausible)."""
    indicators_not_yet_fetched: tuple[str, ...]
    dwarsverbanden: tuple[Dwarsverband, ...] = ()
    new_editions: tuple[NewEdition, ...] = ()
    cbs_url: str | None = None
    """The CBS OData address the data came from."""
    data_source: str | None = None
    """cbs, mirror (the development copy: the dashboard shows a demo banner), test or
    onbekend; None in older snapshots (then judged from cbs_url)."""
    harmonisation: Harmonisation | None = None
    changes: Changes | None = None
    peers: PeersInfo | None = None
    boundaries: MapEntry | None = None
    """The map of the reference year's gemeenten (gemeenten.geojson)."""
    boundaries_by_year: dict[str, YearMap] = {}
    """Maps of earlier years whose gemeenten differ from today's, by year."""
    plausibility: Plausibility | None = None
    """Set when new data were rejected or accepted despite the checks."""
    wijken: WijkenInfo | None = None
    """The wijk indicators (catalogue ``wijk_indicators``); None: before they were configuration."""


class Manifest(ManifestBody):
    """``manifest.json`` of a published snapshot."""

    snapshot_id: str
    """<UTC time to the microsecond>-<first 8 hex digits of content_sha256>: sorts in publish
    order."""
    published_at: str
    content_sha256: str
    """Of the observations and regions tables."""
    files: dict[str, FileEntry] | None = None
    """Every other file of the folder; None: published before per-file hashes (only the
    presence of the two required tables can be checked)."""
    schema_version: int = 1
    """The contract version it was written with; absent: 1 (before the contract existed)."""

    @model_validator(mode="before")
    @classmethod
    def _known_version(cls, data: Any) -> Any:
        version = data.get("schema_version", 1) if isinstance(data, dict) else 1
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise ValueError(f"schema version {version} is newer than this code reads "
                             f"({SCHEMA_VERSION}): update the dashboard or the pipeline")
        return data


def body_of(manifest: ManifestBody) -> dict[str, Any]:
    """The :class:`ManifestBody` fields of a body or a published manifest (to publish again)."""
    return {name: getattr(manifest, name) for name in ManifestBody.model_fields}


# --------------------------------------------------------------------------- errors

class NoSnapshot(LookupError):
    """No published snapshot, or one that cannot be used (unreadable, damaged, off contract)."""


class ContractError(NoSnapshot, ValueError):
    """A manifest or table that does not fit the snapshot contract; ``str()`` names the keys."""


def _problems_of(exc: ValidationError, most: int = 3) -> str:
    errs = exc.errors()
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
             for e in errs[:most]]
    more = f" (and {len(errs) - most} more)" if len(errs) > most else ""
    return "; ".join(parts) + more


def parse_manifest(data: str | bytes | dict, where: str = MANIFEST) -> Manifest:
    """A :class:`Manifest` from JSON text or a parsed dict; :class:`ContractError` naming the
    keys that do not fit (at most three) otherwise."""
    try:
        raw = json.loads(data) if isinstance(data, str | bytes) else data
    except ValueError as exc:
        raise ContractError(f"{where}: not JSON ({exc})") from None
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        version = raw.get("schema_version", 1) if isinstance(raw, dict) else "?"
        raise ContractError(f"{where} does not fit the snapshot contract (schema version "
                            f"{version}): {_problems_of(exc)}") from None


# --------------------------------------------------------------------------- the tables

KINDS = ("string", "int", "float", "bool")


def _kind_fits(s: pd.Series, kind: str) -> bool:
    dtype = s.dtype
    if kind == "string":
        if ptypes.is_object_dtype(dtype):  # an empty or all-missing column of an older writer
            return all(isinstance(v, str) for v in s.dropna())
        return ptypes.is_string_dtype(dtype)
    if kind == "int":
        return ptypes.is_integer_dtype(dtype) and not ptypes.is_bool_dtype(dtype)
    if kind == "float":
        return ptypes.is_float_dtype(dtype)
    return ptypes.is_bool_dtype(dtype)


@dataclass(frozen=True)
class FrameContract:
    """One table of the snapshot: its columns (name -> kind: string, int, float, bool; no other
    columns), the columns that identify a row (``unique``), and whether every snapshot has it."""

    name: str
    columns: dict[str, str]
    unique: tuple[str, ...] = ()
    required: bool = False
    description: str = ""
    # columns added in a later schema version: (column -> the value an older snapshot's rows get)
    added: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        wrong = {c: k for c, k in self.columns.items() if k not in KINDS}
        if wrong or not set(self.unique) <= set(self.columns):
            raise ValueError(f"{self.name}: kinds must be one of {KINDS} ({wrong}) and the "
                             f"unique key ({self.unique}) its own columns")

    @property
    def file(self) -> str:
        return f"{self.name}.parquet"

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def problems(self, df: pd.DataFrame) -> list[str]:
        """What does not fit (empty list: the frame fits). Cheap: names, dtypes, uniqueness."""
        out = []
        missing = [c for c in self.columns if c not in df.columns]
        extra = [str(c) for c in df.columns if c not in self.columns]
        if missing:
            out.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            out.append(f"unknown column(s) {', '.join(extra)}")
        for col, kind in self.columns.items():
            if col in df.columns and not _kind_fits(df[col], kind):
                out.append(f"column {col} is {df[col].dtype}, the contract says {kind}")
        if not out and self.unique and df.duplicated(list(self.unique)).any():
            dup = df[df.duplicated(list(self.unique), keep=False)].iloc[0]
            key = " ".join(str(dup[c]) for c in self.unique)
            out.append(f"more than one row for ({', '.join(self.unique)}) = ({key})")
        return out

    def upgrade(self, df: pd.DataFrame) -> pd.DataFrame:
        """An older snapshot's frame with the columns added since, filled with their defaults
        (``added``): what it did not know, it did not claim."""
        absent = {c: v for c, v in self.added.items() if c not in df.columns}
        if not absent:
            return df
        kinds = {"float": "float64", "int": "int64", "bool": "bool", "string": "string"}
        return df.assign(**{c: pd.Series(v, index=df.index, dtype=kinds[self.columns[c]])
                            for c, v in absent.items()})

    def check(self, df: pd.DataFrame, where: str = "") -> pd.DataFrame:
        """``df`` unchanged, or :class:`ContractError` naming what does not fit."""
        found = self.problems(df)
        if found:
            raise ContractError(f"{where or self.file} does not fit the snapshot contract: "
                                + "; ".join(found))
        return df


_OBS = {"indicator": "string", "region_code": "string", "region_level": "string",
        "period": "string", "year": "int", "period_type": "string", "value": "float",
        "status": "string", "cbs_table": "string", "measure": "string",
        # schema 3: the rounding uncertainty (half-width, NaN = unknown) and the quality mark
        # ("onnauwkeurig" or ""; pipelines/precision.py)
        "uncertainty": "float", "quality": "string"}
_OBS_ADDED = {"uncertainty": float("nan"), "quality": ""}
_KEY = ("indicator", "region_code", "period")
_CELLS = {"indicator": "string", "table": "string", "region_code": "string",
          "period_key": "string", "reason": "string"}

OBSERVATIONS = FrameContract(
    "observations", _OBS, _KEY, required=True, added=_OBS_ADDED,
    description="One row per indicator x region x period, as CBS published it (each year on "
                "that year's gemeente boundaries). Missing values are left out, never 0.")
OBSERVATIONS_CURRENT = FrameContract(
    "observations_current", {**_OBS, "harmonisation": "string"}, _KEY, added=_OBS_ADDED,
    description="The observations on today's gemeente boundaries; harmonisation: gepubliceerd, "
                "opgeteld (merged gemeenten summed) or geschat (share of a split gemeente).")
REGIONS = FrameContract(
    "regions",
    {"code": "string", "name": "string", "level": "string", "provincie_code": "string",
     "provincie": "string", "corop_code": "string", "corop": "string",
     "arbeidsmarktregio_code": "string", "arbeidsmarktregio": "string",
     "landsdeel_code": "string", "landsdeel": "string", "size_class_code": "string",
     "size_class": "string", "urbanity_code": "string", "urbanity": "string",
     "inwoners": "float", "density": "float", "is_current": "bool"},
    ("code",), required=True,
    description="Every region the observations name, with its parents (GM -> COROP, provincie, "
                "...), CBS size and urbanity classes; is_current: exists in the reference year.")
REGION_HISTORY = FrameContract(
    "region_history",
    {"year": "int", "kind": "string", "predecessor": "string", "predecessor_name": "string",
     "successor": "string", "successor_name": "string", "share": "float", "verified": "bool",
     "note": "string"},
    description="The herindelingen (pipelines/herindelingen.yaml) behind observations_current.")
HARMONISATION_GAPS = FrameContract(
    "harmonisation_gaps", _CELLS,
    description="Values that could not be put on today's boundaries, with the reason.")
PEERS = FrameContract(
    "peers",
    {"gemeente": "string", "method": "string", "rank": "int", "peer": "string",
     "distance": "float", "similar_on": "string"},
    ("gemeente", "method", "rank"),
    description="Comparable gemeenten per gemeente: method grootte_stedelijkheid or statistisch.")
PEER_FEATURES = FrameContract(
    "peer_features",
    {"code": "string", "feature": "string", "label": "string", "value": "float", "z": "float"},
    ("code", "feature"),
    description="The structural features of the statistical peers, raw and standardised (z).")
MISSING_VALUES = FrameContract(
    "missing_values", _CELLS,
    description="Cells CBS left empty, with CBS's reason (OData v4 ValueAttribute).")

WIJK_OBSERVATIONS = FrameContract(
    "wijk_observations",
    {"region_code": "string", "region_name": "string", "gemeente_code": "string",
     "gemeente_name": "string", "year": "int", "measure": "string", "value": "float",
     "uncertainty": "float", "quality": "string", "cbs_table": "string", "continuous": "bool"},
    ("region_code", "measure", "year"),
    description="Kerncijfers wijken en buurten per wijk (pipelines/wijken.py): one row per wijk "
                "x KWB measure (stem) x year, with its gemeente; continuous: same code, gemeente "
                "and land area as the previous year (else the series starts anew).")

FRAMES = {f.name: f for f in (OBSERVATIONS, REGIONS, OBSERVATIONS_CURRENT, REGION_HISTORY,
                               HARMONISATION_GAPS, PEERS, PEER_FEATURES, MISSING_VALUES,
                               WIJK_OBSERVATIONS)}


def _allowed_file(name: str) -> bool:
    return name == BOUNDARIES or bool(_YEAR_MAP.fullmatch(name) or _WIJK_MAP.fullmatch(name))


# --------------------------------------------------------------------------- reading

@dataclass
class Snapshot:
    """A published snapshot: the typed manifest and its tables (checked against the contract)."""

    id: str
    path: Path
    manifest: Manifest
    observations: pd.DataFrame  # as published: each year on that year's gemeente boundaries
    regions: pd.DataFrame
    _frames: dict[str, pd.DataFrame | None] = field(default_factory=dict, repr=False)

    def frame(self, name: str) -> pd.DataFrame | None:
        """An optional table (``observations_current``, ``peers``, ... see :data:`FRAMES`);
        None in snapshots made before it existed. Read once, checked against its contract."""
        if name not in self._frames:
            contract = FRAMES[name]
            path = self.path / contract.file
            self._frames[name] = (contract.check(contract.upgrade(pd.read_parquet(path)),
                                                 f"{self.id}/{path.name}")
                                  if path.exists() else None)
        return self._frames[name]


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
                  if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).exists())


def read_manifest(root: Path, snapshot_id: str | None = None) -> Manifest:
    """The typed manifest of a snapshot (default: ``current``). :class:`NoSnapshot` when there
    is none or it is unreadable; :class:`ContractError` (a NoSnapshot) when it does not fit."""
    sid = snapshot_id or current_id(root)
    if not sid:
        raise NoSnapshot(f"no published snapshot in {root}")
    try:
        text = (root / "snapshots" / sid / MANIFEST).read_text(encoding="utf-8")
    except OSError as exc:
        raise NoSnapshot(f"snapshot {sid} in {root} is unreadable: {exc}") from None
    try:
        return parse_manifest(text)
    except ContractError as exc:
        raise ContractError(f"snapshot {sid} in {root}: {exc}") from None


def load_snapshot(root: Path, snapshot_id: str | None = None, verify: bool = True) -> Snapshot:
    """A published snapshot (default: ``current``). ``verify``: check every file against its
    sha256 first (:func:`verify_snapshot`) and raise :class:`NoSnapshot` when it is damaged.
    The manifest and the two required tables are checked against the contract."""
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
        obs = pd.read_parquet(path / OBSERVATIONS.file)
        regions = pd.read_parquet(path / REGIONS.file)
    except (OSError, ValueError) as exc:
        raise NoSnapshot(f"snapshot {sid} in {root} is unreadable: {exc}") from None
    obs = OBSERVATIONS.check(OBSERVATIONS.upgrade(obs),
                             f"snapshot {sid} in {root}: {OBSERVATIONS.file}")
    REGIONS.check(regions, f"snapshot {sid} in {root}: {REGIONS.file}")
    return Snapshot(sid, path, manifest, obs, regions)


def verify_snapshot(root: Path, snapshot_id: str) -> list[str]:
    """What is wrong with a published snapshot: its manifest must fit the contract, and every
    file it lists must exist with the recorded size and sha256 (a truncated, overwritten or
    deleted file is named). Empty list = intact. Snapshots published before per-file hashes
    can only be checked for presence."""
    path = root / "snapshots" / snapshot_id
    try:
        text = (path / MANIFEST).read_text(encoding="utf-8")
    except OSError as exc:
        return [f"{path / MANIFEST}: unreadable ({exc.__class__.__name__})"]
    try:
        manifest = parse_manifest(text, str(path / MANIFEST))
    except ContractError as exc:
        return [str(exc)]
    files = manifest.files
    if files is None:  # an older snapshot: presence only
        files = {n: None for n in (OBSERVATIONS.file, REGIONS.file)}
    problems = []
    for name, want in files.items():
        f = path / name
        try:
            size = f.stat().st_size
            got = file_digest(f) if want else None
        except OSError as exc:
            problems.append(f"{f}: missing or unreadable ({exc.strerror or exc})")
            continue
        if want and size != want.bytes:
            problems.append(f"{f}: {size} bytes, manifest says {want.bytes}")
        elif want and got["sha256"] != want.sha256:
            problems.append(f"{f}: sha256 differs from the manifest (file overwritten)")
    return problems


def newest_intact(root: Path, before: str | None = None) -> str | None:
    """The newest snapshot that passes :func:`verify_snapshot`, older than ``before`` if given."""
    for sid in reversed(snapshot_ids(root)):
        if (before is None or sid < before) and not verify_snapshot(root, sid):
            return sid
    return None


# --------------------------------------------------------------------------- writing

def publish(root: Path, observations: pd.DataFrame, regions: pd.DataFrame,
            manifest: ManifestBody, keep: int = 5, files: dict[str, bytes] | None = None,
            frames: dict[str, pd.DataFrame | None] | None = None) -> str:
    """Write a snapshot beside the current one and switch ``current`` to it in one rename.

    ``frames``: the optional tables by contract name (``observations_current``, ``peers``, ...;
    None values are left out); ``files``: the maps (``gemeenten.geojson``,
    ``gemeenten_<year>.geojson``). Every table is checked against its contract and the manifest
    completed (``snapshot_id``, ``published_at``, ``content_sha256``, ``files``,
    ``schema_version``) before anything is written: what does not fit raises
    :class:`ContractError`. Returns the new snapshot id."""
    tables = {OBSERVATIONS.name: observations, REGIONS.name: regions}
    for name, frame in (frames or {}).items():
        if name in tables or name not in FRAMES:
            raise ContractError(f"{name!r} is not an optional table of the snapshot contract "
                                f"({', '.join(n for n in FRAMES if n not in tables)})")
        if frame is not None:
            tables[name] = frame
    for name, frame in tables.items():
        FRAMES[name].check(frame)
    unknown = [n for n in files or {} if not _allowed_file(n)]
    if unknown:
        raise ContractError(f"{', '.join(unknown)}: not a file of the snapshot contract "
                            f"({BOUNDARIES}, gemeenten_<year>.geojson, wijken_<year>.geojson)")
    body = body_of(manifest)
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
    sid = f"{now.strftime(_STAMP)}-{h.hexdigest()[:8]}"
    tmp = sdir / f".tmp-{sid}"
    with writing(tmp, cleanup=tmp):
        tmp.mkdir()
        for name, frame in tables.items():
            with writing(tmp / FRAMES[name].file):
                frame.to_parquet(tmp / FRAMES[name].file, index=False)
        for name, data in (files or {}).items():
            with writing(tmp / name):
                (tmp / name).write_bytes(data)
        digests = {f.name: file_digest(f) for f in sorted(tmp.iterdir())}  # verified on load
        published = Manifest(**body, snapshot_id=sid, published_at=utcnow(),
                             content_sha256=h.hexdigest(), files=digests,
                             schema_version=SCHEMA_VERSION)
        with writing(tmp / MANIFEST):
            (tmp / MANIFEST).write_bytes(json_bytes(published.model_dump(mode="json")))
        fsync_files(tmp)
        os.rename(tmp, sdir / sid)
    fsync_dir(sdir)
    switch_current(root, sid)
    prune_snapshots(root, keep)
    return sid


def switch_current(root: Path, sid: str) -> None:
    if not (root / "snapshots" / sid / MANIFEST).exists():
        raise NoSnapshot(f"snapshot {sid} does not exist in {root}")
    tmp_link = root / f".current.tmp-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp_link.unlink()
    with writing(root / "current", cleanup=tmp_link):
        os.symlink(Path("snapshots") / sid, tmp_link)
        os.replace(tmp_link, root / "current")  # atomic: readers see the old or the new, never none
    fsync_dir(root)


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


# --------------------------------------------------------------------------- the schema file

def json_schema() -> dict:
    """The JSON Schema of ``manifest.json`` (draft 2020-12, from the models) with the table
    contracts under ``x-frames``: what ``snapshot.schema.json`` holds."""
    schema = Manifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["x-schema-version"] = SCHEMA_VERSION
    schema["x-frames"] = {
        f.name: {"file": f.file, "required": f.required, "columns": f.columns,
                 "unique": list(f.unique), "description": f.description}
        for f in FRAMES.values()}
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipelines.snapshot",
                                 description="The snapshot contract: write or check its JSON "
                                             "Schema, or check a published snapshot.")
    ap.add_argument("--schema", action="store_true",
                    help=f"write the JSON Schema to {SCHEMA_FILE.name} (commit it)")
    ap.add_argument("--check", metavar="DATA_DIR",
                    help="check the current snapshot of DATA_DIR against the contract")
    args = ap.parse_args(argv)
    if args.schema:
        SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
        print(f"wrote {SCHEMA_FILE}")
    if args.check:
        try:
            snap = load_snapshot(Path(args.check))
            optional = [snap.frame(name) for name, f in FRAMES.items() if not f.required]
        except NoSnapshot as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"snapshot {snap.id} fits the contract (schema version "
              f"{snap.manifest.schema_version}, {sum(f is not None for f in optional)} optional "
              "table(s))")
    if not (args.schema or args.check):
        ap.print_help()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
