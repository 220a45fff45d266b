"""The v4 dialect (``standin/v4.py``) over HTTP: service document, entity sets made of several
observation files, paging with ``@odata.nextLink``, ``$count``, ``Properties``, the ``Datasets``
catalogue, v4 error bodies, and faults and counters on v4 paths. (The pipeline's v4 client against
the stand-in is tested in tests/pipelines/test_v4.py.)"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.v4_factory import write_v4_table

ID = "90001NED"
REGIONS = ["NL01", "GM0014", "GM0080"]
PERIODS = [("2022JJ00", "Definitief"), ("2023JJ00", "Voorlopig")]


@pytest.fixture
def v4(tmp_path, standin):
    """A stand-in whose v4 folder holds one table of 12 observations in 2 files, paged by 5."""
    folder = tmp_path / "v4"
    cells = [{"Geslacht": g, "RegioS": r, "Perioden": p, "Measure": "M1", "Value": float(i)}
             for i, (g, r, p) in enumerate((g, r, p) for g in ("T001038", "3000")
                                           for r in REGIONS for p, _ in PERIODS)]
    write_v4_table(folder, ID, title="Bevolking (test)", cells=cells, pages=2,
                   dimensions={"Geslacht": [("T001038", "Totaal"), ("3000", "Mannen")]},
                   measures=[("M1", "Bevolking", "aantal", 0)], periods=PERIODS,
                   regions=[(r, r) for r in REGIONS])
    (folder / ID / "groups-RegioS.json").write_text(json.dumps({"value": [{"Id": "G1"}]}))
    (folder / "_catalog.json").write_text(json.dumps({"value": [
        {"Identifier": "80000ned", "Title": "Alleen in de catalogus"},
        {"Identifier": ID.lower(), "Title": "Wordt vervangen door de map"}]}))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    return standin(mirror, v4_dir=folder, v4_page_size=5)


def v4get(server, path: str, **params) -> requests.Response:
    return requests.get(f"{server.v4.url}/CBS/{path}",
                        params={f"${k}": v for k, v in params.items()}, timeout=5)


def test_service_document_lists_the_entities(v4):
    assert v4.v4.url == f"{v4.url}/odata/v1"
    doc = v4get(v4, ID).json()
    assert doc["@odata.context"] == f"{v4.v4.url}/CBS/{ID}/$metadata"
    assert [e["name"] for e in doc["value"]] == [
        "Observations", "Dimensions", "MeasureCodes", "Properties",
        "GeslachtCodes", "PeriodenCodes", "RegioSCodes", "RegioSGroups"]
    assert v4get(v4, ID.lower() + "/").json() == doc  # table ids match case-insensitively


def test_observations_are_paged_with_next_links_that_keep_the_query(v4):
    flt = "Geslacht eq 'T001038' and RegioS in ('GM0014','GM0080')"
    first = v4get(v4, f"{ID}/Observations", filter=flt, select="Id,RegioS").json()
    assert first["@odata.context"].endswith(f"/CBS/{ID}/$metadata#Observations")
    assert [r["Id"] for r in first["value"]] == [2, 3, 4, 5]  # 4 rows fit in one page of 5
    assert "@odata.nextLink" not in first
    rows, url, links = [], f"{v4.v4.url}/CBS/{ID}/Observations?$select=Id&$orderby=Id desc", []
    while url:
        page = requests.get(url, timeout=5).json()
        rows += page["value"]
        url = page.get("@odata.nextLink")
        links.append(url)
    assert [r["Id"] for r in rows] == list(range(11, -1, -1))  # both files, every row once
    assert links[0].startswith(f"{v4.v4.url}/CBS/{ID}/Observations?")
    assert parse_qs(urlsplit(links[0]).query) == {"$select": ["Id"], "$orderby": ["Id desc"],
                                                  "$skip": ["5"]}
    top = v4get(v4, f"{ID}/Observations", top=7, skip=1).json()
    assert top["@odata.nextLink"].endswith("$top=2&$skip=6")


def test_count_counts_what_the_filter_keeps(v4):
    r = v4get(v4, f"{ID}/Observations", count="true", top=1, filter="RegioS eq 'NL01'").json()
    assert r["@odata.count"] == 4 and len(r["value"]) == 1
    assert "@odata.count" not in v4get(v4, f"{ID}/Observations", count="false").json()
    bad = v4get(v4, f"{ID}/Observations", count="maybe")
    assert bad.status_code == 400 and bad.json() == {
        "error": {"code": "", "message": "$count must be true or false"}}


def test_properties_is_one_object(v4):
    props = v4get(v4, f"{ID}/Properties").json()
    assert props["@odata.context"] == f"{v4.v4.url}/CBS/{ID}/$metadata#Properties"
    assert props["Identifier"] == ID and props["Title"] == "Bevolking (test)"
    assert [k for k in props if k.startswith("@odata")] == ["@odata.context"]


def test_datasets_joins_the_catalogue_file_and_the_table_folders(v4):
    rows = v4get(v4, "Datasets").json()["value"]
    assert [(r["Identifier"], r["Title"]) for r in rows] == [
        ("80000ned", "Alleen in de catalogus"), (ID, "Bevolking (test)")]
    found = v4get(v4, "Datasets", filter="contains(Title,'test')", select="Identifier").json()
    assert found["value"] == [{"Identifier": ID}]


@pytest.mark.parametrize(("path", "params", "status", "message"), [
    ("99999NED/Observations", {}, 404, "Dataset '99999NED' does not exist."),
    (f"{ID}/NietsCodes", {}, 404, "No HTTP resource was found for 'NietsCodes'."),
    (f"{ID}/Whatever", {}, 404, "No HTTP resource was found for 'Whatever'."),
    (f"{ID}/Observations/1", {}, 404, "No HTTP resource was found that matches"),
    (f"{ID}/Observations", {"expand": "x"}, 400, "query option '$expand' is not supported"),
    (f"{ID}/Observations", {"filter": "substringof('G',RegioS)"}, 400,
     "unknown function 'substringof'"),
    (f"{ID}/Observations", {"select": "Nope"}, 400, "$select: unknown column 'Nope'"),
])
def test_errors_have_the_v4_body(v4, path, params, status, message):
    r = v4get(v4, path, **params)
    assert r.status_code == status
    assert set(r.json()) == {"error"} and message in r.json()["error"]["message"]


def test_faults_and_counters_apply_to_v4_paths(v4):
    fault = v4.add_fault("status", table=ID.lower(), entity="Observations", code=503)
    assert v4get(v4, f"{ID}/Observations").status_code == 503
    assert v4get(v4, f"{ID}/Properties").status_code == 200
    v4.add_fault("truncate", entity="Datasets")
    cut = v4get(v4, "Datasets")
    with pytest.raises(ValueError):
        cut.json()
    assert fault.fired == 1
    stats = v4.stats
    assert stats.v4_requests == stats.requests == 3
    assert stats.v4_bytes_sent == stats.bytes_sent > 0
    v4.reset_stats()
    assert requests.get(f"{v4.url}/ODataCatalog/Tables?$format=json", timeout=5).status_code == 200
    assert (v4.stats.requests, v4.stats.v4_requests) == (1, 0)
