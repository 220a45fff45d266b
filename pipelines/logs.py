"""Logging for two readers: one JSON object per line for the nightly job (monitoring reads it),
and, for a person at a terminal, progress bars and a few plain lines.

``--log-format json`` (or ``auto`` when stderr is not a terminal): every record is a JSON object
with its fields, including the detail lines (one ``request`` line per HTTP request, so a long
fetch shows it moves; ``downloading`` with the full query). ``--log-format text`` (or ``auto`` on
a terminal): a progress bar per table while it downloads (:func:`progress`, tqdm, on stderr;
none when stderr is not a terminal), one line per table when it is done, warnings, and a summary;
detail lines (:func:`detail`) only at DEBUG. A record may carry its own wording for people
(``extra={"_text": ...}``); fields starting with ``_`` never reach the JSON.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

_STD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def _extra(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STD and not k.startswith("_")}


def detail(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    """A line for the machine log that a person at a terminal does not need (the progress bars
    or a summary line say it): JSON mode writes it as always, text mode only at DEBUG."""
    logger.log(level, msg, extra={**fields, "_detail": True})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
               "logger": record.name, "msg": record.getMessage(), **_extra(record)}
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``_text`` when the record has one, else the message and its fields; INFO without a level
    word (the normal case), anything else with it (a detail line as DEBUG)."""

    def format(self, record: logging.LogRecord) -> str:
        text = getattr(record, "_text", None)
        if text is None:
            extra = " ".join(f"{k}={v}" for k, v in _extra(record).items()
                             if v not in (None, ""))
            text = record.getMessage() + (f"  {extra}" if extra else "")
        if getattr(record, "_detail", False):
            return f"{'DEBUG':<7} {text}"
        return text if record.levelno == logging.INFO else f"{record.levelname:<7} {text}"


class _BarSafeHandler(logging.StreamHandler):
    """Writes through ``tqdm.write``, so a line lands above the progress bars, not inside one."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=self.stream)
            self.flush()
        except Exception:  # noqa: BLE001 - logging must never raise (logging's own convention)
            self.handleError(record)


class _Mode:
    people = False  # text mode: bars and plain lines
    stream: Any = sys.stderr


_mode = _Mode()


def setup(fmt: str = "auto", level: str = "INFO") -> None:
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    _mode.people, _mode.stream = fmt == "text", sys.stderr
    if _mode.people:
        handler: logging.Handler = _BarSafeHandler(sys.stderr)
        handler.setFormatter(TextFormatter())
        handler.addFilter(_for_people)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    handler.addFilter(_cbsodata_chatter)
    handler.set_name("pipelines")
    root = logging.getLogger()
    # drop our earlier handler and the plain one logging.basicConfig adds when cbsodata logs at
    # import time; keep others (e.g. pytest's capture handlers)
    keep = [h for h in root.handlers
            if h.get_name() != "pipelines" and type(h) is not logging.StreamHandler]
    root.handlers[:] = keep + [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "requests"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _for_people(record: logging.LogRecord) -> bool:
    """Text mode: detail lines are DEBUG lines there."""
    if getattr(record, "_detail", False):
        return logging.getLogger().isEnabledFor(logging.DEBUG)
    return True


def _cbsodata_chatter(record: logging.LogRecord) -> bool:
    """cbsodata logs on the root logger: 'Download <url>' per page (cbs.py logs every request
    itself, with the table) and option changes ('Setting ...'). Drop both."""
    if record.name != "root":
        return True
    msg = record.getMessage()
    return not (msg.startswith("Setting '") or msg.startswith("Download "))


# --------------------------------------------------------------------------- progress bars

class TableBar:
    """One table's bar: the rows of its data received so far and the entity last asked for.
    Does nothing when nobody watches."""

    def __init__(self, bar: tqdm | None):
        self._bar = bar

    def page(self, entity: str, rows: int | None, data: bool) -> None:
        if self._bar is None:
            return
        if data and rows:
            self._bar.update(rows)
        self._bar.set_postfix_str(entity or "", refresh=False)


class Progress:
    """Bars on stderr while tables download, for a person at a terminal: one over all tables
    (the only one with a known end) and one per table being fetched (rows so far; CBS does not
    say how many will come). In JSON mode, or when stderr is not a terminal, there are none and
    every call is free."""

    def __init__(self, desc: str, total: int):
        self._on = _mode.people and total > 0
        self._overall = self._bar(desc=desc, total=total, unit=" tables", leave=False,
                                  position=0) if self._on else None

    def _bar(self, **kw: Any) -> tqdm:
        return tqdm(file=_mode.stream, disable=None, dynamic_ncols=True, mininterval=0.25, **kw)

    @contextmanager
    def table(self, table: str) -> Iterator[TableBar]:
        bar = self._bar(desc=f"{table:<10}", unit=" rows", leave=False) if self._on else None
        try:
            yield TableBar(bar)
        finally:
            if bar is not None:
                bar.close()
            if self._overall is not None:
                self._overall.update(1)

    def close(self) -> None:
        if self._overall is not None:
            self._overall.close()


@contextmanager
def progress(desc: str, total: int) -> Iterator[Progress]:
    bars = Progress(desc, total)
    try:
        yield bars
    finally:
        bars.close()
