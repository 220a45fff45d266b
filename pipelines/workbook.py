"""A workbook CBS publishes on www.cbs.nl -> the shapes of an OData table. Pure: no network.

The Landelijke Monitor Leegstand is no StatLine table but an Excel file linked from a landing
page ("maatwerk"). The catalogue describes its layout (:class:`pipelines.catalog.FileSource`);
this module reads one edition with openpyxl and returns what an OData v3 fetch returns -
``DataProperties``, one list per dimension, ``RegioS``, ``Perioden`` and ``TypedDataSet`` - so
the query, the raw stage, the transform, the checks and the snapshot treat it as any table.

How the workbook is read, and why:

- **The header row is found by its column names**, on any sheet (or the sheets the catalogue
  names): CBS puts title rows, notes and other tables around the data, and moves them between
  editions. Names are compared with spaces and case ignored. Rows without a year in the period
  column (titles, footnotes, empty rows) are not data.
- **Each row's region** is the first level whose column the row fills (a gemeente row also names
  its provincie, so ``GM`` comes first); codes get their level's prefix when CBS gives digits
  only (``363`` -> ``GM0363``). The codes follow the edition's gemeente-indeling; the pipeline's
  herindeling harmonisation puts them on today's gemeenten like any table's.
- **"." (CBS: secret or unknown) becomes a missing value with that reason**, in a
  ``<measure>@reason`` column (as OData v4's ValueAttribute), so the dashboard says why a cell is
  empty. Any other text in a number column means the layout changed: the file is refused.
- **A workbook that does not fit is refused with one line** naming the file, the sheet and what
  is missing (a renamed column, a gebruiksfunctie that is not there, duplicate rows):
  :class:`WorkbookError`. The pipeline then keeps the table's last good data.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from .catalog import FileSource, _norm

HEADER_SCAN_ROWS = 60  # the header is expected among a sheet's first rows (title rows above)
MISSING_REASON = "geheim of onbekend: het CBS publiceert dit cijfer niet (‘{marker}’ in het werkboek)"
EMPTY_REASON = "leeg in het werkboek van het CBS"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PREFIX_WIDTH = {"GM": 4, "PV": 2, "CR": 2, "AM": 2, "LD": 2}
_YEAR = re.compile(r"^\s*(\d{4})(\s*\*)?\s*$")
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


class WorkbookError(ValueError):
    """The workbook does not have the catalogue's layout. ``kind``: missing_measure (a column
    is missing or renamed), missing_category (a category is not there) or invalid (not a
    workbook, a cell that is neither a number nor a missing-value marker, duplicate rows)."""

    def __init__(self, message: str, kind: str = "invalid"):
        super().__init__(message)
        self.kind = kind


# --------------------------------------------------------------------------- the landing page

class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href.strip())


def links(html: str, base: str) -> list[str]:
    """Absolute URLs of the page's links, in document order, without repeats."""
    parser = _Links()
    parser.feed(html)
    return list(dict.fromkeys(urljoin(base, h) for h in parser.hrefs))


def file_name(url: str) -> str:
    """The file name a URL ends in (``Leegstandsmonitor_2025.xlsx``), %-escapes decoded."""
    return PurePosixPath(unquote(urlsplit(url).path)).name


def workbook_links(html: str, base: str, pattern: str) -> tuple[list[str], list[str]]:
    """(links whose file name matches ``pattern``, every .xlsx link) of a landing page."""
    found = [u for u in links(html, base) if file_name(u).lower().endswith(".xlsx")]
    rx = re.compile(pattern)
    return [u for u in found if rx.search(file_name(u))], found


def is_workbook(content: bytes) -> bool:
    """An .xlsx is a zip archive: a body cut off in transfer is not one."""
    return zipfile.is_zipfile(io.BytesIO(content))


# --------------------------------------------------------------------------- the workbook

@dataclass
class Parsed:
    """One edition read: the OData-shaped entities and where the data were found."""

    entities: dict[str, list]
    sheet: str
    header_row: int
    rows: int
    skipped: int = 0  # rows with a year but no region the catalogue knows (e.g. other levels)
    extra_categories: dict[str, list[str]] = field(default_factory=dict)


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return " ".join(str(v).split())


def _header(ws, wanted: tuple[str, ...]) -> tuple[int, dict[str, int], list[str]]:
    """(row number, {column: index}, missing columns) of the sheet's best header candidate."""
    norm = {_norm(c): c for c in wanted}
    best: tuple[int, dict[str, int], list[str]] = (0, {}, list(wanted))
    for n, row in enumerate(ws.iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True), start=1):
        found: dict[str, int] = {}
        for i, v in enumerate(row):
            col = norm.get(_norm(v)) if isinstance(v, str) else None
            if col is not None and col not in found:
                found[col] = i
        if len(found) > len(best[1]):
            best = (n, found, [c for c in wanted if c not in found])
            if not best[2]:
                break
    return best


def _region(row, idx: dict[str, int], src: FileSource) -> tuple[str, str] | None:
    for r in src.regions:
        if r.value is not None:  # Nederland: a column holding a fixed text
            if _norm(_cell_text(row[idx[r.name]])) == _norm(r.value):
                return "NL01", "Nederland"
            continue
        code = _cell_text(row[idx[r.code]])
        if not code:
            continue
        if code.isdigit():
            code = r.level + code.zfill(_PREFIX_WIDTH.get(r.level, 2))
        code = code.upper()
        name = _cell_text(row[idx[r.name]]) if r.name else code
        return code, name or code
    return None


def _number(v, markers: tuple[str, ...]) -> tuple[float | None, str | None]:
    """(value, reason when missing); raises ValueError for text that is neither."""
    if v is None:
        return None, EMPTY_REASON
    if isinstance(v, bool):
        raise ValueError(repr(v))
    if isinstance(v, int | float):
        return float(v), None
    text = str(v).strip()
    if not text:
        return None, EMPTY_REASON
    if text in markers:
        return None, MISSING_REASON.format(marker=text)
    if _NUMBER.match(text):
        return float(text.replace(",", ".")), None
    raise ValueError(repr(text))


def _sheets(wb, src: FileSource):
    rx = re.compile(src.sheet) if src.sheet else None
    return [ws for ws in wb.worksheets if rx is None or rx.search(ws.title)]


def parse(content: bytes, name: str, src: FileSource, edition: int) -> Parsed:
    """Read one edition of ``src`` (``name``: the file name, for messages). Raises
    :class:`WorkbookError` naming file, sheet and what does not fit."""
    import openpyxl  # only the pipeline reads workbooks; the dashboard never imports this

    try:
        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise WorkbookError(f"{name}: not an Excel workbook ({type(exc).__name__}: {exc})") \
            from None
    try:
        return _parse(wb, name, src, edition)
    finally:
        wb.close()


def _parse(wb, name: str, src: FileSource, edition: int) -> Parsed:
    wanted = src.header
    sheets = _sheets(wb, src)
    if not sheets:
        raise WorkbookError(f"{name}: no sheet matches {src.sheet!r} (sheets: "
                            f"{', '.join(repr(s) for s in wb.sheetnames)})", "missing_measure")
    best = None
    for ws in sheets:
        row, idx, missing = _header(ws, wanted)
        if not missing:
            return _rows(ws, row, idx, name, src, edition)
        if best is None or len(idx) > len(best[2]):
            best = (ws.title, row, idx, missing)
    title, row, idx, missing = best
    if not idx:
        raise WorkbookError(f"{name}: no sheet has a header row with the columns of {src.name} "
                            f"({', '.join(wanted[:4])}, ...); sheets: "
                            f"{', '.join(repr(s) for s in wb.sheetnames)}", "missing_measure")
    raise WorkbookError(f"{name}, sheet {title!r}: the header (row {row}) has no column "
                        + ", ".join(repr(c) for c in missing)
                        + " (renamed or removed?)", "missing_measure")


def _rows(ws, header_row: int, idx: dict[str, int], name: str, src: FileSource,
          edition: int) -> Parsed:
    where = f"{name}, sheet {ws.title!r}"
    width = max(idx.values()) + 1
    typed, seen = [], {}
    regions: dict[str, str] = {}
    periods: dict[str, str] = {}
    cats: dict[str, dict[str, str]] = {d.name: {} for d in src.dimensions}
    extra: dict[str, dict[str, None]] = {d.name: {} for d in src.dimensions}
    skipped = 0
    for n, row in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True),
                            start=header_row + 1):
        row = tuple(row) + (None,) * max(0, width - len(row))
        m = _YEAR.match(_cell_text(row[idx[src.period]]))
        if not m:
            continue  # a title, note, footnote or empty row
        region = _region(row, idx, src)
        if region is None:
            skipped += 1
            continue
        code, region_name = region
        year = int(m.group(1))
        period = f"{year}JJ00"
        periods.setdefault(period, "Voorlopig" if m.group(2) else "Definitief")
        regions.setdefault(code, region_name)
        rec: dict = {"ID": len(typed)}
        for d in src.dimensions:
            label = _cell_text(row[idx[d.column]])
            cat = next((c for c in d.categories if c.matches(label)), None)
            key = cat.key if cat else label
            if cat is None:
                extra[d.name][label] = None
            cats[d.name].setdefault(key, label)
            rec[d.name] = key
        rec["RegioS"], rec["Perioden"] = code, period
        key = (code, period, *(rec[d.name] for d in src.dimensions))
        if key in seen:
            raise WorkbookError(f"{where}: rows {seen[key]} and {n} are both {code} {year} "
                                + " ".join(str(k) for k in key[2:]) + " (duplicate rows)")
        seen[key] = n
        for meas in src.measures:
            col = idx[meas.column]
            try:
                value, reason = _number(row[col], src.missing)
            except ValueError as exc:
                raise WorkbookError(f"{where}, cell {_cell_ref(n, col)} ({meas.column}): {exc} "
                                    "is neither a number nor CBS's missing-value marker "
                                    f"({', '.join(repr(x) for x in src.missing)})") from None
            rec[meas.key] = value
            if reason:
                rec[meas.key + "@reason"] = reason
        typed.append(rec)
    if not typed:
        raise WorkbookError(f"{where}: no data rows under the header (row {header_row})")
    for d in src.dimensions:
        absent = [c.label for c in d.categories if c.key not in cats[d.name]]
        if absent:
            raise WorkbookError(f"{where}: column {d.column!r} has no "
                                + ", ".join(repr(a) for a in absent)
                                + f" (found: {', '.join(sorted(cats[d.name].values()))})",
                                "missing_category")
    return Parsed(_entities(src, edition, typed, regions, periods, cats), ws.title, header_row,
                  len(typed), skipped, {k: list(v) for k, v in extra.items() if v})


def _cell_ref(row: int, col: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(col + 1)}{row}"


def _entities(src: FileSource, edition: int, typed: list[dict], regions: dict[str, str],
              periods: dict[str, str], cats: dict[str, dict[str, str]]) -> dict[str, list]:
    props: list[dict] = []

    def prop(kind: str, key: str, title: str, **extra) -> None:
        props.append({"ID": len(props), "Position": len(props), "Type": kind, "Key": key,
                      "Title": title, **extra})

    for d in src.dimensions:
        prop("Dimension", d.name, d.column)
    prop("GeoDimension", "RegioS", "Regio's", MapYear=str(edition))
    prop("TimeDimension", "Perioden", "Perioden")
    for m in src.measures:
        prop("Topic", m.key, m.column, Unit=m.unit, Decimals=m.decimals,
             Datatype="Double" if m.decimals else "Long")
    out: dict[str, list] = {"DataProperties": props}
    for d in src.dimensions:
        out[d.name] = [{"Key": k, "Title": t} for k, t in cats[d.name].items()]
    out["RegioS"] = [{"Key": k, "Title": t} for k, t in sorted(regions.items())]
    out["Perioden"] = [{"Key": p, "Title": p[:4], "Status": s} for p, s in sorted(periods.items())]
    out["TypedDataSet"] = typed
    return out
