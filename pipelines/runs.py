"""The run history: ``runs.jsonl`` in the data folder, one JSON record per pipeline run.

Written by the refresh (also when another refresh holds the lock: outcome "locked") and by
``rollback``; read by ``python -m pipelines status`` and by the dashboard (its footer judges
freshness by the last successful check at CBS, "Over de data" lists the recent runs). Standard
library only, so the dashboard reads it without network code.

The history is a log for people, never a reason for a page or ``status`` to fail, so reading it
can never break:

- a line that is not UTF-8, not JSON, or not a record of the expected shape (an object whose
  ``started``/``ended``/``outcome``/... are text) is skipped with a warning that names the file
  and the line; the records before and after it stay readable;
- a history that cannot be read at all (permission denied, a folder in its place) reads as no
  runs, with a warning naming the file;
- a record is appended with one ``write`` and fsynced, and starts on a line of its own: after a
  line cut off by a crash (no final newline) a newline is written first, so the new record does
  not stick to the damaged one and vanish with it.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from .fileio import writing

log = logging.getLogger(__name__)

RUNS = "runs.jsonl"
# fields the readers format or compare as text: a record with another type there is skipped
TEXT_FIELDS = ("run_id", "started", "ended", "outcome", "command", "snapshot_id", "error")


def append_run(root: Path, record: dict) -> None:
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    path = root / RUNS
    with writing(path):
        root.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as fh:  # appends always go to the end, whatever we read
            if fh.seek(0, os.SEEK_END) > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":  # the last line was cut off: start on a new one
                    line = b"\n" + line
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


@dataclass
class History:
    """What :func:`load` read: the good records (oldest first) and, per line or for the whole
    file, why something was skipped (``"<path>:<line>: ..."``)."""

    path: Path
    runs: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def load(root: Path) -> History:
    """Every readable record of ``root/runs.jsonl``; never raises. A missing file is no
    history (no problem); anything else that cannot be read is a problem naming the file."""
    path = root / RUNS
    hist = History(path)
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return hist
    except OSError as exc:
        hist.problems.append(f"{path}: cannot be read ({exc.strerror or exc}); "
                             "no run history shown")
        return hist
    for n, raw in enumerate(body.split(b"\n"), start=1):
        if not raw.strip():
            continue
        why = None
        try:
            rec = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            why = f"not UTF-8 (byte {exc.start + 1})"
        except ValueError:
            why = "not a JSON record (cut off by a crash?)"
        else:
            why = _shape_problem(rec)
        if why:
            hist.problems.append(f"{path}:{n}: {why}; line skipped")
        else:
            hist.runs.append(rec)
    return hist


def _shape_problem(rec) -> str | None:
    if not isinstance(rec, dict):
        return f"a JSON {type(rec).__name__}, not a run record"
    bad = [k for k in TEXT_FIELDS if rec.get(k) is not None and not isinstance(rec[k], str)]
    if bad:
        return f"field(s) {', '.join(bad)} not text"
    if rec.get("tables") is not None and not (
            isinstance(rec["tables"], dict)
            and all(isinstance(t, dict) for t in rec["tables"].values())):
        return "field tables is not a mapping of table records"
    return None


def read_runs(root: Path, last: int | None = None) -> list[dict]:
    """The readable records, oldest first (the ``last`` ones); each skipped line is logged as a
    warning naming the file and the line."""
    hist = load(root)
    for p in hist.problems:
        log.warning(f"run history: {p}", extra={"path": str(hist.path)})
    return hist.runs[-last:] if last else hist.runs


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
