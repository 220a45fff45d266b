"""Yearly table editions: measure keys per edition, and spotting an edition the catalogue lacks.
CBS publishes some tables as a new table every year (Gebieden in Nederland 2024 = 85755NED, 2025
= 86059NED; Kerncijfers wijken en buurten 2023 = 85618NED, 2024 = 85984NED). Their measure keys
keep a stable stem but the numeric suffix shifts (``Bevolkingsdichtheid_34`` in one edition,
``Bevolkingsdichtheid_33`` in another), so the catalogue names the stem and each edition's
DataProperties say which key it is. Pure functions: the CBS listing is passed in.

A workbook CBS publishes as a file finds its newer editions itself, on www.cbs.nl
(``CbsFileClient`` in pipelines/cbs.py); :func:`message` words both kinds.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .catalog import Series


class EditionError(ValueError):
    """A stem that matches no measure, or more than one, in an edition's DataProperties."""


def _norm(text: str) -> str:
    return " ".join(str(text or "").split()).casefold()


def resolve_measure(stem: str, properties: list[dict], table: str) -> str:
    """The measure key of ``stem`` in one edition: the key itself when it exists, else the one
    Topic named ``<stem>_<n>``, else the one Topic whose Title is ``stem`` (spaces and case
    ignored). Raises :class:`EditionError` naming the table when none or several match."""
    topics = [p for p in properties if p.get("Type") == "Topic" and p.get("Key")]
    keys = [p["Key"] for p in topics]
    if stem in keys:
        return stem
    pattern = re.compile(rf"^{re.escape(stem)}_\d+$")
    found = [k for k in keys if pattern.match(k)]
    if not found:
        found = [p["Key"] for p in topics if _norm(p.get("Title")) == _norm(stem)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise EditionError(f"{table}: no measure {stem!r} (as key, {stem}_<n> or title) in its "
                           "DataProperties: check the catalogue")
    raise EditionError(f"{table}: measure stem {stem!r} is ambiguous ({', '.join(found)}); "
                       "use a stem that names one measure")


def title_pattern(series: Series) -> re.Pattern:
    """``Gebieden in Nederland {year}`` -> a regex matching CBS titles (spaces and case ignored),
    capturing the year."""
    head, _, tail = series.title.partition("{year}")
    words = [r"\s+".join(map(re.escape, part.split())) for part in (head, tail)]
    rx = (r"^\s*" + (words[0] + r"\s*" if words[0] else "") + r"(?P<year>\d{4})"
          + (r"\s*" + words[1] if words[1] else "") + r"\s*$")
    return re.compile(rx, re.IGNORECASE)


def search_text(series: Series) -> str:
    """The fixed words of the title, for a catalogue query (CBS filters on a substring)."""
    head, _, tail = series.title.partition("{year}")
    return (head.strip() or tail.strip())


def editions_in_listing(series: Series, listing: list[dict]) -> dict[int, dict]:
    """Year -> catalogue record of every edition of the series in a CBS catalogue listing
    (v3 ODataCatalog/Tables or v4 Datasets: Identifier, Title, Modified, ...)."""
    pat = title_pattern(series)
    out: dict[int, dict] = {}
    for rec in listing:
        m = pat.match(str(rec.get("Title") or ""))
        if m and rec.get("Identifier"):
            out[int(m.group("year"))] = rec
    return out


def new_editions(series: Series, listing: list[dict]) -> list[dict]:
    """Editions CBS lists that are newer than the newest one the catalogue uses:
    [{series, year, table, title, modified}], oldest first."""
    found = editions_in_listing(series, listing)
    return [{"series": series.name, "year": y, "table": str(r["Identifier"]),
             "title": r.get("Title"), "modified": r.get("Modified")}
            for y, r in sorted(found.items()) if y > series.latest
            and str(r["Identifier"]).upper() not in {t.upper() for t in series.tables}]


def message(new: dict) -> str:
    if new.get("url"):  # a file source: found on www.cbs.nl and already used
        path = urlsplit(str(new["url"])).path or str(new["url"])
        return (f"CBS has published {new['title']!r} (edition {new['year']}) at {new['url']}; "
                "the refresh uses it (its data pass the same checks), but the catalogue does "
                f"not list it yet: add '{new['year']}: {{page: {path}, verified: true}}' under "
                f"tables.{new['series']}.editions in indicators.yaml once you have checked it")
    return (f"CBS has published {new['title']!r} ({new['table']}, edition {new['year']}) that the "
            f"catalogue does not use yet: add '{new['year']}: {new['table']}' under "
            f"tables.{new['series']}.editions in indicators.yaml")


def check_series(client, series: Series) -> list[dict]:
    """Ask the CBS catalogue of the series' api (one filtered request) for newer editions."""
    listing = client.for_api(series.api).catalogue(search_text(series))
    return new_editions(series, listing)
