"""Structured logging: one JSON object per line for the nightly job, readable text on a terminal."""

from __future__ import annotations

import json
import logging
import sys

_STD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def _extra(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
               "logger": record.name, "msg": record.getMessage(), **_extra(record)}
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _extra(record).items() if v not in (None, ""))
        return f"{record.levelname:<7} {record.getMessage()}" + (f"  {extra}" if extra else "")


def setup(fmt: str = "auto", level: str = "INFO") -> None:
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_cbsodata_progress)
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


def _cbsodata_progress(record: logging.LogRecord) -> bool:
    """cbsodata logs each page it requests as 'Download <url>' on the root logger: keep those as
    progress lines (one per page, so long fetches show they move); drop its option-change chatter."""
    if record.name != "root":
        return True
    msg = record.getMessage()
    if msg.startswith("Setting '"):
        return False
    if msg.startswith("Download "):
        url = msg[len("Download "):]
        record.msg, record.args = "request", ()
        record.url = url.split("?")[0] + (" (next page)" if "skip=" in url else "")
    return True
