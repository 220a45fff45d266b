"""Dutch number, unit, period and date formatting. Pure functions, no streamlit."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pipelines.catalog import LEVEL_NAMES

MISSING = "geen gegevens"
TZ = ZoneInfo("Europe/Amsterdam")
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
          "september", "oktober", "november", "december")
STATUS = {"Definitief": "definitief", "Voorlopig": "voorlopig", "Nader voorlopig": "nader voorlopig"}
_QUARTER = re.compile(r"^(\d{4})KW0?([1-4])$")
_MONTH = re.compile(r"^(\d{4})MM(0[1-9]|1[0-2])$")


def is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def number(value, decimals: int = 0) -> str:
    """1234.5 -> '1.234,5'; missing -> 'geen gegevens'. Uses a real minus sign."""
    if is_missing(value):
        return MISSING
    decimals = max(0, int(decimals or 0))
    text = f"{abs(float(value)):,.{decimals}f}".translate(str.maketrans(",.", ".,"))
    if float(text.replace(".", "").replace(",", ".")) == 0:
        return text  # no "-0,0"
    return ("−" if float(value) < 0 else "") + text


def value(v, unit: str | None, decimals: int = 0, *, short: bool = False) -> str:
    """A value with its unit: '12,3%', '€ 45.678', '12,3 per 1.000 inwoners', '1.234'.
    ``short`` leaves out long units (where a label already says 'per 1.000 inwoners')."""
    if is_missing(v):
        return MISSING
    n = number(v, decimals)
    if unit == "%":
        return f"{n}%"
    if unit == "euro":
        return f"€ {n}"
    if unit and unit != "aantal" and not short:
        return f"{n} {unit}"
    return n


def change(delta, unit: str | None, decimals: int = 0) -> str:
    """A signed change: '+1,2 %-punt', '-3.400', '+€ 1.200'. ASCII sign, so st.metric reads it."""
    if is_missing(delta):
        return MISSING
    d = float(delta)
    sign = "+" if d > 0 else "-" if d < 0 else "±"
    n = number(abs(d), decimals)
    if unit == "%":
        return f"{sign}{n} %-punt"
    if unit == "euro":
        return f"{sign}€ {n}"
    return f"{sign}{n}"


def titled(title: str, unit: str | None) -> str:
    """A figure's title that says its unit where the value alone does not: 'Bevolkingsdichtheid
    (per km²)' (short: it must fit a card and a line of the briefing's table); a title that
    already names it ('Vestigingen per 1.000 inwoners'), and units a value shows itself (%,
    euro) or needs none for (aantal), stay as they are."""
    if not unit or unit in ("%", "euro", "aantal"):
        return title
    per = unit[unit.index("per "):] if "per " in unit else unit
    return title if per.lower() in title.lower() else f"{title} ({per})"


def unit_label(unit: str | None) -> str:
    return {"%": "%", "euro": "euro", "aantal": "aantal"}.get(unit or "", unit or "")


def period(p: str | None) -> str:
    """'2024' -> '2024'; '2020KW01' -> '2020 1e kwartaal'."""
    if not p:
        return MISSING
    m = _QUARTER.match(str(p))
    if m:
        return f"{m.group(1)} {m.group(2)}e kwartaal"
    m = _MONTH.match(str(p))
    if m:
        return f"{MONTHS[int(m.group(2)) - 1]} {m.group(1)}"
    return str(p)


def status(s: str | None) -> str:
    return STATUS.get(str(s), str(s).lower()) if s else ""


def period_status(p: str | None, s: str | None) -> str:
    """'2024 (voorlopig)'; definitive figures get no suffix."""
    label = period(p)
    if s and s != "Definitief" and str(s).lower() != "onbekend":  # no status is no warning
        label += f" ({status(s)})"
    return label


def _parse_dt(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        dt = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(TZ)


def date(ts: str | None) -> str:
    """ISO timestamp -> '24 november 2026' (Amsterdam time)."""
    dt = _parse_dt(ts)
    return f"{dt.day} {MONTHS[dt.month - 1]} {dt.year}" if dt else MISSING


def datetime_nl(ts: str | None) -> str:
    """ISO timestamp -> '24 november 2026, 15:03' (Amsterdam time)."""
    dt = _parse_dt(ts)
    return f"{date(ts)}, {dt:%H:%M}" if dt else MISSING


def region_label(name: str, level: str) -> str:
    """Add the level where a plain name is ambiguous: 'Groningen (provincie)'."""
    if level in ("GM", "NL") or not level:
        return str(name)
    return f"{name} ({LEVEL_NAMES.get(level, level)})"


def rank(pos, total) -> str:
    if is_missing(pos) or not total:
        return MISSING
    return f"{int(pos)} van {int(total)}"


def verdict(delta, higher_is_better: bool | None) -> str:
    """A change in words, so its colour is never the only clue: 'gunstig', 'ongunstig' or
    'gelijk'; '' when the change is missing or the indicator has no favourable direction."""
    if is_missing(delta) or higher_is_better is None:
        return ""
    if float(delta) == 0:
        return "gelijk"
    return "gunstig" if (float(delta) > 0) == bool(higher_is_better) else "ongunstig"
