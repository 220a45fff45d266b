"""The Vergelijken workbench selection: which gemeenten and which indicators an adviser compares.

Representation. One frozen value object, :class:`Selection`, holds the whole comparison as it
travels in a link: hand-picked ``gemeenten`` (GM codes), region filters (``regio``: provincie /
COROP / arbeidsmarktregio codes; ``grootteklasse`` and ``stedelijkheid``: the class codes of
"Gebieden in Nederland") and ``indicatoren`` (catalogue ids, in the order chosen). The members
are the hand-picked gemeenten plus every current gemeente that meets *all* set filters (within
one filter, a gemeente meets any of its values: ``grootteklasse=6,7,8`` is "100 000 inwoners of
meer"). No filter set: only the hand-picked ones. ``to_query()``/``from_query()`` are exact
inverses for a valid selection, so a copied link opens the same comparison.

Parsing never raises: unknown codes, ids or classes are left out and named in one short Dutch
note each; the rest still opens. Gemeenten go through :func:`state.resolve_gemeente`, the one
place where a name (``Breda``) or a merged gemeente's old code (``GM0457`` Weesp -> Amsterdam)
is resolved, so the workbench and every other page read links the same way.

The page stays thin: ``Selection.from_query`` (UI reads the URL) -> ``members`` / ``indicators``
(here, pure) -> ``compute.selection_frame`` and the chart builders -> render. Pure: no streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from dashboard.core import state

PARAMS = state.WORKBENCH  # gemeenten, indicatoren, regio, grootteklasse, stedelijkheid
GROUP_COLUMN = {"PV": "provincie_code", "CR": "corop_code", "AM": "arbeidsmarktregio_code"}
GROUP_WORD = {"PV": "provincie", "CR": "COROP-gebied", "AM": "arbeidsmarktregio"}
MAX_GEMEENTEN = 60    # hand-picked; a filter may give more (a provincie has up to 56)
MAX_INDICATOREN = 30
MAX_LEN = 4000  # characters per parameter: room for every id of the catalogue, not for abuse
_SEP = ","


@dataclass(frozen=True)
class Selection:
    gemeenten: tuple[str, ...] = ()      # hand-picked current GM codes, in the order chosen
    indicatoren: tuple[str, ...] = ()    # catalogue ids, in the order chosen
    regio: tuple[str, ...] = ()          # PV/CR/AM codes: members of any of them
    grootteklasse: tuple[str, ...] = ()  # size class codes ("Gebieden in Nederland")
    stedelijkheid: tuple[str, ...] = ()  # urbanity codes

    @property
    def has_filter(self) -> bool:
        return bool(self.regio or self.grootteklasse or self.stedelijkheid)

    @property
    def empty(self) -> bool:
        return not (self.gemeenten or self.has_filter)

    def to_query(self) -> dict[str, str]:
        """The URL parameters of this selection (empty parts left out)."""
        return {k: _SEP.join(v) for k in PARAMS if (v := getattr(self, k))}

    @classmethod
    def from_query(cls, params: Mapping[str, str | Sequence[str]], known: state.Known,
                   ) -> tuple[Selection, list[str]]:
        """Validate the workbench parameters of a link against ``known``. Never raises; what
        is not understood is left out and named in a Dutch note."""
        notes: list[str] = []
        raw = {k: _raw(params.get(k)) for k in PARAMS}
        for k, v in raw.items():
            if len(v) > MAX_LEN:  # refused before any parsing, as state.parse does
                notes.append(f"De waarde voor ‘{k}’ in de link is te lang en is genegeerd.")
                raw[k] = ""
        gemeenten: list[str] = []
        bad: list[str] = []
        for part in _parts(raw["gemeenten"]):
            code, note = state.resolve_gemeente(part, known)
            if code is None:
                bad.append(part)
                continue
            if note:
                notes.append(note)
            if code not in gemeenten:
                gemeenten.append(code)
        if bad:
            notes.append(_unknown("gemeente(n)", bad))
        if len(gemeenten) > MAX_GEMEENTEN:
            notes.append(f"Hoogstens {MAX_GEMEENTEN} gemeenten met de hand; de rest is "
                         "weggelaten (een regio of klasse als filter kent geen grens).")
            gemeenten = gemeenten[:MAX_GEMEENTEN]
        indicatoren = _valid(raw["indicatoren"], lambda s: s.lower(), known.indicators,
                             "indicator(en)", notes)[:MAX_INDICATOREN]
        groups = {c for c in known.regions if c[:2] in GROUP_COLUMN}
        regio = _valid(raw["regio"], str.upper, groups, "regiocode(s)", notes)
        size = _valid(raw["grootteklasse"], str.strip, known.size_classes, "grootteklasse(n)",
                      notes)
        urban = _valid(raw["stedelijkheid"], str.strip, known.urbanities,
                       "stedelijkheidsklasse(n)", notes)
        return cls(tuple(gemeenten), tuple(indicatoren), tuple(regio), tuple(size),
                   tuple(urban)), notes

    def members(self, gemeenten: pd.DataFrame) -> list[str]:
        """The selected current gemeenten: hand-picked first (in their order), then those that
        meet every set filter, by name. ``gemeenten``: DashData.gemeenten (sorted by name)."""
        out = list(self.gemeenten)
        if self.has_filter:
            mask = pd.Series(True, index=gemeenten.index)
            if self.regio:
                in_group = pd.Series(False, index=gemeenten.index)
                for code in self.regio:
                    in_group |= gemeenten[GROUP_COLUMN[code[:2]]].eq(code).fillna(False)
                mask &= in_group
            for codes, column in ((self.grootteklasse, "size_class_code"),
                                  (self.stedelijkheid, "urbanity_code")):
                if codes:
                    if column not in gemeenten.columns:
                        return out
                    mask &= gemeenten[column].astype("string").isin(codes).fillna(False)
            out += [c for c in gemeenten.loc[mask.astype(bool), "code"] if c not in out]
        return out

    def describe(self, known: state.Known) -> str:
        """What defines the selection, in Dutch words (shown above the table and in exports)."""
        parts = []
        if self.regio:
            parts.append(" of ".join(f"{GROUP_WORD[c[:2]]} {known.names.get(c, c)}"
                                     for c in self.regio))
        if self.grootteklasse:
            parts.append("grootte " + " of ".join(
                known.size_classes[c].lower() for c in self.grootteklasse))
        if self.stedelijkheid:
            parts.append(" of ".join(known.urbanities[c].lower() for c in self.stedelijkheid))
        filt = "alle gemeenten met " + "; ".join(parts) if parts else ""
        picked = ", ".join(known.names.get(c, c) for c in self.gemeenten[:6])
        if len(self.gemeenten) > 6:
            picked += f" en {len(self.gemeenten) - 6} andere"
        text = f"{picked} plus {filt}" if picked and filt else picked or filt
        return text[:1].upper() + text[1:] if text else "Nog geen gemeenten gekozen"

    def replace(self, **changes: Sequence[str]) -> Selection:
        """A copy with some parts replaced (each as a sequence of codes)."""
        values = {k: tuple(changes.get(k, getattr(self, k))) for k in PARAMS}
        return Selection(**values)


def indicators_of_theme(known: state.Known, theme: str) -> list[str]:
    """The catalogue ids of one kernthema, in catalogue order (the 'by kernthema' choice)."""
    return [k for k, t in known.indicators.items() if t == theme]


def _raw(value: str | Sequence[str] | None) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        value = list(value)
        value = value[-1] if value else ""
    return str(value)


def _parts(raw: str) -> list[str]:
    return [p.strip() for p in raw.split(_SEP) if p.strip()]


def _valid(raw: str, norm, allowed, what: str, notes: list[str]) -> list[str]:
    good: list[str] = []
    bad: list[str] = []
    for part in _parts(raw):
        value = norm(part)
        if value in allowed:
            if value not in good:
                good.append(value)
        else:
            bad.append(part)
    if bad:
        notes.append(_unknown(what, bad))
    return good


def _unknown(what: str, bad: list[str]) -> str:
    names = ", ".join(state.shown(b, 20) for b in bad[:5]) + (" …" if len(bad) > 5 else "")
    return f"Onbekende {what} in de link weggelaten: {names}."
