"""Over de data: definitions, units, CBS tables with StatLine links, period status, fetch dates,
licence, and the pipeline's recent runs."""

import pandas as pd
import streamlit as st

from dashboard.core import exports
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.ui import components
from dashboard.ui import data as dataio
from pipelines.catalog import THEMES

ctx = components.context()
data = ctx.data
manifest = data.manifest

st.title("Over de data")
st.markdown(
    "Alle cijfers komen uit **CBS StatLine** (open data van het Centraal Bureau voor de "
    "Statistiek) en worden elke nacht opgehaald en gecontroleerd door de pipeline. Dit dashboard "
    "leest alleen de gepubliceerde snapshot en haalt niets live bij het CBS op.\n\n"
    "**Bron: CBS.** Licentie: [CC BY 4.0](https://creativecommons.org/licenses/by/4.0/deed.nl); "
    f"bij hergebruik graag ‘{pr.CREDIT}’ vermelden.\n\n"
    f"Snapshot **{data.snapshot_id}**, gepubliceerd {fmt.datetime_nl(manifest.published_at)}."
    f" Gemeentelijke indeling van {manifest.reference_year}.")
st.caption("Voorlopige cijfers kunnen nog wijzigen; het CBS stelt ze later definitief vast. "
           "Ontbrekende cijfers worden als ‘geen gegevens’ getoond, nooit als 0.")

tables = manifest.tables
coverage = manifest.coverage
rows = []
KIND_TEXT = {pr.SIZE: "omvang (groeit met de gemeente)", pr.RATE: "verhouding of aandeel",
             pr.INDEX: "indexcijfer"}
for iid, m in data.indicators.items():
    ind = data.by_indicator[iid]
    latest = str(ind["period"].max())
    statuses = ind.loc[ind["period"] == latest, "status"].map(fmt.status).unique()
    cov = coverage.get(iid)
    first = (m.tables or ("",))[0]
    fetched = [tables[t].fetched_at or "" if t in tables else "" for t in m.tables or ("",)]
    rows.append({
        "Thema": THEMES.get(m.theme, m.theme), "Indicator": m.title,
        "Definitie": m.description, "Eenheid": m.unit,
        "CBS-tabellen": ", ".join(m.tables), "StatLine": exports.statline_url(first),
        "Soort cijfer": KIND_TEXT[pr.kind(m)] + ("" if pr.is_rankable(m) else "; geen positie"),
        "Laatste periode": fmt.period(latest) + (f" ({pr.STALE})" if data.lags and
                                                 data.lags.of(iid, latest).stale else ""),
        "Status": ", ".join(sorted(statuses)),
        "Gemeenten met cijfer": (f"{cov.covered} van {cov.expected}"
                                 if cov and cov.expected else "niet per gemeente"),
        "Opgehaald": fmt.date(min(fetched)),
        "Berekening": m.formula or "rechtstreeks uit de CBS-tabel",
        "Niveaus": ", ".join(m.levels),
        "id": iid,
    })
ind_df = pd.DataFrame(rows)
config = {"StatLine": st.column_config.LinkColumn("StatLine", display_text="open tabel"),
          "Definitie": st.column_config.TextColumn("Definitie", width="large"),
          # on a phone the other columns scroll inside the table; the name stays in view
          "Indicator": st.column_config.TextColumn("Indicator", pinned=True),
          "Tabel": st.column_config.TextColumn("Tabel", pinned=True)}
for title in THEMES.values():
    st.header(title)
    st.dataframe(ind_df[ind_df["Thema"] == title].drop(columns=["Thema"]), hide_index=True,
                 column_config=config)

off = [m for m in manifest.indicators if not m.enabled]
if off:
    st.header("Nog niet in dit dashboard")
    st.markdown("Deze indicatoren staan in de catalogus, maar worden (nog) niet getoond:")
    st.dataframe(pd.DataFrame([{
        "Thema": THEMES.get(m.theme, m.theme), "Indicator": m.title,
        "Waarom niet": m.disabled_reason or "nog niet geverifieerd",
    } for m in off]), hide_index=True, column_config=config)

st.header("Cijfers per wijk")
st.markdown(
    "De pagina **Wijken** komt uit de *Kerncijfers wijken en buurten* van het CBS (per jaar een "
    "eigen tabel) en de wijkgrenzen uit de CBS wijk- en buurtkaart van hetzelfde jaar (PDOK). "
    "Drie dingen om te weten:\n\n"
    "- **Afronding.** Het CBS rondt het aantal bedrijfsvestigingen en het aantal inwoners per "
    "wijk af op 5. Bij een kleine wijk (25 vestigingen of minder, of heel weinig inwoners) zijn "
    "het aantal en wat ervan is afgeleid (per km², per 1.000 inwoners, aandeel per sector) "
    "daardoor onnauwkeurig: ze staan er met die markering, maar krijgen geen kleur op de "
    "kaart.\n"
    "- **Centrum, rest en gemeente** zijn berekend uit hun wijken samen, als één gebied: "
    "vestigingen per km² is de som van de vestigingen gedeeld door de som van de oppervlakte. "
    "Een percentage dat het CBS per wijk publiceert (onbewoonde woningen) of een gemiddelde "
    "(WOZ-waarde, afstand tot een supermarkt) is gewogen met het aantal woningen of inwoners. "
    "Nederland is zo berekend uit alle wijken.\n"
    "- **Wijkcodes veranderen.** Bij een herindeling of een nieuwe wijkindeling krijgt een wijk "
    "een nieuwe code of een andere grens. Een verandering ten opzichte van het vorige jaar staat "
    "er alleen als het CBS de wijk vergelijkbaar noemt (code en grens ongewijzigd); anders staat "
    "er ‘nieuwe of gewijzigde wijk’.")

st.header("Leegstand van winkels en kantoren")
st.markdown(
    "De leegstand van winkels en kantoren komt uit de **Landelijke Monitor Leegstand**, die het "
    "CBS elk jaar maakt in opdracht van het ministerie van BZK. Het CBS publiceert die niet als "
    "StatLine-tabel maar als Excel-werkboek op cbs.nl (licentie CC BY 4.0). De nachtelijke "
    "verversing zoekt het werkboek van de nieuwste editie, controleert de kolommen en de "
    "gebruiksfuncties en neemt de cijfers per gemeente over met dezelfde controles als elke "
    "CBS-tabel; een nieuwe editie wordt vanzelf gevonden en gemeld.\n\n"
    "Het gaat om **administratieve leegstand**: een object uit de BAG (een winkel, een kantoor) "
    "telt als leeg als er op 1 januari volgens de registraties niemand woont (BRP), geen bedrijf "
    "staat ingeschreven (Handelsregister) en er geen gebruiker bekend is bij de WOZ. Niemand "
    "gaat ter plekke kijken, dus een winkel die in gebruik is als opslag kan leeg lijken en "
    "andersom. Het dashboard toont het percentage leegstaande objecten en het percentage van "
    "de vloeroppervlakte, en het deel van de leegstand dat een jaar eerder ook al leeg stond "
    "(de enige maat voor hoe lang leegstand duurt). Sinds 2020 gebruikt het CBS de Landelijke "
    "Voorziening WOZ; cijfers van voor 2020 zijn daardoor niet goed vergelijkbaar (trendbreuk, "
    "vermeld bij elke grafiek). Het CBS rondt de aantallen af op tientallen: bij kleine "
    "gemeenten is het percentage daardoor grof en wordt het niet gerangschikt.\n\n"
    "**Wat dit dashboard niet kan tonen:** leegstand per winkelgebied, binnenstad of "
    "winkelcentrum. Daarvoor bestaat geen landelijk open cijfer; winkelleegstand per "
    "winkelgebied meet Locatus, en die gegevens zijn commercieel. Voor woningen toont het "
    "dashboard ‘onbewoonde woningen’ (CBS-tabel 82900NED).")

st.header("CBS-tabellen")
tdf = pd.DataFrame([{
    "Tabel": t, "Titel": info.title, "StatLine": exports.source_url(data.manifest, t),
    "CBS gewijzigd": fmt.date(info.modified),
    "Opgehaald": fmt.datetime_nl(info.fetched_at), "Rijen": fmt.number(info.rows),
    "Toestand": ("verouderd (laatste ophaalpoging mislukt)" if info.stale else
                 f"stopgezet door het CBS ({info.output_status})"
                 if str(info.output_status or "Regulier").lower() not in ("regulier",
                                                                          "regular")
                 else "actueel"),
} for t, info in tables.items()])
st.dataframe(tdf, hide_index=True, column_config=config)

runs = dataio.run_history()
if runs:
    st.header("Laatste verversingen")
    outcome = {"ok": "gelukt", "partial": "deels gelukt", "failed": "mislukt",
               "noop": "niets nieuws", "locked": "niet gestart (er liep al een verversing)"}
    st.dataframe(pd.DataFrame([{
        "Gestart": fmt.datetime_nl(r.get("started")),
        "Uitkomst": outcome.get(r.get("outcome"), r.get("outcome")),
        "Snapshot": r.get("snapshot_id") or "",
        "Problemen": "; ".join(f"{t}: {v.get('error')}" for t, v in (r.get("tables") or {}).items()
                               if isinstance(v, dict) and v.get("error")),
    } for r in reversed(runs[-10:])]), hide_index=True)

components.downloads("indicatoren en bronnen", {"Indicatoren": ind_df}, data,
                     list(data.indicators), key="over")
