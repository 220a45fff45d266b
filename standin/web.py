"""The stand-in's web area: pages and files as www.cbs.nl serves them, for the CBS file client.

CBS publishes the Landelijke Monitor Leegstand not as an OData table but as an Excel workbook
linked from a "maatwerk" landing page. The pipeline finds the link on the page and downloads the
file (``pipelines/cbs.py`` ``CbsFileClient``, base ``CBS_WEB_URL``). This module serves a folder
whose tree mirrors the site's paths - ``<dir>/nl-nl/maatwerk/2025/49/<slug>/index.html`` for the
page ``/nl-nl/maatwerk/2025/49/<slug>`` and ``<dir>/-/media/_excel/2025/49/<name>.xlsx`` for the
file - answering GET and HEAD with an ETag (the file's sha256) and Last-Modified, so the nightly
no-op can be tested; a path that is no file is 404, as at CBS for a week without an edition.

:func:`write_lml_fixture` builds such a folder from the **documented layout** of CBS's series
workbook (``../shared/cbs/lml/``: column names, gebruiksfuncties, the "." marker; no real
workbook exists offline). Its values are invented and the page and the workbook say so in their
titles: it is a test fixture, never a CBS figure. The knobs (``rename``, ``drop_functie``,
``gemeenten``) make the broken workbooks the tests need.
"""

from __future__ import annotations

import hashlib
import io
from email.utils import formatdate
from pathlib import Path

FIXTURE_MARK = "TESTFIXTUUR - geen CBS-cijfers"
TYPES = {".html": "text/html; charset=utf-8",
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
LAYOUT = ("Regio", "Gebiedstype", "Gemeentecode", "Gemeentenaam", "Provinciecode",
          "Provincienaam", "COROPcode", "COROPnaam", "Stedelijkheid", "Jaar", "Gebruiksfunctie",
          "Eenheid", "Totale voorraad", "Onderzoekspopulatie", "Leegstand (aantal)",
          "Leegstand, jaar eerder ook al leeg (aantal)",
          "Leegstand, jaar eerder ook al leeg (percentage t.o.v. totale leegstand)")
FUNCTIES = ("Woningen", "Kantoren", "Winkels", "Industrie", "Logies", "Bijeenkomsten",
            "Gezondheidszorg", "Onderwijs", "Sport", "Niet-woning met meerdere functies",
            "Overige")
EENHEDEN = ("Aantal", "Gebruiksoppervlakte (m2)")


class WebArea:
    """Files under ``root`` served at their path (a folder: its ``index.html``)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.agents: list[str] = []  # the User-Agent of every request (cbs.nl wants one)

    def file_for(self, path: str) -> Path | None:
        rel = path.strip("/")
        if not rel or any(p in ("", ".", "..") for p in rel.split("/")):
            return None
        f = (self.root / rel).resolve()
        if self.root not in f.parents:
            return None
        if f.is_dir():
            f = f / "index.html"
        return f if f.is_file() else None

    def matches(self, path: str) -> bool:
        """Web paths are those of www.cbs.nl: /nl-nl/... and /-/media/... (OData is elsewhere)."""
        return path.startswith(("/nl-nl/", "/-/media/"))

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        f = self.file_for(path)
        if f is None:
            return 404, {"Content-Type": TYPES[".html"]}, b"<html><body>Niet gevonden</body></html>"
        body = f.read_bytes()
        return 200, {"Content-Type": TYPES.get(f.suffix, "application/octet-stream"),
                     "ETag": '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
                     "Last-Modified": formatdate(f.stat().st_mtime, usegmt=True)}, body


def fixture_value(code: str, year: int, functie: str, eenheid: str) -> dict[str, float | str]:
    """Invented, deterministic figures for one row (counts rounded to tens, as CBS does)."""
    n = int(code[2:]) if code[2:].isdigit() else 1
    stock = 10 * (20 + 7 * n + FUNCTIES.index(functie)) * (60 if eenheid != "Aantal" else 1)
    rate = (3 + (n % 5) + (year - 2015) * 0.2 + FUNCTIES.index(functie) * 0.3) / 100
    leeg = 10 * round(stock * rate / 10)
    ook = 10 * round(leeg * 0.6 / 10)
    return {"Totale voorraad": stock, "Onderzoekspopulatie": stock - 10 * (n % 3),
            "Leegstand (aantal)": leeg, "Leegstand, jaar eerder ook al leeg (aantal)": ook,
            "Leegstand, jaar eerder ook al leeg (percentage t.o.v. totale leegstand)":
                round(100 * ook / leeg, 1) if leeg else "."}


def lml_workbook(gemeenten: list[tuple[str, str]], years: list[int], *,
                 rename: dict[str, str] | None = None, drop_functie: str | None = None,
                 secret: set[tuple[str, int]] = frozenset(), header_row: int = 4,
                 value=fixture_value) -> bytes:
    """A workbook in the documented layout: a notes sheet first, title rows above the header,
    footnotes under the data. ``secret``: (code, year) whose Winkels rows are "." (secret)."""
    import openpyxl

    rename = rename or {}
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Toelichting"
    notes.append([f"Landelijke Monitor Leegstand - {FIXTURE_MARK}"])
    notes.append(["Gebouwd uit de gedocumenteerde kolomindeling; alle waarden zijn verzonnen."])
    ws = wb.create_sheet("Tabel 5")
    ws.append([f"Tabel 5 Leegstand naar gebruiksfunctie, gemeente ({FIXTURE_MARK})"])
    for _ in range(header_row - 2):
        ws.append([])
    ws.append([rename.get(c, c) for c in LAYOUT])
    for code, name in gemeenten:
        for year in years:
            for functie in FUNCTIES:
                if functie == drop_functie:
                    continue
                for eenheid in EENHEDEN:
                    v = value(code, year, functie, eenheid)
                    if (code, year) in secret and functie == "Winkels":
                        v = {k: "." for k in v}
                    ws.append(["Gemeente", "Gemeente", code, name, "PV20", "Groningen", "CR01",
                               "Oost-Groningen", 3, year, functie, eenheid,
                               *(v[c] for c in LAYOUT[12:])])
    ws.append([])
    ws.append(["Bron: TESTFIXTUUR. '.' = geheim of onbekend."])
    ws.append(["Jaar: peildatum 1 januari."])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_lml_fixture(root: str | Path, edition: int, week: int,
                      gemeenten: list[tuple[str, str]], years: list[int] | None = None,
                      **workbook_opts) -> tuple[str, str]:
    """Write a landing page and its workbook under ``root`` (a web area's folder) at CBS's
    paths; returns (page path, file path). The page links the workbook and other files."""
    root = Path(root)
    years = years or list(range(edition - 3, edition + 1))
    page = f"/nl-nl/maatwerk/{edition}/{week:02d}/landelijke-monitor-leegstand-{edition}"
    name = f"Leegstandsmonitor_2015_{edition}_tabel5.xlsx"
    file = f"/-/media/_excel/{edition}/{week:02d}/{name}"
    (root / page.strip("/")).mkdir(parents=True, exist_ok=True)
    (root / file.strip("/")).parent.mkdir(parents=True, exist_ok=True)
    (root / file.strip("/")).write_bytes(lml_workbook(gemeenten, years, **workbook_opts))
    (root / page.strip("/") / "index.html").write_text(
        f"<html><head><title>Landelijke Monitor Leegstand {edition} ({FIXTURE_MARK})</title>"
        f"</head><body><h1>Landelijke Monitor Leegstand {edition}</h1>"
        f"<p>{FIXTURE_MARK}</p>"
        f'<a href="/-/media/_pdf/{edition}/{week:02d}/toelichting.pdf">Toelichting</a>'
        f'<a href="/-/media/_excel/{edition}/{week:02d}/brondata_woningen.xlsx">Woningen</a>'
        f'<a href="{file}">Tabellen (xlsx)</a></body></html>', encoding="utf-8")
    return page, file
