"""URL state: query parameters -> a validated, typed selection plus Dutch warnings.

Pure (no streamlit). ``components.sync_url_state`` is the thin wrapper that reads
``st.query_params``, calls :func:`parse` and writes the cleaned state back.

Parameters (all optional)::

    gemeente=GM0363            current gemeente code
    thema=human_capital        kernthema (selects the thema page from the start page)
    indicator=werkloosheid_pct indicator id
    jaar=2023                  year (checked against the indicator's years by resolve_year)
    vergelijk=GM0344,PV27      comparison regions: gemeenten and/or provincie/COROP/
                               arbeidsmarktregio codes (a group code stands for its gemeenten
                               on the Vergelijken page)
    grenzen=huidig|historisch  series on current gemeente boundaries (default) or as published
    peers=grootte|statistisch  comparable gemeenten: same size class + urbanity (default) or the
                               statistically nearest neighbours
    x=..., y=...               indicator ids of the Dwarsverbanden scatter
    gemeenten, indicatoren, regio, grootteklasse, stedelijkheid
                               the Vergelijken workbench selection (dashboard/core/selection.py)

A gemeente in a link may be a current code, a name where it is unambiguous (``?gemeente=Breda``)
or the code of a gemeente that has since merged (``GM0457`` Weesp): that opens its successor
(Amsterdam) with a one-line note. :func:`resolve_gemeente` is the one place that does this, so
every page and the workbench selection benefit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.catalog import THEMES

# the workbench selection: known here, parsed (with its own length limits) by core/selection.py
WORKBENCH = ("gemeenten", "indicatoren", "regio", "grootteklasse", "stedelijkheid")
# the Wijken page's year and figure: kept as given, checked on that page against its snapshot
# (dashboard/core/wijken.resolve_choice), which says what it could not show
WIJK = ("wijkjaar", "wijkcijfer")
PARAMS = ("gemeente", "thema", "indicator", "jaar", "vergelijk", "grenzen", "peers", "x", "y",
          *WORKBENCH, *WIJK)
GRENZEN = {"huidig": "huidige gemeentegrenzen", "historisch": "grenzen van dat jaar"}
PEERS = {"grootte": "zelfde grootte en stedelijkheid",
         "statistisch": "statistisch vergelijkbaar (10 meest gelijkende)"}
MAX_PARAM_LEN = 200  # longer values are rejected before any parsing
MAX_COMPARE = 12
GM_CODE = re.compile(r"^GM\d{4}$")
REGION_CODE = re.compile(r"^(GM\d{4}|PV\d{2}|CR\d{2}|AM\d{2})$")
INDICATOR_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
YEAR = re.compile(r"^\d{4}$")
_SHOWN = re.compile(r"[^A-Za-z0-9_,.-]")
_SAFE = re.compile(r"^[A-Za-z0-9_]{1,64}$")  # a year or an id: anything else is not kept


@dataclass(frozen=True)
class Known:
    """What the snapshot offers; the only valid values for the parameters."""

    gemeenten: frozenset[str]              # current GM codes
    regions: frozenset[str]                # codes allowed in vergelijk (GM, PV, CR, AM)
    indicators: Mapping[str, str]          # indicator id -> theme
    default_gemeente: str
    # old GM code -> (current successor code, old name): herindelingen followed to today
    successors: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    by_name: Mapping[str, str] = field(default_factory=dict)  # casefolded unique name -> code
    names: Mapping[str, str] = field(default_factory=dict)    # code -> name (for the notes)
    size_classes: Mapping[str, str] = field(default_factory=dict)  # grootteklasse code -> label
    urbanities: Mapping[str, str] = field(default_factory=dict)    # stedelijkheid code -> label


@dataclass(frozen=True)
class Selection:
    gemeente: str
    thema: str | None = None
    indicator: str | None = None
    jaar: int | None = None
    vergelijk: tuple[str, ...] = field(default_factory=tuple)
    grenzen: str = "huidig"
    peers: str = "grootte"
    x: str | None = None
    y: str | None = None
    bench: Any = None  # the workbench selection (selection.Selection), set by the UI
    wijk: tuple[tuple[str, str], ...] = ()  # (wijkjaar | wijkcijfer, raw value) for Wijken

    def to_params(self, *, with_thema: bool = False) -> dict[str, str]:
        """The canonical URL parameters for this selection (empty values left out)."""
        out = {"gemeente": self.gemeente}
        if with_thema and self.thema:
            out["thema"] = self.thema
        if self.indicator:
            out["indicator"] = self.indicator
        if self.jaar is not None:
            out["jaar"] = str(self.jaar)
        if self.vergelijk:
            out["vergelijk"] = ",".join(self.vergelijk)
        if self.grenzen != "huidig":
            out["grenzen"] = self.grenzen
        if self.peers != "grootte":
            out["peers"] = self.peers
        if self.x:
            out["x"] = self.x
        if self.y:
            out["y"] = self.y
        out.update(dict(self.wijk))
        if self.bench is not None:
            out.update(self.bench.to_query())
        return out


def shown(raw: object, limit: int = 24) -> str:
    """A user-supplied value made safe to echo in a (markdown) message."""
    text = _SHOWN.sub("", str(raw))
    text = text[:limit] + ("…" if len(text) > limit else "")
    return f"`{text}`" if text else "(leeg)"


def _one(raw: str | Sequence[str] | None) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raw = list(raw)
        raw = raw[-1] if raw else None
    return None if raw is None else str(raw)


def parse(params: Mapping[str, str | Sequence[str]], known: Known, *,
          page_thema: str | None = None) -> tuple[Selection, list[str]]:
    """Validate ``params`` against ``known``. Never raises; bad values become warnings and fall
    back to defaults. ``page_thema`` (the thema of the page being shown) wins over ``thema``."""
    warnings: list[str] = []
    values: dict[str, str] = {}
    unknown = [k for k in params if k not in PARAMS]
    if unknown:
        names = ", ".join(shown(k, 20) for k in unknown[:3]) + (" …" if len(unknown) > 3 else "")
        warnings.append(f"Onbekende parameter in de link genegeerd: {names}.")
    for key in PARAMS:
        if key in WORKBENCH:
            continue
        raw = _one(params.get(key))
        if raw is None:
            continue
        if len(raw) > MAX_PARAM_LEN:
            warnings.append(f"De waarde voor ‘{key}’ in de link is te lang en is genegeerd.")
            continue
        values[key] = raw.strip()

    gemeente = known.default_gemeente
    if "gemeente" in values:
        code, note = resolve_gemeente(values["gemeente"], known)
        if code is None:
            warnings.append(note + "; de standaardgemeente wordt getoond.")
        else:
            gemeente = code
            if note:
                warnings.append(note)

    thema = page_thema
    if "thema" in values:
        t = values["thema"].lower()
        if t in THEMES:
            thema = page_thema or t
        else:
            warnings.append(f"Onbekend thema {shown(values['thema'])}; kies een van: "
                            + ", ".join(THEMES.values()) + ".")

    indicator = None
    if "indicator" in values:
        iid = values["indicator"].lower()
        if not INDICATOR_ID.match(iid) or iid not in known.indicators:
            warnings.append(f"Onbekende indicator {shown(values['indicator'])}; "
                            "de eerste indicator van het thema wordt getoond.")
        elif thema and known.indicators[iid] != thema:
            warnings.append(f"Indicator {shown(iid)} hoort niet bij het thema "
                            f"‘{THEMES[thema]}’; de eerste indicator van het thema wordt getoond.")
        else:
            indicator = iid

    jaar = None
    if "jaar" in values:
        if YEAR.match(values["jaar"]) and 1900 <= int(values["jaar"]) <= 2100:
            jaar = int(values["jaar"])
        else:
            warnings.append(f"{shown(values['jaar'])} is geen geldig jaar; "
                            "het meest recente jaar wordt getoond.")

    vergelijk = _parse_compare(values.get("vergelijk"), known, gemeente, warnings)
    grenzen = _choice(values, "grenzen", GRENZEN, warnings)
    peers = _choice(values, "peers", PEERS, warnings)
    xy = {}
    for key in ("x", "y"):
        iid = values.get(key, "").lower()
        if not iid:
            continue
        if INDICATOR_ID.match(iid) and iid in known.indicators:
            xy[key] = iid
        else:
            warnings.append(f"Onbekende indicator {shown(values[key])} voor ‘{key}’ in de link; "
                            "een standaardindicator wordt getoond.")
    wijk = tuple((k, values[k]) for k in WIJK if values.get(k) and _SAFE.match(values[k]))
    return Selection(gemeente, thema, indicator, jaar, vergelijk, grenzen, peers,
                     xy.get("x"), xy.get("y"), wijk=wijk), warnings


def resolve_gemeente(raw: str, known: Known) -> tuple[str | None, str | None]:
    """One gemeente from a link: (current code, None), (successor code, a one-line Dutch note)
    for a merged gemeente, or (None, a Dutch sentence without a full stop saying why not).
    A name is accepted where exactly one current gemeente has it (case and spaces ignored)."""
    text = raw.strip()
    code = text.upper()
    if GM_CODE.match(code):
        if code in known.gemeenten:
            return code, None
        if code in known.successors:
            new, old_name = known.successors[code]
            new_name = known.names.get(new, new)
            return new, (f"{old_name} ({code}) is opgegaan in {new_name}; "
                         f"{new_name} ({new}) wordt getoond.")
        return None, (f"Gemeente {shown(code)} bestaat niet (meer) in de huidige "
                      "gemeentelijke indeling")
    key = " ".join(text.split()).casefold()
    if key in known.by_name:
        return known.by_name[key], None
    return None, (f"{shown(text)} is geen geldige gemeentecode of bekende gemeentenaam "
                  "(verwacht bijvoorbeeld GM0363 of Amsterdam)")


def successors(history: Iterable[Mapping[str, Any]], current: Iterable[str],
               ) -> dict[str, tuple[str, str]]:
    """Old GM code -> (its current successor, its name), following herindelingen in a chain
    (a gemeente merged twice ends at today's gemeente). A code that was split over several
    gemeenten has no single successor and is left out (a link to it gets the plain note)."""
    current = set(current)
    nxt: dict[str, set[str]] = {}
    name: dict[str, str] = {}
    for r in history:
        old, new = str(r["predecessor"]), str(r["successor"])
        if old == new:
            continue
        nxt.setdefault(old, set()).add(new)
        name[old] = str(r.get("predecessor_name") or old)
    out: dict[str, tuple[str, str]] = {}
    for old in nxt:
        if old in current:
            continue
        code, seen = old, set()
        while code in nxt and len(nxt[code]) == 1 and code not in seen:
            seen.add(code)
            code = next(iter(nxt[code]))
        if code in current:
            out[old] = (code, name[old])
    return out


def _choice(values: dict[str, str], key: str, options: Mapping[str, str],
            warnings: list[str]) -> str:
    """One of ``options`` (the first is the default); an unknown value gives a warning."""
    default = next(iter(options))
    raw = values.get(key)
    if raw is None or raw == "":
        return default
    if raw.lower() in options:
        return raw.lower()
    warnings.append(f"Onbekende waarde {shown(raw)} voor ‘{key}’ in de link; kies "
                    + " of ".join(f"‘{k}’" for k in options) + f". ‘{default}’ wordt gebruikt.")
    return default


def _parse_compare(raw: str | None, known: Known, gemeente: str,
                   warnings: list[str]) -> tuple[str, ...]:
    if not raw:
        return ()
    codes: list[str] = []
    bad: list[str] = []
    for part in raw.split(","):
        code = part.strip().upper()
        if not code:
            continue
        if not REGION_CODE.match(code) or code not in known.regions:
            bad.append(part)
        elif code != gemeente and code not in codes:
            codes.append(code)
    if bad:
        warnings.append("Onbekende regiocode(s) in ‘vergelijk’ genegeerd: "
                        + ", ".join(shown(b, 12) for b in bad[:5])
                        + (" …" if len(bad) > 5 else "") + ".")
    if len(codes) > MAX_COMPARE:
        warnings.append(f"Er kunnen hoogstens {MAX_COMPARE} regio's tegelijk vergeleken worden; "
                        "de rest is weggelaten.")
        codes = codes[:MAX_COMPARE]
    return tuple(codes)


def resolve_year(requested: int | None, available: Iterable[int]) -> tuple[int | None, str | None]:
    """Pick the requested year if available, else the latest one (with a Dutch warning)."""
    years = sorted(set(available))
    if not years:
        return None, None
    if requested is None:
        return years[-1], None
    if requested in years:
        return requested, None
    return years[-1], (f"Voor {requested} zijn er geen cijfers voor deze indicator "
                       f"(beschikbaar: {years[0]}–{years[-1]}); {years[-1]} wordt getoond.")
