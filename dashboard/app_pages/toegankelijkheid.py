"""Toegankelijkheid: the toegankelijkheidsverklaring (accessibility statement) along the Dutch
model (Besluit digitale toegankelijkheid overheid; digitoegankelijk.nl): scope, compliance status,
how it was established, known exceptions with their effect, alternative and plan, contact route,
complaints, date. Static text; the contact route is set by whoever serves the dashboard."""

import os

import streamlit as st

STATEMENT_DATE = "2 december 2026"
STATUS = "C — eerste maatregelen genomen"
CONTACT = os.environ.get("REGIO_TOEGANKELIJKHEID_CONTACT", "").strip()

# (onderdeel, wat er niet goed gaat en voor wie, alternatief, maatregel)
EXCEPTIONS = [
    ("Kaarten",
     "De kaart van Nederland is één afbeelding met een samenvatting in tekst. Naam en waarde "
     "per gemeente verschijnen alleen bij aanwijzen met de muis; met een schermlezer of alleen "
     "het toetsenbord zijn de gemeenten op de kaart niet één voor één te bereiken.",
     "Dezelfde cijfers staan in de ranglijst en de tabel onder de kaart, en zijn te downloaden "
     "als CSV of Excel.",
     "Geen: de tabel blijft het toegankelijke alternatief."),
    ("Grafieken",
     "Details in een grafiek (de waarde bij een punt) verschijnen bij aanwijzen met de muis.",
     "Bij elke grafiek staat een korte samenvatting in tekst en de tabel met de getoonde cijfers; "
     "alle cijfers zijn te downloaden.",
     "Doorlopend: nieuwe grafieken krijgen dezelfde tekst- en tabelvorm."),
    ("Tabellen",
     "De tabellen van het dashboard (Streamlit) tekenen hun cellen op een tekenvlak met een "
     "verborgen kopie voor hulpsoftware; niet elke schermlezer leest die even goed voor.",
     "Elke tabel is te downloaden als CSV of Excel en te openen in eigen software.",
     "Bij een volgende versie van Streamlit opnieuw beoordelen."),
    ("Teksten van Streamlit",
     "Een paar knoppen en labels van het onderliggende pakket (Streamlit) zijn in de software "
     "Engels. Het dashboard vertaalt ze in de browser naar het Nederlands; heel kort na het laden "
     "of in een zeldzaam onderdeel kan nog een Engelse tekst te zien of te horen zijn.",
     "Geen nodig: de betekenis blijkt ook uit de omgeving.",
     "Nieuwe Engelse teksten worden aan de vertaling toegevoegd zodra ze gevonden worden."),
    ("Gegevens van het CBS",
     "Namen van tabellen en toelichtingen komen van het CBS en kunnen afkortingen of vaktaal "
     "bevatten.",
     "De pagina ‘Over de data’ legt de begrippen en bronnen uit.",
     "Geen: de teksten zijn van de bron."),
]

st.title("Toegankelijkheid")
st.markdown(
    "Iedereen moet dit dashboard kunnen gebruiken: met een schermlezer, alleen met het "
    "toetsenbord, vergroot, of op een telefoon. Overheden moeten voldoen aan het **Besluit "
    "digitale toegankelijkheid overheid**: de norm is **WCAG 2.1 op niveau AA** (EN 301 549). "
    "Op deze pagina staat hoe ver het dashboard daarmee is.")

st.header("Verklaring")
st.markdown(
    "De organisatie die dit dashboard aanbiedt, streeft ernaar het toegankelijk te maken volgens "
    "het Besluit digitale toegankelijkheid overheid. Deze verklaring geldt voor alle pagina’s van "
    "het dashboard *Regionale economie* (VNG Bestuurlijk Netwerk Economie) en de downloads die "
    "het maakt (CSV, Excel en de briefing als PDF).\n\n"
    f"**Nalevingsstatus: {STATUS}.** Het dashboard is gebouwd en getest op de eisen van WCAG 2.1 "
    "AA, maar is nog niet door een onafhankelijke deskundige volledig onderzocht. Daarom "
    "claimen we nog niet dat het ‘gedeeltelijk’ of ‘volledig’ voldoet; na zo’n onderzoek wordt "
    "deze status bijgewerkt.")

st.header("Hoe dit is vastgesteld")
st.markdown(
    "- Bij elke wijziging van de software controleert een geautomatiseerde test (axe-core, de "
    "regels voor WCAG 2.0 en 2.1, niveau A en AA) elke pagina in een echte browser, op de "
    "breedte van een computerscherm (1400 pixels) en van een telefoon (390 pixels), voor drie "
    "gemeenten van verschillende grootte. Ernstige en kritieke bevindingen houden de wijziging "
    "tegen.\n"
    "- Een tweede test bedient het dashboard alleen met het toetsenbord: een gemeente kiezen, "
    "naar een andere pagina gaan, de tabel bij een grafiek openen en een CSV downloaden.\n"
    "- De briefing (PDF) is getagd: koppen, tabellen, leesvolgorde, taal Nederlands en een "
    "beschrijving bij elke grafiek.\n"
    "- Geautomatiseerde tests vinden maar een deel van de mogelijke problemen. Een onderzoek door "
    "een deskundige, met schermlezers en andere hulpmiddelen, is nog niet gedaan.")

st.header("Bekende uitzonderingen")
st.markdown("Deze onderdelen voldoen (nog) niet helemaal. Per onderdeel: wat er niet goed gaat, "
            "welk alternatief er is en wat we eraan doen.")
for part, problem, alternative, plan in EXCEPTIONS:
    st.markdown(f"**{part}.** {problem}  \n*Alternatief:* {alternative}  \n*Maatregel:* {plan}")

st.header("Contact en feedback")
if CONTACT:
    st.markdown(
        f"Loopt u tegen een probleem aan, of is iets niet te gebruiken met uw hulpmiddel? Meld "
        f"het bij **{CONTACT}**. Noem de pagina en wat u probeerde te doen. U krijgt binnen vijf "
        "werkdagen een ontvangstbevestiging en binnen drie weken een inhoudelijke reactie, met "
        "de gevraagde informatie in een vorm die u wel kunt gebruiken.")
else:
    st.markdown(
        "Loopt u tegen een probleem aan, of is iets niet te gebruiken met uw hulpmiddel? Meld het "
        "bij de organisatie die u de link naar dit dashboard gaf (uw gemeente of de VNG). Noem de "
        "pagina en wat u probeerde te doen. U hoort binnen vijf werkdagen dat uw melding is "
        "ontvangen en binnen drie weken krijgt u een inhoudelijke reactie, met de gevraagde "
        "informatie in een vorm die u wel kunt gebruiken.")

st.header("Klachten")
st.markdown(
    "Bent u niet tevreden met de reactie? Dien dan een klacht in bij de organisatie die het "
    "dashboard aanbiedt. Komt u er samen niet uit, dan kunt u terecht bij de Nationale "
    "ombudsman ([nationaleombudsman.nl](https://www.nationaleombudsman.nl)) of de "
    "ombudsman of ombudscommissie van uw gemeente.")

st.header("Datum")
st.markdown(f"Deze verklaring is opgesteld op **{STATEMENT_DATE}** en wordt bijgewerkt bij elke "
            "versie die de toegankelijkheid verandert, en uiterlijk na een jaar.")
