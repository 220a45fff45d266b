"""The run history: ``runs.jsonl`` in the data folder, one JSON record per pipeline run.

Written by the refresh (and ``rollback``); read by ``python -m pipelines status`` and by the
dashboard (its footer judges freshness by the last successful check at CBS, "Over de data" lists
the recent runs). Standard library only, so the dashboard reads it without network code.

A record is appended with one ``write`` and fsynced; a line cut off by a crash is skipped when
read, the records before and after it stay readable.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from .fileio import writing

RUNS = "runs.jsonl"


def append_run(root: Path, record: dict) -> None:
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with writing(root / RUNS):
        root.mkdir(parents=True, exist_ok=True)
        with open(root / RUNS, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


def read_runs(root: Path, last: int | None = None) -> list[dict]:
    try:
        lines = (root / RUNS).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    runs = []
    for ln in lines:
        with contextlib.suppress(ValueError):
            runs.append(json.loads(ln))  # a line cut by a crash is skipped
    return runs[-last:] if last else runs


CHECKED_OUTCOMES = ("ok", "noop")


def last_successful_check(runs: list[dict]) -> str | None:
    """When the data were last confirmed current at CBS: the end of the newest full refresh (not
    ``--only``) that checked every table and published or found nothing new ("ok", "noop").
    Freshness is judged by this, not by the publish date: quiet nights at CBS are fresh nights."""
    for r in reversed(runs):
        if (r.get("outcome") in CHECKED_OUTCOMES and not r.get("only")
                and str(r.get("command") or "refresh").startswith("refresh")):
            return r.get("ended") or r.get("started")
    return None
