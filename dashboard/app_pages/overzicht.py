"""Overzicht: the gemeenteprofiel — key figures per kernthema for the selected gemeente."""

import pandas as pd
import streamlit as st

from dashboard.core import compute, storyline
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.core.charts import build
from dashboard.core.charts import svg as svgdraw
from dashboard.ui import components
from pipelines.catalog import THEMES

ctx = components.context()
data, gm = ctx.data, ctx.sel.gemeente
row = compute.region_row(data.regions, gm)
peer = ctx.peer
records = data.profile(ctx.sel.grenzen, gm, peer)

st.title(data.names[gm])
inw, inw_when = compute.population(records, row, data.manifest.reference_year)
facts = [f"provincie **{row.get('provincie') or fmt.MISSING}**"]
if inw is not None:  # the same figure as the card 'Inwoners op 1 januari', with its date
    facts.append(f"{fmt.number(inw)} inwoners" + (f" ({inw_when})" if inw_when else ""))
if row.get("urbanity"):
    facts.append(str(row["urbanity"]).lower())
st.markdown("Gemeenteprofiel · " + " · ".join(facts))

# the first thing on a phone: what stands out, in a few sentences from figures that deserve it
with st.container(border=True, key="wat-valt-op"):
    st.subheader(f"Wat valt op voor {data.names[gm]}")
    st.markdown("\n".join(f"- {t}" for t in storyline.highlights(
        records, data.names[gm], peer.description, storyline.movements(records))))

with st.expander("Hoe lees ik deze cijfers?", icon=":material/help:"):
    st.markdown(
        "Per indicator: het laatst bekende cijfer van de gemeente, de verandering ten opzichte "
        "van een jaar eerder en de vergelijking met Nederland, de provincie en vergelijkbare "
        f"gemeenten ({peer.description}).\n\n"
        "- **Gunstig / ongunstig** (ook in kleur: groen, rood) en een **positie** (1 = gunstigste "
        "van alle gemeenten) alleen bij cijfers waar hoger of lager beter is.\n"
        "- Bij verhoudingen **zonder voorkeursrichting** (zoals het aandeel koopwoningen) staat "
        "alleen waar de gemeente staat: **hoog**, **rond het midden** of **laag** (het hoogste, "
        "middelste of laagste kwart van alle gemeenten).\n"
        "- **Aantallen** (vestigingen, woningen) groeien met de gemeente: geen positie of kleur, "
        "wel het aandeel in de provincie en in Nederland.\n"
        f"- **{pr.IMPRECISE_LABEL}**: het CBS rondt de aantallen achter dit cijfer af (vaak op "
        "duizendtallen); voor deze gemeente is het daardoor te onzeker om te vergelijken. Het "
        "staat er, zonder positie, kleur of oordeel.\n"
        f"- **{pr.WITHIN_ROUNDING}**: de verandering is kleiner dan de afronding van de twee "
        "cijfers samen.\n"
        "- Cijfers die het CBS alleen voor een grotere regio publiceert, staan apart onder de "
        "naam van die regio.")
components.boundary_caption(ctx, gm)
components.peers_expander(ctx)

DELTA_COLOR = {True: "normal", False: "inverse"}


def card(r: dict) -> None:
    """One headline card: a figure of the gemeente itself."""
    unit, dec, hib = r["unit"], r["decimals"], r["higher_is_better"]
    with st.container(border=True):
        has_change = r["change"] is not None
        st.metric(
            fmt.titled(r["title"], unit), fmt.value(r["value"], unit, dec, short=True),
            delta=fmt.change(r["change"], unit, dec) if has_change else None,
            # no colour for ±0, for a change within the rounding, or without a direction
            delta_color=(DELTA_COLOR.get(hib, "off") if r["change"] and not r["within_rounding"]
                         else "off"),
            delta_arrow="off" if has_change and (r["change"] == 0 or r["within_rounding"])
            else "auto",
            delta_description=(f"t.o.v. {fmt.period(r['prev_period'])}" + (
                f" · {pr.WITHIN_ROUNDING}" if r["within_rounding"] else
                f" · {word}" if (word := fmt.verdict(r["change"], hib)) else "")
                if has_change else None),
            help=data.indicators[r["indicator"]].description)
        if len(r["trend"]) > 1:  # our own sparkline: Streamlit's has no text alternative
            st.html(svgdraw.sparkline_img(build.trend(r["trend"], r["trend_periods"], r)))
        st.caption("  \n".join(card_lines(r)))


def card_lines(r: dict) -> list[str]:
    unit, dec, hib = r["unit"], r["decimals"], r["higher_is_better"]
    if r["period"] is None:
        return [r["gap"] or fmt.MISSING]
    long_unit = unit not in (None, "", "%", "euro", "aantal")  # the card's value leaves it out
    lines = [fmt.period_status(r["period"], r["status"])
             + (f" · {fmt.unit_label(unit)}" if long_unit else "")
             + (f" · **{pr.STALE}**" if r["stale"] else "")
             + (f" · **{pr.IMPRECISE_LABEL}**" if r["imprecise"] else "")]
    if r["stale"]:
        lines.append(r["freshness"])
    if r["kind"] == pr.SIZE:  # a count is not ranked or compared: its share of larger areas
        shares = [pr.share_text(r["value"], r["provincie"], row.get("provincie") or "de provincie"),
                  pr.share_text(r["value"], r["nl"], "Nederland")]
        lines.append("Aandeel: " + ", ".join(x for x in shares if x) if any(shares)
                     else "Aandeel: " + fmt.MISSING)
        return lines
    refs = [("Nederland", r["nl"]), (row.get("provincie") or "Provincie", r["provincie"]),
            ("Vergelijkbare gemeenten", r["peers"])]
    for label, ref in refs:
        if ref is None:
            continue
        verdict = "" if r["imprecise"] else compute.judgement(r["value"], ref, hib)
        lines.append(f"{label}: {fmt.value(ref, unit, dec, short=True)}"
                     + (f" — {verdict}" if verdict else ""))
    if r["rank"] is not None:
        lines.append(f"Positie: {compute.rank_text(r['rank'], r['rank_n'], r['rank_tied'])} "
                     "gemeenten")
    elif r["standing"]:
        lines.append(f"Ten opzichte van alle gemeenten: {r['standing']}")
    return lines


def gap_block(figures: list[dict]) -> None:
    """The gemeente's figures without a value, in one list with each one's reason: a phone
    reaches the next figures without scrolling past empty cards."""
    st.markdown(f"**Geen cijfer voor {data.names[gm]}**\n\n" + "\n".join(
        f"- {r['title']}: {r['gap'] or fmt.MISSING}" for r in figures))


def region_block(label: str, figures: list[dict]) -> None:
    """Figures the CBS publishes only for a larger region: their own block, never a headline."""
    st.markdown(f"**{label}** · niet per gemeente gepubliceerd")
    lines = []
    for r in figures:
        if r["period"] is None:
            lines.append(f"- {r['title']}: {fmt.MISSING}")
            continue
        extra = []
        if r["change"] is not None:
            extra.append(f"{fmt.change(r['change'], r['unit'], r['decimals'])} t.o.v. "
                         f"{fmt.period(r['prev_period'])}")
        if r["kind"] == pr.SIZE:
            share = pr.share_text(r["value"], r["nl"], "Nederland")
            if share:
                extra.append(share)
        elif r["nl"] is not None:
            extra.append(f"Nederland {fmt.value(r['nl'], r['unit'], r['decimals'], short=True)}")
        stale = f" · **{r['freshness']}**" if r["stale"] else ""  # 'Verouderd: … van 2020 …'
        lines.append(f"- {r['title']}: {fmt.value(r['value'], r['unit'], r['decimals'])} "
                     f"({fmt.period_status(r['period'], r['status'])}"
                     + (f"; {'; '.join(extra)}" if extra else "") + f"){stale}")
    st.markdown("\n".join(lines))


for theme, title in THEMES.items():
    rows = [r for r in records if r["theme"] == theme]
    head, link = st.columns([3, 1], vertical_alignment="bottom")
    head.header(title)
    link.page_link(f"app_pages/{theme}.py", label="Kaart, trend en ranglijst",
                   icon=":material/arrow_forward:", query_params={"gemeente": gm})
    if not rows:
        st.info("Voor dit thema zijn (nog) geen indicatoren in de snapshot.")
        continue
    own, blocks = pr.split_by_level(rows)
    gaps = [r for r in own if r["period"] is None]  # one short list, not a card each
    own = [r for r in own if r["period"] is not None]
    for start in range(0, len(own), 3):  # row by row: a phone stacks them in reading order
        for col, r in zip(st.columns(3), own[start:start + 3], strict=False):
            with col:
                card(r)
    if gaps:
        with st.container(border=True):
            gap_block(gaps)
    for label, figures in blocks.items():
        with st.container(border=True):
            region_block(label, figures)
    tables = sorted({t for r in rows if r["cbs_table"] for t in r["cbs_table"].split("+")})
    components.source_caption(data, "+".join(tables))

changes = compute.change_lines(data.manifest, data.indicators)
if changes is not None:
    st.header("Sinds de vorige verversing")
    if changes:
        st.markdown("\n".join(f"- {line}" for line in changes))
        prev = str(data.manifest.changes.previous_snapshot)
        when = (f" van {int(prev[6:8])} {fmt.MONTHS[int(prev[4:6]) - 1]} {prev[:4]}"
                if prev[:8].isdigit() and 1 <= int(prev[4:6]) <= 12 else "")
        st.caption("Nieuwe perioden, door het CBS herziene cijfers en cijfers die van voorlopig "
                   f"naar definitief gingen, vergeleken met de vorige snapshot{when}.")
    else:
        st.caption("Geen wijzigingen in de cijfers sinds de vorige verversing.")

st.header("Download")
components.briefing_button(ctx, key="profiel")
prof = pd.DataFrame(records)
export = compute.profile_export(prof, THEMES)
if ctx.current_boundaries:
    export["harmonisatie"] = prof["harmonisation"]
components.downloads(f"gemeenteprofiel {data.names[gm]}", {"Gemeenteprofiel": export}, data,
                     prof["indicator"].tolist(), key="profiel")
