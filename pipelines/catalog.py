"""The indicator catalogue: reads and validates ``indicators.yaml`` into frozen objects.

This is the only reader of the YAML. Every error names the file and line of the offending entry.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).with_name("indicators.yaml")

THEMES = {
    "mkb_innovatie": "Breed MKB en innovatie",
    "human_capital": "Human Capital",
    "ruimtelijke_economie": "Ruimtelijke economie en vitale kernen",
}
LEVELS = ("NL", "LD", "PV", "CR", "AM", "GM")
LEVEL_NAMES = {
    "NL": "Nederland",
    "LD": "landsdeel",
    "PV": "provincie",
    "CR": "COROP-gebied",
    "AM": "arbeidsmarktregio",
    "GM": "gemeente",
}
# What kind of figure an indicator is (see presentation rules in dashboard/presentation.py):
#   size  - a count or amount that grows with the size of the region (vestigingen, banen, woningen):
#           comparing positions between gemeenten ranks town size, so never rankable;
#   rate  - a rate, ratio, share or per-inwoner figure: comparable between regions of any size;
#   index - an index number (e.g. 2015 = 100): by default relative to each region's own base, so
#           positions are only meaningful when the catalogue says so (rankable: true).
KINDS = {"size": "omvang (aantal of bedrag)", "rate": "verhouding, aandeel of percentage",
         "index": "indexcijfer"}
RANKABLE_DEFAULT = {"size": False, "rate": True, "index": False}
# Plausibility checks of a new fetch against the published snapshot (pipelines/checks.py,
# ``plausibility``). Defaults; the catalogue's top-level ``plausibility:`` section changes them for
# all, a table's or an indicator's own ``plausibility:`` for that one.
PLAUSIBILITY_DEFAULTS = {
    "max_rows_drop_pct": 20.0,  # table: rows of the data entity fall by more than this
    "max_coverage_drop_pct": 10.0,  # indicator: gemeenten with a value in the latest period
    "max_revision_pct": 50.0,  # indicator: an existing figure (same region, period) changes by more
    "max_new_period_factor": 3.0,  # indicator: a new period's value vs the region's previous one
    "max_jump_share_pct": 10.0,  # ... fail when more than this share of one period's (or one
    # region's) compared values jumps, and at least two of them (checks.rejected_groups)
}
# How precise a figure must be to be ranked, coloured or compared (pipelines/precision.py): the
# rounding of its inputs may move it by at most this share of its value. Defaults; the catalogue's
# top-level ``precision:`` section changes them for all, an indicator's own for that one.
PRECISION_DEFAULTS = {
    "max_uncertainty_pct": 10.0,  # half-width of the rounding interval, % of the value
}
TABLE_ID = re.compile(r"^[0-9]{5}[A-Za-z]{3}$")
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ID = re.compile(r"^[a-z][a-z0-9_]*$")


class CatalogError(ValueError):
    """A malformed catalogue; the message names file, line and entry."""


@dataclass(frozen=True)
class Input:
    name: str
    table: str
    measure: str
    filters: tuple[tuple[str, str], ...] = ()
    scale: float = 1.0
    additive: bool = False  # a count that may be summed over merged gemeenten
    lag: int = 0  # years back: the value of year t-lag is used for year t (growth rates)
    rounding: float | None = None  # CBS's rounding step in the table's own unit, where the
    # metadata does not say it (counts per wijk to 5, leegstand counts to 10); else Decimals
    weight: str | None = None  # wijk indicators: a rate or average CBS publishes per wijk is
    # averaged over several wijken (centrum, rest, gemeente) weighted by this (additive) input

    def describe(self) -> str:
        flt = ",".join(f"{d}={k}" for d, k in self.filters)
        scale = f"*{self.scale:g}" if self.scale != 1 else ""
        lag = f"(t-{self.lag})" if self.lag else ""
        return f"{self.table}.{self.measure}" + (f"[{flt}]" if flt else "") + scale + lag


@dataclass(frozen=True)
class Indicator:
    id: str
    theme: str
    title: str
    description: str
    unit: str
    decimals: int
    higher_is_better: bool | None
    levels: tuple[str, ...]
    inputs: tuple[Input, ...]
    formula: str
    value_range: tuple[float, float] | None
    enabled: bool
    line: int
    bw_dimension: str | None = None  # brede welvaart: hier_en_nu | later | elders
    bw_theme: str | None = None
    kind: str = "rate"  # size | rate | index (KINDS)
    rankable: bool = True  # positions/quartiles/good-bad colours between regions mean something
    plausibility: tuple[tuple[str, float], ...] = ()  # overrides of the catalogue's bounds
    disabled_reason: str | None = None  # why an entry is `enabled: false` (required then)
    precision: tuple[tuple[str, float], ...] = ()  # overrides of the catalogue's precision bound
    breaks: tuple[tuple[int, str], ...] = ()  # (first year of the new method, note): a series
    # break the dashboard marks in every time series of the indicator

    @property
    def derived(self) -> bool:
        return len(self.inputs) > 1 or self.formula != self.inputs[0].name

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.table for i in self.inputs))

    @property
    def measure_label(self) -> str:
        """What the export's `measure` column says: the key, or the formula with its inputs."""
        if not self.derived:
            return self.inputs[0].measure
        parts = "; ".join(f"{i.name}={i.describe()}" for i in self.inputs)
        return f"{self.formula} ({parts})"


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    verified: bool
    evidence: str
    boundaries: str
    line: int
    api: str = "v3"  # v3 (opendata.cbs.nl ODataFeed) | v4 (datasets.cbs.nl/odata/v1) | file
    # (a workbook CBS publishes on www.cbs.nl: the catalogue's ``files`` entry of the same name)
    series: str | None = None  # the edition series this table is one year of
    edition: int | None = None  # ... and which year
    plausibility: tuple[tuple[str, float], ...] = ()  # overrides of the catalogue's bounds


@dataclass(frozen=True)
class Series:
    """Yearly editions of one CBS table, each with its own id (Gebieden in Nederland 2024 =
    85755NED, 2025 = 86059NED, ...). ``title`` has ``{year}``: it names each edition and is how
    a newer edition is recognised in the CBS catalogue listing."""

    name: str
    title: str
    editions: dict[int, str]
    verified: bool
    evidence: str
    boundaries: str
    line: int
    api: str = "v3"

    @property
    def tables(self) -> tuple[str, ...]:
        """Edition ids, oldest first."""
        return tuple(self.editions[y] for y in sorted(self.editions))

    @property
    def latest(self) -> int:
        return max(self.editions)


# --------------------------------------------------------------------------- CBS-published files
#
# Some CBS figures are no StatLine table but a workbook on www.cbs.nl (the Landelijke Monitor
# Leegstand: an Excel file linked from a "maatwerk" page, one edition a year). A ``tables`` entry
# with ``api: file`` describes one: where each edition is (its landing page, or the file itself),
# how newer editions are found, and the layout the workbook must have (the header's columns, which
# columns hold the region, the period, the dimensions and the measures, the missing-value
# marker). The CBS file client (pipelines/cbs.py) downloads it and pipelines/workbook.py turns it
# into the shapes of an OData table, so everything after the fetch treats it as one.


@dataclass(frozen=True)
class FileEdition:
    """One yearly edition: its landing page (the workbook is the link on it) or the workbook
    itself, as a path under ``CBS_WEB_URL`` or an absolute URL. ``verified``: seen at CBS."""

    year: int
    page: str | None = None
    file: str | None = None
    verified: bool = False


@dataclass(frozen=True)
class FileCategory:
    """A dimension category: ``key`` (what filters name) and the workbook's label, matched
    exactly (spaces and case ignored) or, with ``contains``, as a part of the label."""

    key: str
    label: str
    contains: bool = False

    def matches(self, text: str) -> bool:
        t, lbl = _norm(text), _norm(self.label)
        return lbl in t if self.contains else t == lbl


@dataclass(frozen=True)
class FileDimension:
    name: str  # the dimension's key in the transform (and in filters)
    column: str  # the workbook column
    categories: tuple[FileCategory, ...]  # every one must occur in the workbook


@dataclass(frozen=True)
class FileMeasure:
    key: str  # the measure's key in the transform (and in inputs)
    column: str  # the workbook column
    unit: str = "aantal"
    decimals: int = 0


@dataclass(frozen=True)
class FileRegion:
    """How a row names its region at one level: a code column (``GM0363`` or ``363``, the level's
    prefix added when missing) with a name column; or, for Nederland, a column holding
    ``value``. A row belongs to the first level (in catalogue order) whose column it fills."""

    level: str
    code: str | None = None
    name: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class FileSource:
    """A workbook CBS publishes each year on www.cbs.nl (see the section comment above)."""

    name: str
    title: str  # with {year}: the edition's title
    editions: dict[int, FileEdition]
    verified: bool
    evidence: str
    boundaries: str  # "edition": every year on the gemeenten of the edition's year; or as Table
    line: int
    link: str  # regex: which .xlsx link of a landing page is the workbook (its file name)
    period: str  # the column with the year (peildatum 1 januari)
    regions: tuple[FileRegion, ...]
    dimensions: tuple[FileDimension, ...]
    measures: tuple[FileMeasure, ...]
    columns: tuple[str, ...] = ()  # further columns the header must have (the documented layout)
    missing: tuple[str, ...] = (".",)  # CBS's marker for a secret or unknown figure
    sheet: str | None = None  # regex: only sheets whose name matches (default: any sheet)
    discover_pages: tuple[str, ...] = ()  # landing page paths with {year} and {week}
    discover_weeks: tuple[int, ...] = ()  # the ISO weeks CBS publishes an edition in
    discover_years: int = 2  # look for editions of at most this many recent years

    @property
    def latest(self) -> int:
        return max(self.editions)

    @property
    def header(self) -> tuple[str, ...]:
        """Every column the workbook's header row must have, in a stable order."""
        cols = [self.period]
        for r in self.regions:
            cols += [c for c in (r.code, r.name) if c]
        cols += [d.column for d in self.dimensions] + [m.column for m in self.measures]
        cols += list(self.columns)
        return tuple(dict.fromkeys(cols))

    def measure(self, key: str) -> FileMeasure:
        return next(m for m in self.measures if m.key == key)

    def dimension(self, name: str) -> FileDimension:
        return next(d for d in self.dimensions if d.name == name)


def _norm(text) -> str:
    return " ".join(str(text or "").split()).casefold()


@dataclass(frozen=True)
class Wijken:
    """The catalogue's ``wijken`` section and ``wijk_indicators``: the Kerncijfers wijken en
    buurten per wijk (pipelines/wijken.py, the page "Wijken"). Kept apart from ``indicators``:
    wijk figures get no peers, rankings or harmonisation and are published in their own table."""

    series: str  # the catalogue series whose measure stems the inputs name
    editions: tuple[tuple[int, str], ...]  # (year, KWB table id), oldest first
    years: tuple[int, ...]  # the editions the refresh asks wijk rows of
    verified: bool
    evidence: str
    indicators: tuple[Indicator, ...]
    map: str  # the indicator the wijk map shows first
    headline: tuple[str, ...]  # centrum versus the rest, the briefing

    def table(self, year: int) -> str:
        return dict(self.editions)[year]

    @property
    def stems(self) -> tuple[str, ...]:
        """Every KWB measure stem the wijk indicators need, in catalogue order."""
        return tuple(dict.fromkeys(i.measure for ind in self.indicators for i in ind.inputs))


@dataclass(frozen=True)
class Catalog:
    path: Path
    sha256: str
    reference_year: int
    gebieden: dict[int, str]
    tables: dict[str, Table]
    indicators: tuple[Indicator, ...]
    pairs: tuple[dict, ...] = ()  # dwarsverbanden: {theme, x, y, vraag}
    series: dict[str, Series] = field(default_factory=dict)  # name -> yearly editions
    gebieden_series: str | None = None  # the series behind `gebieden`, if given as one
    plausibility: tuple[tuple[str, float], ...] = tuple(PLAUSIBILITY_DEFAULTS.items())
    precision: tuple[tuple[str, float], ...] = tuple(PRECISION_DEFAULTS.items())
    files: dict[str, FileSource] = field(default_factory=dict)  # name -> a CBS-published file
    wijken: Wijken | None = None  # the wijk section (None: no wijk figures)
    _by_id: dict[str, Indicator] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({i.id: i for i in self.indicators})

    def indicator(self, ind_id: str) -> Indicator:
        return self._by_id[ind_id]

    @property
    def enabled(self) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.enabled)

    def bounds(self, of: Indicator | Table | None = None) -> dict[str, float]:
        """Plausibility bounds for an indicator or table: defaults < catalogue < its own."""
        return {**PLAUSIBILITY_DEFAULTS, **dict(self.plausibility),
                **dict(getattr(of, "plausibility", ()) or ())}

    def precision_bound(self, ind: Indicator) -> float:
        """The largest rounding uncertainty (% of the value) a figure of ``ind`` may carry before
        it is marked imprecise: defaults < catalogue < the indicator's own."""
        return {**PRECISION_DEFAULTS, **dict(self.precision),
                **dict(ind.precision or ())}["max_uncertainty_pct"]

    def tables_of(self, name: str) -> tuple[str, ...]:
        """A table id as itself; a series name as its edition ids (oldest first)."""
        return self.series[name].tables if name in self.series else (name,)

    def data_tables(self) -> list[str]:
        """Tables needed by enabled indicators, in catalogue order (every edition of a series)."""
        return list(dict.fromkeys(e for i in self.enabled for t in i.tables
                                  for e in self.tables_of(t)))

    def inputs_for(self, table: str) -> list[Input]:
        return [inp for i in self.enabled for inp in i.inputs if table in self.tables_of(inp.table)]

    def levels_for(self, table: str) -> tuple[str, ...]:
        levels = {lv for i in self.enabled for t in i.tables if table in self.tables_of(t)
                  for lv in i.levels}
        return tuple(lv for lv in LEVELS if lv in levels)

    def select(self, only: str | None) -> tuple[list[str], list[Indicator]]:
        """Resolve ``--only`` (an indicator id or a table id) to (tables, indicators)."""
        if not only:
            return self.data_tables(), list(self.enabled)
        if only in self._by_id:
            ind = self._by_id[only]
            if not ind.enabled:
                raise CatalogError(f"indicator {only!r} is disabled in the catalogue (unverified)")
            return list(ind.tables), [ind]
        if only in self.series:
            inds = [i for i in self.enabled if only in i.tables]
            if inds:
                return list(self.series[only].tables), inds
        table = next((t for t in self.data_tables() if t.upper() == only.upper()), only.upper())
        if table in self.data_tables():
            return [table], [i for i in self.enabled
                             if any(table in self.tables_of(t) for t in i.tables)]
        raise CatalogError(
            f"--only {only!r} is neither an indicator id nor a table used by an enabled indicator"
        )


# --------------------------------------------------------------------------- formula checking

_ALLOWED_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div,
    ast.USub, ast.UAdd, ast.Name, ast.Load, ast.Constant,
)


def parse_formula(formula: str) -> ast.Expression:
    """Parse an arithmetic formula; only numbers, names, + - * / and parentheses are allowed."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"formula {formula!r} is not valid arithmetic: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ValueError(f"formula {formula!r} uses {type(node).__name__}; only + - * / allowed")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ValueError(f"formula {formula!r} contains a non-number constant")
    return tree


def formula_names(formula: str) -> set[str]:
    return {n.id for n in ast.walk(parse_formula(formula)) if isinstance(n, ast.Name)}


# --------------------------------------------------------------------------- loading

def _lines(text: str) -> dict[tuple, int]:
    """Map (section, key-or-index) -> 1-based line number, from the YAML node tree."""
    out: dict[tuple, int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return out
    if not isinstance(root, yaml.MappingNode):
        return out
    for knode, vnode in root.value:
        if isinstance(vnode, yaml.MappingNode):
            for k2, _v2 in vnode.value:
                out[(knode.value, k2.value)] = k2.start_mark.line + 1
        elif isinstance(vnode, yaml.SequenceNode):
            for idx, item in enumerate(vnode.value):
                out[(knode.value, idx)] = item.start_mark.line + 1
    return out


def load(path: str | Path | None = None) -> Catalog:
    path = Path(path) if path else DEFAULT_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read catalogue: {exc.strerror}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise CatalogError(f"{path}{where}: not valid YAML: {exc}") from None
    lines = _lines(text)
    return _build(doc, path, lines, hashlib.sha256(text.encode()).hexdigest())


def _build(doc, path: Path, lines: dict, sha: str) -> Catalog:
    def fail(where: tuple, msg: str):
        line = lines.get(where)
        raise CatalogError(f"{path}{':' + str(line) if line else ''}: {msg}")

    if not isinstance(doc, dict):
        raise CatalogError(f"{path}: the catalogue must be a mapping with regions, tables, indicators")
    for section in ("regions", "tables", "indicators"):
        if section not in doc:
            raise CatalogError(f"{path}: missing section {section!r}")

    series = _series(doc, fail, lines)
    files = _files(doc, fail, lines)
    reg = doc["regions"] or {}
    geb_series = reg.get("gebieden") if isinstance(reg.get("gebieden"), str) else None
    if geb_series is not None and geb_series not in series:
        fail(("regions", "gebieden"), f"gebieden: {geb_series!r} is not a series under 'tables' "
                                      "(a name with editions: {year: TABLE})")
    try:
        gebieden = (dict(series[geb_series].editions) if geb_series else
                    {int(y): str(t) for y, t in (reg.get("gebieden") or {}).items()})
        ref = reg["reference_year"]
        ref_year = max(gebieden) if ref == "latest" and gebieden else int(ref)
    except (KeyError, TypeError, ValueError):
        fail(("regions", "reference_year"), "regions needs reference_year (a year or 'latest') "
                                            "and gebieden (a series name or {year: TABLE})")
    if ref_year not in gebieden:
        fail(("regions", "gebieden"), f"no 'Gebieden in Nederland' table for reference_year {ref_year}")
    for t in gebieden.values():
        if not TABLE_ID.match(t):
            fail(("regions", "gebieden"), f"{t!r} is not a CBS table id (like 85755NED)")

    tables: dict[str, Table] = {}
    for ser in series.values():
        for year, tid in ser.editions.items():
            tables[tid] = Table(tid, ser.title.replace("{year}", str(year)), ser.verified,
                                ser.evidence, ser.boundaries, ser.line, ser.api, ser.name, year)
    for src in files.values():
        tables[src.name] = Table(src.name, " ".join(src.title.replace("{year}", "").split()),
                                 src.verified, src.evidence, src.boundaries, src.line, "file")
    for tid, spec in (doc["tables"] or {}).items():
        where = ("tables", tid)
        if str(tid) in series or str(tid) in files:
            continue
        if not TABLE_ID.match(str(tid)):
            fail(where, f"table {tid!r} is not a CBS table id (like 82900NED)")
        if not isinstance(spec, dict) or not spec.get("title"):
            fail(where, f"table {tid}: needs a title")
        bnd = str(spec.get("boundaries", "yearly"))
        if bnd != "yearly" and not re.match(r"^fixed:\d{4}$", bnd):
            fail(where, f"table {tid}: boundaries must be 'yearly' or 'fixed:<year>', not {bnd!r}")
        api = str(spec.get("api", "v3"))
        if api not in ("v3", "v4"):
            fail(where, f"table {tid}: api must be v3 or v4, not {api!r}")
        try:
            bounds = _plausibility(spec.get("plausibility"))
        except ValueError as exc:
            fail(where, f"table {tid}: {exc}")
        tables[tid] = Table(tid, str(spec["title"]), bool(spec.get("verified", False)),
                            str(spec.get("evidence", "")), bnd, lines.get(where, 0), api,
                            plausibility=bounds)

    raw_inds = doc["indicators"]
    if not isinstance(raw_inds, list) or not raw_inds:
        raise CatalogError(f"{path}: 'indicators' must be a non-empty list")
    indicators: list[Indicator] = []
    seen: set[str] = set()
    for idx, spec in enumerate(raw_inds):
        where = ("indicators", idx)
        line = lines.get(where, 0)
        if not isinstance(spec, dict):
            fail(where, f"indicator #{idx + 1} must be a mapping")
        iid = spec.get("id")
        label = f"indicator {iid!r}" if iid else f"indicator #{idx + 1}"
        try:
            ind = _indicator(spec, tables, line, series, files)
        except (ValueError, TypeError, KeyError) as exc:
            fail(where, f"{label}: {str(exc).strip(chr(39) + chr(34))}")
        if ind.id in seen:
            fail(where, f"{label}: duplicate id")
        seen.add(ind.id)
        indicators.append(ind)
    pairs = []
    ids = {i.id for i in indicators}
    for idx, pair in enumerate(doc.get("dwarsverbanden") or []):
        where = ("dwarsverbanden", idx)
        if not isinstance(pair, dict) or pair.get("theme") not in THEMES:
            fail(where, f"dwarsverband #{idx + 1} needs a theme from {', '.join(THEMES)}")
        for axis in ("x", "y"):
            if pair.get(axis) not in ids:
                fail(where, f"dwarsverband #{idx + 1}: {axis} {pair.get(axis)!r} is not an indicator")
        pairs.append({"theme": pair["theme"], "x": pair["x"], "y": pair["y"],
                      "vraag": str(pair.get("vraag", ""))})
    try:
        bounds = {**PLAUSIBILITY_DEFAULTS, **dict(_plausibility(doc.get("plausibility")))}
        precision = {**PRECISION_DEFAULTS, **dict(_precision(doc.get("precision")))}
    except ValueError as exc:
        raise CatalogError(f"{path}: {exc}") from None
    wijk = _wijken(doc, fail, lines, tables, series, files)
    return Catalog(path, sha, ref_year, gebieden, tables, tuple(indicators), tuple(pairs),
                   series, geb_series, tuple(bounds.items()), tuple(precision.items()), files,
                   wijk)


def _wijken(doc: dict, fail, lines: dict, tables, series, files) -> Wijken | None:
    """The ``wijken`` section and its ``wijk_indicators`` (validated like indicators; the
    theme is Ruimtelijke economie and the level WK, implied). Every input names the section's
    series by a measure stem; each is either ``additive`` (a count) or ``weight``-ed by one."""
    spec, raw = doc.get("wijken"), doc.get("wijk_indicators")
    if spec is None and raw is None:
        return None
    if not isinstance(spec, dict) or not isinstance(raw, list) or not raw:
        fail(("wijken", "indicators"), "'wijken' (a mapping with series, editions, years, map, "
                                       "headline) and 'wijk_indicators' (a list) go together")
    where = ("wijken", "editions")
    ser = str(spec.get("series", ""))
    if ser not in series:
        fail(("wijken", "series"), f"wijken: series {ser!r} is not a series under 'tables'")
    try:
        editions = tuple(sorted((int(y), str(t)) for y, t in (spec.get("editions") or {}).items()))
        years = tuple(int(y) for y in spec.get("years") or ())
    except (TypeError, ValueError, AttributeError):
        fail(where, "wijken: editions must be {year: TABLE} and years a list of years")
    if not editions or any(not TABLE_ID.match(t) for _y, t in editions):
        fail(where, "wijken: editions must be {year: TABLE} with CBS table ids (like 85984NED)")
    if not years or set(years) - {y for y, _t in editions}:
        fail(("wijken", "years"), "wijken: years must be a non-empty list of years with an edition")
    inds: list[Indicator] = []
    for idx, ispec in enumerate(raw):
        w = ("wijk_indicators", idx)
        if not isinstance(ispec, dict):
            fail(w, f"wijk indicator #{idx + 1} must be a mapping")
        label = f"wijk indicator {ispec.get('id')!r}"
        full = {"theme": "ruimtelijke_economie", "levels": ["GM"], **ispec}
        try:
            ind = _indicator(full, tables, lines.get(w, 0), series, files)
        except (ValueError, TypeError, KeyError) as exc:
            fail(w, f"{label}: {str(exc).strip(chr(39) + chr(34))}")
        if ispec.get("levels") not in (None, ["WK"]):
            fail(w, f"{label}: levels is implied (WK)")
        if any(i.table != ser for i in ind.inputs):
            fail(w, f"{label}: every input names table {ser} (a measure stem)")
        if any(i.filters or i.lag or i.scale != 1 for i in ind.inputs):
            fail(w, f"{label}: filters, lag and scale do not apply to wijk inputs")
        if ind.id in {i.id for i in inds}:
            fail(w, f"{label}: duplicate id")
        inds.append(replace(ind, levels=("WK",), rankable=False))
    rounding: dict[str, float | None] = {}
    for idx, ind in enumerate(inds):
        for i in ind.inputs:  # one raw measure, one rounding: it is stored once per wijk
            if rounding.setdefault(i.measure, i.rounding) != i.rounding:
                fail(("wijk_indicators", idx), f"wijk indicator {ind.id!r}: {i.measure} has "
                     f"rounding {i.rounding} here and {rounding[i.measure]} elsewhere")
    ids = [i.id for i in inds]
    for key in ("map", "headline"):
        vals = spec.get(key)
        vals = [vals] if key == "map" else vals
        if not isinstance(vals, list) or not vals or any(v not in ids for v in vals):
            fail(("wijken", key), f"wijken: {key} must name wijk indicator(s) ({', '.join(ids)})")
    return Wijken(ser, editions, years, bool(spec.get("verified", False)),
                  " ".join(str(spec.get("evidence", "")).split()), tuple(inds), str(spec["map"]),
                  tuple(spec["headline"]))


def _precision(spec) -> tuple[tuple[str, float], ...]:
    """``precision: {max_uncertainty_pct: 10}`` -> validated (key, value) pairs."""
    if spec is None:
        return ()
    if not isinstance(spec, dict):
        raise ValueError("precision must be a mapping, e.g. {max_uncertainty_pct: 10}")
    out = []
    for key, value in spec.items():
        if key not in PRECISION_DEFAULTS:
            raise ValueError(f"precision: unknown bound {key!r}; use "
                             f"{', '.join(PRECISION_DEFAULTS)}")
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"precision: {key} must be a number > 0")
        out.append((str(key), float(value)))
    return tuple(out)


def _plausibility(spec) -> tuple[tuple[str, float], ...]:
    """``plausibility: {max_rows_drop_pct: 20, ...}`` -> validated (key, value) pairs."""
    if spec is None:
        return ()
    if not isinstance(spec, dict):
        raise ValueError("plausibility must be a mapping, e.g. {max_rows_drop_pct: 20}")
    out = []
    for key, value in spec.items():
        if key not in PLAUSIBILITY_DEFAULTS:
            raise ValueError(f"plausibility: unknown bound {key!r}; use "
                             f"{', '.join(PLAUSIBILITY_DEFAULTS)}")
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ValueError(f"plausibility: {key} must be a number >= 0")
        out.append((str(key), float(value)))
    return tuple(out)


SERIES_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _series(doc: dict, fail, lines: dict) -> dict[str, Series]:
    """Entries under ``tables`` named in lower_snake_case with ``editions: {year: TABLE}``."""
    out: dict[str, Series] = {}
    for name, spec in (doc.get("tables") or {}).items():
        if not (isinstance(spec, dict) and "editions" in spec) or spec.get("api") == "file":
            continue
        where = ("tables", name)
        name = str(name)
        if not SERIES_NAME.match(name):
            fail(where, f"series {name!r}: name it in lower_snake_case (it is not one table id)")
        title = str(spec.get("title") or "")
        if "{year}" not in title:
            fail(where, f"series {name}: title needs {{year}}, e.g. 'Gebieden in Nederland {{year}}'")
        eds = spec.get("editions")
        try:
            editions = {int(y): str(t) for y, t in eds.items()}
        except (AttributeError, TypeError, ValueError):
            fail(where, f"series {name}: editions must be a mapping year -> TABLE")
        if not editions:
            fail(where, f"series {name}: needs at least one edition")
        for t in editions.values():
            if not TABLE_ID.match(t):
                fail(where, f"series {name}: {t!r} is not a CBS table id (like 85755NED)")
        if len(set(editions.values())) != len(editions):
            fail(where, f"series {name}: the same table id is given for two years")
        api = str(spec.get("api", "v3"))
        if api not in ("v3", "v4"):
            fail(where, f"series {name}: api must be v3 or v4, not {api!r}")
        bnd = str(spec.get("boundaries", "yearly"))
        if bnd != "yearly" and not re.match(r"^fixed:\d{4}$", bnd):
            fail(where, f"series {name}: boundaries must be 'yearly' or 'fixed:<year>'")
        out[name] = Series(name, title, editions, bool(spec.get("verified", False)),
                           str(spec.get("evidence", "")), bnd, lines.get(where, 0), api)
    return out


def _text(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty text")
    return value.strip()


def _file_edition(year, spec) -> FileEdition:
    if isinstance(spec, str):
        spec = {"page": spec}
    if not isinstance(spec, dict) or ("page" in spec) == ("file" in spec):
        raise ValueError(f"edition {year}: give either page (the landing page) or file (the "
                         "workbook), as a path under CBS_WEB_URL or a URL")
    verified = spec.get("verified", False)
    if not isinstance(verified, bool):
        raise ValueError(f"edition {year}: verified must be true or false")
    page, file = spec.get("page"), spec.get("file")
    return FileEdition(int(year), page and _text(page, f"edition {year} page"),
                       file and _text(file, f"edition {year} file"), verified)


def _file_categories(dim: str, spec) -> tuple[FileCategory, ...]:
    if isinstance(spec, list):  # labels that are their own keys
        spec = {str(x): str(x) for x in spec}
    if not isinstance(spec, dict) or not spec:
        raise ValueError(f"dimension {dim}: categories must be a mapping key -> workbook label")
    out = []
    for key, label in spec.items():
        if not KEY.match(str(key)):
            raise ValueError(f"dimension {dim}: category key {key!r} must be an identifier")
        if isinstance(label, dict) and set(label) == {"contains"}:
            out.append(FileCategory(str(key), _text(label["contains"], f"{dim}.{key}"), True))
        else:
            out.append(FileCategory(str(key), _text(label, f"{dim}.{key}")))
    return tuple(out)


def _file_regions(spec) -> tuple[FileRegion, ...]:
    if not isinstance(spec, dict) or not spec:
        raise ValueError("workbook.regions must map a level (GM, PV, ...) to {code, name} or, "
                         "for NL, {column, value}")
    out = []
    for level, r in spec.items():
        if level not in LEVELS or not isinstance(r, dict):
            raise ValueError(f"workbook.regions: {level!r} is not a region level of "
                             f"{' '.join(LEVELS)} with a mapping")
        if "value" in r:
            out.append(FileRegion(level, None, _text(r.get("column"), f"regions.{level}.column"),
                                  _text(r["value"], f"regions.{level}.value")))
        else:
            out.append(FileRegion(level, _text(r.get("code"), f"regions.{level}.code"),
                                  r.get("name") and _text(r["name"], f"regions.{level}.name")))
    if not any(r.level == "GM" and r.code for r in out):
        raise ValueError("workbook.regions needs GM: {code: <column>} (the gemeente code)")
    return tuple(out)


def _file_source(name: str, spec: dict, line: int) -> FileSource:
    title = _text(spec.get("title"), "title")
    if "{year}" not in title:
        raise ValueError("title needs {year}, e.g. 'Landelijke Monitor Leegstand {year}'")
    eds = spec.get("editions")
    if not isinstance(eds, dict) or not eds:
        raise ValueError("editions must be a mapping year -> {page: ...} or {file: ...}")
    try:
        editions = {int(y): _file_edition(y, e) for y, e in eds.items()}
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc) if "edition" in str(exc) else
                         "editions must be a mapping year -> {page: ...}") from None
    bnd = str(spec.get("boundaries", "edition"))
    if bnd not in ("edition", "yearly") and not re.match(r"^fixed:\d{4}$", bnd):
        raise ValueError("boundaries must be 'edition' (every year on the gemeenten of the "
                         "edition's year), 'yearly' or 'fixed:<year>'")
    disc = spec.get("discover") or {}
    if not isinstance(disc, dict):
        raise ValueError("discover must be a mapping {pages: [...], weeks: [...]}")
    pages = disc.get("pages") or []
    weeks = disc.get("weeks") or []
    if isinstance(pages, str):
        pages = [pages]
    if any(not isinstance(p, str) or "{year}" not in p or "{week}" not in p for p in pages):
        raise ValueError("discover.pages: each is a landing page path with {year} and {week}")
    if (pages and not weeks) or any(not isinstance(w, int) or not 1 <= w <= 53 for w in weeks):
        raise ValueError("discover.weeks: the ISO weeks (1..53) CBS publishes an edition in")
    years = disc.get("years", 2)
    if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= 5:
        raise ValueError("discover.years must be a whole number 1..5 (how far back to look)")
    wb = spec.get("workbook")
    if not isinstance(wb, dict):
        raise ValueError("needs workbook: {link, period, regions, dimensions, measures}")
    link = _text(wb.get("link"), "workbook.link")
    sheet = wb.get("sheet")
    for what, rx in (("link", link), ("sheet", sheet)):
        if rx is not None:
            try:
                re.compile(str(rx))
            except re.error as exc:
                raise ValueError(f"workbook.{what} is not a regular expression: {exc}") from None
    dims = wb.get("dimensions") or {}
    if not isinstance(dims, dict):
        raise ValueError("workbook.dimensions must map a dimension to {column, categories}")
    dimensions = []
    for dname, d in dims.items():
        if not KEY.match(str(dname)) or dname in ("RegioS", "Perioden") or not isinstance(d, dict):
            raise ValueError(f"workbook.dimensions: {dname!r} must be an identifier with "
                             "{column, categories}")
        dimensions.append(FileDimension(str(dname), _text(d.get("column", dname),
                                                          f"{dname}.column"),
                                        _file_categories(str(dname), d.get("categories"))))
    ms = wb.get("measures")
    if not isinstance(ms, dict) or not ms:
        raise ValueError("workbook.measures must map a measure key to {column, unit}")
    measures = []
    for key, m in ms.items():
        if not KEY.match(str(key)) or not isinstance(m, dict):
            raise ValueError(f"workbook.measures: {key!r} must be an identifier with {{column}}")
        dec = m.get("decimals", 0)
        if isinstance(dec, bool) or not isinstance(dec, int) or not 0 <= dec <= 6:
            raise ValueError(f"workbook.measures.{key}: decimals must be a whole number 0..6")
        measures.append(FileMeasure(str(key), _text(m.get("column"), f"{key}.column"),
                                    str(m.get("unit", "aantal")), dec))
    missing = wb.get("missing", ["."])
    if isinstance(missing, str):
        missing = [missing]
    cols = wb.get("columns") or []
    if not isinstance(cols, list) or any(not isinstance(c, str) for c in cols):
        raise ValueError("workbook.columns must be a list of column names")
    return FileSource(
        name=name, title=title, editions=editions,
        verified=bool(spec.get("verified", False)), evidence=str(spec.get("evidence", "")),
        boundaries=bnd, line=line, link=link,
        period=_text(wb.get("period"), "workbook.period"), regions=_file_regions(wb.get("regions")),
        dimensions=tuple(dimensions), measures=tuple(measures),
        columns=tuple(c.strip() for c in cols), missing=tuple(str(x) for x in missing),
        sheet=str(sheet) if sheet is not None else None, discover_pages=tuple(pages),
        discover_weeks=tuple(weeks), discover_years=years)


def _files(doc: dict, fail, lines: dict) -> dict[str, FileSource]:
    """Entries under ``tables`` with ``api: file``: workbooks CBS publishes on www.cbs.nl."""
    out: dict[str, FileSource] = {}
    for name, spec in (doc.get("tables") or {}).items():
        if not (isinstance(spec, dict) and spec.get("api") == "file"):
            continue
        where = ("tables", name)
        if not SERIES_NAME.match(str(name)):
            fail(where, f"file {name!r}: name it in lower_snake_case")
        try:
            out[str(name)] = _file_source(str(name), spec, lines.get(where, 0))
        except ValueError as exc:
            fail(where, f"file {name}: {exc}")
    return out


REQUIRED = ("id", "theme", "title", "description", "unit", "levels")


def _indicator(spec: dict, tables: dict[str, Table], line: int,
               series: dict[str, Series] | None = None,
               files: dict[str, FileSource] | None = None) -> Indicator:
    missing = [k for k in REQUIRED if not spec.get(k)]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    if "higher_is_better" not in spec:
        raise ValueError("missing field: higher_is_better (true, false or null)")
    iid = str(spec["id"])
    if not ID.match(iid):
        raise ValueError("id must be lower_snake_case")
    if spec["theme"] not in THEMES:
        raise ValueError(f"theme {spec['theme']!r} is not one of {', '.join(THEMES)}")
    hib = spec["higher_is_better"]
    if hib not in (True, False, None):
        raise ValueError("higher_is_better must be true, false or null")
    levels = spec["levels"]
    if not isinstance(levels, list) or not levels or any(lv not in LEVELS for lv in levels):
        raise ValueError(f"levels must be a list drawn from {' '.join(LEVELS)}")

    if ("source" in spec) == ("inputs" in spec):
        raise ValueError("give either 'source' (one measure) or 'inputs' + 'formula'")
    if "source" in spec:
        raw_inputs = {"value": spec["source"]}
        formula = "value"
    else:
        raw_inputs = spec["inputs"]
        formula = spec.get("formula")
        if not isinstance(raw_inputs, dict) or not raw_inputs:
            raise ValueError("inputs must be a mapping name -> {table, measure, filters}")
        if not formula:
            raise ValueError("a derived indicator needs a formula")
    formula = str(formula)
    inputs = tuple(_input(name, s, tables, series or {}, files or {})
                   for name, s in raw_inputs.items())
    used = formula_names(formula) | {i.weight for i in inputs if i.weight}
    names = {i.name for i in inputs}
    for i in inputs:
        if i.weight and (i.weight not in names or i.weight == i.name
                         or not next(j for j in inputs if j.name == i.weight).additive):
            raise ValueError(f"weight of input {i.name!r} must name another input that is "
                             "additive (a count, e.g. the woningvoorraad)")
        if i.weight and i.additive:
            raise ValueError(f"input {i.name!r} is either additive (a count) or weighted "
                             "(a rate or average), not both")
    if used - names:
        raise ValueError(f"formula uses undefined input(s): {', '.join(sorted(used - names))}")
    if names - used:
        raise ValueError(f"input(s) not used in the formula: {', '.join(sorted(names - used))}")

    rng = spec.get("range")
    if rng is not None:
        if not (isinstance(rng, list) and len(rng) == 2 and all(isinstance(x, int | float) for x in rng)):
            raise ValueError("range must be [min, max]")
        rng = (float(rng[0]), float(rng[1]))
    elif str(spec["unit"]).strip() == "%":
        rng = (0.0, 100.0)
    decimals = spec.get("decimals", 0)
    if not isinstance(decimals, int) or not 0 <= decimals <= 6:
        raise ValueError("decimals must be a whole number 0..6")
    bw = spec.get("brede_welvaart") or {}
    if bw and (not isinstance(bw, dict) or bw.get("dimensie") not in ("hier_en_nu", "later", "elders")
               or not bw.get("thema")):
        raise ValueError("brede_welvaart needs dimensie (hier_en_nu, later, elders) and thema")
    kind, rankable = _kind(spec)
    enabled = spec.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("enabled must be true or false")
    verified = all((series[i.table].verified if i.table in (series or {}) else
                    tables[i.table].verified) for i in inputs)
    if not verified and enabled:
        raise ValueError("uses an unverified table: set 'enabled: false' (with a disabled_reason) "
                         "until it is verified")
    reason = spec.get("disabled_reason")
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        raise ValueError("disabled_reason must be a text saying why the entry is disabled")
    if not enabled and reason is None:
        raise ValueError("enabled: false needs a disabled_reason (what is unverified or missing, "
                         "and what would enable it)")
    if enabled and reason is not None:
        raise ValueError("disabled_reason is given but the indicator is enabled: remove one")
    return Indicator(
        id=iid, theme=spec["theme"], title=str(spec["title"]), description=str(spec["description"]),
        unit=str(spec["unit"]), decimals=decimals, higher_is_better=hib,
        levels=tuple(lv for lv in LEVELS if lv in levels), inputs=inputs, formula=formula,
        value_range=rng, enabled=bool(enabled), line=line,
        bw_dimension=bw.get("dimensie"), bw_theme=bw.get("thema"), kind=kind, rankable=rankable,
        plausibility=_plausibility(spec.get("plausibility")),
        precision=_precision(spec.get("precision")),
        disabled_reason=" ".join(reason.split()) if reason else None,
        breaks=_breaks(spec.get("breaks")),
    )


def _breaks(spec) -> tuple[tuple[int, str], ...]:
    """``breaks: [{year: 2020, note: "..."}]``: the first year measured the new way, and what
    changed (plain Dutch; the dashboard shows it with every series of the indicator)."""
    if spec is None:
        return ()
    if not isinstance(spec, list):
        raise ValueError("breaks must be a list of {year, note}")
    out = []
    for b in spec:
        year = b.get("year") if isinstance(b, dict) else None
        if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2100:
            raise ValueError("each break needs year (the first year of the new method)")
        out.append((year, " ".join(_text(b.get("note"), f"break {year}: note").split())))
    return tuple(sorted(out))


def _kind(spec: dict) -> tuple[str, bool]:
    """(kind, rankable): ``kind`` is required; ``rankable`` defaults from the kind and may be
    overridden, except that a size is never rankable (that would rank town size)."""
    kind = spec.get("kind")
    if kind is None:
        raise ValueError("missing field: kind (size, rate or index)")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    unit = str(spec.get("unit", "")).strip()
    if kind == "size" and (unit == "%" or unit.startswith("per ")):
        raise ValueError(f"kind size does not fit unit {unit!r}: a share or per-inwoner figure "
                         "is a rate")
    rankable = spec.get("rankable", RANKABLE_DEFAULT[kind])
    if not isinstance(rankable, bool):
        raise ValueError("rankable must be true or false")
    if kind == "size" and rankable:
        raise ValueError("a size (count or amount that grows with the gemeente) cannot be "
                         "rankable: positions would rank town size; use a per-inwoner rate")
    return kind, rankable


def _input(name: str, spec, tables: dict[str, Table], series: dict[str, Series],
           files: dict[str, FileSource] | None = None) -> Input:
    if not KEY.match(str(name)):
        raise ValueError(f"input name {name!r} must be an identifier")
    if not isinstance(spec, dict):
        raise ValueError(f"input {name!r} must be a mapping with table and measure")
    table, measure = spec.get("table"), spec.get("measure")
    if not table or not measure:
        raise ValueError(f"input {name!r} needs table and measure")
    table = str(table)
    files = files or {}
    if table in series:
        pass  # measure is a stem (Bevolkingsdichtheid), resolved per edition
    elif table in files:
        _file_input(name, spec, files[table])
    elif not TABLE_ID.match(table):
        raise ValueError(f"{table!r} is not a CBS table id (like 82900NED), a series nor a "
                         "file")
    elif table not in tables:
        raise ValueError(f"table {table} is not described under 'tables'")
    if not KEY.match(str(measure)):
        raise ValueError(f"measure {measure!r} is not a CBS measure key")
    filters = spec.get("filters") or {}
    if not isinstance(filters, dict):
        raise ValueError(f"filters of input {name!r} must be a mapping dimension -> key")
    for dim, key in filters.items():
        if not KEY.match(str(dim)) or dim in ("RegioS", "Perioden") or not str(key).strip():
            raise ValueError(f"filter {dim}: {key!r} is not a dimension key filter")
    scale = spec.get("scale", 1)
    if not isinstance(scale, int | float) or scale <= 0:
        raise ValueError(f"scale of input {name!r} must be a positive number")
    additive = spec.get("additive", False)
    if not isinstance(additive, bool):
        raise ValueError(f"additive of input {name!r} must be true or false")
    lag = spec.get("lag", 0)
    if isinstance(lag, bool) or not isinstance(lag, int) or not 0 <= lag <= 10:
        raise ValueError(f"lag of input {name!r} must be a whole number of years 0..10")
    rounding = spec.get("rounding")
    if rounding is not None and (isinstance(rounding, bool) or not isinstance(rounding, int | float)
                                 or rounding <= 0):
        raise ValueError(f"rounding of input {name!r} must be a positive number (CBS's rounding "
                         "step in the table's own unit, e.g. 5 or 10)")
    weight = spec.get("weight")
    if weight is not None and not KEY.match(str(weight)):
        raise ValueError(f"weight of input {name!r} must name another input")
    return Input(name, table, str(measure), tuple((str(d), str(k).strip()) for d, k in filters.items()),
                 float(scale), additive, lag, None if rounding is None else float(rounding),
                 None if weight is None else str(weight))


def _file_input(name: str, spec: dict, src: FileSource) -> None:
    """An input of a CBS-published file names one of its measures and filters on its
    dimensions' category keys."""
    keys = [m.key for m in src.measures]
    if spec.get("measure") not in keys:
        raise ValueError(f"input {name!r}: {src.name} has no measure {spec.get('measure')!r} "
                         f"(its measures: {', '.join(keys)})")
    filters = spec.get("filters") or {}
    dims = {d.name: d for d in src.dimensions}
    for dim, key in (filters.items() if isinstance(filters, dict) else ()):
        if dim not in dims:
            raise ValueError(f"input {name!r}: {src.name} has no dimension {dim!r} "
                             f"(its dimensions: {', '.join(dims) or 'none'})")
        if str(key).strip() not in {c.key for c in dims[dim].categories}:
            raise ValueError(f"input {name!r}: {src.name}.{dim} has no category {key!r}")
