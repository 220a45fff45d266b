"""Download builders: CSV and Excel bytes (with a 'Bronnen' sheet). Pure, no streamlit.

Both are spreadsheet-safe (``pipelines.spreadsheet``): text that a spreadsheet would evaluate as a
formula is neutralised; numbers stay numbers."""

from __future__ import annotations

import io
import re

import pandas as pd

from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from pipelines import notices
from pipelines.snapshot import Manifest
from pipelines.spreadsheet import csv_safe, protect_sheet

STATLINE = "https://opendata.cbs.nl/statline/#/CBS/nl/dataset/{table}/table"
LICENCE = f"{pr.credit_line()} (https://creativecommons.org/licenses/by/4.0/deed.nl)"
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def statline_url(table: str) -> str:
    return STATLINE.format(table=table)


def source_url(manifest: Manifest, table: str) -> str:
    """Where a reader finds the source: the StatLine page of a table, or for a CBS publication
    that is no table (the Landelijke Monitor Leegstand workbook) the landing page of the edition
    the snapshot was built from."""
    info = manifest.tables.get(table)
    page = getattr(info, "page", None) if info is not None else None
    return page or statline_url(table)


def tables_of(cbs_table: str | None) -> list[str]:
    """'81575NED+86088NED' -> ['81575NED', '86088NED']."""
    return [t for t in str(cbs_table or "").split("+") if t]


def sources_frame(manifest: Manifest, indicator_ids: list[str]) -> pd.DataFrame:
    """One row per (indicator, CBS table): what a figure rests on and where to find it."""
    metas = {m.id: m for m in manifest.indicators}
    rows = []
    for iid in indicator_ids:
        m = metas.get(iid)
        if not m:
            continue
        for t in m.tables:
            info = manifest.tables.get(t)
            rows.append({
                "indicator": iid, "titel": m.title, "eenheid": m.unit,
                "definitie": m.description, "berekening": m.formula or "",
                "CBS-tabel": t, "tabeltitel": info.title if info else None,
                "StatLine": source_url(manifest, t),
                "CBS gewijzigd": info.modified if info else None,
                "opgehaald": info.fetched_at if info else None,
            })
    out = pd.DataFrame(rows)
    notice = demo_notice(manifest)
    footer = pd.DataFrame([*([{"indicator": "", "titel": notice}] if notice else []),
                           {"indicator": "", "titel": LICENCE},
                           {"indicator": "", "titel": f"Snapshot {manifest.snapshot_id}, "
                            f"gepubliceerd {fmt.datetime_nl(manifest.published_at)}"}])
    return pd.concat([out, footer], ignore_index=True)


def rounded(df: pd.DataFrame, columns: list[str], decimals: int | pd.Series) -> pd.DataFrame:
    """``columns`` rounded to the indicator's decimals (one number for the frame, or one per row
    as a Series): a computed figure (a ratio, a median) is not more precise than what it is
    computed from, and a download shows no 13 decimals. Missing stays missing; other columns
    are untouched."""
    out = df.copy()
    for col in columns:
        if col not in out.columns:
            continue
        values = pd.to_numeric(out[col], errors="coerce")
        if isinstance(decimals, pd.Series):
            dec = decimals.reindex(out.index).fillna(0).astype(int)
            out[col] = [round(v, d) if pd.notna(v) else v for v, d in zip(values, dec, strict=True)]
            out[col] = pd.to_numeric(out[col], errors="coerce")
        else:
            out[col] = values.round(int(decimals or 0))
    return out


# the notice of a download from a demo snapshot: shared with the CLI export (pipelines/notices.py)
DEMO_COLUMN = notices.DEMO_COLUMN
demo_notice = notices.demo_notice
with_notice = notices.with_notice


def to_csv(df: pd.DataFrame) -> bytes:
    """Semicolon-separated with decimal commas and a BOM: opens correctly in Dutch Excel.
    Missing values stay empty (never 0); formula-like text gets a leading apostrophe. Lines end
    in CRLF (RFC 4180), so a carriage return inside a text is quoted, not a row break."""
    return csv_safe(df).to_csv(index=False, sep=";", decimal=",",
                               lineterminator="\r\n").encode("utf-8-sig")


def _sheet_name(name: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub(" ", name).strip()[:31] or "Blad"
    out, n = base, 1
    while out in used:
        n += 1
        out = f"{base[:28]} {n}"
    used.add(out)
    return out


def to_excel(sheets: dict[str, pd.DataFrame], sources: pd.DataFrame) -> bytes:
    """An .xlsx with one sheet per frame plus 'Bronnen'. Missing values are empty cells;
    formula-like text is stored as literal text (never a live formula)."""
    buf = io.BytesIO()
    used: set[str] = set()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in sheets.items():
            sheet = _sheet_name(name, used)
            df.to_excel(xw, sheet_name=sheet, index=False)
            _autofit(xw.sheets[sheet], df)
        src = _sheet_name("Bronnen", used)
        sources.to_excel(xw, sheet_name=src, index=False)
        _autofit(xw.sheets[src], sources)
    return buf.getvalue()


def _autofit(ws, df: pd.DataFrame) -> None:
    protect_sheet(ws)
    ws.freeze_panes = "A2"
    for i, col in enumerate(df.columns, start=1):
        width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200)])
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(60, width + 2)


SELECTION_COLUMNS = {"code": "code", "regio": "regio", "indicator": "indicator",
                     "titel": "titel", "eenheid": "eenheid", "periode": "periode",
                     "waarde": "waarde", "status": "status", "CBS-tabel": "CBS-tabel",
                     "kwaliteit": "kwaliteit"}


def selection_export(frame: pd.DataFrame) -> pd.DataFrame:
    """The workbench download (compute.selection_frame): exactly the selected gemeenten x
    indicators at their period, plus the selection's median and Nederland as reference rows;
    each value rounded to its indicator's decimals, with unit, period, status, source table,
    quality mark and the credit line (naming that row's CBS table) on every row, so that a
    copied part still carries it."""
    out = rounded(frame, ["waarde"], frame["decimalen"]) if len(frame) else frame.copy()
    out = out[list(SELECTION_COLUMNS)].rename(columns=SELECTION_COLUMNS)
    out["bron"] = [pr.credit_line(tables_of(t)) for t in frame["CBS-tabel"]]
    return out.reset_index(drop=True)
