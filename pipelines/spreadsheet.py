"""Spreadsheet-safe exports: text that Excel or LibreOffice would run as a formula is neutralised.

A CSV or XLSX cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
can be taken as a formula ("CSV injection", OWASP). CBS titles, catalogue texts and region names
are data we do not control, so every export goes through here:

- CSV (:func:`csv_safe`): such a text cell gets a leading apostrophe, as OWASP advises; the
  spreadsheet then shows the text instead of evaluating it;
- XLSX (:func:`protect_sheet`): such a cell is stored as text with Excel's own "quote prefix"
  (what Excel does when you type ``'=…``), so it displays unchanged and is never evaluated.

Numbers are never touched: a numeric cell (``-3.5``) stays a number, and a text cell that is just
a number (``"-3,5"``) is not a formula and is left alone.
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_START_RE = r"[=+\-@\t\r]"
_NUMBER_RE = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?"
_NUMBER = re.compile(_NUMBER_RE)


def is_formula_like(value) -> bool:
    return (isinstance(value, str) and value.startswith(FORMULA_START)
            and not _NUMBER.fullmatch(value))


def neutralise(value):
    """``value`` with a leading apostrophe when a spreadsheet would evaluate it; else as is."""
    return "'" + value if is_formula_like(value) else value


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or isinstance(s.dtype, (pd.StringDtype, pd.CategoricalDtype))


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with formula-like text cells (and column names) neutralised; numeric, date and
    boolean columns untouched. Returns ``df`` itself when nothing needs changing."""
    out = df
    for col in df.columns:
        s = df[col]
        if not _is_text(s):
            continue
        text = s.astype(object) if isinstance(s.dtype, pd.CategoricalDtype) else s
        danger = (text.str.match(_START_RE, na=False)
                  & ~text.str.fullmatch(_NUMBER_RE, na=False)).astype(bool)
        if danger.any():
            if out is df:
                out = df.copy()
            out[col] = text.astype(object).where(~danger, text[danger].map(lambda v: "'" + v))
    if any(is_formula_like(c) for c in df.columns):
        out = out.rename(columns=neutralise) if out is not df else df.rename(columns=neutralise)
    return out


def protect_sheet(ws) -> int:
    """Mark every formula-like text cell of an openpyxl worksheet as literal text (quote
    prefix). openpyxl stores a string starting with ``=`` as a formula: that is undone here.
    Returns the number of cells changed."""
    n = 0
    for row in ws.iter_rows():
        for cell in row:
            v = cell.value
            if isinstance(v, str) and (cell.data_type == "f" or is_formula_like(v)):
                cell.data_type = "s"
                cell.quotePrefix = True
                n += 1
    return n
