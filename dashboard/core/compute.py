"""Pure pandas over the snapshot: key figures, references, peers, rankings, comparison tables.

Inputs are the snapshot frames (``observations`` for one or all indicators, ``regions``), the
typed manifest and its indicator entries (``pipelines.snapshot.Manifest``, ``IndicatorEntry``).
Nothing here mutates its inputs (cached, shared) and nothing imports streamlit.
"""

from __future__ import annotations

import re
import statistics
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from dashboard.core import exports
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from pipelines import precision
from pipelines.runs import last_successful_check
from pipelines.snapshot import IndicatorEntry, Manifest

NL = "NL01"
_QUARTER = re.compile(r"^(\d{4})KW(\d{2})$")
TREND_POINTS = 10


# --------------------------------------------------------------------------- regions

# Lookups a page (or the briefing of every gemeente) repeats per indicator and gemeente are
# indexed once per frame object: snapshot frames are read-only. Entries hold no reference to the
# frame and go when it is garbage collected (temporary frames leave nothing behind).
_INDEX_CACHE: dict[int, tuple[weakref.ref, dict]] = {}


def _cached(frame: pd.DataFrame, what: tuple, make):
    """``make()`` once per (frame object, what)."""
    fid = id(frame)
    hit = _INDEX_CACHE.get(fid)
    if hit is None or hit[0]() is not frame:
        hit = (weakref.ref(frame), {})
        _INDEX_CACHE[fid] = hit
        weakref.finalize(frame, _INDEX_CACHE.pop, fid, None)
    store = hit[1]
    if what not in store:
        store[what] = make()
    return store[what]


def _values(ind_obs: pd.DataFrame) -> dict[tuple[str, str], float]:
    """(region code, period) -> value (the first row of each pair)."""
    def make() -> dict:
        keys = zip(ind_obs["region_code"].tolist(), ind_obs["period"].tolist(), strict=True)
        out: dict = {}
        for k, v in zip(keys, ind_obs["value"].tolist(), strict=True):
            out.setdefault(k, v)
        return out

    return _cached(ind_obs, ("values",), make)


def _imprecise(ind_obs: pd.DataFrame) -> frozenset[tuple[str, str]]:
    """(region code, period) of the values marked "onnauwkeurig" (pipelines/precision.py)."""
    def make() -> frozenset:
        if "quality" not in ind_obs.columns:
            return frozenset()
        hit = ind_obs[ind_obs["quality"].fillna("") == pr.IMPRECISE]
        return frozenset(zip(hit["region_code"].tolist(), hit["period"].tolist(), strict=True))

    return _cached(ind_obs, ("imprecise",), make)


def _uncertainties(ind_obs: pd.DataFrame) -> dict[tuple[str, str], float]:
    def make() -> dict:
        if "uncertainty" not in ind_obs.columns:
            return {}
        keys = zip(ind_obs["region_code"].tolist(), ind_obs["period"].tolist(), strict=True)
        return {k: u for k, u in zip(keys, ind_obs["uncertainty"].tolist(), strict=True)
                if not fmt.is_missing(u)}

    return _cached(ind_obs, ("uncertainty",), make)


def imprecise_at(ind_obs: pd.DataFrame, code: str, period: str | None) -> bool:
    return period is not None and (code, period) in _imprecise(ind_obs)


def uncertainty_at(ind_obs: pd.DataFrame, code: str, period: str | None) -> float | None:
    return None if period is None else _uncertainties(ind_obs).get((code, period))


def region_row(regions: pd.DataFrame, code: str) -> dict:
    rows = _cached(regions, ("rows",), lambda: {
        r["code"]: r for r in regions.drop_duplicates("code").to_dict("records")})
    row = rows.get(code)
    return {} if row is None else dict(row)


def current_gemeenten(regions: pd.DataFrame) -> pd.DataFrame:
    """Current gemeenten sorted by name the way a Dutch reader expects ('s-Gravenhage under G)."""
    gm = regions[(regions["level"] == "GM") & regions["is_current"].astype(bool)]
    key = gm["name"].str.lower().str.replace(r"^'s[- ]", "", regex=True)
    return gm.assign(_key=key).sort_values("_key").drop(columns="_key")


def _val(row: dict, key: str) -> str | None:
    """A text field of a region row; CBS's '50 000 tot 100 000' written the product's way."""
    v = row.get(key)
    return None if v is None or pd.isna(v) else pr.dutch_thousands(str(v))


@dataclass(frozen=True)
class Peers:
    codes: tuple[str, ...]
    label: str       # short legend label
    description: str  # one sentence for captions
    method: str = "grootte"  # "grootte" | "statistisch"
    # why each peer is comparable: (code, similar_on, distance or None), in rank order
    why: tuple[tuple[str, str, float | None], ...] = ()
    note: str | None = None  # Dutch: the asked set was unavailable and what is shown instead


PEER_METHODS = {"grootte": "grootte_stedelijkheid", "statistisch": "statistisch"}
SELECTION_METHOD = "selectie"


def selection_peers(members: list[str] | tuple[str, ...], gemeente: str,
                    description: str) -> Peers:
    """The adviser's workbench selection as the comparison group of ``gemeente`` (the briefing
    'met deze selectie'): the other members, said to be a selection, not 'vergelijkbaar'."""
    codes = tuple(c for c in dict.fromkeys(members) if c != gemeente)
    if len(description) > 140:  # the briefing's note stays one line or two: one page
        description = description[:139].rsplit(" ", 1)[0] + " …"
    return Peers(codes, "Selectie (mediaan)",
                 f"de eigen selectie uit Vergelijken: {description}", SELECTION_METHOD)


def peer_set(peers_frame: pd.DataFrame | None, regions: pd.DataFrame, gemeente: str,
             method: str = "grootte") -> Peers:
    """The chosen comparable gemeenten. From the pipeline's ``peers`` table when the snapshot
    has it (with the reason per peer); otherwise the size-class + urbanity logic of
    :func:`peers`. Statistical peers without a peers table fall back to that too (with a note)."""
    rows = None
    if peers_frame is not None and not peers_frame.empty:
        rows = peers_frame[(peers_frame["gemeente"] == gemeente)
                           & (peers_frame["method"] == PEER_METHODS.get(method, method))]
        rows = rows.sort_values("rank")
    if rows is None or rows.empty:
        fallback = peers(regions, gemeente)  # only when the pipeline's table has no answer
        note = None
        if method == "statistisch":
            note = ("Statistisch vergelijkbare gemeenten zijn voor deze gemeente niet beschikbaar; "
                    "getoond worden gemeenten van dezelfde grootte en stedelijkheid.")
        why = tuple((c, _class_text(regions, c), None) for c in fallback.codes)
        return Peers(fallback.codes, fallback.label, fallback.description, "grootte", why, note)
    why = tuple((str(r.peer), pr.dutch_thousands(str(r.similar_on or "")),
                 None if pd.isna(r.distance) else float(r.distance))
                for r in rows.itertuples(index=False))
    codes = tuple(c for c, _, _ in why)
    if method == "statistisch":
        return Peers(codes, "Statistisch vergelijkbare gemeenten (mediaan)",
                     f"de {len(codes)} gemeenten die statistisch het meest op deze gemeente "
                     "lijken", "statistisch", why)
    text = why[0][1].lower() if why and why[0][1] else "dezelfde grootte en stedelijkheid"
    return Peers(codes, "Vergelijkbare gemeenten (mediaan)", f"{len(codes)} gemeenten met {text}",
                 "grootte", why)


def _class_text(regions: pd.DataFrame, code: str) -> str:
    row = region_row(regions, code)
    return "; ".join(v for v in (_val(row, "size_class"), _val(row, "urbanity")) if v)


def peers(regions: pd.DataFrame, gemeente: str) -> Peers:
    """Comparable gemeenten: same gemeentegrootteklasse and stedelijkheid (excluding itself).
    With fewer than three of those, the size class alone is used (and said so)."""
    row = region_row(regions, gemeente)
    size, urb = _val(row, "size_class_code"), _val(row, "urbanity_code")
    gm = current_gemeenten(regions)
    gm = gm[gm["code"] != gemeente]
    if size is None:
        return Peers((), "Vergelijkbare gemeenten", "Geen gemeentegrootteklasse bekend.")
    same_size = gm[gm["size_class_code"].eq(size).fillna(False)]
    both = same_size[same_size["urbanity_code"].eq(urb).fillna(False)] if urb else same_size[:0]
    size_txt = _val(row, "size_class") or "dezelfde grootteklasse"
    if len(both) >= 3:
        urb_txt = (_val(row, "urbanity") or "").lower()
        return Peers(tuple(both["code"]), "Vergelijkbare gemeenten (mediaan)",
                     f"{len(both)} gemeenten met {size_txt} en {urb_txt}")
    return Peers(tuple(same_size["code"]), "Gemeenten van dezelfde grootte (mediaan)",
                 f"{len(same_size)} gemeenten met {size_txt}")


def default_indicator(indicators: dict[str, IndicatorEntry]) -> str:
    """The first relative indicator (a share or per-inwoner figure compares regions fairly)."""
    return next((k for k, m in indicators.items() if m.unit != "aantal"),
                next(iter(indicators)))


# --------------------------------------------------------------------------- periods

def previous_period(period: str) -> str:
    """The period one year earlier: '2024' -> '2023'; '2020KW03' -> '2019KW03'."""
    m = _QUARTER.match(period)
    if m:
        return f"{int(m.group(1)) - 1}KW{m.group(2)}"
    return str(int(period) - 1) if period.isdigit() else ""


def years(ind_obs: pd.DataFrame, level: str = "GM") -> list[int]:
    return sorted(int(y) for y in ind_obs.loc[ind_obs["region_level"] == level, "year"].unique())


def period_for_year(ind_obs: pd.DataFrame, year: int, level: str = "GM") -> str | None:
    """The latest period within ``year`` (the year itself, or its last published quarter)."""
    p = ind_obs.loc[(ind_obs["region_level"] == level) & (ind_obs["year"] == year), "period"]
    return None if p.empty else str(p.max())


def display_region(ind_obs: pd.DataFrame, regions: pd.DataFrame, gemeente: str) -> tuple[str, str]:
    """Where a gemeente's figure comes from: (code, level). GM when the indicator exists per
    gemeente, else the gemeente's COROP, provincie or finally Nederland."""
    levels = set(ind_obs["region_level"].unique())
    if "GM" in levels:
        return gemeente, "GM"
    row = region_row(regions, gemeente)
    for level, key in (("CR", "corop_code"), ("PV", "provincie_code")):
        code = _val(row, key)
        if level in levels and code and not region_rows(ind_obs, code).empty:
            return code, level
    return NL, "NL"


def fallback_note(level: str, name: str) -> str | None:
    if level == "GM":
        return None
    if level == "NL":
        return "Niet per gemeente beschikbaar; cijfer voor heel Nederland."
    return f"Niet per gemeente beschikbaar; cijfer voor {fmt.region_label(name, level)}."


# --------------------------------------------------------------------------- values

_ROWS: dict[int, tuple[weakref.ref, int, dict[str, np.ndarray]]] = {}
_ROWS_LOCK = threading.Lock()
_NO_ROWS = np.empty(0, dtype=np.intp)


def region_rows(ind_obs: pd.DataFrame, code: str) -> pd.DataFrame:
    """The rows of one region. The frames of a snapshot are shared and never changed, so their
    positions per region are looked up once per frame (a page view asks for a few regions of
    frames with thousands of rows; comparing every row's code each time was a large part of
    its CPU)."""
    key = id(ind_obs)
    hit = _ROWS.get(key)
    if hit is None or hit[0]() is not ind_obs or hit[1] != len(ind_obs):
        index = {str(k): v for k, v in ind_obs.groupby("region_code", sort=False,
                                                        observed=True).indices.items()}
        with _ROWS_LOCK:
            _ROWS[key] = hit = (weakref.ref(ind_obs, lambda _r, key=key: _ROWS.pop(key, None)),
                                len(ind_obs), index)
    return ind_obs.iloc[hit[2].get(code, _NO_ROWS)]


def series(ind_obs: pd.DataFrame, code: str) -> pd.DataFrame:
    """One region's series; with a ``harmonisation`` column when the frame has one (current
    boundaries)."""
    s = region_rows(ind_obs, code)
    cols = ["period", "year", "value", "status"]
    if "harmonisation" in s.columns:
        cols.append("harmonisation")
    if "quality" in s.columns:
        cols.append("quality")
    return s[cols].sort_values("period").reset_index(drop=True)


def harmonised_periods(ind_obs: pd.DataFrame, code: str, kind: str) -> list[str]:
    """Periods of ``code`` whose value is ``kind`` ("opgeteld" / "geschat"); [] without the column."""
    if "harmonisation" not in ind_obs.columns:
        return []
    rows = region_rows(ind_obs, code)
    hit = rows[rows["harmonisation"] == kind]
    return sorted(str(p) for p in hit["period"])


def gap_summary(gaps: pd.DataFrame | None, indicator: str, code: str) -> list[str]:
    """Dutch fragments for the years of ``code`` whose ``indicator`` value could not be put on
    current boundaries, grouped by reason: ['2012–2017: vóór 2018 geen herindelingsgegevens']."""
    if gaps is None or gaps.empty:
        return []
    hit = gaps[(gaps["indicator"] == indicator) & (gaps["region_code"] == code)]
    out = []
    for reason, g in hit.groupby("reason", sort=False):
        yrs = sorted({int(str(k)[:4]) for k in g["period_key"] if str(k)[:4].isdigit()})
        if not yrs:
            continue
        span = str(yrs[0]) if yrs[0] == yrs[-1] else f"{yrs[0]}–{yrs[-1]}"
        out.append((yrs[0], f"{span}: {reason}"))
    return [text for _, text in sorted(out)]


def off_map(ind_obs: pd.DataFrame, period: str | None, map_codes) -> list[str]:
    """Gemeente codes with a value in ``period`` that the (reference-year) map does not have."""
    if period is None or not map_codes:
        return []
    cur = ind_obs[(ind_obs["period"] == period) & (ind_obs["region_level"] == "GM")]
    return sorted(set(cur["region_code"]) - set(map_codes))


def value_at(ind_obs: pd.DataFrame, code: str, period: str | None) -> float | None:
    if period is None:
        return None
    v = _values(ind_obs).get((code, period))
    return None if v is None else float(v)


def peer_median(ind_obs: pd.DataFrame, codes: tuple[str, ...], period: str | None) -> float | None:
    """The median of the comparable gemeenten in ``period``; values marked imprecise (their
    rounding makes them meaningless) do not count."""
    if period is None or not codes:
        return None
    values, bad = _values(ind_obs), _imprecise(ind_obs)
    v = [x for c in dict.fromkeys(codes) if (c, period) not in bad
         and not fmt.is_missing(x := values.get((c, period)))]
    return float(statistics.median(v)) if v else None


def ranks(values: pd.Series, higher_is_better: bool | None) -> pd.Series:
    """Position 1 = most favourable (or highest when neither direction is better)."""
    ascending = higher_is_better is False
    return values.rank(ascending=ascending, method="min")


def comparable(ind_obs: pd.DataFrame, period: str, level: str) -> pd.DataFrame:
    """The rows of ``level`` in ``period`` that may be compared: imprecise values left out."""
    cur = ind_obs[(ind_obs["period"] == period) & (ind_obs["region_level"] == level)]
    if "quality" in cur.columns:
        cur = cur[cur["quality"].fillna("") != pr.IMPRECISE]
    return cur


def position(ind_obs: pd.DataFrame, code: str, period: str | None, level: str,
             higher_is_better: bool | None) -> tuple[int | None, int]:
    """(position, of how many) of ``code`` among the comparable values (imprecise ones are not
    ranked and not counted); None for an imprecise or missing value."""
    rank, n, _tied = position_detail(ind_obs, code, period, level, higher_is_better)
    return rank, n


def position_detail(ind_obs: pd.DataFrame, code: str, period: str | None, level: str,
                    higher_is_better: bool | None) -> tuple[int | None, int, int]:
    """(position, n, tied): ``tied`` = how many regions share that value (1: no tie)."""
    if period is None:
        return None, 0, 0

    def make() -> tuple[dict[str, int], int, dict[int, int]]:
        cur = comparable(ind_obs, period, level)
        r = ranks(cur["value"], higher_is_better)
        pos = {c: int(v) for c, v in zip(cur["region_code"], r, strict=True) if not pd.isna(v)}
        counts: dict[int, int] = {}
        for v in pos.values():
            counts[v] = counts.get(v, 0) + 1
        return pos, len(cur), counts

    pos, n, counts = _cached(ind_obs, ("ranks", period, level, higher_is_better), make)
    rank = pos.get(code)
    return rank, n, counts.get(rank, 0) if rank is not None else 0


def rank_text(rank: int | None, n: int, tied: int = 1) -> str:
    """'12 van 342'; a value that others share gets the places they share together:
    '208–315 van 342' (no false precision from an arbitrary order within a tie)."""
    if rank is None or not n:
        return fmt.MISSING
    if tied > 1:
        return f"{rank}–{rank + tied - 1} van {n}"
    return f"{rank} van {n}"


def standing(ind_obs: pd.DataFrame, code: str, period: str | None, level: str) -> str | None:
    """Where ``code`` stands among the comparable values of its level, in words without
    judgement (presentation.standing_word): for rates without a better/worse direction."""
    if period is None or imprecise_at(ind_obs, code, period):
        return None

    def make() -> list[float]:
        return comparable(ind_obs, period, level)["value"].tolist()

    vals = _cached(ind_obs, ("standing", period, level), make)
    return pr.standing_word(value_at(ind_obs, code, period), vals)


def judgement(value: float | None, ref: float | None, higher_is_better: bool | None) -> str:
    """'hoger' / 'lager' / 'gelijk', with '(gunstig)' / '(ongunstig)' when a direction exists."""
    if fmt.is_missing(value) or fmt.is_missing(ref):
        return ""
    if abs(value - ref) <= 1e-9 * max(1.0, abs(ref)):
        return "gelijk"
    word = "hoger" if value > ref else "lager"
    if higher_is_better is None:
        return word
    good = (value > ref) == bool(higher_is_better)
    return f"{word} (gunstig)" if good else f"{word} (ongunstig)"


def key_figure(ind_obs: pd.DataFrame, regions: pd.DataFrame, meta: IndicatorEntry,
               gemeente: str, peer: Peers, *, lags: pr.Lags | None = None,
               manifest: Manifest | None = None,
               gaps: pd.DataFrame | None = None) -> dict:
    """Everything the start page (and the briefing) shows for one indicator and one gemeente,
    with the presentation rules applied (``dashboard.presentation``):

    * ``headline`` only for the gemeente's own figure; a larger region's figure carries
      ``block`` ("Regio West-Noord-Brabant (COROP)") instead;
    * ``rank``/``rank_n`` only for rankable indicators; ``higher_is_better`` is the direction to
      colour and judge with (None for sizes and indicators without a direction); sizes get
      ``share_nl`` / ``share_pv`` (% of Nederland / the provincie);
    * ``stale`` and ``freshness`` (Dutch sentence) from ``lags``;
    * ``gap``: the true reason (presentation.gap_reason) when the gemeente has no own value;
    * ``imprecise``: the rounding of the inputs makes the figure meaningless (quality
      "onnauwkeurig"): then no position, no standing, no colour (``higher_is_better`` None);
      ``within_rounding``: the change since the year before is smaller than the two figures'
      rounding together ("gelijk binnen de afronding");
    * ``rank``/``rank_tied`` only for indicators with a direction (presentation.judged);
      ``standing`` ("hoog", "rond het midden", "laag") for comparable rates without one.
    ``gaps``: the harmonisation gaps, passed only when the series are on current boundaries."""
    code, level = display_region(ind_obs, regions, gemeente)
    row = region_row(regions, code)
    gm_row = region_row(regions, gemeente)
    name = row.get("name", code)
    rankable = pr.is_rankable(meta)
    headline = pr.is_headline(level)
    out = {"indicator": meta.id, "theme": meta.theme, "title": meta.title,
           "unit": meta.unit, "decimals": int(meta.decimals or 0),
           "higher_is_better": pr.direction(meta), "kind": pr.kind(meta), "rankable": rankable,
           "region_code": code, "region_level": level, "region_name": name,
           "headline": headline, "block": None if headline else pr.region_block_label(name, level),
           "note": fallback_note(level, name),
           "period": None, "value": None, "status": None, "prev_period": None,
           "prev_value": None, "change": None, "nl": None, "provincie": None, "peers": None,
           "share_nl": None, "share_pv": None, "rank": None, "rank_n": 0, "trend": [],
           "trend_periods": [],
           "cbs_table": None, "harmonisation": None, "stale": False, "freshness": "",
           "gap": None, "imprecise": False, "quality": "", "uncertainty": None,
           "within_rounding": False, "standing": None, "rank_tied": 0, "nl_prev": None}
    s = series(ind_obs, code)
    if not headline or s.empty:
        gap = pr.gap_reason(
            manifest, meta, gemeente, gm_row.get("name", gemeente),
            shown_region=None if headline else out["block"],
            harmonisation=[names_in(t, regions) for t in gap_summary(gaps, meta.id, gemeente)])
        out["gap"] = gap.text
    if s.empty:
        return out
    last = s.iloc[-1]
    period = str(last["period"])
    prev = previous_period(period)
    if prev and pr.break_notes(meta, (int(prev[:4]), int(period[:4]))):
        prev = ""  # a method break between the two years (catalogue `breaks`): no change
    prev_value = value_at(ind_obs, code, prev)
    pv = _val(gm_row, "provincie_code")
    imprecise = imprecise_at(ind_obs, code, period)
    judged = pr.judged(meta) and not imprecise
    rank, n, tied = (position_detail(ind_obs, code, period, level, meta.higher_is_better)
                     if judged else (None, 0, 0))
    word = standing(ind_obs, code, period, level) if pr.standing_only(meta) else None
    unc, prev_unc = uncertainty_at(ind_obs, code, period), uncertainty_at(ind_obs, code, prev)
    cbs = region_rows(ind_obs, code)["cbs_table"]
    value = float(last["value"])
    change = None if prev_value is None else value - prev_value
    nl = value_at(ind_obs, NL, period)
    provincie = value_at(ind_obs, pv, period) if pv and level == "GM" else None
    fresh = lags.of(meta.id, period) if lags is not None else pr.Freshness(period)
    out.update(
        period=period, value=value, status=str(last["status"]),
        prev_period=prev if prev_value is not None else None, prev_value=prev_value,
        change=change, higher_is_better=pr.direction(meta) if not imprecise else None,
        imprecise=imprecise, quality=pr.IMPRECISE if imprecise else "", uncertainty=unc,
        within_rounding=precision.within_rounding(change, unc, prev_unc),
        standing=word, rank_tied=tied,
        nl_prev=value_at(ind_obs, NL, prev) if prev_value is not None else None,
        nl=nl, provincie=provincie,
        peers=peer_median(ind_obs, peer.codes, period) if level == "GM" else None,
        share_nl=pr.share(value, nl) if pr.is_size(meta) and code != NL else None,
        share_pv=pr.share(value, provincie) if pr.is_size(meta) else None,
        rank=rank, rank_n=n, trend=[float(v) for v in s["value"].tail(TREND_POINTS)],
        trend_periods=[str(p) for p in s["period"].tail(TREND_POINTS)],
        cbs_table=str(cbs.iloc[-1]) if not cbs.empty else None,
        harmonisation=str(last["harmonisation"]) if "harmonisation" in s.columns else None,
        stale=fresh.stale, freshness=fresh.text)
    return out


def profile(obs_by_indicator: dict[str, pd.DataFrame], regions: pd.DataFrame,
            indicators: dict[str, IndicatorEntry], gemeente: str, peer: Peers | None = None,
            *, lags: pr.Lags | None = None, manifest: Manifest | None = None,
            gaps: pd.DataFrame | None = None) -> list[dict]:
    """One key-figure dict per indicator (catalogue order) for ``gemeente``; missing = None.
    ``peer`` defaults to :func:`peers` (same size class and urbanity)."""
    peer = peer if peer is not None else peers(regions, gemeente)
    return [key_figure(obs_by_indicator[iid], regions, meta, gemeente, peer, lags=lags,
                       manifest=manifest, gaps=gaps)
            for iid, meta in indicators.items() if iid in obs_by_indicator]


POPULATION_INDICATOR = "inwoners"


def population(figures: list[dict], row: dict, reference_year: int | None = None
               ) -> tuple[float | None, str]:
    """The one population figure a page shows for a gemeente, with its date: the "Inwoners op
    1 januari" key figure when the snapshot has it (the same number as its card), else the
    inwonertal of "Gebieden in Nederland" with that edition's year."""
    f = next((f for f in figures if f["indicator"] == POPULATION_INDICATOR and f["headline"]
              and f["value"] is not None), None)
    if f is not None:
        return f["value"], f"1 januari {fmt.period(f['period'])}"
    inw = row.get("inwoners")
    if inw is None or fmt.is_missing(inw):
        return None, ""
    return float(inw), (f"Gebieden in Nederland {reference_year}" if reference_year else "")


def latest_population(obs: dict[str, pd.DataFrame], code: str, row: dict,
                      reference_year: int | None = None) -> tuple[float | None, str]:
    """:func:`population` for where no key figures are at hand (the sidebar on every page): the
    latest "Inwoners op 1 januari" of the gemeente in these observations, the same figure the
    Overzicht's card and header show."""
    ind = obs.get(POPULATION_INDICATOR)
    own = series(ind, code).dropna(subset=["value"]) if ind is not None else pd.DataFrame()
    figures = ([] if own.empty else [{
        "indicator": POPULATION_INDICATOR, "headline": True,
        "value": float(own["value"].iloc[-1]), "period": str(own["period"].iloc[-1])}])
    return population(figures, row, reference_year)


def position_words(f: dict) -> str:
    """The position cell of a key figure, in words: a position (ties said as ties) for an
    indicator with a direction, where it stands (hoog / rond het midden / laag) for a rate
    without one, the share of Nederland for a count, the quality mark for an imprecise figure."""
    if f["period"] is None:
        return "–"
    if f["imprecise"]:
        return pr.IMPRECISE
    if f["rank"] is not None:
        return rank_text(f["rank"], f["rank_n"], f["rank_tied"])
    if f["standing"]:
        return f["standing"]
    if f["kind"] == pr.SIZE:
        return pr.share_text(f["value"], f["nl"], "NL") or "–"
    return "–"


def profile_export(prof: pd.DataFrame, themes: dict[str, str]) -> pd.DataFrame:
    """The downloadable gemeenteprofiel (one row per key figure of :func:`profile`): level,
    freshness ('verouderd') and gap reason as columns; positions only for rankable
    indicators, shares of NL / provincie for sizes."""
    out = pd.DataFrame({
        "thema": prof["theme"].map(themes), "indicator": prof["title"], "eenheid": prof["unit"],
        "soort": prof["kind"].map({pr.SIZE: "omvang", pr.RATE: "verhouding", pr.INDEX: "index"}),
        "regio": prof["region_name"],
        "regioniveau": [pr.region_block_label(n, lv) if not h else "gemeente"
                        for n, lv, h in zip(prof["region_name"], prof["region_level"],
                                            prof["headline"], strict=True)],
        "periode": prof["period"], "status": prof["status"],
        "actualiteit": prof["stale"].map({True: pr.STALE, False: "actueel"}),
        "waarde": prof["value"], "vorig jaar": prof["prev_value"], "verandering": prof["change"],
        "Nederland": prof["nl"], "provincie": prof["provincie"],
        "aandeel Nederland (%)": prof["share_nl"], "aandeel provincie (%)": prof["share_pv"],
        "vergelijkbare gemeenten (mediaan)": prof["peers"], "positie": prof["rank"],
        "aantal regio's": prof["rank_n"].where(prof["rank"].notna()),
        "stand": prof["standing"].fillna(""),
        "kwaliteit": prof["quality"].fillna(""),
        "verandering binnen de afronding": prof["within_rounding"].map({True: "ja", False: ""}),
        "toelichting": [" ".join(x for x in (f, g) if x) for f, g in
                        zip(prof["freshness"], prof["gap"].fillna(""), strict=True)],
        "CBS-tabel": prof["cbs_table"],
    })
    out = exports.rounded(out, ["waarde", "vorig jaar", "verandering", "Nederland", "provincie",
                                "vergelijkbare gemeenten (mediaan)"], prof["decimals"])
    return exports.rounded(out, ["aandeel Nederland (%)", "aandeel provincie (%)"], 1)


def latest_periods(obs_by_indicator: dict[str, pd.DataFrame]) -> dict[str, str]:
    """The latest period of each indicator over all regions (input of presentation.lags)."""
    return {iid: str(o["period"].max()) for iid, o in obs_by_indicator.items() if not o.empty}


_CODE = re.compile(r"(?<!\()\b((?:GM|PV|CR|AM)\d{2,4})\b(?: \(\1\))?")


def names_in(text: str, regions: pd.DataFrame) -> str:
    """Region codes in a note replaced by names: 'ontbreekt in de bron: GM0758 (GM0758)' ->
    'ontbreekt in de bron: Breda (GM0758)'. Unknown codes stay as they are."""
    names = dict(zip(regions["code"], regions["name"], strict=False))

    def sub(m: re.Match) -> str:
        code = m.group(1)
        name = names.get(code)
        return f"{name} ({code})" if name else m.group(0)

    return _CODE.sub(sub, str(text))


# --------------------------------------------------------------------------- tables

def ranking(ind_obs: pd.DataFrame, regions: pd.DataFrame, period: str, level: str,
            higher_is_better: bool | None, *, rankable: bool = True,
            pin: str | None = None) -> pd.DataFrame:
    """All regions of ``level`` with a value in ``period``; columns code, naam, provincie,
    waarde, status, kwaliteit (and harmonisatie on current boundaries).

    * with a direction (``higher_is_better`` True/False): best first with a ``positie``;
    * a comparable rate without a direction: high to low with ``stand`` (hoog / rond het midden
      / laag), no position;
    * not rankable (a size): ``aandeel NL (%)``, sorted by name.
    Values marked imprecise get no position or standing and close the list ("onnauwkeurig" in
    ``kwaliteit``). ``pin``: that region's row first (the selected gemeente stays in view)."""
    cur = ind_obs[(ind_obs["period"] == period) & (ind_obs["region_level"] == level)]
    names = regions.drop_duplicates("code").set_index("code")
    quality = (cur["quality"].fillna("").to_numpy() if "quality" in cur.columns
               else [""] * len(cur))
    out = pd.DataFrame({
        "code": cur["region_code"].to_numpy(),
        "naam": cur["region_code"].map(names["name"]).to_numpy(),
        "provincie": cur["region_code"].map(names["provincie"]).to_numpy(),
        "waarde": cur["value"].to_numpy(),
        "status": cur["status"].to_numpy(),
        "kwaliteit": quality,
    })
    if "harmonisation" in cur.columns:
        out["harmonisatie"] = cur["harmonisation"].to_numpy()
    precise = out["kwaliteit"] != pr.IMPRECISE
    if rankable and higher_is_better is not None:
        out.insert(0, "positie", ranks(out["waarde"].where(precise), higher_is_better)
                   .astype("Int64"))
        out = out.sort_values(["positie", "naam"], na_position="last")
    elif rankable:
        vals = out.loc[precise, "waarde"].tolist()
        out.insert(out.columns.get_loc("waarde") + 1, "stand",
                   [pr.standing_word(v, vals) if ok else "" for v, ok
                    in zip(out["waarde"], precise, strict=True)])
        out = out.assign(_precise=precise).sort_values(
            ["_precise", "waarde"], ascending=[False, False]).drop(columns="_precise")
    else:
        nl = value_at(ind_obs, NL, period)
        out.insert(out.columns.get_loc("waarde") + 1, "aandeel NL (%)",
                   [pr.share(v, nl) for v in out["waarde"]])
        out = out.sort_values("naam", key=lambda c: c.str.lower().str.replace(
            r"^'s[- ]", "", regex=True))
    if pin is not None:
        return pinned(out, pin)
    return out.reset_index(drop=True)


def pinned(table: pd.DataFrame, code: str) -> pd.DataFrame:
    """A new table with ``code``'s row first (the selected gemeente stays in view)."""
    hit = table["code"] == code
    return pd.concat([table[hit], table[~hit]]).reset_index(drop=True)


def map_frame(ind_obs: pd.DataFrame, regions: pd.DataFrame, period: str | None,
              codes=None) -> pd.DataFrame:
    """Every current gemeente (or every gemeente in ``codes``, e.g. those on an earlier year's
    map) with its value in ``period`` (NaN = geen gegevens)."""
    if codes is None:
        gm = current_gemeenten(regions)[["code", "name"]]
    else:
        names = regions.drop_duplicates("code").set_index("code")["name"]
        gm = pd.DataFrame({"code": sorted(codes)})
        gm["name"] = gm["code"].map(names).fillna(gm["code"])
    cur = ind_obs[(ind_obs["period"] == period) & (ind_obs["region_level"] == "GM")]
    vals = cur.set_index("region_code")["value"]
    out = gm.assign(value=gm["code"].map(vals).astype(float))
    if "harmonisation" in cur.columns:
        out["harmonisation"] = out["code"].map(cur.set_index("region_code")["harmonisation"])
    if "quality" in cur.columns:
        out["quality"] = out["code"].map(cur.set_index("region_code")["quality"]).fillna("")
    return out.reset_index(drop=True)


def series_frame(ind_obs: pd.DataFrame, lines: list[tuple[str, str, str]],
                 peer: Peers | None = None) -> pd.DataFrame:
    """Long frame for the time-series chart. ``lines`` = (code, label, role); role is one of
    gemeente, nl, provincie, vergelijk. The peer median becomes its own line (role peers)."""
    parts = []
    for code, label, role in lines:
        s = series(ind_obs, code)
        if not s.empty:
            parts.append(s.assign(code=code, label=label, role=role))
    if peer is not None and peer.codes:
        p = ind_obs[ind_obs["region_code"].isin(peer.codes)]
        if not p.empty:
            med = p.groupby(["period", "year"], as_index=False).agg(
                value=("value", "median"), status=("status", "first"))
            if "harmonisation" in p.columns:
                med["harmonisation"] = "gepubliceerd"
            parts.append(med.assign(code="peers", label=peer.label, role="peers"))
    if not parts:
        return pd.DataFrame(columns=["period", "year", "value", "status", "code", "label", "role"])
    return pd.concat(parts, ignore_index=True)


MEDIAN = "mediaan"  # the code of the selection's median row in selection_frame
MEDIAN_LABEL = "Mediaan van de selectie"


def selection_frame(obs_by_indicator: dict[str, pd.DataFrame], regions: pd.DataFrame,
                    indicators: dict[str, IndicatorEntry], members: list[str],
                    lags: pr.Lags | None = None) -> pd.DataFrame:
    """The workbench comparison in long form, the one frame behind table, chart and export:
    one row per (gemeente, indicator) of the selection at the latest period any member has,
    then the selection's median and Nederland as reference rows. Columns: code, regio, rol
    (gemeente / mediaan / referentie), indicator, titel, eenheid, decimalen, periode, waarde,
    status, CBS-tabel, kwaliteit, verouderd (the period is older than usual for its CBS table,
    ``lags``). The median leaves out values marked imprecise (as the peer
    median does); an imprecise value keeps its mark and is never ranked."""
    names = regions.drop_duplicates("code").set_index("code")["name"]
    rows: list[dict] = []
    for iid, meta in indicators.items():
        ind = obs_by_indicator.get(iid)
        if ind is None:
            continue
        sub = ind[ind["region_code"].isin(members)]
        period = str(sub["period"].max()) if len(sub) else None
        base = {"indicator": iid, "titel": meta.title, "eenheid": meta.unit or "",
                "decimalen": int(meta.decimals or 0), "periode": period,
                "verouderd": bool(lags is not None and period and lags.of(iid, period).stale)}
        at = ind[ind["period"] == period].drop_duplicates("region_code").set_index("region_code")

        def row(code: str, label: str, role: str, value=None, *, at=at, base=base) -> dict:
            hit = at.loc[code] if code in at.index else None
            quality = str(hit.get("quality") or "") if hit is not None else ""
            return {"code": code, "regio": label, "rol": role, **base,
                    "waarde": value if role == "mediaan" else (
                        None if hit is None or fmt.is_missing(hit["value"])
                        else float(hit["value"])),
                    "status": None if hit is None else hit.get("status"),
                    "CBS-tabel": None if hit is None else hit.get("cbs_table"),
                    "kwaliteit": "" if quality in ("", "nan", "<NA>", "None") else quality}

        for code in members:
            rows.append(row(code, names.get(code, code), "gemeente"))
        med = peer_median(ind, tuple(members), period)
        rows.append({**row(MEDIAN, MEDIAN_LABEL, "mediaan", med), "status": None,
                     "CBS-tabel": at["cbs_table"].dropna().iloc[0]
                     if "cbs_table" in at and at["cbs_table"].notna().any() else None})
        rows.append(row(NL, "Nederland", "referentie"))
    cols = ["code", "regio", "rol", "indicator", "titel", "eenheid", "decimalen", "periode",
            "waarde", "status", "CBS-tabel", "kwaliteit", "verouderd"]
    return pd.DataFrame(rows, columns=cols)


def selection_series(obs_by_indicator: dict[str, pd.DataFrame], regions: pd.DataFrame,
                     indicators: dict[str, IndicatorEntry], members: list[str]) -> pd.DataFrame:
    """Every period of the selection: one row per (gemeente, indicator, period) the snapshot
    has for the members, in the columns of :func:`selection_frame` (rol "gemeente"), for the
    download's second sheet. Ordered by indicator (as chosen), gemeente (as in the selection)
    and period; missing values are absent rows, as in the snapshot (never 0)."""
    names = regions.drop_duplicates("code").set_index("code")["name"]
    order = {c: i for i, c in enumerate(members)}
    parts = []
    for iid, meta in indicators.items():
        ind = obs_by_indicator.get(iid)
        if ind is None:
            continue
        sub = ind[ind["region_code"].isin(members) & ind["value"].notna()]
        sub = sub.drop_duplicates(["region_code", "period"])
        if sub.empty:
            continue
        quality = (sub["quality"] if "quality" in sub.columns
                   else pd.Series("", index=sub.index)).astype("string").fillna("")
        parts.append(pd.DataFrame({
            "code": sub["region_code"].to_numpy(),
            "regio": sub["region_code"].map(names).fillna(sub["region_code"]).to_numpy(),
            "rol": "gemeente", "indicator": iid, "titel": meta.title, "eenheid": meta.unit or "",
            "decimalen": int(meta.decimals or 0), "periode": sub["period"].astype(str).to_numpy(),
            "waarde": sub["value"].astype(float).to_numpy(),
            "status": sub["status"].to_numpy() if "status" in sub.columns else None,
            "CBS-tabel": sub["cbs_table"].to_numpy() if "cbs_table" in sub.columns else None,
            "kwaliteit": quality.to_numpy(), "verouderd": False,
            "_o": sub["region_code"].map(order).to_numpy()}).sort_values(["_o", "periode"]))
    cols = ["code", "regio", "rol", "indicator", "titel", "eenheid", "decimalen", "periode",
            "waarde", "status", "CBS-tabel", "kwaliteit", "verouderd"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


SMALL_MULTIPLES = 24  # tiles at most: beyond that a trend view is no longer readable
TREND_POINTS = 10


def selection_trends(ind_obs: pd.DataFrame, members: list[str],
                     points: int = TREND_POINTS) -> pd.DataFrame:
    """The small multiples of the workbench: the last ``points`` periods (of the selection) of
    each member's series (code, period, value, quality), for at most SMALL_MULTIPLES members.
    Imprecise values are left out of the lines (they are not a movement to read)."""
    sub = ind_obs[ind_obs["region_code"].isin(members[:SMALL_MULTIPLES])]
    if "quality" in sub.columns:
        sub = sub[sub["quality"].fillna("") != pr.IMPRECISE]
    periods = sorted(sub["period"].astype(str).unique())[-points:]
    sub = sub[sub["period"].astype(str).isin(periods) & sub["value"].notna()]
    return (sub.rename(columns={"region_code": "code"})[["code", "period", "value"]]
            .drop_duplicates(["code", "period"]).sort_values(["code", "period"])
            .reset_index(drop=True))


def selection_wide(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """``selection_frame`` as the on-screen table: one row per gemeente (then median and NL),
    one numeric column per indicator headed with unit and period (sortable on the numbers),
    and 'let op' naming the indicators whose value in that row is imprecise. Returns the table
    (first columns code, regio) and one column description per indicator (id, column, period,
    unit, decimals)."""
    if frame.empty:
        return pd.DataFrame(columns=["code", "regio", "let op"]), []
    order = list(dict.fromkeys(frame["code"]))
    labels = dict(zip(frame["code"], frame["regio"], strict=False))
    table = pd.DataFrame({"code": order, "regio": [labels[c] for c in order]})
    columns: list[dict] = []
    marks: dict[str, list[str]] = {c: [] for c in order}
    for iid, part in frame.groupby("indicator", sort=False):
        first = part.iloc[0]
        unit = fmt.unit_label(first["eenheid"])
        head = [] if not unit or unit.casefold() in str(first["titel"]).casefold() else [unit]
        head.append(fmt.period(first["periode"]) if pd.notna(first["periode"]) else fmt.MISSING)
        col = f"{first['titel']} ({', '.join(head + ([pr.STALE] if first.get('verouderd') else []))})"
        table[col] = table["code"].map(part.set_index("code")["waarde"]).astype(float)
        for c in part.loc[part["kwaliteit"] == pr.IMPRECISE, "code"]:
            marks[c].append(str(first["titel"]))
        columns.append({"id": iid, "column": col, "period": first["periode"],
                        "unit": first["eenheid"], "decimals": int(first["decimalen"])})
    table["let op"] = [f"{pr.IMPRECISE}: " + ", ".join(marks[c]) if marks[c] else ""
                       for c in order]
    return table, columns


# --------------------------------------------------------------------------- freshness

STALE_AFTER_DAYS = 3
OUTCOME_NL = {"failed": "mislukt", "partial": "deels mislukt"}


def freshness_warnings(manifest: Manifest, runs: list[dict], now: datetime) -> list[str]:
    """Dutch warnings for the footer: stale tables, a failed newer refresh, and data not checked
    at CBS for a while. Freshness is judged by the last successful check against CBS (a night
    that finds nothing new counts), falling back to the publish date without run records."""
    out = []
    rejected = sorted(manifest.plausibility.rejected if manifest.plausibility else {})
    stale = [t for t in manifest.stale_tables if t not in rejected]
    if stale:
        out.append("Let op: bij de laatste verversing konden niet alle CBS-tabellen opgehaald "
                   f"worden; voor {', '.join(stale)} worden de eerder opgehaalde cijfers getoond.")
    if rejected:
        out.append(f"Let op: de nieuwe cijfers van het CBS voor {', '.join(rejected)} leken niet "
                   "te kloppen (bijvoorbeeld veel minder rijen of gemeenten dan eerder) en zijn "
                   "niet overgenomen; de eerder opgehaalde cijfers worden getoond.")
    published = manifest.published_at or ""
    failed = [r for r in runs if r.get("outcome") in OUTCOME_NL
              and str(r.get("started") or "") > published]
    if failed:
        last = failed[-1]
        out.append(f"De verversing van {fmt.datetime_nl(last.get('started'))} is "
                   f"{OUTCOME_NL[last['outcome']]}; de getoonde cijfers zijn van "
                   f"{fmt.datetime_nl(published)}.")
    checked = max(last_successful_check(runs) or "", published)
    try:
        when = datetime.fromisoformat(checked.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is not None:
        age = (now - when).days
        if age >= STALE_AFTER_DAYS:
            out.append(f"De cijfers zijn {age} dagen niet ververst: de laatste geslaagde controle "
                       f"bij het CBS was op {fmt.date(checked)}.")
    return out


# --------------------------------------------------------------------------- changes

def change_lines(manifest: Manifest, indicators: dict[str, IndicatorEntry]) -> list[str] | None:
    """Plain Dutch lines for 'Sinds de vorige verversing' from manifest ``changes``; None when
    there is no previous snapshot to compare with (the section is hidden), [] when nothing
    changed."""
    changes = manifest.changes
    if changes is None or not changes.previous_snapshot:
        return None
    out = []
    for iid, c in changes.indicators.items():
        title = (indicators[iid].title if iid in indicators else None) or iid
        parts = []
        new = [fmt.period(p) for p in c.new_periods]
        if new:
            parts.append(("nieuwe periode " if len(new) == 1 else "nieuwe perioden ")
                         + ", ".join(new))
        elif c.new_values:
            parts.append(f"{c.new_values} nieuwe cijfers")
        if c.revised:
            per = [fmt.period(p) for p in c.revised_periods]
            parts.append(f"{c.revised} cijfers herzien"
                         + (f" ({', '.join(per[:4])}{' …' if len(per) > 4 else ''})" if per else ""))
        if c.status_changed:
            kinds = [s.lower().replace(" -> ", " → ") for s in c.status_changes]
            parts.append(f"{c.status_changed} cijfers van status veranderd"
                         + (f" ({', '.join(kinds)})" if kinds else ""))
        if parts:
            out.append(f"**{title}**: " + "; ".join(parts) + ".")
    return out
