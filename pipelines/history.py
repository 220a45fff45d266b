"""Municipal changes (herindelingen) and series on current gemeente boundaries.

CBS publishes most tables on each year's boundaries: a merged gemeente's history breaks. Here:
- additive measures (counts) are summed from the predecessors into the current gemeente;
- splits distribute the predecessor by documented weights and are flagged as estimates;
- ratios are recomputed afterwards from harmonised numerator and denominator (the formula runs on
  the harmonised inputs, see transform.py);
- a measure that is not additive is only carried over where nothing changed.
A value that cannot be harmonised (a predecessor missing in the source, a split without weights,
a year before the documented history) is left out and reported: never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from .snapshot import REGION_HISTORY

DEFAULT_PATH = Path(__file__).with_name("herindelingen.yaml")
KINDS = ("merge", "absorb", "split", "rename")
FLAG_PUBLISHED, FLAG_SUMMED, FLAG_ESTIMATED = "gepubliceerd", "opgeteld", "geschat"
HIST_COLUMNS = REGION_HISTORY.names  # the snapshot contract (pipelines/snapshot.py)


class HistoryError(ValueError):
    pass


@dataclass(frozen=True)
class Change:
    year: int
    kind: str
    sources: tuple[tuple[str, str], ...]  # (code, name) that end
    targets: tuple[tuple[str, float | None], ...]  # (code, share); share None = unknown
    target_names: tuple[tuple[str, str], ...]
    verified: bool
    note: str = ""

    @property
    def creates(self) -> set[str]:
        """Codes that start to exist with this change."""
        return {c for c, _ in self.targets} if self.kind in ("merge", "rename") else set()


@dataclass(frozen=True)
class History:
    history_from: int
    changes: tuple[Change, ...]

    # -- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None) -> History:
        path = Path(path or DEFAULT_PATH)
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise HistoryError(f"{path}: cannot read herindelingen: {exc}") from None
        changes = []
        for i, c in enumerate(doc.get("changes") or []):
            where = f"{path}: change #{i + 1} ({c.get('year')}, {c.get('kind')})"
            try:
                changes.append(_change(c))
            except (KeyError, TypeError, ValueError) as exc:
                raise HistoryError(f"{where}: {exc}") from None
        return cls(int(doc["history_from"]), tuple(sorted(changes, key=lambda c: c.year)))

    @property
    def names(self) -> dict[str, str]:
        out = {}
        for c in self.changes:
            out.update(dict(c.sources))
            out.update(dict(c.target_names))
        return out

    # -- the model ----------------------------------------------------------------------------
    def codes_in_year(self, year: int, current: set[str], ref_year: int) -> set[str]:
        """Gemeente codes that existed in ``year``, walking back from the ``ref_year`` set."""
        codes = set(current)
        for ch in sorted(self.changes, key=lambda c: -c.year):
            if year < ch.year <= ref_year:
                codes -= ch.creates
                codes |= {c for c, _ in ch.sources}
        return codes

    def weights(self, code: str, year: int, ref_year: int) -> dict[str, float] | None:
        """Where ``code`` of ``year`` ends up on ``ref_year`` boundaries: {current code: share}.
        None when a split on the way has no known weights."""
        w = {code: 1.0}
        for ch in self.changes:
            if not year < ch.year <= ref_year:
                continue
            for src, _ in ch.sources:
                if src not in w:
                    continue
                share = w.pop(src)
                for tgt, s in ch.targets:
                    if s is None:
                        return None
                    w[tgt] = w.get(tgt, 0.0) + share * s
        return w

    def contributors(self, year: int, current: frozenset[str], ref_year: int
                     ) -> dict[str, list[tuple[str, float | None]]]:
        """For each current gemeente: the gemeenten of ``year`` that make it up, with shares
        (None: part of a split without weights). Cached: the same for every measure."""
        key = (year, current, ref_year)
        cache = self.__dict__.setdefault("_contrib_cache", {})
        if key in cache:
            return cache[key]
        contrib: dict[str, list[tuple[str, float | None]]] = {x: [] for x in current}
        for c in sorted(self.codes_in_year(year, set(current), ref_year)):
            w = self.weights(c, year, ref_year)
            if w is None:  # a split without weights: every possible successor is blocked
                for ch in self.changes:
                    if c in dict(ch.sources):
                        for t, _ in ch.targets:
                            if t in contrib:
                                contrib[t].append((c, None))
                continue
            for x, share in w.items():
                if x in contrib:
                    contrib[x].append((c, share))
        cache[key] = contrib
        return contrib

    def validate(self, editions: dict[int, set[str]]) -> list[str]:
        """Problems between consecutive 'Gebieden in Nederland' editions that the change list
        does not explain (a code that vanished or appeared without a recorded change)."""
        problems = []
        years = sorted(editions)
        for a, b in zip(years, years[1:], strict=False):
            gone, new = editions[a] - editions[b], editions[b] - editions[a]
            chs = [c for c in self.changes if a < c.year <= b]
            ended = {s for c in chs for s, _ in c.sources}
            created = set().union(*(c.creates for c in chs)) if chs else set()
            for code in sorted(gone - ended):
                problems.append(f"{code} disappears between {a} and {b} without a recorded change")
            for code in sorted(new - created):
                problems.append(f"{code} appears between {a} and {b} without a recorded change")
            for code in sorted(ended - gone):
                problems.append(f"{code} is recorded as ending between {a} and {b} but is still "
                                f"in the {b} edition (or was not in {a})")
        return problems

    def table(self) -> pd.DataFrame:
        rows = []
        for ch in self.changes:
            names = dict(ch.target_names)
            for src, sname in ch.sources:
                for tgt, share in ch.targets:
                    rows.append({"year": ch.year, "kind": ch.kind, "predecessor": src,
                                 "predecessor_name": sname, "successor": tgt,
                                 "successor_name": names.get(tgt, tgt), "share": share,
                                 "verified": ch.verified, "note": ch.note})
        df = pd.DataFrame(rows, columns=HIST_COLUMNS)
        return df.astype({"year": "int64", "share": "float64", "verified": bool})

    def note_for(self, code: str, ref_year: int, names: dict[str, str] | None = None) -> str | None:
        """A Dutch sentence for charts of an affected current gemeente. ``names`` (e.g. from the
        region table) supplies names the change list lacks, such as the receivers of a split."""
        parts = []
        names = {**(names or {}), **self.names}
        for ch in self.changes:
            if ch.year > ref_year or code not in dict(ch.targets):
                continue
            srcs = [n for _c, n in ch.sources]
            lst = ", ".join(srcs[:-1]) + (" en " if len(srcs) > 1 else "") + srcs[-1]
            me = names.get(code, code)
            if ch.kind == "merge":
                parts.append(f"{me} is op 1 januari {ch.year} ontstaan uit {lst}; cijfers vóór "
                             f"{ch.year} zijn opgeteld.")
            elif ch.kind == "absorb":
                parts.append(f"{lst} {'is' if len(srcs) == 1 else 'zijn'} op 1 januari {ch.year} "
                             f"opgegaan in {me}; cijfers vóór {ch.year} zijn opgeteld.")
            elif ch.kind == "split":
                parts.append(f"{me} kreeg op 1 januari {ch.year} een deel van {lst}; cijfers vóór "
                             f"{ch.year} zijn voor dat deel geschat.")
            else:
                parts.append(f"{me} heette vóór {ch.year} {lst}.")
        return " ".join(parts) or None


def _change(c: dict) -> Change:
    kind = c["kind"]
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    sources = tuple((str(k), str(v)) for k, v in dict(c["from"]).items())
    into = c["into"]
    if kind == "split":
        if len(sources) != 1:
            raise ValueError("a split has exactly one 'from' gemeente")
        if isinstance(into, list):
            targets = tuple((str(t), None) for t in into)
        else:
            total = float(sum(into.values()))
            if total <= 0:
                raise ValueError("split weights must be positive")
            targets = tuple((str(t), float(w) / total) for t, w in into.items())
        names = ()
    else:
        if not isinstance(into, dict) or len(into) != 1:
            raise ValueError("'into' must be {CODE: name} with one gemeente")
        targets = tuple((str(t), 1.0) for t in into)
        names = tuple((str(t), str(n)) for t, n in into.items())
    for code, _ in (*sources, *((t, None) for t, _ in targets)):
        if not (len(code) == 6 and code.startswith("GM") and code[2:].isdigit()):
            raise ValueError(f"{code!r} is not a gemeente code (GMnnnn)")
    return Change(int(c["year"]), kind, sources, targets, names, bool(c.get("verified", False)),
                  str(c.get("note", "")))


# ---------------------------------------------------------------------------------------------

def harmonise(values: pd.DataFrame, years: pd.Series, history: History, current: set[str],
              ref_year: int, additive: bool, fixed_year: int | None = None,
              carry: tuple[str, ...] = ()) -> tuple[pd.DataFrame, list[dict]]:
    """Put gemeente values on ``ref_year`` boundaries.

    ``values``: region_code, period_key, value (one CBS input, GM rows and others); ``years``: the
    year of each row. Returns (region_code, period_key, value, flag, *carry) and a list of
    problems {region_code, period_key, reason}. Non-GM rows pass through as published.
    ``carry``: more columns treated as the value is (summed with the same shares), e.g. the
    lower and upper bounds of a rounded value (pipelines/precision.py).
    """
    carry = tuple(carry)
    cols = ["region_code", "period_key", "value", *carry]
    gm = values["region_code"].str.startswith("GM")
    out = [values[~gm].assign(flag=FLAG_PUBLISHED)]
    problems: list[dict] = []
    vals = values[gm].assign(year=years[gm].to_numpy())
    names = history.names
    for (pk, year), grp in vals.groupby(["period_key", "year"], sort=True):
        boundary_year = fixed_year if fixed_year is not None else int(year)
        have = dict(zip(grp["region_code"], grp["value"], strict=True))
        extra = {c: dict(zip(grp["region_code"], grp[c], strict=True)) for c in carry}
        if boundary_year >= ref_year:
            sub = grp[grp["region_code"].isin(current)]
            out.append(sub[cols].assign(flag=FLAG_PUBLISHED))
            continue
        if boundary_year < history.history_from - 1:
            for x in sorted(current):
                problems.append({"region_code": x, "period_key": pk,
                                 "reason": f"vóór {history.history_from - 1} geen "
                                           "herindelingsgegevens"})
            continue
        contrib = history.contributors(boundary_year, frozenset(current), ref_year)
        rows = []
        for x, parts in contrib.items():
            if not parts:
                continue
            if any(s is None for _c, s in parts):
                blocked = [c for c, s in parts if s is None]
                problems.append({"region_code": x, "period_key": pk, "reason": "verdeling van "
                                 + ", ".join(names.get(c, c) for c in blocked) + " onbekend"})
                continue
            missing = [c for c, _s in parts if pd.isna(have.get(c))]
            if missing:
                problems.append({"region_code": x, "period_key": pk, "reason": "ontbreekt in de "
                                 "bron: " + ", ".join(f"{names.get(c, c)} ({c})" for c in missing)})
                continue
            unchanged = len(parts) == 1 and parts[0][1] == 1.0  # the same area (or a rename)
            if not additive and not unchanged:
                problems.append({"region_code": x, "period_key": pk,
                                 "reason": "maat is niet optelbaar over herindelingen"})
                continue
            value = sum(have[c] * s for c, s in parts)
            flag = (FLAG_PUBLISHED if unchanged else
                    FLAG_ESTIMATED if any(s < 1.0 - 1e-12 for _c, s in parts) else FLAG_SUMMED)
            rows.append({"region_code": x, "period_key": pk, "value": value, "flag": flag,
                         **{c: sum(extra[c][cc] * sh for cc, sh in parts) for c in carry}})
        if rows:
            out.append(pd.DataFrame(rows))
    frame = pd.concat(out, ignore_index=True) if out else values.assign(flag=FLAG_PUBLISHED)
    return frame[["region_code", "period_key", "value", "flag", *carry]], problems
