"""End to end on real CBS data, v3 and v4 in one refresh: the v3 mirror (../shared/cbs/mirror)
and the real v4 responses of 03759ned (../shared/cbs/odata_v4), served by the stand-in at a
small v4 page size; and new-edition detection in the real v3 and v4 catalogue
listings. Skipped (with the reason) where ../shared is absent; CI has it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines import snapshot
from pipelines.__main__ import main
from tests.support.paths import SHARED_CBS

SHARED = SHARED_CBS
MIRROR, V4 = SHARED / "mirror", SHARED / "odata_v4"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not ((MIRROR / "85755NED").is_dir() and (V4 / "03759ned").is_dir()),
                       reason=f"real CBS data not found at {SHARED} (../shared is absent)"),
]

CATALOG = """
version: 1
regions:
  reference_year: 2024
  gebieden: {2024: 85755NED}
tables:
  81575NED: {title: "Vestigingen van bedrijven; bedrijfstak, gemeente", verified: true}
  03759ned:
    title: "Bevolking op 1 januari en gemiddeld; geslacht, leeftijd en regio"
    verified: true
    api: v4
indicators:
  - id: inwoners
    theme: human_capital
    title: "Inwoners op 1 januari"
    description: "Bevolking op 1 januari."
    unit: aantal
    kind: size
    higher_is_better: null
    levels: [NL, PV, GM]
    source:
      table: 03759ned
      measure: M000352
      filters: {Geslacht: T001038, Leeftijd: "10000", BurgerlijkeStaat: T001019}
  - id: vestigingen_per_1000_inwoners
    theme: mkb_innovatie
    title: "Vestigingen per 1.000 inwoners"
    description: "v3 (81575NED) gedeeld door v4 (03759ned)."
    unit: "per 1.000 inwoners"
    kind: rate
    decimals: 1
    higher_is_better: true
    levels: [NL, GM]
    inputs:
      vest: {table: 81575NED, measure: Vestigingen_1, filters: {BedrijfstakkenBranchesSBI2008: T001081}}
      inw:
        table: 03759ned
        measure: M000352
        filters: {Geslacht: T001038, Leeftijd: "10000", BurgerlijkeStaat: T001019}
    formula: "vest / inw * 1000"
"""


def v4_value(region: str, period: str, measure: str = "M000352"):
    rows = json.loads((V4 / "03759ned" / "observations-page-1.json").read_text())["value"]
    for r in rows:
        if r["RegioS"] == region and r["Perioden"] == period and r["Measure"] == measure:
            return r["Value"], r["ValueAttribute"]
    raise LookupError((region, period))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from standin import StandIn

    tmp = tmp_path_factory.mktemp("v4real")
    cat = tmp / "catalog.yaml"
    cat.write_text(CATALOG, encoding="utf-8")
    data = tmp / "data"
    with StandIn(MIRROR, geo_dir=SHARED / "geo", v4_dir=V4, v4_page_size=1000) as server:
        code = main(["refresh", "--data-dir", str(data), "--catalog", str(cat),
                     "--cbs-url", server.url, "--cbs4-url", server.v4.url,
                     "--geo-url", f"{server.url}/geo/gemeente_{{year}}.geojson",
                     "--log-format", "json"])
        v4_requests = [p for _m, p, _s in server.stats.log if p.startswith("/odata/v1/")]
    assert code == 0
    return snapshot.load_snapshot(data), v4_requests


def test_v4_values_come_out_exact(run):
    snap, _ = run
    obs = snap.observations.set_index(["indicator", "region_code", "period"])["value"]
    for region, period in [("GM0363", "2024JJ00"), ("NL01", "2026JJ00"), ("PV20", "2019JJ00"),
                           ("GM1980", "2023JJ00")]:
        expected, attr = v4_value(region, period)
        assert attr == "None"
        assert obs[("inwoners", region, period[:4])] == expected
    vest = json.loads((MIRROR / "81575NED" / "TypedDataSet.json").read_text())["value"]
    ams = next(r["Vestigingen_1"] for r in vest if r["RegioS"].strip() == "GM0363"
               and r["Perioden"] == "2024JJ00" and r["BedrijfstakkenBranchesSBI2008"].strip()
               == "T001081")
    assert obs[("vestigingen_per_1000_inwoners", "GM0363", "2024")] == pytest.approx(
        ams / v4_value("GM0363", "2024JJ00")[0] * 1000)


def test_v4_is_paged_and_filtered_at_the_source(run):
    _, v4_requests = run
    pages = [p for p in v4_requests if "/Observations" in p]
    assert len(pages) >= 4 and "skip" in pages[-1]  # 342 GM + NL + 12 PV x 8 years > 1000
    assert all("M000352" in p for p in pages)


def test_latest_period_covers_the_current_gemeenten_and_impossible_cells_say_why(run):
    snap, _ = run
    cov = snap.manifest.coverage["inwoners"]
    assert cov.latest_period == "2026"
    assert cov.expected == 342 and cov.covered >= 340
    assert set(cov.missing_reasons) == {m.split()[0] for m in cov.missing}
    missing = snap.frame("missing_values")
    gone = missing[(missing.indicator == "inwoners") & (missing.region_code == "GM0457")]
    assert "2024JJ00" in set(gone.period_key)  # Weesp merged into Amsterdam in 2022
    assert gone.reason.str.startswith("kan niet voorkomen").all()
    assert snap.manifest.tables["03759ned"].api == "v4"


# --------------------------------------------------------------------------- editions, real listings

def build_dev_mirror(shared: Path, out: Path, catalog_path: Path) -> None:
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "scripts" / "build_dev_mirror.py"
    spec = importlib.util.spec_from_file_location("build_dev_mirror", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.build(shared, out, catalog_path)


def test_a_newer_gebieden_edition_is_found_in_the_real_v3_catalogue(tmp_path, capsys):
    """The shipped catalogue minus its 2025 edition: `catalog --check` names 86059NED."""
    from pipelines.catalog import DEFAULT_PATH
    from standin import StandIn

    text = DEFAULT_PATH.read_text(encoding="utf-8")
    assert "      2025: 86059NED\n" in text
    cat = tmp_path / "c.yaml"
    cat.write_text(text.replace("      2025: 86059NED\n", ""), encoding="utf-8")
    # the development mirror serves every table of the shipped catalogue (some built from the
    # other real files in ../shared); its catalogue check must report no problem
    dev = tmp_path / "dev"
    build_dev_mirror(SHARED, dev, cat)
    cat = dev / "catalog.yaml"
    with StandIn(dev / "v3", v4_dir=dev / "v4") as server:
        code = main(["catalog", "--check", "--catalog", str(cat), "--cbs-url", server.url,
                     "--cbs4-url", server.v4.url, "--backoff", "0"])
    out = capsys.readouterr().out
    assert code == 0
    assert ("NEW EDITION gebieden_in_nederland: CBS has published 'Gebieden in Nederland 2025' "
            "(86059NED, edition 2025)") in out


def test_a_newer_v4_edition_is_found_in_the_real_v4_datasets_catalogue():
    """The real v4 Datasets listing holds 'Geregistreerde misdrijven; wijken en buurten' 2016
    (83903NED) and 2017 (83901NED): a series that only knows 2016 is told about 2017."""
    from pipelines.catalog import Series
    from pipelines.cbs import CbsClient, CbsConfig
    from pipelines.editions import check_series
    from standin import StandIn

    ser = Series("misdrijven_wijken", "Geregistreerde misdrijven; wijken en buurten {year}",
                 {2016: "83903NED"}, True, "", "yearly", 0, "v4")
    with StandIn(MIRROR, v4_dir=V4) as server:
        client = CbsClient(CbsConfig(base_url=server.url, v4_url=server.v4.url, backoff=0))
        new = check_series(client, ser)
        asked = [p for _m, p, _s in server.stats.log]
    assert [(n["year"], n["table"]) for n in new] == [(2017, "83901NED")]
    assert len(asked) == 1 and asked[0].startswith("/odata/v1/CBS/Datasets?")
