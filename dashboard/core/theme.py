"""The view model of a kernthema page (pure: no streamlit): from the selection to everything
the page states — which indicator and year, which region the figures are of, the headline
figures in words, what the map, the series and the ranking show and the sentences under them.
``dashboard/ui/theme_view.py`` only draws it (and caches the shared work).

The presentation rules apply here once: a position only for an indicator with a better/worse
direction (ties as ties), where it stands (hoog / rond het midden / laag) for a rate without
one, the share of Nederland for a count, no position or standing for a figure marked
imprecise; "verouderd" on the latest figure when it is old.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd

from dashboard.core import compute, state
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.core.dashdata import DashData
from pipelines.snapshot import IndicatorEntry

LEVEL_NAMES = {"GM": "gemeenten", "CR": "COROP-gebieden", "PV": "provincies"}


@dataclass(frozen=True)
class Metric:
    label: str
    value: str
    help: str | None = None
    caption: str | None = None


@dataclass(frozen=True)
class ThemeModel:
    theme: str
    indicators: dict[str, IndicatorEntry]
    indicator: str | None = None
    meta: IndicatorEntry | None = None
    years: list[int] = field(default_factory=list)
    year: int | None = None
    year_warning: str | None = None
    code: str = ""  # the region the figures are of (the gemeente, or a larger one)
    level: str = "GM"
    region_label: str = ""
    period: str | None = None
    status: str | None = None
    cbs_table: str = ""
    fresh: pr.Freshness = field(default_factory=lambda: pr.Freshness(None))
    notes: list[str] = field(default_factory=list)  # info lines above the figures
    empty: str | None = None  # why there is nothing to show (then nothing else is)
    metrics: list[Metric] = field(default_factory=list)
    lines: tuple[tuple[str, str, str], ...] = ()  # (code, label, role) of the series
    with_peers: bool = False
    ranking_title: str = ""
    ranking_note: str = ""

    @property
    def unit(self) -> str | None:
        return self.meta.unit if self.meta else None

    @property
    def decimals(self) -> int:
        return int(self.meta.decimals or 0) if self.meta else 0

    @property
    def direction(self) -> bool | None:
        return pr.direction(self.meta) if self.meta else None

    @property
    def rankable(self) -> bool:
        return bool(self.meta) and pr.is_rankable(self.meta)

    @property
    def is_size(self) -> bool:
        return bool(self.meta) and pr.is_size(self.meta)

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES.get(self.level, "")


def first_indicator(inds: dict[str, IndicatorEntry], obs: dict[str, pd.DataFrame],
                    gemeente: str) -> str:
    """The indicator a page opens on: the first comparable one (a share or per-inwoner figure)
    that has a value for the gemeente itself; else the first with any value for it; else the
    first comparable one."""
    def has_own(k: str) -> bool:
        o = obs.get(k)
        return o is not None and not compute.region_rows(o, gemeente).empty

    relative = [k for k, m in inds.items() if not pr.is_size(m)]
    for pool in (relative, list(inds)):
        hit = next((k for k in pool if has_own(k)), None)
        if hit:
            return hit
    return compute.default_indicator(inds)


def model(data: DashData, sel: state.Selection, obs: dict[str, pd.DataFrame], theme: str,
          peer: compute.Peers) -> ThemeModel:
    """Everything a kernthema page states for this selection."""
    gm = sel.gemeente
    inds = data.indicators_of(theme)
    if not inds:
        return ThemeModel(theme, inds, empty="Voor dit thema zijn (nog) geen indicatoren in de "
                                             "snapshot.")
    iid = sel.indicator if sel.indicator in inds else first_indicator(inds, obs, gm)
    meta = inds[iid]
    ind_obs = obs[iid]
    code, level = compute.display_region(ind_obs, data.regions, gm)
    years = compute.years(ind_obs, level)
    year, warning = state.resolve_year(sel.jaar, years)
    region_label = pr.region_block_label(data.names.get(code, code), level)
    base = dict(theme=theme, indicators=inds, indicator=iid, meta=meta, years=years, year=year,
                year_warning=warning, code=code, level=level, region_label=region_label)
    notes = []
    if level != "GM":
        notes.append(pr.gap_reason(data.manifest, meta, gm, data.names[gm],
                                   shown_region=region_label).text)
    period = compute.period_for_year(ind_obs, year, level) if year else None
    if period is None:
        return ThemeModel(**base, notes=notes, empty=f"Voor {data.names[gm]} zijn er voor deze "
                                                      "indicator geen gegevens.")
    # "verouderd" marks the latest figure shown as current, not an earlier year the user chose
    fresh = (data.lags.of(iid, period) if data.lags and year == max(years)
             else pr.Freshness(period))
    cur = ind_obs[ind_obs["period"] == period]
    status = cur["status"].mode().iloc[0] if not cur.empty else None
    cbs_table = str(cur["cbs_table"].iloc[0]) if not cur.empty else "+".join(meta.tables)
    m = ThemeModel(**base, period=period, status=status, cbs_table=cbs_table, fresh=fresh,
                   notes=notes)
    metrics = _metrics(m, data, ind_obs, gm)
    lines, with_peers = _lines(m, data, sel, gm)
    title, note = _ranking_text(m, data, peer)
    return dataclasses.replace(m, metrics=metrics, lines=lines, with_peers=with_peers,
                               ranking_title=title, ranking_note=note)


def _metrics(m: ThemeModel, data: DashData, ind_obs: pd.DataFrame, gm: str) -> list[Metric]:
    unit, dec, period, code = m.unit, m.decimals, m.period, m.code
    own = compute.value_at(ind_obs, code, period)
    nl = compute.value_at(ind_obs, compute.NL, period)
    imprecise = compute.imprecise_at(ind_obs, code, period)
    label = f"{m.region_label}, {fmt.period(period)}" + (f" ({pr.STALE})" if m.fresh.stale
                                                           else "")
    out = [Metric(label, fmt.value(own, unit, dec, short=True),
                  caption=pr.IMPRECISE_LABEL if imprecise else None),
           Metric("Nederland", fmt.value(nl, unit, dec, short=True))]
    pv = compute.region_row(data.regions, gm).get("provincie_code")
    if m.level == "GM" and pv:
        out.append(Metric(data.names.get(pv, "Provincie"),
                          fmt.value(compute.value_at(ind_obs, pv, period), unit, dec,
                                    short=True)))
    else:
        out.append(Metric("", ""))
    if imprecise:
        out.append(Metric("Positie", "–", help="Dit cijfer is te onzeker om te vergelijken: het "
                          "CBS rondt de aantallen erachter af.", caption=pr.IMPRECISE_LABEL))
    elif m.direction is not None:
        rank, n, tied = compute.position_detail(ind_obs, code, period, m.level, m.direction)
        out.append(Metric("Positie", compute.rank_text(rank, n, tied),
                          help="1 = gunstigste waarde",
                          caption=f"van alle {m.level_name}" if m.level_name else None))
    elif m.rankable:
        word = compute.standing(ind_obs, code, period, m.level)
        out.append(Metric("Ten opzichte van alle " + (m.level_name or "regio's"),
                          word or fmt.MISSING,
                          help="Hoog, rond het midden of laag: het hoogste, middelste of laagste "
                               "kwart. Bij dit cijfer is hoger of lager niet vanzelf beter."))
    else:
        share = pr.share(own, nl) if code != compute.NL else None
        out.append(Metric("Aandeel in Nederland",
                          fmt.MISSING if share is None
                          else f"{fmt.number(share, 2 if share < 1 else 1)}%",
                          help="Een aantal groeit met de gemeente; daarom geen positie, maar het "
                               "aandeel."))
    return out


def _lines(m: ThemeModel, data: DashData, sel: state.Selection, gm: str
           ) -> tuple[tuple[tuple[str, str, str], ...], bool]:
    """The series' lines: the region itself, its provincie and Nederland (not for counts: other
    orders of magnitude), the chosen comparison regions; and whether the peers' median joins."""
    code = m.code
    lines = [(code, data.names.get(code, code), "gemeente")]
    pv = compute.region_row(data.regions, gm).get("provincie_code")
    if m.level == "GM" and pv and not m.is_size:
        lines.append((pv, fmt.region_label(data.names[pv], "PV"), "provincie"))
    if not m.is_size:
        lines.append((compute.NL, "Nederland", "nl"))
    lines += [(c, fmt.region_label(data.names[c], data.levels[c]), "vergelijk")
              for c in sel.vergelijk]
    return tuple(lines), m.level == "GM" and not m.is_size


def _ranking_text(m: ThemeModel, data: DashData, peer: compute.Peers) -> tuple[str, str]:
    stale = f" ({pr.STALE})" if m.fresh.stale else ""
    if m.direction is not None:
        title = f"Ranglijst {fmt.period(m.period)}{stale}"
        order = ("1 = gunstigste waarde; regio's met dezelfde waarde delen hun plaatsen. ")
    elif m.rankable:
        title = f"Alle {m.level_name or 'regio' + chr(39) + 's'} {fmt.period(m.period)}{stale}"
        order = ("Van hoog naar laag. Bij dit cijfer is hoger of lager niet vanzelf beter: "
                 "geen positie, wel waar elke regio staat (hoog, rond het midden, laag). ")
    else:
        title = f"Alle {m.level_name or 'regio' + chr(39) + 's'} {fmt.period(m.period)}{stale}"
        order = ("Een aantal groeit met de gemeente: daarom geen positie, maar het aandeel in "
                 "Nederland; op naam gesorteerd (klik op een kolomkop om te sorteren). ")
    note = (order + f"In de eerste tabel, geel gemarkeerd en met ‘◀ gekozen’: {m.region_label}"
            + (", met lichtgroen en ‘(vergelijkbaar)’ de vergelijkbare gemeenten; de tweede "
               "tabel toont alle gemeenten." if m.level == "GM" and peer.codes else
               "; de tweede tabel toont alle regio's.")
            + f" ‘{pr.IMPRECISE}’: te kleine aantallen om te vergelijken; zonder plaats, "
              "onderaan." + " Regio's zonder cijfer staan niet in de lijst.")
    return title, note
