"""The local CBS OData v3 stand-in, mostly through the real cbsodata client."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import cbsodata
import pytest
import requests

from standin import StandIn, parse_filter
from tests.support.cbs_factory import write_gebieden, write_table
from tests.support.paths import SHARED_CBS

REPO = Path(__file__).resolve().parents[2]
SHARED = SHARED_CBS
HAVE_SHARED = (SHARED / "mirror").is_dir()

REGIONS = [
    ("NL01  ", "Nederland"),
    ("PV20  ", "Groningen (PV)"),
    ("PV21  ", "Fryslân (PV)"),
    ("GM0014", "Groningen (gemeente)"),
]
# (StatusVanBewoning, RegioS, Perioden, Woningen_1, Aandeel_2); the list index is the row ID
ROWS = [
    ("T001235", "NL01  ", "2022JJ00", 100, 12.5),
    ("T001235", "NL01  ", "2023JJ00", 110, None),
    ("T001235", "PV20  ", "2022JJ00", 20, 3.5),
    ("T001235", "PV20  ", "2023JJ00", 21, 4.0),
    ("T001235", "PV21  ", "2023JJ00", 30, 100),  # an int in a Decimals=1 column
    ("T001235", "GM0014", "2023JJ00", 5, 0.5),
    ("A028725", "PV20  ", "2023JJ00", 19, None),
    ("A028725", "GM0014", "2023JJ00", None, 7.0),
]


def make_table(root: Path, table_id: str = "T1", rows=ROWS, **kw) -> Path:
    columns = ("StatusVanBewoning", "RegioS", "Perioden", "Woningen_1", "Aandeel_2")
    return write_table(
        root,
        table_id,
        title=kw.pop("title", "Woningen; bewoning, regio"),
        dimensions={"StatusVanBewoning": [("T001235", "Totaal"), ("A028725", "Bewoonde woningen")]},
        measures=[("Woningen_1", "Woningen", "aantal", 0), ("Aandeel_2", "Aandeel", "%", 1)],
        periods=[("2022JJ00", "Definitief"), ("2023JJ00", "Voorlopig")],
        rows=[dict(zip(columns, row, strict=True)) for row in rows],
        regions=kw.pop("regions", REGIONS),
        **kw,
    )


@pytest.fixture(autouse=True)
def plain_http(monkeypatch):
    monkeypatch.setattr(cbsodata.options, "use_https", False)


@pytest.fixture
def server(tmp_path, standin) -> StandIn:
    make_table(tmp_path)
    return standin(tmp_path)


def client(s: StandIn) -> dict:
    """cbsodata keyword arguments for the stand-in."""
    return {"catalog_url": s.catalog_url, "proxies": {}}


def get(s: StandIn, entity: str, table: str = "T1", **params) -> requests.Response:
    query = {"$format": "json", **{f"${k}": v for k, v in params.items()}}
    return requests.get(f"{s.url}/ODataFeed/odata/{table}/{entity}", params=query, timeout=5)


def ids(s: StandIn, flt: str) -> list[int]:
    r = get(s, "TypedDataSet", filter=flt)
    assert r.status_code == 200, r.text
    return [row["ID"] for row in r.json()["value"]]


def error_message(r: requests.Response) -> str:
    return r.json()["odata.error"]["message"]["value"]


def data_requests(s: StandIn, entity: str = "TypedDataSet") -> list[dict[str, list[str]]]:
    """Query parameters of each logged request for ``entity``."""
    out = []
    for _, target, _ in s.stats.log:
        parts = urlsplit(target)
        if unquote(parts.path).rstrip("/").endswith("/" + entity):
            out.append(parse_qs(parts.query))
    return out


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


# --- query options --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("RegioS eq 'PV20  '", [2, 3, 6]),
        ("RegioS eq 'PV20'", []),  # CBS keys are padded; comparisons are exact
        ("RegioS ne 'PV20  '", [0, 1, 4, 5, 7]),
        ("startswith(RegioS,'PV') and Perioden eq '2023JJ00'", [3, 4, 6]),
        ("RegioS eq 'NL01  ' or RegioS eq 'GM0014'", [0, 1, 5, 7]),
        ("(RegioS eq 'NL01  ' or RegioS eq 'GM0014') and Perioden eq '2022JJ00'", [0]),
        ("RegioS eq 'NL01  ' or RegioS eq 'GM0014' and Perioden eq '2022JJ00'", [0, 1]),
        ("not (StatusVanBewoning eq 'T001235')", [6, 7]),
        ("not startswith(RegioS,'PV')", [0, 1, 5, 7]),
        ("Perioden eq '2023JJ00' and not (RegioS eq 'PV21  ' or RegioS eq 'GM0014')", [1, 3, 6]),
        ("substringof('GM', RegioS)", [5, 7]),
        ("substringof('V2',RegioS)", [2, 3, 4, 6]),
        ("endswith(Perioden,'2JJ00')", [0, 2]),
        ("trim(RegioS) eq 'PV20'", [2, 3, 6]),
        ("Woningen_1 gt 20", [0, 1, 3, 4]),
        ("Woningen_1 ge 20 and Woningen_1 le 21", [2, 3]),
        ("Woningen_1 lt 20", [5, 6]),
        ("Aandeel_2 eq null", [1, 6]),
        ("Aandeel_2 gt 4", [0, 4, 7]),
        ("Aandeel_2 le 0.5", [5]),
        ("RegioS eq 'it''s'", []),
    ],
)
def test_filter(server, flt, expected):
    assert ids(server, flt) == expected


@pytest.mark.parametrize(
    ("flt", "problem"),
    [
        ("RegioS eq", "end of filter"),
        ("RegioS eq 'PV20  ' and", "end of filter"),
        ("(RegioS eq 'PV20  '", "expected ')'"),
        ("RegioS eq 'PV20", "unterminated string"),
        ("RegioS equals 'PV20  '", "'equals'"),
        ("RegioS eq 'PV20  ' RegioS", "'RegioS' at position 19"),
        ("startswith(RegioS)", "startswith() takes 2"),
        ("frobnicate(RegioS)", "unknown function 'frobnicate'"),
        ("RegioS", "not a condition"),
        ("trim(RegioS)", "not a condition"),
        ("not RegioS", "'not' needs a condition"),
        ("RegioS eq #", "'#'"),
        ("Regio eq 'PV20  '", "unknown field 'Regio'"),
        ("Woningen_1 gt 'a'", "cannot compare"),
    ],
)
def test_bad_filter_is_400(server, flt, problem):
    r = get(server, "TypedDataSet", filter=flt)
    assert r.status_code == 400
    assert problem in error_message(r)


def test_filter_parser_directly():
    pred = parse_filter("not (A eq 'x' or B gt 2) and endswith(A,'y')", ["A", "B"])
    assert pred({"A": "xy", "B": 1})
    assert not pred({"A": "xy", "B": 3})
    assert not pred({"A": "x", "B": 1})


def test_select_keeps_order_and_rejects_unknown(server):
    rows = get(server, "TypedDataSet", select="Perioden, RegioS,Woningen_1").json()["value"]
    assert [list(r) for r in rows] == [["Perioden", "RegioS", "Woningen_1"]] * len(ROWS)
    assert rows[2] == {"Perioden": "2022JJ00", "RegioS": "PV20  ", "Woningen_1": 20}
    r = get(server, "TypedDataSet", select="RegioS,Nope")
    assert r.status_code == 400
    assert "'Nope'" in error_message(r)


def test_top_skip_orderby(server):
    def page(**params):
        r = get(server, "TypedDataSet", select="ID", **params)
        assert r.status_code == 200, r.text
        return [row["ID"] for row in r.json()["value"]]

    assert page(top=2) == [0, 1]
    assert page(skip=6) == [6, 7]
    assert page(skip=2, top=3) == [2, 3, 4]
    assert page(skip=100) == []
    assert page(top=0) == []
    assert page(orderby="Woningen_1 desc", top=3) == [1, 0, 4]
    assert page(orderby="RegioS,Perioden desc", top=3) == [5, 7, 1]
    for bad in ({"top": "-1"}, {"skip": "x"}, {"orderby": "Nope"}, {"expand": "x"}):
        assert get(server, "TypedDataSet", **bad).status_code == 400, bad
    assert get(server, "TypedDataSet", format="atom").status_code == 415


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


@pytest.mark.integration
@pytest.mark.skipif(not HAVE_SHARED, reason=f"real CBS mirror not present at {SHARED / 'mirror'}")
def test_real_83599ned_untyped_pages_match_cbs(standin):
    s = standin(SHARED / "mirror")
    real = SHARED / "odata_v3" / "83599NED"
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


# --- faults ---------------------------------------------------------------------------------


def test_fault_status(server):
    fault = server.add_fault("status", table="T1", entity="TypedDataSet", code=500)
    with pytest.raises(requests.HTTPError, match="500") as info:
        cbsodata.get_data("T1", **client(server))
    assert info.value.__cause__.response.status_code == 500
    assert fault.fired == 1
    assert get(server, "RegioS").status_code == 200  # other entities are unaffected
    server.add_fault("status", entity="", code=503)  # the service document
    with pytest.raises(requests.HTTPError, match="503"):
        cbsodata.get_data("T1", **client(server))


def test_fault_truncate(server):
    server.add_fault("truncate", entity="typeddataset")  # entity matches case-insensitively
    with pytest.raises(ValueError):  # json.JSONDecodeError from cbsodata's json.loads
        cbsodata.get_data("T1", **client(server))
    r = get(server, "TypedDataSet")
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == len(r.content) > 0
    with pytest.raises(ValueError):
        json.loads(r.content)


def test_fault_reset(server):
    server.add_fault("reset", entity="TypedDataSet")
    with pytest.raises(requests.ConnectionError):
        cbsodata.get_data("T1", **client(server))
    assert ("GET", "/ODataFeed/odata/T1/TypedDataSet?%24format=json", 0) in server.stats.log


def test_fault_slow_times_out(server):
    server.add_fault("slow", entity="TypedDataSet", seconds=2)
    start = time.monotonic()
    with pytest.raises(requests.Timeout):
        cbsodata.get_data("T1", timeout=0.5, **client(server))
    assert time.monotonic() - start < 1.5


def test_fault_slow_does_not_block_other_requests(server):
    server.add_fault("slow", entity="TypedDataSet", seconds=1)
    result = {}
    slow = threading.Thread(target=lambda: result.update(r=get(server, "TypedDataSet")))
    slow.start()
    time.sleep(0.1)
    start = time.monotonic()
    assert get(server, "RegioS").status_code == 200
    assert time.monotonic() - start < 0.5
    slow.join(5)
    assert result["r"].status_code == 200
    assert len(result["r"].json()["value"]) == len(ROWS)


def test_fault_times_and_scope(tmp_path, standin):
    make_table(tmp_path, "T1")
    make_table(tmp_path, "T2")
    s = standin(tmp_path)
    fault = s.add_fault("status", table="t1", times=1, code=502)
    assert len(cbsodata.get_data("T2", **client(s))) == len(ROWS)  # other table: no fault
    with pytest.raises(requests.HTTPError, match="502"):
        cbsodata.get_data("T1", **client(s))
    assert len(cbsodata.get_data("T1", **client(s))) == len(ROWS)  # fired once, then normal
    assert fault.fired == 1
    s.add_fault("reset")
    s.clear_faults()
    assert len(cbsodata.get_data("T1", **client(s))) == len(ROWS)
    with pytest.raises(ValueError):
        s.add_fault("explode")


# --- stats, cache, gebieden, CLI -------------------------------------------------------------


def test_stats_count_requests_and_bytes(server):
    get(server, "")
    server.reset_stats()
    ok, missing = get(server, "TypedDataSet"), get(server, "Nope")
    stats = server.stats
    assert stats.requests == 2
    assert stats.bytes_sent == len(ok.content) + len(missing.content)
    assert [(m, unquote(p), code) for m, p, code in stats.log] == [
        ("GET", "/ODataFeed/odata/T1/TypedDataSet?$format=json", 200),
        ("GET", "/ODataFeed/odata/T1/Nope?$format=json", 404),
    ]


def test_changed_files_are_reread(tmp_path, standin):
    make_table(tmp_path)
    s = standin(tmp_path)
    assert cbsodata.get_info("T1", **client(s))["Title"] == "Woningen; bewoning, regio"
    make_table(tmp_path, title="Nieuwe titel", modified="2025-06-01T02:00:00")
    info = cbsodata.get_info("T1", **client(s))
    assert (info["Title"], info["Modified"]) == ("Nieuwe titel", "2025-06-01T02:00:00")


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


def test_refuses_non_loopback_host(tmp_path):
    with pytest.raises(ValueError, match="loopback"):
        StandIn(tmp_path, host="0.0.0.0")
    done = subprocess.run(
        [sys.executable, "-m", "standin", "--mirror", str(tmp_path), "--host", "0.0.0.0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert "non-loopback host '0.0.0.0'" in done.stderr


def test_cli_serves(tmp_path):
    make_table(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "standin", "--mirror", str(tmp_path), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group()
        r = requests.get(f"{url}/ODataFeed/odata/T1/TypedDataSet?$format=json", timeout=5)
        assert len(r.json()["value"]) == len(ROWS)
    finally:
        proc.terminate()
        proc.wait(10)


def test_standin_lives_outside_the_product():
    """The stand-in is a test double: no product module imports it, and it is not packaged."""
    import tomllib

    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert "standin" not in packages and not (REPO / "pipelines" / "standin.py").exists()
    offenders = [str(p.relative_to(REPO)) for pkg in ("pipelines", "dashboard")
                 for p in (REPO / pkg).rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+standin\b", p.read_text(), re.M)]
    assert offenders == []


def test_fault_rate_fires_on_a_share_of_requests(server):
    server.add_fault("status", rate=0.3, seed=1)
    codes = [requests.get(f"{server.url}/ODataFeed/odata/T1/TableInfos?$format=json",
                          timeout=5).status_code for _ in range(60)]
    assert 8 <= codes.count(500) <= 30 and codes.count(200) >= 30


def test_fault_partial_serves_a_share_of_the_rows_with_a_newer_modified(server):
    url = f"{server.url}/ODataFeed/odata/T1"
    full = requests.get(f"{url}/TypedDataSet?$format=json", timeout=5).json()["value"]
    server.add_fault("partial", table="T1", entity="TypedDataSet", fraction=0.25)
    server.set_modified("T1", "2030-01-01T00:00:00")
    cut = requests.get(f"{url}/TypedDataSet?$format=json", timeout=5).json()["value"]
    assert cut == full[::4]
    info = requests.get(f"{url}/TableInfos?$format=json", timeout=5).json()["value"][0]
    assert info["Modified"] == "2030-01-01T00:00:00"
