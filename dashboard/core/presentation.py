"""Presentation rules: what a shown figure may claim. Pure functions, no streamlit.

The one place that decides how a figure is presented, used by every dashboard page, the
exports and the briefing PDF, so screen and paper always say the same thing:

* **Kind of figure** (:func:`kind`, :func:`is_rankable`, :func:`direction`): a *size* (a count
  or amount that grows with the gemeente: vestigingen, banen, woningen) is never ranked; it gets
  no position, quartile, percentile or good/bad colour. Show its value, its change and its
  :func:`share` of Nederland / the provincie instead. Rates and shares are rankable; an index
  only when the catalogue says so. ``meta`` is a manifest indicator entry
  (``pipelines.snapshot.IndicatorEntry``), a ``pipelines.catalog.Indicator`` or a plain dict;
  old snapshots without ``kind`` fall back to the unit.
* **Region level** (:func:`is_headline`, :func:`region_block_label`, :func:`split_by_level`): a
  figure that exists only for a larger region (COROP, provincie, Nederland) is never the
  gemeente's headline; it goes in its own block labelled "Regio West-Noord-Brabant (COROP)".
* **Freshness** (:func:`lags` -> :class:`Lags`, ``Lags.of(indicator, period)`` ->
  :class:`Freshness`): a period older than the indicator's normal publication lag is
  "verouderd", with the period in words; a table CBS stopped says so.
* **Gaps** (:func:`gap_reason` -> :class:`Gap`): why a gemeente has no value, in plain Dutch,
  from the snapshot's coverage data. Every text starts with one of :data:`GAP_REASONS`.
* **Movements** (:func:`relative_movement`, :func:`largest_movements`): relative change against
  Nederland's relative change, only where the difference is material.
* **Numbers and credit** (:func:`number`, :func:`value`, :data:`CREDIT`, :func:`credit_line`):
  one Dutch number format (thousands '.', decimal ','), one credit line for web and PDF.
* **Data source** (:func:`data_source`, :func:`demo_banner`): a snapshot built from the
  development mirror carries a "demo-gegevens, onvolledig" banner on every page.

``manifest`` is always the snapshot's typed manifest (``pipelines.snapshot.Manifest``).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from dashboard.core import format as fmt
from pipelines import notices

if TYPE_CHECKING:
    from pipelines.snapshot import Manifest

# --------------------------------------------------------------------------- kind of figure

SIZE, RATE, INDEX = "size", "rate", "index"
RANKABLE_DEFAULT = {SIZE: False, RATE: True, INDEX: False}


def _get(meta, key: str, default=None):
    if isinstance(meta, Mapping):
        return meta.get(key, default)
    return getattr(meta, key, default)


def kind(meta) -> str:
    """'size' | 'rate' | 'index'. Without a catalogue kind (older snapshots): a count
    (unit 'aantal') is a size, anything else a rate."""
    k = _get(meta, "kind")
    if k in RANKABLE_DEFAULT:
        return k
    return SIZE if _get(meta, "unit") == "aantal" else RATE


def is_size(meta) -> bool:
    return kind(meta) == SIZE


def is_rankable(meta) -> bool:
    """Whether positions, quartiles, percentiles and good/bad colours between regions mean
    something. A size never is (it would rank town size)."""
    k = kind(meta)
    if k == SIZE:
        return False
    r = _get(meta, "rankable")
    return bool(r) if isinstance(r, bool) else RANKABLE_DEFAULT[k]


def direction(meta) -> bool | None:
    """The good/bad direction to colour or judge with: ``higher_is_better`` for a rankable
    indicator, None (neutral, no colour) otherwise."""
    if not is_rankable(meta):
        return None
    hib = _get(meta, "higher_is_better")
    return hib if hib in (True, False) else None


def judged(meta) -> bool:
    """Whether a figure may be called better or worse: positions, "beste/slechtste 25 %",
    good/bad colours and "gunstig/ongunstig" only for a rankable indicator with a direction."""
    return direction(meta) is not None


def standing_only(meta) -> bool:
    """A comparable rate without a better/worse direction (aandeel koopwoningen): it gets where
    it stands in plain words (:func:`standing_word`), never a position or a judgement."""
    return is_rankable(meta) and direction(meta) is None


STANDING_WORDS = ("hoog", "rond het midden", "laag")


def standing_word(value, values) -> str | None:
    """Where ``value`` stands among ``values`` (all gemeenten), without judgement: "hoog" (top
    quarter), "laag" (bottom quarter) or "rond het midden"; ties get the same word."""
    vals = [float(v) for v in values if not fmt.is_missing(v)]
    if fmt.is_missing(value) or len(vals) < 4:
        return None
    v = float(value)
    below = sum(x < v for x in vals) / len(vals)
    above = sum(x > v for x in vals) / len(vals)
    if above < 0.25:
        return STANDING_WORDS[0]
    if below < 0.25:
        return STANDING_WORDS[2]
    return STANDING_WORDS[1]


# --------------------------------------------------------------------------- precision

IMPRECISE = "onnauwkeurig"
IMPRECISE_LABEL = "onnauwkeurig (kleine aantallen)"
WITHIN_ROUNDING = "gelijk binnen de afronding"


def is_imprecise(quality) -> bool:
    """The pipeline's quality mark (pipelines/precision.py): the rounding of the figure's inputs
    allows more than the catalogue's bound. Such a figure is shown with its mark, never ranked,
    coloured, used in a peer median, a movement or "Wat valt op"."""
    return isinstance(quality, str) and quality == IMPRECISE


def share(value, reference) -> float | None:
    """``value`` as a percentage of ``reference`` (a size's share of NL or the provincie)."""
    if fmt.is_missing(value) or fmt.is_missing(reference) or float(reference) == 0:
        return None
    return 100.0 * float(value) / float(reference)


def share_text(value, reference, where: str) -> str | None:
    """'1,2% van Nederland' (None when either is missing)."""
    s = share(value, reference)
    if s is None:
        return None
    return f"{fmt.number(s, 2 if s < 1 else 1)}% van {where}"


# --------------------------------------------------------------------------- region level

HEADLINE_LEVEL = "GM"
_BLOCK = {"CR": "Regio {name} (COROP)", "PV": "Provincie {name}", "AM": "Arbeidsmarktregio {name}",
          "LD": "Landsdeel {name}", "NL": "Nederland"}


def is_headline(region_level: str | None) -> bool:
    """Only a figure of the gemeente itself may be the gemeente's headline."""
    return region_level == HEADLINE_LEVEL


def region_block_label(name: str, level: str) -> str:
    """The label of the block for a larger region's figures: 'Regio West-Noord-Brabant
    (COROP)', 'Provincie Noord-Brabant', 'Nederland'."""
    if level == HEADLINE_LEVEL:
        return str(name)
    return _BLOCK.get(level, "{name} (" + level + ")").format(name=name)


def split_by_level(figures: Iterable[dict]) -> tuple[list[dict], dict[str, list[dict]]]:
    """(the gemeente's own figures, {block label: figures of that larger region}) keeping the
    input order. Each figure needs ``region_level`` and ``region_name``."""
    own: list[dict] = []
    blocks: dict[str, list[dict]] = {}
    for f in figures:
        if is_headline(f.get("region_level")):
            own.append(f)
        else:
            label = region_block_label(f.get("region_name") or "", f.get("region_level") or "")
            blocks.setdefault(label, []).append(f)
    return own, blocks


# --------------------------------------------------------------------------- freshness

STALE = "verouderd"
_PERIOD = re.compile(r"^(\d{4})(?:(KW|MM)(\d{2}))?$")
PERIOD_MONTHS = {"jaar": 12, "kwartaal": 3, "maand": 1}
FALLBACK_LAG = 24  # months: a period may lag its reference by this much when nothing compares
_ACTIVE = ("regulier", "regular", "")


def frequency(period: str | None) -> str | None:
    """'jaar' | 'kwartaal' | 'maand' (None for anything else)."""
    m = _PERIOD.match(str(period or ""))
    if not m:
        return None
    return {None: "jaar", "KW": "kwartaal", "MM": "maand"}[m.group(2)]


def period_end(period: str) -> tuple[int, int] | None:
    """(year, month) of the last month a period covers: '2024' -> (2024, 12); '2020KW02' ->
    (2020, 6); '2024MM03' -> (2024, 3)."""
    m = _PERIOD.match(str(period or ""))
    if not m:
        return None
    year, kind_, n = int(m.group(1)), m.group(2), m.group(3)
    if kind_ is None:
        return year, 12
    return (year, int(n) * 3) if kind_ == "KW" else (year, int(n))


def months_behind(period: str, reference: date) -> int | None:
    """Whole months from the end of ``period`` to ``reference`` (None: unknown period)."""
    end = period_end(period)
    if end is None:
        return None
    return (reference.year - end[0]) * 12 + reference.month - end[1]


@dataclass(frozen=True)
class Freshness:
    """How current one figure is. ``label`` is "verouderd" or ""; ``text`` a Dutch sentence
    (empty when current); ``short`` fits a table cell or card line."""

    period: str | None
    stale: bool = False
    discontinued: bool = False
    text: str = ""

    @property
    def label(self) -> str:
        return STALE if self.stale else ""

    @property
    def short(self) -> str:
        if not self.stale:
            return ""
        return f"{STALE} ({fmt.period(self.period)})"


@dataclass(frozen=True)
class Lags:
    """The normal publication lag per indicator, measured against the snapshot's date.

    ``allowed[indicator]`` is how many months the end of a period may lie before ``reference``
    and still be current: the median lag of the *other* CBS tables in the snapshot (what is
    normal right now) plus one period of the indicator's own frequency. ``discontinued`` names
    the tables CBS marks as stopped."""

    reference: date
    allowed: dict[str, int]
    discontinued: dict[str, tuple[str, ...]]

    def of(self, indicator: str, period: str | None) -> Freshness:
        if not period:
            return Freshness(None)
        stopped = self.discontinued.get(indicator, ())
        behind = months_behind(period, self.reference)
        allowed = self.allowed.get(indicator)
        stale = bool(stopped) or (behind is not None and allowed is not None and behind > allowed)
        if not stale:
            return Freshness(period)
        words = fmt.period(period)
        if stopped:
            text = (f"Verouderd: het CBS is gestopt met tabel {', '.join(stopped)}; het laatste "
                    f"cijfer is van {words}.")
        else:
            text = (f"Verouderd: het laatste cijfer is van {words}, ouder dan gebruikelijk "
                    "(andere CBS-tabellen zijn verder).")
        return Freshness(period, True, bool(stopped), text)


def _reference_date(manifest: Manifest) -> date:
    ts = str(manifest.published_at or "")
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).date()
    except ValueError:
        fetched = [str(t.fetched_at) for t in manifest.tables.values() if t.fetched_at]
        try:
            return datetime.fromisoformat(max(fetched).replace("Z", "+00:00")).date()
        except ValueError:
            return date.today()


def lags(manifest: Manifest, indicators: Mapping[str, object],
         latest: Mapping[str, str]) -> Lags:
    """The freshness rules of a snapshot. ``indicators``: id -> manifest entry (needs
    ``tables``); ``latest``: id -> the latest period the snapshot has for it (any region)."""
    ref = _reference_date(manifest)
    table_info = manifest.tables
    # one lag per group of tables: three indicators from one table count once
    group_lag: dict[tuple[str, ...], int] = {}
    for iid, period in latest.items():
        behind = months_behind(period, ref)
        if behind is None:
            continue
        key = tuple(_get(indicators.get(iid, {}), "tables") or (iid,))
        group_lag[key] = min(behind, group_lag.get(key, behind))
    allowed, stopped = {}, {}
    for iid, period in latest.items():
        key = tuple(_get(indicators.get(iid, {}), "tables") or (iid,))
        others = [lag for k, lag in group_lag.items() if k != key]
        base = statistics.median(others) if others else FALLBACK_LAG
        allowed[iid] = int(base) + PERIOD_MONTHS.get(frequency(period) or "jaar", 12)
        gone = tuple(t for t in key if t in table_info
                     and str(table_info[t].output_status or "").strip().lower() not in _ACTIVE)
        if gone:
            stopped[iid] = gone
    return Lags(ref, allowed, stopped)


# --------------------------------------------------------------------------- gaps

GAP_REASONS = {
    "niet_per_gemeente": "Niet per gemeente gepubliceerd",
    "cbs_reden": "Geen cijfer van het CBS",
    "ontbreekt_demo": "Ontbreekt in de demo-gegevens",
    "ontbreekt_bron": "Ontbreekt in de opgehaalde CBS-gegevens",
    "niet_harmoniseerbaar": "Niet om te rekenen naar de huidige gemeentegrenzen",
    "niet_opgehaald": "Nog niet opgehaald",
}


@dataclass(frozen=True)
class Gap:
    """Why a gemeente has no value: ``code`` is a key of :data:`GAP_REASONS` and ``text``
    starts with its lead."""

    code: str
    text: str


def _gap(code: str, detail: str) -> Gap:
    return Gap(code, f"{GAP_REASONS[code]}: {detail}")


def gap_reason(manifest: Manifest | None, meta, gemeente: str, name: str, *,
               shown_region: str | None = None, harmonisation: list[str] | None = None,
               period: str | None = None) -> Gap:
    """The true reason why ``gemeente`` (``name``) has no own value for indicator ``meta``.

    ``shown_region``: the label of the larger region whose figure is shown instead (when the
    indicator is not published per gemeente); ``harmonisation``: the fragments of
    ``compute.gap_summary`` (current boundaries) for this gemeente and indicator; ``period``:
    the period asked for (default: the latest period of the indicator's gemeente data).
    Without a ``manifest`` only what ``meta`` says is used."""
    iid = _get(meta, "id")
    tables = list(_get(meta, "tables") or [])
    levels = _get(meta, "levels") or []
    if HEADLINE_LEVEL not in levels:
        where = f"; getoond: {shown_region}" if shown_region else ""
        return _gap("niet_per_gemeente", f"het CBS publiceert dit cijfer niet per gemeente{where}.")
    info = manifest.tables if manifest else {}
    failed = [t for t in tables if t in info and info[t].error and not info[t].rows]
    absent = [t for t in tables if info and t not in info]
    failed += absent
    if failed or (manifest and iid in manifest.indicators_not_yet_fetched):
        return _gap("niet_opgehaald", f"{_tables(failed or tables)} is bij de laatste "
                    "verversing niet opgehaald.")
    cov = manifest.coverage.get(iid) if manifest else None
    latest = cov.latest_period if cov else None
    asked = period or latest
    over = f" over {fmt.period(asked)}" if asked else ""
    at_latest = asked is not None and str(asked) == str(latest)
    why = cov.missing_reasons.get(gemeente) if cov and at_latest else None
    missing = {str(m).split(" ")[0] for m in cov.missing} if cov and at_latest else set()
    # the source's own gap in the latest period comes first: on current boundaries it is also
    # why the harmonised series stops
    if why:
        return _gap("cbs_reden", f"voor {name}{over}: {why}.")
    harm = [h for h in harmonisation or [] if asked is None or _in_span(str(asked)[:4], h)]
    if gemeente in missing or not harm:
        if manifest and data_source(manifest) in DEMO_SOURCES:
            return _gap("ontbreekt_demo", f"de ontwikkelkopie van {_tables(tables)} heeft geen "
                        f"cijfer voor {name}{over} (onvolledige kopie).")
        return _gap("ontbreekt_bron", f"{_tables(tables)} bevat geen cijfer voor {name}{over}.")
    return _gap("niet_harmoniseerbaar", "; ".join(harm) + ".")


def _tables(tables: list[str]) -> str:
    return ("CBS-tabel " if len(tables) == 1 else "CBS-tabellen ") + ", ".join(tables)


def _in_span(year: str, fragment: str) -> bool:
    """Whether ``year`` lies in the span a gap_summary fragment starts with ('2012–2017: …')."""
    m = re.match(r"^(\d{4})(?:–(\d{4}))?:", fragment)
    return bool(m) and year.isdigit() and int(m.group(1)) <= int(year) <= int(m.group(2) or m.group(1))


def dutch_thousands(text: str) -> str:
    """CBS labels write '50 000 tot 100 000 inwoners'; the product writes '50.000'."""
    return re.sub(r"(?<=\d) (?=\d{3}\b)", ".", str(text))


def is_known_gap_text(text: str) -> bool:
    return any(str(text).startswith(lead + ": ") for lead in GAP_REASONS.values())


# --------------------------------------------------------------------------- movements

MATERIAL = 0.02  # a relative change differs materially from NL's when 2 %-points apart


@dataclass(frozen=True)
class Movement:
    """A change since the previous period, relative: ``relative`` = (value - prev) / prev;
    ``nl_relative`` the same for Nederland; ``excess`` = relative - nl_relative (or relative
    when NL is unknown); ``material`` whether |excess| >= the threshold."""

    value: float
    prev: float
    relative: float
    nl_relative: float | None
    excess: float
    material: bool


def relative_movement(value, prev, nl_value=None, nl_prev=None,
                      material: float = MATERIAL) -> Movement | None:
    """None when a relative change is not defined (missing values, or a start value <= 0)."""
    if fmt.is_missing(value) or fmt.is_missing(prev) or float(prev) <= 0:
        return None
    rel = (float(value) - float(prev)) / float(prev)
    nl_rel = None
    if not (fmt.is_missing(nl_value) or fmt.is_missing(nl_prev)) and float(nl_prev) > 0:
        nl_rel = (float(nl_value) - float(nl_prev)) / float(nl_prev)
    excess = rel - (nl_rel if nl_rel is not None else 0.0)
    return Movement(float(value), float(prev), rel, nl_rel, excess, abs(excess) >= material)


def largest_movements(items: Iterable[tuple[str, Movement | None]], n: int = 3
                      ) -> list[tuple[str, Movement]]:
    """The ``n`` material movements with the largest difference from NL (ties by key)."""
    hits = [(k, m) for k, m in items if m is not None and m.material]
    return sorted(hits, key=lambda km: (-abs(km[1].excess), km[0]))[:n]


def movement_text(m: Movement) -> str:
    """'+4,1% (Nederland +1,0%)'."""
    def pct(x: float) -> str:
        return ("+" if x > 0 else "-" if x < 0 else "±") + fmt.number(abs(100 * x), 1) + "%"
    nl = f" (Nederland {pct(m.nl_relative)})" if m.nl_relative is not None else ""
    return pct(m.relative) + nl


# --------------------------------------------------------------------------- numbers, credit

number = fmt.number  # 1234567.8 -> '1.234.567,8': the one number format of the product
value = fmt.value
PRODUCT = "Regio-economie dashboard"
CREDIT = f"Bron: CBS · {PRODUCT}"
LICENCE = "CC BY 4.0"


_TABLE_ID = re.compile(r"^\w+(NED|ned)$")


def is_table_id(name: str) -> bool:
    """A StatLine table id (81575NED, 03759ned), not a publication named in the catalogue."""
    return bool(_TABLE_ID.match(name))


def publication(name: str) -> str:
    """A CBS source that is no StatLine table (a workbook on www.cbs.nl, named in the catalogue
    in lower_snake_case) in words: 'landelijke_monitor_leegstand' -> 'Landelijke Monitor
    Leegstand'."""
    return " ".join(w.capitalize() for w in name.split("_"))


def credit_line(tables: Iterable[str] = ()) -> str:
    """'Bron: CBS · Regio-economie dashboard · CBS-tabellen 81575NED, 86088NED · CC BY 4.0';
    identical on screen, in exports and in the PDF. A source that is no StatLine table (the
    Landelijke Monitor Leegstand) is named as a CBS publication."""
    ts = list(dict.fromkeys(t for t in tables if t))
    ids = [t for t in ts if _TABLE_ID.match(t)]
    pubs = [publication(t) for t in ts if not _TABLE_ID.match(t)]
    parts = [CREDIT]
    if ids:
        parts.append(("CBS-tabel " if len(ids) == 1 else "CBS-tabellen ") + ", ".join(ids))
    if pubs:
        parts.append(("CBS-publicatie " if len(pubs) == 1 else "CBS-publicaties ")
                     + ", ".join(pubs))
    parts.append(LICENCE)
    return " · ".join(parts)


def break_notes(meta, years: Iterable[int] | None = None) -> list[str]:
    """'Trendbreuk in 2020: <what changed>' for each series break of the indicator (catalogue
    ``breaks``) that falls inside ``years`` (a break at the first year shown separates
    nothing); all breaks when ``years`` is None."""
    ys = sorted(set(years)) if years is not None else None
    return [f"Trendbreuk in {b.year}: {b.note}" for b in (getattr(meta, "breaks", None) or ())
            if ys is None or (ys and ys[0] < b.year <= ys[-1])]


# --------------------------------------------------------------------------- data source

# The words and the rule live in pipelines/notices.py: the CLI export carries the same notice.
DEMO_SOURCES = notices.DEMO_SOURCES
data_source = notices.data_source
demo_banner = notices.demo_banner
