"""The Landelijke Monitor Leegstand workbook reader (pipelines/workbook.py) on fixture workbooks
built from the documented layout (standin/web.py): the header is found by its column names under
title rows and beside a notes sheet, footnotes are no data, "." is missing with its reason, and a
workbook that does not fit is refused with one line naming file, sheet and what is missing."""

from __future__ import annotations

import pytest

from pipelines import catalog, workbook
from standin.web import lml_workbook, write_lml_fixture

GEMEENTEN = [("GM0001", "Aadorp"), ("GM0002", "Beekstad"), ("GM0003", "Cee"), ("GM0004", "Dorp")]
NAME = "Leegstandsmonitor_2015_2025_tabel5.xlsx"


@pytest.fixture(scope="module")
def src():
    return catalog.load().files["landelijke_monitor_leegstand"]


def test_header_under_title_rows_beside_a_notes_sheet(src):
    body = lml_workbook(GEMEENTEN, [2024, 2025], header_row=7, secret={("GM0002", 2025)})
    p = workbook.parse(body, NAME, src, 2025)
    assert (p.sheet, p.header_row) == ("Tabel 5", 7)
    assert p.rows == 4 * 2 * 11 * 2  # gemeenten x years x gebruiksfuncties x eenheden
    ents = p.entities
    assert {r["Key"] for r in ents["RegioS"]} == {c for c, _ in GEMEENTEN}
    assert [r["Key"] for r in ents["Perioden"]] == ["2024JJ00", "2025JJ00"]
    assert {r["Key"] for r in ents["Eenheid"]} == {"aantal", "oppervlakte"}
    assert len(ents["Gebruiksfunctie"]) == 11
    gm1 = next(r for r in ents["TypedDataSet"] if r["RegioS"] == "GM0001"
               and r["Perioden"] == "2025JJ00" and r["Gebruiksfunctie"] == "winkels"
               and r["Eenheid"] == "aantal")
    assert gm1["leeg"] > 0 and gm1["onderzoekspopulatie"] >= gm1["leeg"]
    assert "leeg@reason" not in gm1


def test_dot_is_missing_with_its_reason(src):
    body = lml_workbook(GEMEENTEN, [2025], secret={("GM0002", 2025)})
    rows = workbook.parse(body, NAME, src, 2025).entities["TypedDataSet"]
    secret = [r for r in rows if r["RegioS"] == "GM0002" and r["Gebruiksfunctie"] == "winkels"]
    assert len(secret) == 2
    for r in secret:
        assert r["leeg"] is None and r["voorraad"] is None
        assert "geheim of onbekend" in r["leeg@reason"] and "'.'" not in r["leeg@reason"]
        assert "‘.’" in r["leeg@reason"]
    other = [r for r in rows if r["RegioS"] == "GM0002" and r["Gebruiksfunctie"] == "kantoren"]
    assert all(r["leeg"] is not None for r in other)


def test_renamed_column_is_refused_with_one_line(src):
    body = lml_workbook(GEMEENTEN, [2025], rename={"Leegstand (aantal)": "Leegstand (stuks)"})
    with pytest.raises(workbook.WorkbookError) as err:
        workbook.parse(body, NAME, src, 2025)
    msg = str(err.value)
    assert "\n" not in msg and err.value.kind == "missing_measure"
    assert msg.startswith(f"{NAME}, sheet 'Tabel 5'") and "'Leegstand (aantal)'" in msg


def test_missing_gebruiksfunctie_is_refused_with_one_line(src):
    body = lml_workbook(GEMEENTEN, [2025], drop_functie="Winkels")
    with pytest.raises(workbook.WorkbookError) as err:
        workbook.parse(body, NAME, src, 2025)
    msg = str(err.value)
    assert "\n" not in msg and err.value.kind == "missing_category"
    assert f"{NAME}, sheet 'Tabel 5'" in msg and "'Winkels'" in msg and "Gebruiksfunctie" in msg


def test_not_a_workbook_and_text_in_a_number_column(src):
    with pytest.raises(workbook.WorkbookError, match="not an Excel workbook"):
        workbook.parse(b"<html>Access denied</html>", NAME, src, 2025)

    def value(code, year, functie, eenheid):
        from standin.web import fixture_value
        v = fixture_value(code, year, functie, eenheid)
        return {**v, "Leegstand (aantal)": "n.v.t."} if code == "GM0003" else v
    body = lml_workbook(GEMEENTEN, [2025], value=value)
    with pytest.raises(workbook.WorkbookError, match=r"sheet 'Tabel 5', cell O\d+ .*'n.v.t.'"):
        workbook.parse(body, NAME, src, 2025)


def test_landing_page_links_the_workbook(tmp_path, src):
    page, file = write_lml_fixture(tmp_path, 2025, 49, GEMEENTEN)
    html = (tmp_path / page.strip("/") / "index.html").read_text()
    matched, xlsx = workbook.workbook_links(html, "http://x" + page, src.link)
    assert matched == ["http://x" + file] and len(xlsx) == 2  # not the woningen file
