"""The v3 dialect (``standin/v3.py``), mostly through the real cbsodata client: service documents,
entity sets, the catalogue, paging with ``odata.nextLink``, errors and ``UntypedDataSet``."""

from __future__ import annotations

import json

import cbsodata
import pytest
import requests

from standin import untyped_rows
from tests.support.cbs_factory import write_gebieden
from tests.support.paths import SHARED_CBS, require_shared
from tests.support.standin_feed import (
    REGIONS,
    ROWS,
    client,
    data_requests,
    error_message,
    get,
    make_table,
)

# --- the cbsodata client end to end ---------------------------------------------------------


def test_get_data_resolves_titles(server):
    rows = cbsodata.get_data("T1", **client(server))
    assert [r["ID"] for r in rows] == list(range(len(ROWS)))
    assert rows[2] == {
        "ID": 2,
        "StatusVanBewoning": "Totaal",
        "RegioS": "Groningen (PV)",
        "Perioden": "2022",
        "Woningen_1": 20,
        "Aandeel_2": 3.5,
    }
    assert rows[7]["StatusVanBewoning"] == "Bewoonde woningen"
    assert rows[7]["Woningen_1"] is None


def test_download_data_keeps_keys(server):
    data = cbsodata.download_data("T1", **client(server))
    # cbsodata 1.3.5: typed=False fetches TypedDataSet (and skips UntypedDataSet)
    assert "UntypedDataSet" not in data
    assert set(data) == {
        "TableInfos",
        "TypedDataSet",
        "DataProperties",
        "CategoryGroups",
        "StatusVanBewoning",
        "RegioS",
        "Perioden",
    }
    assert [r["RegioS"] for r in data["TypedDataSet"]] == [row[1] for row in ROWS]
    assert data["TableInfos"][0]["Identifier"] == "T1"
    assert [p["Status"] for p in data["Perioden"]] == ["Definitief", "Voorlopig"]
    topics = [p for p in data["DataProperties"] if p["Type"] == "Topic"]
    assert [(t["Key"], t["Decimals"], t["Datatype"]) for t in topics] == [
        ("Woningen_1", 0, "Long"),
        ("Aandeel_2", 1, "Double"),
    ]


def test_service_document_and_metadata_point_at_the_server(server):
    r = get(server, "")
    assert r.headers["Content-Type"] == "application/json;charset=utf-8"
    assert int(r.headers["Content-Length"]) == len(r.content)
    doc = r.json()
    assert doc["odata.metadata"].startswith(server.url + "/ODataFeed/")
    assert {e["name"]: e["url"] for e in doc["value"]}["UntypedDataSet"] == (
        f"{server.url}/ODataFeed/odata/T1/UntypedDataSet"
    )
    assert all(e["url"].startswith(server.url) for e in doc["value"])
    assert get(server, "RegioS").json()["odata.metadata"].startswith(server.url + "/ODataFeed/")
    # no trailing slash, "OData" spelling and a lower-case table id all work
    no_slash = requests.get(f"{server.url}/ODataFeed/OData/t1?$format=json", timeout=5)
    assert no_slash.json()["value"] == doc["value"]


def test_service_document_without_root_json(tmp_path, standin):
    (make_table(tmp_path) / "root.json").unlink()
    s = standin(tmp_path)
    names = [e["name"] for e in get(s, "").json()["value"]]
    assert names[:5] == [
        "TableInfos",
        "UntypedDataSet",
        "TypedDataSet",
        "DataProperties",
        "CategoryGroups",
    ]
    assert sorted(names[5:]) == ["Perioden", "RegioS", "StatusVanBewoning"]
    assert len(cbsodata.get_data("T1", **client(s))) == len(ROWS)


def test_get_table_list(tmp_path, standin):
    make_table(tmp_path, "T1")
    make_table(tmp_path, "T2", title="Andere tabel")
    s = standin(tmp_path)
    tables = cbsodata.get_table_list(**client(s))
    assert [(t["Identifier"], t["Title"]) for t in tables] == [
        ("T1", "Woningen; bewoning, regio"),
        ("T2", "Andere tabel"),
    ]
    only = cbsodata.get_table_list(filters="Identifier eq 'T2'", select=["Title"], **client(s))
    assert only == [{"Title": "Andere tabel"}]


# --- paging ---------------------------------------------------------------------------------


def test_paging_gets_every_row(tmp_path, standin):
    rows = [("T001235", key, "2023JJ00", i, None) for i, (key, _) in enumerate(REGIONS * 2)][:7]
    make_table(tmp_path, rows=rows)
    s = standin(tmp_path, page_size=3)
    data = cbsodata.get_data("T1", **client(s))
    assert [r["ID"] for r in data] == list(range(7))
    assert data[5]["RegioS"] == "Groningen (PV)"  # titles resolved from the (also paged) RegioS
    skips = [q.get("$skip") for q in data_requests(s)]
    assert skips == [None, ["3"], ["6"]]


def test_paging_keeps_filter_and_select(tmp_path, standin):
    rows = [("T001235", key, f"20{10 + i}JJ00", i, i / 2) for i, (key, _) in enumerate(REGIONS * 3)]
    make_table(tmp_path, rows=rows)  # 12 rows, 9 of them outside NL01
    s = standin(tmp_path, page_size=4)
    flt = "not (RegioS eq 'NL01  ')"
    select = ["Woningen_1", "RegioS"]
    data = cbsodata.download_data("T1", filters=flt, select=select, **client(s))["TypedDataSet"]
    assert [list(r) for r in data] == [["Woningen_1", "RegioS"]] * 9
    assert [r["Woningen_1"] for r in data] == [i for i in range(12) if i % 4]
    pages = data_requests(s)
    assert len(pages) == 3
    for query in pages:
        assert query["$filter"] == [flt]
        assert query["$select"] == ["Woningen_1,RegioS"]
    assert [q.get("$skip") for q in pages] == [None, ["4"], ["8"]]


def test_next_link_shape_and_last_page(server):
    server.page_size = 3
    first = get(server, "TypedDataSet", filter="Perioden eq '2023JJ00'", select="ID").json()
    assert [r["ID"] for r in first["value"]] == [1, 3, 4]
    link = first["odata.nextLink"]
    assert link.startswith(f"{server.url}/ODataFeed/OData/T1/TypedDataSet?$format=json&")
    assert link.endswith("&$skip=3")
    second = requests.get(link, timeout=5).json()
    assert [r["ID"] for r in second["value"]] == [5, 6, 7]
    assert "odata.nextLink" not in second
    # $top is honoured across pages: 5 rows = a page of 3, then one of 2 and no further link
    top = get(server, "TypedDataSet", top=5).json()
    assert top["odata.nextLink"].endswith("$top=2&$skip=3")
    rest = requests.get(top["odata.nextLink"], timeout=5).json()
    assert [r["ID"] for r in rest["value"]] == [3, 4]
    assert "odata.nextLink" not in rest


# --- errors ---------------------------------------------------------------------------------


def test_unknown_table_is_404(server):
    with pytest.raises(requests.HTTPError, match="404") as info:
        cbsodata.get_data("99999NED", **client(server))
    assert info.value.__cause__.response.status_code == 404  # cbsodata re-raises without it


def test_unknown_entity_is_404(server):
    r = get(server, "Nope")
    assert r.status_code == 404
    assert "Nope" in error_message(r)
    assert r.json()["odata.error"]["message"]["lang"] == "nl-NL"
    assert get(server, "root").status_code == 404
    assert requests.get(f"{server.url}/somewhere/else", timeout=5).status_code == 404
    with pytest.raises(requests.HTTPError, match="404"):
        cbsodata.get_meta("T1", "Nope", **client(server))


# --- UntypedDataSet -------------------------------------------------------------------------


def test_untyped_is_made_from_typed(server):
    data = cbsodata.download_data("T1", typed=True, **client(server))
    assert "TypedDataSet" not in data
    untyped = data["UntypedDataSet"]
    woningen = ["100", "110", " 20", " 21", " 30", "  5", " 19", ""]
    aandeel = [" 12.5", "", "  3.5", "  4.0", "100.0", "  0.5", "", "  7.0"]
    assert [r["Woningen_1"] for r in untyped] == woningen
    assert [r["Aandeel_2"] for r in untyped] == aandeel
    assert [r["RegioS"] for r in untyped] == [row[1] for row in ROWS]
    assert [r["ID"] for r in untyped] == list(range(len(ROWS)))
    # filters compare the untyped text, padding included
    r = get(server, "UntypedDataSet", filter="Woningen_1 eq '  5'").json()
    assert [row["ID"] for row in r["value"]] == [5]
    assert r["odata.metadata"].endswith("#Cbs.OData.WebAPI.UntypedDataSet")


def test_untyped_rows_directly():
    """Numeric topics become text right-aligned to the column's widest value (at least 1 wide);
    String topics, keys and unlisted columns stay as they are; null becomes ""."""
    props = [{"Key": "N", "Type": "Topic", "Datatype": "Double", "Decimals": 2},
             {"Key": "S", "Type": "Topic", "Datatype": "String"},
             {"Key": "K", "Type": "Dimension"},
             {"Key": "Gone", "Type": "Topic", "Datatype": "Long", "Decimals": 0}]
    rows = [{"K": "A ", "N": 1.5, "S": "x", "Other": 3},
            {"K": "B ", "N": -10, "S": None, "Other": 4},
            {"K": "C ", "N": None, "S": "z", "Other": 5}]
    assert untyped_rows(rows, props) == [
        {"K": "A ", "N": "  1.50", "S": "x", "Other": 3},
        {"K": "B ", "N": "-10.00", "S": None, "Other": 4},
        {"K": "C ", "N": "", "S": "z", "Other": 5},
    ]
    assert untyped_rows([{"N": None}], props) == [{"N": ""}]
    assert untyped_rows([], props) == []


@pytest.mark.integration
def test_real_83599ned_untyped_pages_match_cbs(standin):
    real = SHARED_CBS / "odata_v3" / "83599NED"
    require_shared(SHARED_CBS / "mirror" / "83599NED")
    require_shared(real)
    s = standin(SHARED_CBS / "mirror")
    page1 = get(s, "UntypedDataSet", table="83599NED").json()
    expected1 = json.loads((real / "UntypedDataSet_page1.json").read_text(encoding="utf-8"))
    assert len(page1["value"]) == 10_000
    assert page1["value"] == expected1["value"]
    assert page1["odata.nextLink"].endswith("$skip=10000")
    page2 = requests.get(page1["odata.nextLink"], timeout=10).json()
    expected2 = json.loads(
        (real / "UntypedDataSet_page2_skip10000.json").read_text(encoding="utf-8")
    )
    assert page2["value"] == expected2["value"]
    assert "odata.nextLink" not in page2


# --- gebieden (the regional classification table) ------------------------------------------


def gemeente(code: str, name: str, pv: tuple[str, str], cr: tuple[str, str]) -> dict:
    return {
        "code": code,
        "name": name,
        "provincie": pv,
        "corop": cr,
        "am": ("AM01", "Groningen"),
        "landsdeel": ("LD01", "Noord-Nederland"),
        "size": ("4", "20 000 tot 50 000 inwoners"),
        "urbanity": ("5", "Niet stedelijk"),
        "inwoners": 25000,
        "density": 300,
    }


@pytest.mark.parametrize(("layout", "corop", "provincie"), [("2024", 10, 28), ("2020", 8, 26)])
def test_gebieden_layouts(tmp_path, standin, layout, corop, provincie):
    gemeenten = [
        gemeente("GM0014", "Groningen", ("PV20", "Groningen"), ("CR02", "Overig Groningen")),
        gemeente("GM0080", "Leeuwarden", ("PV21", "Fryslân"), ("CR05", "Noord-Friesland")),
    ]
    write_gebieden(tmp_path, "G1", gemeenten=gemeenten, layout=layout)
    s = standin(tmp_path)
    props = cbsodata.get_meta("G1", "DataProperties", **client(s))
    groups = {p["ID"]: p["Title"] for p in props if p["Type"] == "TopicGroup"}
    parent = {p["Key"]: groups.get(p["ParentID"]) for p in props if p["Type"] == "Topic"}
    assert parent[f"Code_{corop}"] == parent[f"Naam_{corop + 1}"] == "COROP-gebieden"
    assert parent[f"Code_{provincie}"] == "Provincies"
    rows = cbsodata.get_meta("G1", "TypedDataSet", **client(s))
    assert [r["RegioS"] for r in rows] == ["GM0014", "GM0080"]
    assert rows[1][f"Code_{provincie}"] == "PV21      "
    assert rows[1][f"Naam_{provincie + 1}"] == "Fryslân".ljust(50)
    assert rows[0][f"Code_{corop}"] == "CR02      "
    last = 53 if layout == "2020" else 57
    assert rows[0][f"Omgevingsadressendichtheid_{last}"] == 300
    assert rows[0][f"Omschrijving_{last - 4}"] == "20 000 tot 50 000 inwoners".ljust(50)
    untyped = get(s, "UntypedDataSet", table="G1").json()["value"]
    assert untyped[0][f"Inwonertal_{last - 1}"] == "25000"
    assert untyped[0]["Code_1"] == "GM0014    "
