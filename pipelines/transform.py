"""Raw CBS responses -> tidy long observations. Pure functions: no network, no disk.

One row per indicator x region x period:
    indicator, region_code, region_level, period, year, period_type, value, status,
    cbs_table, measure
``region_code`` is stripped (GM0363, PV27, NL01); ``period`` is "2024" for a year and the CBS key
for quarters/months ("2020KW01"); missing values stay missing (the row is left out, never 0).
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from . import precision
from .catalog import Catalog, Indicator, Input, Series, parse_formula
from .editions import EditionError, resolve_measure
from .odata import REASON_SUFFIX, v4_as_v3
from .regions import CODE_ALIASES, level_of
from .snapshot import MISSING_VALUES, OBSERVATIONS

OBS_COLUMNS = OBSERVATIONS.names  # the snapshot contract (pipelines/snapshot.py)
STATUS_NAMES = {"definitief": "Definitief", "voorlopig": "Voorlopig",
                "nadervoorlopig": "Nader voorlopig", "nader voorlopig": "Nader voorlopig"}
_STATUS_RANK = {"Definitief": 0, "Nader voorlopig": 1, "Voorlopig": 2}


class TransformError(ValueError):
    """Upstream data does not fit the catalogue; the message names table, indicator and key."""


@dataclass
class RawTable:
    """A table's responses as received (see store.RawStore for the on-disk form)."""

    table: str
    entities: dict[str, list]
    manifest: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "Observations" in self.entities:  # OData v4 as received -> the shapes read below
            self.entities = v4_as_v3(self.entities)

    @property
    def rows(self) -> int:
        return len(self.data)

    @property
    def data(self) -> list[dict]:
        return self.entities.get("TypedDataSet", [])

    @property
    def info(self) -> dict:
        ti = self.entities.get("TableInfos") or [{}]
        return ti[0]

    @property
    def frame(self) -> pd.DataFrame:
        """TypedDataSet as a DataFrame, built once per table (several indicators share it)."""
        if "_frame" not in self.__dict__:
            df = pd.DataFrame(self.data)
            for col in df.columns:  # dimension keys: strip CBS's padding once
                if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
                    df[col] = df[col].astype("string").str.strip()
            self.__dict__["_frame"] = df
        return self.__dict__["_frame"]

    def dimension(self, name: str) -> list[dict]:
        return self.entities.get(name, [])

    def period_status(self) -> dict[str, str]:
        out = {}
        for p in self.dimension("Perioden"):
            raw = (p.get("Status") or "").strip()
            out[p["Key"].strip()] = STATUS_NAMES.get(raw.lower(), raw or "Onbekend")
        return out


def period_parts(key: str) -> tuple[str, int, str]:
    """'2024JJ00' -> ('2024', 2024, 'jaar'); '2020KW01' -> ('2020KW01', 2020, 'kwartaal')."""
    m = re.fullmatch(r"(\d{4})(JJ|KW|MM|X0)(\d{2,3})", key.strip())
    if not m:
        raise TransformError(f"period key {key!r} is not a CBS period (like 2024JJ00)")
    year, kind = int(m.group(1)), m.group(2)
    if kind == "JJ":
        return str(year), year, "jaar"
    return key.strip(), year, {"KW": "kwartaal", "MM": "maand"}.get(kind, "overig")


REGION_DIMENSIONS = ("RegioS", "WijkenEnBuurten")  # KWB editions key regions by the latter


def input_frame(raw: RawTable, inp: Input, indicator_id: str,
                period: str | None = None) -> pd.DataFrame:
    """Rows of one catalogue input: region_code, period_key, value (scaled). ``period``: the
    period key of a table without a Perioden dimension (a yearly edition such as KWB 2024)."""
    table = raw.table
    rows = raw.data
    dims_listed = {name for name in raw.entities
                   if name not in ("TableInfos", "TypedDataSet", "UntypedDataSet",
                                   "DataProperties", "CategoryGroups")}
    topics = {p.get("Key") for p in raw.dimension("DataProperties") if p.get("Type") == "Topic"}
    if topics and inp.measure not in topics:
        raise TransformError(f"{table}: measure {inp.measure!r} (indicator {indicator_id}) does not "
                             "exist in the table's DataProperties")
    for dim, key in inp.filters:
        if dim not in dims_listed:
            raise TransformError(f"{table}: dimension {dim!r} (indicator {indicator_id}) does not "
                                 "exist in this table")
        keys = {str(k.get("Key", "")).strip() for k in raw.dimension(dim)}
        if key not in keys:
            raise TransformError(f"{table}: {dim} has no category {key!r} (indicator {indicator_id})")
    if not rows:
        return pd.DataFrame({"region_code": pd.Series(dtype="string"),
                             "period_key": pd.Series(dtype="string"),
                             "value": pd.Series(dtype="float64")})
    df = raw.frame
    if inp.measure not in df.columns:
        raise TransformError(f"{table}: measure {inp.measure!r} (indicator {indicator_id}) is not "
                             "in the data received")
    mask = pd.Series(True, index=df.index)
    for dim, key in inp.filters:
        if dim not in df.columns:
            raise TransformError(f"{table}: dimension {dim!r} is not in the data received")
        mask &= df[dim] == key
    reason_col = inp.measure + REASON_SUFFIX
    region = next((c for c in REGION_DIMENSIONS if c in df.columns), "RegioS")
    if "Perioden" not in df.columns and period is None:
        raise TransformError(f"{table}: no Perioden in the data received (indicator "
                             f"{indicator_id}); a table without periods must be a yearly edition")
    cols = [region, inp.measure] + [c for c in ("Perioden", reason_col) if c in df.columns]
    sub = df.loc[mask, cols]
    out = pd.DataFrame({
        "region_code": sub[region].replace(CODE_ALIASES),
        "period_key": sub["Perioden"] if "Perioden" in sub.columns else period,
        "value": pd.to_numeric(sub[inp.measure], errors="coerce"),
    })
    if reason_col in sub.columns:  # v4: why CBS gives no value (ValueAttribute)
        out["reason"] = sub[reason_col].astype("string")
    if inp.scale != 1:  # 526.4 (x 1 000) -> 526400.0, not 526400.00000000006
        out["value"] = (out["value"] * inp.scale).round(6)
    if out.duplicated(["region_code", "period_key"]).any():
        dup = out[out.duplicated(["region_code", "period_key"], keep=False)].iloc[0]
        raise TransformError(f"{table}: more than one row for {dup.region_code} {dup.period_key} "
                             f"(indicator {indicator_id}): a dimension filter is missing")
    return out


def with_bounds(f: pd.DataFrame, raw: RawTable, inp: Input, measure: str) -> pd.DataFrame:
    """``f`` with ``lo``/``hi``: the interval CBS's rounding of ``measure`` allows around each
    value (pipelines/precision.py): the step from the table's DataProperties (``Decimals``; the
    catalogue's ``rounding`` where CBS says it only in words), in the catalogue's units."""
    prop = next((p for p in raw.dimension("DataProperties") if p.get("Key") == measure), None)
    step = precision.rounding_step(prop, inp.scale, inp.rounding)
    lo, hi = precision.interval(f["value"], step, counts=inp.additive)
    return f.assign(lo=lo, hi=hi)


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv}


def evaluate(formula: str, values: dict[str, pd.Series]):
    """Evaluate a catalogue formula over aligned Series; division by zero gives missing."""

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BinOp):
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.Constant):
            return float(node.value)
        raise TransformError(f"unsupported formula element {type(node).__name__}")

    with np.errstate(divide="ignore", invalid="ignore"):
        result = ev(parse_formula(formula))
    if isinstance(result, pd.Series):
        result = result.replace([np.inf, -np.inf], np.nan)
    return result


@dataclass(frozen=True)
class Boundaries:
    """How to put series on current gemeente boundaries (None in ``tidy`` = as published)."""

    history: object  # history.History
    current: frozenset[str]
    ref_year: int
    regimes: dict[str, str]  # table -> "yearly" | "fixed:YYYY"


_FLAG_RANK = {"gepubliceerd": 0, "opgeteld": 1, "geschat": 2}


def _harmonised_input(f: pd.DataFrame, inp: Input, b: Boundaries, problems: list, ind_id: str):
    from .history import harmonise

    years = f["period_key"].map({k: period_parts(k)[1] for k in f["period_key"].unique()})
    regime = b.regimes.get(inp.table, "yearly")
    fixed = int(regime.split(":")[1]) if regime.startswith("fixed:") else None
    out, probs = harmonise(f, years, b.history, set(b.current), b.ref_year, inp.additive, fixed,
                           carry=("lo", "hi"))
    problems += [{**p, "indicator": ind_id, "table": inp.table} for p in probs]
    return out


def series_frame(ser: Series, raws: dict[str, RawTable], inp: Input, indicator_id: str
                 ) -> tuple[pd.DataFrame, dict[str, str]]:
    """One input over every fetched edition of a series: the measure key resolved per edition
    (its suffix shifts), a table without Perioden dated by its edition year, one time series
    with column ``edition`` (the table id); where editions overlap the newest one wins.
    Returns (frame, period status)."""
    frames, status = [], {}
    for year, tid in sorted(ser.editions.items()):
        raw = raws.get(tid)
        if raw is None:
            continue
        try:
            key = resolve_measure(inp.measure, raw.dimension("DataProperties"), tid)
        except EditionError as exc:
            raise TransformError(f"{exc} (indicator {indicator_id}, series {ser.name})") from None
        ed_inp = replace(inp, table=tid, measure=key)
        f = with_bounds(input_frame(raw, ed_inp, indicator_id, period=f"{year}JJ00"), raw,
                        ed_inp, key)
        frames.append(f.assign(edition=tid))
        st = raw.period_status()
        status.update({pk: st.get(pk, "Onbekend") for pk in f["period_key"].unique()})
    if not frames:
        raise TransformError(f"{ser.name}: no edition fetched for indicator {indicator_id}")
    out = pd.concat(frames, ignore_index=True)
    out = out.drop_duplicates(["region_code", "period_key"], keep="last").reset_index(drop=True)
    return out, status


def shift_periods(f: pd.DataFrame, inp: Input, indicator_id: str) -> pd.DataFrame:
    """A lagged input (``lag: n``): the value of year t-n is put on year t, so a formula can
    compare a year with an earlier one (growth). Yearly periods only."""
    def shift(key: str) -> str:
        m = re.fullmatch(r"(\d{4})JJ00", str(key).strip())
        if not m:
            raise TransformError(f"{inp.table}: input {inp.name!r} of indicator {indicator_id} "
                                 f"has lag {inp.lag}, which needs yearly periods (like 2024JJ00), "
                                 f"not {key!r}")
        return f"{int(m.group(1)) + inp.lag}JJ00"

    keys = {k: shift(k) for k in f["period_key"].unique()}
    return f.assign(period_key=f["period_key"].map(keys).astype(f["period_key"].dtype))


def _row_tables(ind: Indicator, out: pd.DataFrame, sources: dict[str, pd.Series]) -> pd.Series:
    idx = pd.MultiIndex.from_frame(out[["region_code", "period_key"]])
    cols = []
    for inp in ind.inputs:
        if inp.name in sources:
            cols.append(sources[inp.name].reindex(idx).astype("string").fillna(inp.table))
        else:
            cols.append(pd.Series(inp.table, index=idx, dtype="string"))
    if len(cols) == 1:
        return pd.Series(cols[0].to_numpy(), index=out.index)
    joined = pd.concat(cols, axis=1)
    return pd.Series(["+".join(dict.fromkeys(r)) for r in joined.itertuples(index=False)],
                     index=out.index)


def tidy_indicator(ind: Indicator, raws: dict[str, RawTable], boundaries: Boundaries | None = None,
                   problems: list | None = None, missing: list | None = None,
                   series: dict[str, Series] | None = None,
                   max_uncertainty_pct: float = precision.DEFAULTS["max_uncertainty_pct"]
                   ) -> pd.DataFrame:
    """One indicator as published (``boundaries`` None), or on current gemeente boundaries:
    each input harmonised first, then the formula (so ratios are recomputed, not summed).

    Every value carries ``uncertainty``: the half-width of the interval the rounding of its
    inputs allows (the same formula over the inputs' bounds), and ``quality`` "onnauwkeurig"
    when that exceeds ``max_uncertainty_pct`` of the value (pipelines/precision.py).

    ``missing`` (published view) collects the cells CBS left empty with a reason (OData v4
    ValueAttribute): {indicator, table, region_code, period_key, reason}."""
    frames, flags, statuses, reasons, sources = {}, {}, {}, {}, {}
    lows, highs = {}, {}
    problems = problems if problems is not None else []
    series = series or {}
    for inp in ind.inputs:
        if inp.table in series:
            f, statuses[inp.table] = series_frame(series[inp.table], raws, inp, ind.id)
        elif inp.table not in raws:
            raise TransformError(f"{inp.table}: no data fetched for indicator {ind.id}")
        else:
            f = with_bounds(input_frame(raws[inp.table], inp, ind.id), raws[inp.table], inp,
                            inp.measure)
            statuses[inp.table] = raws[inp.table].period_status()
        if "edition" in f.columns:
            ed = shift_periods(f, inp, ind.id) if inp.lag else f
            sources[inp.name] = ed.set_index(["region_code", "period_key"])["edition"]
        if boundaries is not None:
            f = _harmonised_input(f, inp, boundaries, problems, ind.id)
        if inp.lag:  # after harmonising: each year is put on current boundaries by its own year
            f = shift_periods(f, inp, ind.id)
        if boundaries is not None:
            flags[inp.name] = f.set_index(["region_code", "period_key"])["flag"]
        indexed = f.set_index(["region_code", "period_key"])
        frames[inp.name] = indexed["value"]
        lows[inp.name], highs[inp.name] = indexed["lo"], indexed["hi"]
        if "reason" in f.columns:
            reasons[inp.name] = f.set_index(["region_code", "period_key"])["reason"]
    joined = pd.concat(frames, axis=1, join="inner") if len(frames) > 1 else pd.DataFrame(frames)
    columns = OBS_COLUMNS + (["harmonisation"] if boundaries is not None else [])
    if joined.empty:
        return pd.DataFrame(columns=columns)
    value = evaluate(ind.formula, {n: joined[n] for n in frames})
    out = joined.index.to_frame(index=False)
    out["value"] = np.asarray(value, dtype="float64")
    lo, hi = precision.bounds(ind.formula, {n: lows[n].reindex(joined.index) for n in frames},
                              {n: highs[n].reindex(joined.index) for n in frames})
    out["uncertainty"] = precision.half_width(lo, hi)
    out["quality"] = np.where(precision.imprecise(out["value"], out["uncertainty"], ind.decimals,
                                                  max_uncertainty_pct),
                              precision.QUALITY_IMPRECISE, "")
    if boundaries is not None:
        ranks = pd.concat({n: f.map(_FLAG_RANK) for n, f in flags.items()}, axis=1)
        worst = ranks.reindex(joined.index).max(axis=1).fillna(0).astype(int)
        out["harmonisation"] = worst.map({v: k for k, v in _FLAG_RANK.items()}).to_numpy()
    if missing is not None and reasons:
        _collect_reasons(ind, out, reasons, missing)
    out = out.dropna(subset=["value"])
    out["region_level"] = out["region_code"].map(level_of)
    out = out[out["region_level"].isin(ind.levels)]
    keys = out["period_key"].unique()
    parts = {k: period_parts(k) for k in keys}
    out["period"] = out["period_key"].map({k: p[0] for k, p in parts.items()})
    out["year"] = out["period_key"].map({k: p[1] for k, p in parts.items()}).astype("int64")
    out["period_type"] = out["period_key"].map({k: p[2] for k, p in parts.items()})

    def status(pk: str) -> str:
        found = [statuses[t].get(pk, "Onbekend") for t in ind.tables]
        return max(found, key=lambda s: _STATUS_RANK.get(s, 3))

    out["status"] = out["period_key"].map({k: status(k) for k in keys})
    out["indicator"] = ind.id
    out["cbs_table"] = "+".join(ind.tables)
    if sources:  # yearly editions: the edition that gave each value
        out["cbs_table"] = _row_tables(ind, out, sources)
    out["measure"] = ind.measure_label
    return out[columns]


def _collect_reasons(ind: Indicator, out: pd.DataFrame, reasons: dict[str, pd.Series],
                     missing: list) -> None:
    """For each empty value of ``out``: the first reason CBS gives for one of its inputs."""
    empty = out[out["value"].isna()]
    if empty.empty:
        return
    idx = pd.MultiIndex.from_frame(empty[["region_code", "period_key"]])
    why = pd.concat({n: r.reindex(idx) for n, r in reasons.items()}, axis=1).bfill(axis=1)
    first = why.iloc[:, 0]
    levels = empty["region_code"].map(level_of).isin(ind.levels).to_numpy()
    for (code, pk), reason, keep in zip(idx, first, levels, strict=True):
        if keep and not pd.isna(reason):
            missing.append({"indicator": ind.id, "table": "+".join(ind.tables),
                            "region_code": code, "period_key": pk, "reason": str(reason)})


MISSING_COLUMNS = MISSING_VALUES.names


def tidy(catalog: Catalog, raws: dict[str, RawTable], indicators=None,
         boundaries: Boundaries | None = None, problems: list | None = None,
         missing: list | None = None) -> pd.DataFrame:
    inds = indicators if indicators is not None else catalog.enabled
    frames = [tidy_indicator(ind, raws, boundaries, problems, missing, catalog.series,
                             catalog.precision_bound(ind))
              for ind in inds]
    frames = [f for f in frames if not f.empty]
    columns = OBS_COLUMNS + (["harmonisation"] if boundaries is not None else [])
    if not frames:
        return typed_observations(pd.DataFrame(columns=columns))
    return typed_observations(pd.concat(frames, ignore_index=True))


def typed_observations(df: pd.DataFrame) -> pd.DataFrame:
    """The dtypes of the snapshot contract: float, int or string per column."""
    df = df.copy()
    kinds = {**OBSERVATIONS.columns, "harmonisation": "string"}
    for c in df.columns:
        kind = kinds.get(c, "string")
        df[c] = df[c].astype({"float": "float64", "int": "int64"}.get(kind, "string"))
    return df.sort_values(["indicator", "region_code", "period"]).reset_index(drop=True)
