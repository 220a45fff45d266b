""""Wat valt op": three to five short Dutch sentences per gemeente, chosen by fixed rules from the
figures that pass the presentation rules (pure; no text generator).

Candidates, from the gemeente's own figures (``compute.profile``: headline, not imprecise):

1. the largest material deviation from the comparable gemeenten (rates only: a count compares
   town sizes);
2. the largest material deviation from Nederland (another indicator than 1);
3. the largest material movement since the year before, against Nederland's
   (``presentation.largest_movements``; never a change within the rounding);
4. when 1-3 gave fewer than :data:`MIN_SENTENCES`, the next material deviations (from either
   reference, largest first, one sentence per indicator);
5. a figure the reader should know is old ("verouderd") or imprecise ("onnauwkeurig").

A deviation is material when it is at least :data:`MATERIAL_SHARE` of the reference and larger
than what the figures' rounding can explain. Every sentence names the indicator, the region
level ("in <gemeente>" = the gemeente itself), the period, and the direction: "hoger/lager",
with "gunstig/ongunstig" only for indicators that have a better/worse direction.
"""

from __future__ import annotations

from dashboard.core import format as fmt
from dashboard.core import presentation as pr

MATERIAL_SHARE = 0.10  # a deviation of at least 10 % of the reference value
MIN_SENTENCES = 3  # filled up with the next material deviations where there are any
MAX_SENTENCES = 5


def _passes(f: dict) -> bool:
    return bool(f["headline"] and f["period"] is not None and not f["imprecise"]
                and not f["stale"])


def _deviation(f: dict, ref_key: str) -> float | None:
    """Relative deviation of the figure from a reference, when material; else None."""
    ref = f.get(ref_key)
    if f["kind"] == pr.SIZE or fmt.is_missing(ref) or fmt.is_missing(f["value"]):
        return None
    ref, value = float(ref), float(f["value"])
    if abs(ref) < 1e-9:
        return None
    diff = value - ref
    unc = f.get("uncertainty") or 0.0
    step = 10.0 ** -int(f.get("decimals") or 0)
    if abs(diff) < max(MATERIAL_SHARE * abs(ref), 2 * unc, step):
        return None
    return diff / abs(ref)


def _when(f: dict) -> str:
    return fmt.period_status(f["period"], f["status"])


def _verdict(f: dict, higher: bool) -> str:
    hib = f["higher_is_better"]
    if hib is None:
        return ""
    return " (gunstig)" if higher == bool(hib) else " (ongunstig)"


def _compare_sentence(f: dict, name: str, ref_key: str, ref_label: str) -> str:
    higher = float(f["value"]) > float(f[ref_key])
    unit, dec = f["unit"], f["decimals"]
    return (f"{f['title']} is in {name} {'hoger' if higher else 'lager'} dan {ref_label}"
            f"{_verdict(f, higher)}: {fmt.value(f['value'], unit, dec)} tegen "
            f"{fmt.value(f[ref_key], unit, dec)} (gemeente, {_when(f)}).")


def _movement_sentence(f: dict, m: pr.Movement, name: str) -> str:
    up = m.relative > 0
    hib = f["higher_is_better"]
    verdict = "" if hib is None else (" (gunstig)" if up == bool(hib) else " (ongunstig)")
    return (f"{f['title']} {'steeg' if up else 'daalde'} in {name} van "
            f"{fmt.period(f['prev_period'])} tot {fmt.period(f['period'])} met "
            f"{pr.movement_text(m)}{verdict}; nu {fmt.value(f['value'], f['unit'], f['decimals'])}"
            " (gemeente).")


def movements(figures: list[dict], n: int = 3) -> list[tuple[dict, pr.Movement]]:
    """The ``n`` largest movements since the previous year among the gemeente's own, current,
    precise, yearly figures: relative change against Nederland's relative change, only where
    the difference is material (presentation.largest_movements) and larger than the rounding of
    the published figures can explain (a change "gelijk binnen de afronding" is no movement)."""
    by_id = {f["indicator"]: f for f in figures}
    items = []
    for f in figures:
        if (not f["headline"] or f["stale"] or f["imprecise"] or f["within_rounding"]
                or f["period"] is None or f["prev_value"] is None
                or pr.frequency(f["period"]) != "jaar"):
            continue
        # a change that rounding alone could make (9% -> 8% is -11%) is no movement
        step = 10.0 ** -int(f.get("decimals") or 0)
        if any(v is not None and abs(v) > 0 and step / abs(v) > pr.MATERIAL / 2
               for v in (f["prev_value"], f.get("nl_prev"))):
            continue
        items.append((f["indicator"], pr.relative_movement(
            f["value"], f["prev_value"], f["nl"], f.get("nl_prev"))))
    return [(by_id[k], m) for k, m in pr.largest_movements(items, n)]


def highlights(figures: list[dict], name: str, peer_description: str = "",
               movements: list[tuple[dict, pr.Movement]] | None = None) -> list[str]:
    """The sentences, most telling first (at most :data:`MAX_SENTENCES`). ``figures``: the
    gemeente's ``compute.profile``; ``movements``: the largest movements as the briefing
    computes them (``briefing.movements``), when the caller has them."""
    usable = [f for f in figures if _passes(f)]
    out: list[str] = []
    used: set[str] = set()

    def scored(ref_key: str) -> list[tuple[float, dict]]:
        return [(abs(d), f) for f in usable if f["indicator"] not in used
                and (d := _deviation(f, ref_key)) is not None]

    def best(ref_key: str):
        items = scored(ref_key)
        return max(items, key=lambda x: (x[0], x[1]["indicator"]))[1] if items else None

    f = best("peers")
    if f is not None:
        out.append(_compare_sentence(f, name, "peers", "in vergelijkbare gemeenten"))
        used.add(f["indicator"])
    f = best("nl")
    if f is not None:
        out.append(_compare_sentence(f, name, "nl", "in Nederland"))
        used.add(f["indicator"])
    for f, m in (movements or [])[:1]:
        if f["indicator"] not in used:
            out.append(_movement_sentence(f, m, name))
            used.add(f["indicator"])
    while len(out) < MIN_SENTENCES:  # the next material deviation, from either reference
        items = [(d, f, ref) for ref in ("peers", "nl") for d, f in scored(ref)]
        if not items:
            break
        _d, f, ref = max(items, key=lambda x: (x[0], x[1]["indicator"], x[2]))
        out.append(_compare_sentence(f, name, ref, "in vergelijkbare gemeenten"
                                     if ref == "peers" else "in Nederland"))
        used.add(f["indicator"])
    old = [f for f in figures if f["headline"] and f["stale"] and f["period"]]
    if old:
        f = old[0]
        more = f" (en {len(old) - 1} ander cijfer)" if len(old) == 2 else (
            f" (en {len(old) - 1} andere cijfers)" if len(old) > 2 else "")
        out.append(f"Let op: het laatste cijfer voor {f['title'].lower()} is van "
                   f"{fmt.period(f['period'])}, ouder dan gebruikelijk{more}.")
    vague = [f for f in figures if f["headline"] and f["imprecise"] and f["period"]]
    if vague:
        titles = ", ".join(f["title"].lower() for f in vague[:3])
        out.append(f"Voor {name} zijn de afgeronde aantallen achter {titles} te klein om het "
                   f"cijfer te vergelijken: het staat er als '{pr.IMPRECISE_LABEL}', zonder "
                   "positie of oordeel.")
    if not out:
        out.append(f"Geen cijfer van {name} wijkt duidelijk af van vergelijkbare gemeenten of "
                   "van Nederland.")
    return out[:MAX_SENTENCES]
