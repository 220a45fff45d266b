"""CBS OData v4: parsing (ValueAttribute, padding-free keys, measure codes), the client (paging,
retries, 404) against the stand-in, and a refresh that mixes v3 and v4 tables."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from pipelines import runs, snapshot
from pipelines.__main__ import main
from pipelines.cbs import CbsClient, CbsConfig, CbsError
from pipelines.odata import v4_as_v3, v4_codes, v4_data_properties, v4_reason, v4_wide
from pipelines.query import Query
from tests.support.contract import assert_fits_contract
from tests.support.v4_factory import write_v4_table
from tests.support.world import CATALOG, FORMER, GEMEENTEN, VEST, vest_value, write_catalog, write_world

BEV = "90003NED"
PERIODS = [("2019JJ00", "Definitief"), ("2020JJ00", "Definitief"), ("2021JJ00", "Voorlopig")]
V4_REGIONS = ["NL01", "PV20", "PV21", "CR01", "CR04", *(g["code"] for g in GEMEENTEN), FORMER]


def inwoners(region: str, period: str) -> float | None:
    """Deterministic; the former gemeente only exists in 2019 (v4 says Impossible after)."""
    if region == FORMER and period != "2019JJ00":
        return None
    base = {"NL01": 1_000_000, "PV20": 400_000, "PV21": 300_000, "CR01": 200_000,
            "CR04": 150_000}.get(region, 10_000 * int(region[2:]) if region.startswith("GM") else 0)
    return float(base + int(period[:4]) - 2019)


def write_bevolking(root: Path, pages: int = 1, confidential: str | None = None) -> Path:
    cells = []
    for reg in V4_REGIONS:
        for p, _ in PERIODS:
            for geslacht in ("T001038", "3000"):
                v = inwoners(reg, p)
                attr = "None" if v is not None else "Impossible"
                if confidential == reg and p == "2021JJ00":
                    v, attr = None, "Confidential"
                cells.append({"Geslacht": geslacht, "RegioS": reg, "Perioden": p,
                              "Measure": "M000352", "Value": v if geslacht == "T001038" else
                              (None if v is None else v / 2), "ValueAttribute": attr})
                cells.append({"Geslacht": geslacht, "RegioS": reg, "Perioden": p,
                              "Measure": "M000365", "Value": None, "ValueAttribute": "Impossible"})
    return write_v4_table(
        root, BEV, title="Bevolking (test, v4)",
        dimensions={"Geslacht": [("T001038", "Totaal mannen en vrouwen"), ("3000", "Mannen")]},
        measures=[("M000352", "Bevolking op 1 januari", "aantal", 0),
                  ("M000365", "Gemiddelde bevolking", "aantal", 1)],
        periods=PERIODS, regions=[(r, r) for r in V4_REGIONS], cells=cells, pages=pages)


# --------------------------------------------------------------------------- pure parsing

def test_value_attribute_gives_a_missing_value_with_its_reason():
    obs = [
        {"Id": 1, "Measure": "M000352", "ValueAttribute": "None", "Value": 5, "RegioS": "GM0363",
         "Perioden": "2024JJ00"},
        {"Id": 2, "Measure": "M000365", "ValueAttribute": "Impossible", "Value": None,
         "RegioS": "GM0363", "Perioden": "2024JJ00"},
        {"Id": 3, "Measure": "M000352", "ValueAttribute": "Confidential", "Value": None,
         "RegioS": "GM0364", "Perioden": "2024JJ00"},
        {"Id": 4, "Measure": "M000352", "ValueAttribute": "SomethingNew", "Value": None,
         "RegioS": "GM0365", "Perioden": "2024JJ00"},
    ]
    rows = {r["RegioS"]: r for r in v4_wide(obs, ["RegioS", "Perioden"])}
    assert rows["GM0363"]["M000352"] == 5 and "M000352@reason" not in rows["GM0363"]
    assert rows["GM0363"]["M000365"] is None
    assert rows["GM0363"]["M000365@reason"].startswith("kan niet voorkomen")
    assert rows["GM0364"]["M000352@reason"].startswith("geheim")
    assert rows["GM0365"]["M000352@reason"] == "ontbreekt bij CBS (SomethingNew)"
    assert v4_reason("None") is None and v4_reason(None) is None


def test_text_measures_come_from_string_value():
    obs = [{"Measure": "M1", "ValueAttribute": "None", "Value": None, "StringValue": "PV20",
            "RegioS": "GM0014", "Perioden": "2025JJ00"},
           {"Measure": "M2", "ValueAttribute": "None", "Value": 0, "StringValue": None,
            "RegioS": "GM0014", "Perioden": "2025JJ00"}]
    row = v4_wide(obs, ["RegioS", "Perioden"])[0]
    assert row["M1"] == "PV20" and row["M2"] == 0 and "M2@reason" not in row


def test_keys_are_padding_free_and_measure_codes_become_topics():
    codes = v4_codes([{"Identifier": "PV20 ", "Title": "Groningen (PV)"}])
    assert codes[0]["Key"] == "PV20" and codes[0]["Title"] == "Groningen (PV)"
    wide = v4_wide([{"Measure": "M1", "Value": 1, "ValueAttribute": "None", "RegioS": "PV20  ",
                     "Perioden": "2024JJ00"}], ["RegioS", "Perioden"])
    assert wide[0]["RegioS"] == "PV20"
    props = v4_data_properties(
        [{"Identifier": "RegioS", "Kind": "GeoDimension", "Title": "Regio's"}],
        [{"Identifier": "M000352", "Title": "Bevolking op 1 januari ", "Unit": "aantal",
          "Decimals": 0}])
    assert {p["Key"]: p["Type"] for p in props} == {"RegioS": "GeoDimension", "M000352": "Topic"}
    assert props[1]["Title"] == "Bevolking op 1 januari"


def test_v4_entities_read_like_a_v3_table():
    ent = {
        "Properties": [{"Identifier": "X", "Title": "T", "Modified": "2026-01-01", "Status":
                        "Gediscontinueerd"}],
        "Dimensions": [{"Identifier": "RegioS", "Kind": "GeoDimension"},
                       {"Identifier": "Perioden", "Kind": "TimeDimension"}],
        "MeasureCodes": [{"Identifier": "M1", "Title": "m"}],
        "RegioSCodes": [{"Identifier": "GM0001", "Title": "A"}],
        "PeriodenCodes": [{"Identifier": "2024JJ00", "Title": "2024", "Status": "Voorlopig"}],
        "Observations": [{"Measure": "M1", "Value": 3.5, "ValueAttribute": "None",
                          "RegioS": "GM0001", "Perioden": "2024JJ00"}],
    }
    v3 = v4_as_v3(ent)
    assert v3["TableInfos"][0]["OutputStatus"] == "Gediscontinueerd"
    assert v3["TypedDataSet"] == [{"RegioS": "GM0001", "Perioden": "2024JJ00", "M1": 3.5}]
    assert v3["Perioden"][0]["Key"] == "2024JJ00" and v3["Perioden"][0]["Status"] == "Voorlopig"


# --------------------------------------------------------------------------- client + stand-in

@pytest.fixture
def v4(tmp_path, standin):
    folder = tmp_path / "v4"
    write_bevolking(folder, pages=2)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    server = standin(mirror, v4_dir=folder, v4_page_size=7)
    client = CbsClient(CbsConfig(base_url=server.url, v4_url=server.v4.url, backoff=0,
                                 read_timeout=1, retries=2)).for_api("v4")
    return server, client


def test_client_follows_next_links_and_keeps_every_observation(v4):
    server, client = v4
    flt = "(Measure eq 'M000352') and (Geslacht eq 'T001038')"
    ent = client.download(Query(BEV, "v4", ["Measure", "ValueAttribute", "Value", "Geslacht",
                                            "RegioS", "Perioden"], flt))
    obs = ent["Observations"]
    assert len(obs) == len(V4_REGIONS) * len(PERIODS)
    assert set(obs[0]) == {"Measure", "ValueAttribute", "Value", "Geslacht", "RegioS", "Perioden"}
    pages = [p for _m, p, _s in server.stats.log if "/Observations" in p]
    assert len(pages) == -(-len(obs) // 7) and "%24skip=7" in pages[1].replace("$", "%24")
    got = {(o["RegioS"], o["Perioden"]): o["Value"] for o in obs}
    assert got[("GM0002", "2020JJ00")] == inwoners("GM0002", "2020JJ00")
    assert ent["Properties"][0]["Identifier"] == BEV and "GeslachtCodes" in ent
    assert client.bytes_received > 0 and client.requests_made >= len(pages) + 5


@pytest.mark.parametrize("kind,opts", [("truncate", {}), ("reset", {}),
                                       ("status", {"code": 503}), ("slow", {"seconds": 2})])
def test_client_retries_each_request(v4, kind, opts):
    server, client = v4
    fault = server.add_fault(kind, table=BEV, entity="Observations", times=1, **opts)
    obs = client._values(BEV, "Observations", {"$filter": "Measure eq 'M000352'"})
    assert fault.fired == 1  # the first page failed once ...
    assert len(obs) == len(V4_REGIONS) * len(PERIODS) * 2  # ... and was asked again
    assert [o["Id"] for o in obs] == sorted(o["Id"] for o in obs)  # nothing lost or doubled
    assert len({o["Id"] for o in obs}) == len(obs)


def test_429_and_5xx_are_retried_and_retries_are_bounded(v4):
    server, client = v4
    server.add_fault("status", table=BEV, entity="Properties", times=2, code=429)
    assert client.table_info(BEV)["Identifier"] == BEV  # two 429s, then an answer
    fault = server.add_fault("status", table=BEV, entity="Dimensions", code=503)
    with pytest.raises(CbsError, match=r"Dimensions: HTTP 503 \(after 3 attempt\(s\)\)"):
        client.meta(BEV, "Dimensions")
    assert fault.fired == 3  # retries=2: three requests, no more
    trunc = server.add_fault("truncate", table=BEV, entity="MeasureCodes")
    with pytest.raises(CbsError, match=r"truncated or invalid JSON .*after 3 attempt"):
        client.meta(BEV, "MeasureCodes")
    assert trunc.fired == 3


def test_client_gives_up_and_says_why(v4):
    server, client = v4
    with pytest.raises(CbsError) as exc:
        client.table_info("90999NED")
    assert exc.value.kind == "not_found"
    server.add_fault("status", table=BEV, entity="Properties", code=500)
    with pytest.raises(CbsError, match=r"HTTP 500 \(after 3 attempt"):
        client.table_info(BEV)
    server.clear_faults()
    with pytest.raises(CbsError) as exc:
        client.download(Query(BEV, "v4", None, "Nonsense eq 'x'"))
    assert exc.value.kind == "http" and "400" in str(exc.value)


def test_standin_serves_v4_catalogue_and_404s(v4):
    server, client = v4
    rows = client.catalogue("Bevolking")
    assert [r["Identifier"] for r in rows] == [BEV]
    assert client.catalogue("bestaat niet") == []
    import requests
    r = requests.get(f"{server.v4.url}/CBS/{BEV}/NietsCodes", timeout=5)
    assert r.status_code == 404 and "error" in r.json()
    r = requests.get(f"{server.v4.url}/CBS/{BEV}/Observations?$count=true&$top=1", timeout=5)
    assert r.json()["@odata.count"] == len(V4_REGIONS) * len(PERIODS) * 4
    assert len(r.json()["value"]) == 1 and "@odata.nextLink" not in r.json()


# --------------------------------------------------------------------------- v3 + v4 refresh

V4_CATALOG = CATALOG.replace("indicators:\n", f"""  {BEV}:
    {{title: "Bevolking (test, v4)", verified: true, boundaries: yearly, api: v4}}
indicators:
  - id: inwoners
    theme: human_capital
    title: "Inwoners"
    description: "Bevolking op 1 januari."
    unit: aantal
    kind: size
    decimals: 0
    higher_is_better: null
    levels: [NL, PV, GM]
    source: {{table: {BEV}, measure: M000352, filters: {{Geslacht: T001038}}}}
  - id: vestigingen_per_1000_inwoners
    theme: mkb_innovatie
    title: "Vestigingen per 1.000 inwoners"
    description: "v3 gedeeld door v4."
    unit: "per 1.000 inwoners"
    kind: rate
    decimals: 1
    higher_is_better: true
    levels: [NL, GM]
    inputs:
      vest: {{table: {VEST}, measure: Vestigingen_1, filters: {{BedrijfstakkenBranchesSBI2008: T001081}}}}
      inw: {{table: {BEV}, measure: M000352, filters: {{Geslacht: T001038}}}}
    formula: "vest / inw * 1000"
""", 1)


@pytest.fixture
def mixed(tmp_path, standin, caplog):
    caplog.set_level(logging.INFO)
    mirror = write_world(tmp_path / "mirror")
    write_bevolking(tmp_path / "v4", confidential="GM0003")
    server = standin(mirror, geo_dir=mirror.parent / "geo", v4_dir=tmp_path / "v4",
                     v4_page_size=10)
    data = tmp_path / "data"
    cat = write_catalog(tmp_path / "catalog.yaml", V4_CATALOG)

    def run(*args: str) -> int:
        return main([args[0], "--data-dir", str(data), "--catalog", str(cat), "--log-format",
                     "json", *args[1:], "--cbs-url", server.url, "--cbs4-url", server.v4.url,
                     "--backoff", "0", "--timeout", "2",
                     *(["--geo-url", f"{server.url}/geo/gemeente_{{year}}.geojson"]
                       if args[0] == "refresh" else [])])

    run.server, run.data = server, data
    return run


def test_refresh_mixes_v3_and_v4_tables(mixed):
    assert mixed("refresh") == 0
    snap = assert_fits_contract(mixed.data)  # v4 provenance and missing-value reasons too
    obs = snap.observations
    inw = obs[obs["indicator"] == "inwoners"].set_index(["region_code", "period"])["value"]
    for reg in ("NL01", "PV20", "GM0001", "GM0004"):
        for p, _ in PERIODS:
            assert inw[(reg, p[:4])] == inwoners(reg, p)
    assert ("GM0003", "2021") not in inw.index  # confidential: missing, never 0
    ratio = obs[obs["indicator"] == "vestigingen_per_1000_inwoners"].set_index(
        ["region_code", "period"])["value"]
    assert ratio[("GM0002", "2020")] == pytest.approx(
        vest_value("GM0002", "2020JJ00", "T001081") / inwoners("GM0002", "2020JJ00") * 1000)
    status = obs[(obs["indicator"] == "inwoners") & (obs["period"] == "2021")]["status"]
    assert set(status) == {"Voorlopig"}

    manifest = snapshot.read_manifest(mixed.data)
    assert manifest.tables[BEV].api == "v4"
    assert manifest.tables[BEV].url.endswith(f"/odata/v1/CBS/{BEV}/Observations")
    assert "Measure eq 'M000352'" in manifest.tables[BEV].filter
    cov = manifest.coverage["inwoners"]
    assert cov.latest_period == "2021" and cov.covered == 3
    assert cov.missing_reasons == {"GM0003": "geheim: CBS publiceert dit cijfer niet"}
    missing = pd.read_parquet(Path(mixed.data) / "current" / "missing_values.parquet")
    row = missing[(missing["indicator"] == "inwoners") & (missing["region_code"] == "GM0003")]
    assert list(row["period_key"]) == ["2021JJ00"]
    former = missing[(missing["indicator"] == "inwoners") & (missing["region_code"] == FORMER)]
    assert sorted(former["period_key"]) == ["2020JJ00", "2021JJ00"]
    assert former["reason"].str.startswith("kan niet voorkomen").all()

    raw = json.loads((Path(mixed.data) / "raw" / BEV / (Path(mixed.data) / "raw" / BEV /
                                                        "LATEST").read_text().strip()
                      / "manifest.json").read_text())
    assert set(raw["files"]) >= {"Observations", "Properties", "MeasureCodes", "RegioSCodes"}

    # unchanged Modified: the second run asks only Properties for the v4 table
    mixed.server.reset_stats()
    assert mixed("refresh") == 0
    v4_paths = [p for _m, p, _s in mixed.server.stats.log if p.startswith("/odata/v1/")]
    assert v4_paths == [f"/odata/v1/CBS/{BEV}/Properties"]


def test_catalog_check_verifies_v4_codes(mixed, capsys):
    assert mixed("catalog", "--check") == 0
    out = capsys.readouterr().out
    assert f"ok       {BEV} (Bevolking (test, v4))" in out


def test_catalog_check_names_a_missing_v4_measure_and_code(mixed, tmp_path, capsys):
    bad = V4_CATALOG.replace("measure: M000352, filters: {Geslacht: T001038}",
                             "measure: M009999, filters: {Geslacht: T009999}", 1)
    assert bad != V4_CATALOG
    cat = write_catalog(tmp_path / "bad.yaml", bad)
    code = main(["catalog", "--check", "--catalog", str(cat), "--cbs-url", mixed.server.url,
                 "--cbs4-url", mixed.server.v4.url, "--backoff", "0"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"MISSING  {BEV}" in out and "M009999" in out and "Geslacht=T009999" in out


def test_only_takes_a_lower_case_v4_table_id(mixed):
    assert mixed("refresh") == 0
    mixed.server.reset_stats()
    assert mixed("refresh", "--only", BEV.lower(), "--force") == 0
    assert all(p.startswith("/odata/v1/") or "/geo/" in p or "ODataCatalog" in p
               for _m, p, _s in mixed.server.stats.log)


def test_a_failing_v4_table_keeps_its_last_good_data(mixed):
    assert mixed("refresh") == 0
    before = snapshot.load_snapshot(mixed.data).observations
    mixed.server.add_fault("status", table=BEV, code=503)
    assert mixed("refresh", "--force") == 3  # partial: published, v4 table stale
    run = runs.read_runs(mixed.data)[-1]
    assert run["tables"][BEV]["action"] == "stale" and "HTTP 503" in run["tables"][BEV]["error"]
    after = snapshot.load_snapshot(mixed.data).observations
    inw = before[before.indicator == "inwoners"].reset_index(drop=True)
    pd.testing.assert_frame_equal(inw, after[after.indicator == "inwoners"].reset_index(drop=True))
    assert snapshot.read_manifest(mixed.data).tables[BEV].stale is True


def test_an_unknown_v4_table_fails_loudly_and_publishes_nothing(mixed, tmp_path):
    bad = V4_CATALOG.replace(BEV, "90999NED")
    cat = write_catalog(tmp_path / "bad.yaml", bad)
    code = main(["refresh", "--data-dir", str(mixed.data), "--catalog", str(cat),
                 "--cbs-url", mixed.server.url, "--cbs4-url", mixed.server.v4.url,
                 "--backoff", "0", "--log-format", "json"])
    assert code == 1 and snapshot.current_id(mixed.data) is None
    run = runs.read_runs(mixed.data)[-1]
    assert run["tables"]["90999NED"]["kind"] == "not_found"
