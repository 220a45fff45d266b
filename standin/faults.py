"""Injected faults: the ways CBS fails that the pipeline must survive, made to happen on demand.

A :class:`Fault` names a kind (:data:`FAULT_KINDS`), the table and entity it applies to (matched
case-insensitively on what the dialect reads from the path, so one fault works for v3 and v4), how
often it fires, and its options. :class:`Faults` is the server's list of them, safe to change from
a test while requests are served. How each kind is carried out is the server's business (it owns
the socket); the two that change an answer's body are here: :func:`truncate` and :func:`partial`.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from .documents import dump

FAULT_KINDS = ("status", "slow", "truncate", "reset", "partial")


@dataclass
class Fault:
    """An injected fault; see :meth:`StandIn.add_fault`. ``fired`` counts how often it fired."""

    kind: str
    table: str | None = None
    entity: str | None = None
    times: int | None = None
    opts: dict[str, Any] = field(default_factory=dict)
    fired: int = 0
    _random: random.Random | None = field(default=None, repr=False)

    def matches(self, table: str | None, entity: str | None) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        for wanted, got in ((self.table, table), (self.entity, entity)):
            if wanted is not None and (got is None or wanted.lower() != got.lower()):
                return False
        rate = self.opts.get("rate")
        if rate is not None:  # a share of the matching requests, reproducibly (``seed``)
            if self._random is None:
                self._random = random.Random(self.opts.get("seed", 0))
            return self._random.random() < float(rate)
        return True


class Faults:
    """The faults in force, first added first tried; a request takes at most one."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, kind: str, table: str | None = None, entity: str | None = None,
            times: int | None = None, **opts: Any) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for always)")
        fault = Fault(kind, table, entity, times, dict(opts))
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, table: str | None, entity: str | None) -> Fault | None:
        """The first fault matching a request for ``table``/``entity``, counted as fired."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(table, entity):
                    fault.fired += 1
                    return fault
        return None


def truncate(body: bytes) -> bytes:
    """The first half of an answer (sent with a Content-Length matching it): a body cut off."""
    return body[: len(body) // 2]


def partial(body: bytes, fraction: float) -> bytes:
    """Keep every n-th row of a page's ``value`` (n = 1 / fraction); other answers unchanged."""
    doc = json.loads(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("value"), list) or fraction >= 1:
        return body
    step = max(1, round(1 / fraction)) if fraction > 0 else len(doc["value"]) + 1
    doc["value"] = doc["value"][::step]
    return dump(doc)
