"""Full refresh on real CBS data with the shipped catalogue, v3 and v4 mixed: the development
mirror (scripts/build_dev_mirror.py: ../shared/cbs/mirror, ../shared/cbs/odata_v4 and the mirror
folders it builds from the other real files in ../shared) served by the stand-in, fetched through
the real cbsodata client and the v4 client. Indicators without real values in ../shared are left
out by the mirror's catalogue (see test_catalog_depth.py for their keys). Skipped (with the
reason) where ../shared is absent; CI has it."""

from __future__ import annotations

import functools
import json

import pytest

from pipelines import snapshot
from pipelines.__main__ import main
from tests.support.paths import MIRROR as SHARED_MIRROR

MIRROR = SHARED_MIRROR
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not (MIRROR / "85755NED").is_dir(),
                       reason=f"real CBS mirror not found at {MIRROR} (../shared is absent)"),
]


def mirror_rows(table: str) -> list[dict]:
    return json.loads((MIRROR / table / "TypedDataSet.json").read_text())["value"]


def raw_value(table, measure, region, period, **dims):
    for r in mirror_rows(table):
        if (r["RegioS"].strip() == region and r["Perioden"] == period
                and all(r[d].strip() == k for d, k in dims.items())):
            return r[measure]
    raise LookupError((table, region, period))


@pytest.fixture(scope="module")
def snap(tmp_path_factory, dev_mirror):
    from standin import StandIn

    data = tmp_path_factory.mktemp("real") / "data"
    with StandIn(dev_mirror / "v3", geo_dir=MIRROR.parent / "geo", v4_dir=dev_mirror / "v4",
                 v4_page_size=2000) as server:
        code = main(["refresh", "--data-dir", str(data), "--catalog",
                     str(dev_mirror / "catalog.yaml"), "--cbs-url", server.url,
                     "--cbs4-url", server.v4.url,
                     "--geo-url", f"{server.url}/geo/gemeente_{{year}}.geojson",
                     "--data-source", "mirror", "--log-format", "json"])
    assert code == 0
    return snapshot.load_snapshot(data)


def value(snap, ind, region, period):
    obs = snap.observations
    hit = obs[(obs.indicator == ind) & (obs.region_code == region) & (obs.period == period)]
    assert len(hit) == 1, (ind, region, period)
    return hit.iloc[0]


@functools.cache
def gebieden_2024() -> frozenset[str]:
    """The 342 gemeente codes of Gebieden in Nederland 2024 (read when first asked: never at
    import, so the module is collected on a machine without ../shared)."""
    return frozenset(r["RegioS"].strip() for r in mirror_rows("85755NED"))


def test_manifest_records_the_mirror_source_and_the_kind_of_each_indicator(snap):
    man = snap.manifest
    assert man.data_source == "mirror"
    kinds = {i.id: (i.kind, i.rankable) for i in man.indicators}
    assert kinds["woningvoorraad"] == ("size", False)
    assert kinds["werkloosheid_pct"] == ("rate", True)
    assert man.tables["83599NED"].output_status == "Regulier"
    assert man.tables["83599NED"].frequency == "Perkwartaal"


def test_regions_cover_all_342_gemeenten_with_their_parents(snap):
    reg = snap.regions
    gm = reg[(reg.level == "GM") & reg.is_current]
    assert set(gm.code) == gebieden_2024() and len(gm) == 342
    for col in ("provincie_code", "corop_code", "arbeidsmarktregio_code", "size_class", "urbanity"):
        assert gm[col].notna().all(), col
    assert (reg.level == "PV").sum() == 12 and (reg.level == "CR").sum() == 40
    assert reg.set_index("code").loc["GM0363", "provincie"] == "Noord-Holland"
    # former gemeenten from the yearly-boundary tables are kept, marked not current
    assert {"GM0457", "GM0501"} <= set(reg[~reg.is_current].code)  # Weesp, Brielle


@pytest.mark.parametrize("ind", ["banen_werknemers", "werkloosheid_pct", "netto_arbeidsparticipatie",
                                 "aandeel_zelfstandigen", "woningvoorraad", "aandeel_koopwoningen",
                                 "banen_per_1000_inwoners", "woningen_per_1000_inwoners"])
def test_latest_year_covers_all_342_gemeenten(snap, ind):
    cov = snap.manifest.coverage[ind]
    assert (cov.covered, cov.expected, cov.missing) == (342, 342, ())


def test_vestigingen_gaps_are_exactly_the_mirrors_gaps(snap):
    cov = snap.manifest.coverage["vestigingen"]
    have = {r["RegioS"].strip() for r in mirror_rows("81575NED")
            if r["Perioden"] == "2025JJ00" and r["Vestigingen_1"] is not None}
    expected_missing = sorted(gebieden_2024() - have)
    assert [m.split()[0] for m in cov.missing] == expected_missing
    assert len(expected_missing) == 54  # 53 cut off at 10,000 rows + Veere (empty rows)
    names = " ".join(cov.missing)
    assert "Zwolle" in names and "Veere" in names and "Voorne aan Zee" in names


def test_spot_checks_equal_the_raw_cbs_values(snap):
    v = value(snap, "banen_werknemers", "GM0363", "2023")
    assert v.value == raw_value("83582NED", "BanenVanWerknemersInDecember_1", "GM0363", "2023JJ00",
                                BedrijfstakkenBranchesSBI2008="T001081") * 1000
    assert v.cbs_table == "83582NED" and v.measure == "BanenVanWerknemersInDecember_1"
    v = value(snap, "werkloosheid_pct", "GM0014", "2024")
    assert v.value == raw_value("86088NED", "Werkloosheidspercentage_13", "GM0014", "2024JJ00",
                                Persoonskenmerken="T009002")
    v = value(snap, "woningvoorraad", "GM0599", "2024")
    assert v.value == raw_value("82900NED", "TotaleWoningvoorraad_1", "GM0599", "2024JJ00",
                                StatusVanBewoning="T001235")
    v = value(snap, "vestigingen", "GM0344", "2025")
    assert v.value == raw_value("81575NED", "Vestigingen_1", "GM0344", "2025JJ00",
                                BedrijfstakkenBranchesSBI2008="T001081")
    tot = raw_value("82900NED", "TotaleWoningvoorraad_1", "NL01", "2024JJ00",
                    StatusVanBewoning="T001235")
    bew = raw_value("82900NED", "TotaleWoningvoorraad_1", "NL01", "2024JJ00",
                    StatusVanBewoning="A028725")
    assert value(snap, "onbewoonde_woningen_pct", "NL01", "2024").value == (tot - bew) / tot * 100
    v = value(snap, "openstaande_vacatures", "PV20", "2020KW02")
    assert v.value == raw_value("83599NED", "OpenstaandeVacatures_1", "PV20", "2020KW02",
                                BedrijfstakkenBranchesSBI2008="T001081") * 1000
    assert v.status == "Voorlopig" and v.period_type == "kwartaal"
    assert value(snap, "openstaande_vacatures", "PV20", "2017KW04").status == "Definitief"


def test_every_enabled_indicator_has_data_and_provenance(snap):
    inds = [i for i in snap.manifest.indicators if i.enabled]
    assert len(inds) >= 12 and all(i.rows > 0 for i in inds)
    for t, meta in snap.manifest.tables.items():
        assert meta.modified and meta.fetched_at and meta.sha256, t
        raw = snapshot.data_dir(str(snap.path.parents[1])) / meta.raw_folder
        body = "Observations.json" if meta.api == "v4" else "TypedDataSet.json"
        assert (raw / "manifest.json").exists() and (raw / body).exists(), t


def test_boundaries_of_a_matching_year_are_in_the_snapshot(snap):
    meta = snap.manifest.boundaries
    # the gemeente division is that of the newest Gebieden edition (2025, identical to 2024);
    # the mirror has 2023 and 2025 maps
    assert meta.data_year == snap.manifest.reference_year == 2025
    assert meta.year == 2025 and snap.manifest.gebieden_table == "86059NED"
    assert meta.features == 342 and meta.bytes < 500_000
    fc = json.loads((snap.path / "gemeenten.geojson").read_text())
    assert {f["properties"]["statcode"] for f in fc["features"]} == gebieden_2024()


def current_series(snap, ind):
    cur = snap.frame("observations_current")
    return cur[(cur.indicator == ind) & (cur.region_level == "GM")]


def test_harmonised_banen_sum_the_predecessors_exactly(snap):
    cur = current_series(snap, "banen_werknemers").set_index(["region_code", "period"])

    def raw(code, year):
        return raw_value("83582NED", "BanenVanWerknemersInDecember_1", code, f"{year}JJ00",
                         BedrijfstakkenBranchesSBI2008="T001081") * 1000

    # Voorne aan Zee (2023) = Brielle + Hellevoetsluis + Westvoorne before 2023
    v = cur.loc[("GM1992", "2020")]
    assert v.value == pytest.approx(raw("GM0501", 2020) + raw("GM0530", 2020) + raw("GM0614", 2020))
    assert v.harmonisation == "opgeteld"
    assert cur.loc[("GM1992", "2023"), "harmonisation"] == "gepubliceerd"
    # Amsterdam absorbed Weesp (CBS publishes 2022 with Weesp apart)
    assert cur.loc[("GM0363", "2022"), "value"] == pytest.approx(raw("GM0363", 2022) + raw("GM0457", 2022))
    # Haaren's split is weighted (KWB 2020 inhabitants per wijk) and flagged as an estimate
    v = cur.loc[("GM0855", "2020")]
    assert v.value == pytest.approx(raw("GM0855", 2020) + raw("GM0788", 2020) * 1465 / 14360)
    assert v.harmonisation == "geschat"


def test_every_2024_gemeente_has_a_harmonised_banen_series_or_a_reason(snap):
    cur = current_series(snap, "banen_werknemers")
    gaps = snap.frame("harmonisation_gaps")
    gaps = gaps[gaps.indicator == "banen_werknemers"]
    years = range(2010, 2024)
    for code in gebieden_2024():
        have = set(cur.loc[cur.region_code == code, "period"].astype(int))
        why = set(gaps.loc[gaps.region_code == code, "period_key"].str[:4].astype(int))
        assert have | why == set(years), code
        assert not have & why, code
    # the history is complete from 2011 (checked against the real banen data in test_history), so
    # every gap in 2010-2023 names a source gap or an unknown split, never a guess
    recent = gaps
    assert recent.reason.str.contains("ontbreekt in de bron|onbekend").all()
    grn = recent[(recent.region_code == "GM0014") & (recent.period_key == "2018JJ00")]
    assert "Ten Boer (GM0009)" in grn.reason.iloc[0] and "Haren (GM0017)" in grn.reason.iloc[0]
    # gemeenten untouched by herindelingen keep their whole series
    assert set(cur.loc[cur.region_code == "GM0344", "period"].astype(int)) == set(years)  # Utrecht
    leeuw = recent[(recent.region_code == "GM0080") & (recent.period_key == "2017JJ00")].reason.iloc[0]
    assert "Littenseradiel" in leeuw  # a split without weights blocks, and says so


def test_totals_unchanged_by_harmonisation_on_real_data(snap):
    obs = snap.observations
    cur = current_series(snap, "banen_werknemers")
    pub = obs[(obs.indicator == "banen_werknemers") & (obs.region_level == "GM") & (obs.period == "2022")]
    har = cur[cur.period == "2022"]
    # 2022: every gemeente of that year is in the mirror, so the sums must match exactly
    assert har.value.sum() == pytest.approx(pub.value.sum(), rel=1e-12)
    # provincie and national rows are not touched
    nl = obs[(obs.indicator == "banen_werknemers") & (obs.region_code == "NL01")]
    nl_cur = snap.frame("observations_current")
    nl_cur = nl_cur[(nl_cur.indicator == "banen_werknemers") & (nl_cur.region_code == "NL01")]
    assert list(nl.value) == list(nl_cur.value)


def test_peers_for_every_current_gemeente(snap):
    p = snap.frame("peers")
    st = p[p.method == "statistisch"]
    assert set(st.gemeente) == gebieden_2024()
    assert (st.groupby("gemeente").size() == 10).all()
    assert not (p.gemeente == p.peer).any()
    cls = p[p.method == "grootte_stedelijkheid"].merge(
        snap.regions[["code", "size_class", "urbanity"]], left_on="peer", right_on="code")
    mine = snap.regions.set_index("code").loc[cls.gemeente]
    assert (cls.size_class.to_numpy() == mine.size_class.to_numpy()).all()


def test_boundary_notes_name_the_gemeenten(snap):
    notes = snap.manifest.harmonisation.boundary_notes
    assert notes["GM1992"].startswith("Voorne aan Zee is op 1 januari 2023 ontstaan uit Brielle, "
                                      "Hellevoetsluis en Westvoorne")
    assert notes["GM0757"].startswith("Boxtel kreeg op 1 januari 2021 een deel van Haaren")


# ------------------------------------------------------------------ depth per gemeente (issue 12)
SHARED = MIRROR.parent
NEW_REAL = ["aandeel_zelfstandigen_met_personeel", "aandeel_flexibele_arbeidsrelatie",
            "aandeel_zzp", "inwoners", "bevolkingsgroei", "bevolkingsdichtheid", "woningdichtheid",
            "omgevingsadressendichtheid", "groei_vestigingen"]


def test_every_indicator_with_real_data_covers_the_current_gemeenten(snap, dev_mirror):
    """Per enabled gemeente-level indicator: coverage and latest period (printed with -s). Those
    with complete real data cover all 342 current gemeenten; the only exceptions are the
    documented cuts of the source copies."""
    served = json.loads((dev_mirror / "availability.json").read_text())
    cov = snap.manifest.coverage
    report = {i: (c.covered, c.expected, c.latest_period) for i, c in cov.items()}
    print("\ncoverage per indicator (gemeenten in latest period):")
    for ind, (have, exp, per) in sorted(report.items()):
        print(f"  {ind:<38} {have:>3}/{exp} in {per}")
    cut = {  # 81575NED's CSV copy stops at "Veere" (mirror README); 82900NED's A028725 is partial
        "vestigingen": 288, "vestigingen_per_1000_inwoners": 288, "banen_per_vestiging": 288,
        "groei_vestigingen": 288,
        "onbewoonde_woningen_pct": 165}
    for ind, (have, exp, _per) in report.items():
        assert served[ind]["served"], ind
        assert exp == 342 and have == cut.get(ind, 342), (ind, have)
    assert set(NEW_REAL) <= set(report)
    assert {i: report[i][2] for i in NEW_REAL} == {
        "aandeel_zelfstandigen_met_personeel": "2023", "aandeel_flexibele_arbeidsrelatie": "2023",
        "aandeel_zzp": "2023", "inwoners": "2026", "bevolkingsgroei": "2026",
        "bevolkingsdichtheid": "2024", "woningdichtheid": "2024",
        "omgevingsadressendichtheid": "2025", "groei_vestigingen": "2025"}


def test_new_indicators_equal_the_real_source_values(snap):
    import csv

    with (SHARED / "csv" / "dertje_cbs_datasets" / "86008NED.csv").open(encoding="utf-8-sig") as f:
        rows = [r for r in csv.DictReader(f, delimiter=";") if r["Herkomstland"] == "Totaal"]
    src = {(r["RegioS"], r["Perioden"]): r for r in rows}
    assert value(snap, "aandeel_zzp", "GM0363", "2023").value == float(
        src[("Amsterdam", "2023")]["ZelfstandigeZonderPersoneelZzp_8"])
    assert value(snap, "aandeel_flexibele_arbeidsrelatie", "NL01", "2014").value == float(
        src[("Nederland", "2014")]["WerknemerMetFlexibeleArbeidsrelatie_6"])
    assert value(snap, "aandeel_zelfstandigen_met_personeel", "GM1680", "2019").value == float(
        src[("Aa en Hunze", "2019")]["ZelfstMetPersoneelEnMeewGezinslid_9"])
    kwb = json.loads((SHARED / "kwb" / "85984NED" / "stripped_filtered_data_2024.json").read_text())
    v = value(snap, "bevolkingsdichtheid", "GM1680", "2024")
    assert v.value == kwb["GM1680"]["Bevolkingsdichtheid_34"] and v.cbs_table == "85984NED"
    assert value(snap, "woningdichtheid", "GM0344", "2024").value == pytest.approx(
        kwb["GM0344"]["Woningvoorraad_35"] / kwb["GM0344"]["OppervlakteLand_123"] * 100)
    geb = {r["RegioS"].strip(): r for r in mirror_rows("86059NED")}
    v = value(snap, "omgevingsadressendichtheid", "GM0014", "2025")
    assert v.value == geb["GM0014"]["Omgevingsadressendichtheid_57"] and v.cbs_table == "86059NED"
    v4 = json.loads((SHARED / "odata_v4" / "03759ned" / "observations-page-1.json").read_text())
    cell = next(r for r in v4["value"] if r["RegioS"] == "GM0599" and r["Perioden"] == "2026JJ00"
                and r["Measure"] == "M000352")
    assert value(snap, "inwoners", "GM0599", "2026").value == cell["Value"]

    def pop(code, year):
        return next(r["Value"] for r in v4["value"] if r["RegioS"] == code
                    and r["Perioden"] == f"{year}JJ00" and r["Measure"] == "M000352")

    assert value(snap, "bevolkingsgroei", "GM0599", "2026").value == pytest.approx(
        (pop("GM0599", 2026) - pop("GM0599", 2025)) / pop("GM0599", 2025) * 100)
    # on current boundaries the year before a merger is the sum of its predecessors
    cur = current_series(snap, "bevolkingsgroei").set_index(["region_code", "period"])
    before = sum(pop(c, 2022) for c in ("GM0501", "GM0530", "GM0614"))
    assert cur.loc[("GM1992", "2023"), "value"] == pytest.approx(
        (pop("GM1992", 2023) - before) / before * 100)
    # as published, Voorne aan Zee has no 2023 growth: CBS says it did not exist in 2022
    obs = snap.observations
    assert obs[(obs.indicator == "bevolkingsgroei") & (obs.region_code == "GM1992")
               & (obs.period == "2023")].empty
    why = snap.frame("missing_values")
    why = why[(why.indicator == "bevolkingsgroei") & (why.region_code == "GM1992")]
    assert why.set_index("period_key").loc["2023JJ00", "reason"].startswith("kan niet voorkomen")
    v = value(snap, "groei_vestigingen", "GM0344", "2025")
    now, prev = (raw_value("81575NED", "Vestigingen_1", "GM0344", f"{y}JJ00",
                           BedrijfstakkenBranchesSBI2008="T001081") for y in (2025, 2024))
    assert v.value == pytest.approx((now - prev) / prev * 100)
    v = value(snap, "banen_per_vestiging", "GM0344", "2023")
    assert v.value == pytest.approx(
        raw_value("83582NED", "BanenVanWerknemersInDecember_1", "GM0344", "2023JJ00",
                  BedrijfstakkenBranchesSBI2008="T001081") * 1000
        / raw_value("81575NED", "Vestigingen_1", "GM0344", "2023JJ00",
                    BedrijfstakkenBranchesSBI2008="T001081"))


def test_indicators_without_real_values_are_left_out_with_their_reason(snap, dev_mirror):
    """KWB measures whose values ../shared lacks (only the metadata is real) are not in the
    development snapshot, and the manifest says why; no value is made up."""
    man = {i.id: i for i in snap.manifest.indicators}
    for ind in ("aandeel_vestigingen_handel_horeca", "gemiddelde_woz_waarde", "bijstand_per_1000_inwoners"):
        assert not man[ind].enabled and man[ind].rows == 0
        assert "alleen de beschrijving van het CBS, geen cijfers" in man[ind].disabled_reason
        assert "../shared" not in man[ind].disabled_reason  # no developer paths for users
    # the Landelijke Monitor Leegstand: no real workbook offline, and the stand-in's fixture
    # workbook is never shown as CBS figures
    lml = [i for i in man if i.startswith(("leegstand_winkels", "leegstand_kantoren"))]
    assert len(lml) == 6
    for ind in lml:
        assert not man[ind].enabled and man[ind].rows == 0
        assert "geen echt werkboek van het CBS" in man[ind].disabled_reason
        assert "Landelijke Monitor Leegstand" in man[ind].disabled_reason
    assert "landelijke_monitor_leegstand" not in snap.manifest.tables
    prov = json.loads((dev_mirror / "PROVENANCE.json").read_text())
    for table in ("86008NED", "85984NED"):
        built = prov["built"][table]
        for s in built["sources"]:
            assert len(s["sha256"]) == 64 and (SHARED.parent / s["path"]).is_file()
        assert built["cut"] and built["reconstructed"]
    assert prov["built"]["86008NED"]["regions"]["GM"] == 342
    assert prov["built"]["86008NED"]["dropped"] == {}


@pytest.mark.parametrize("page,ind", [
    ("mkb_innovatie", "aandeel_zelfstandigen_met_personeel"), ("mkb_innovatie", "banen_per_vestiging"),
    ("human_capital", "aandeel_flexibele_arbeidsrelatie"), ("human_capital", "inwoners"),
    ("ruimtelijke_economie", "bevolkingsdichtheid"),
    ("ruimtelijke_economie", "omgevingsadressendichtheid"), ("brede_welvaart", None),
    ("dwarsverbanden", "bevolkingsgroei:groei_vestigingen"),
    ("dwarsverbanden", "aandeel_flexibele_arbeidsrelatie:werkloosheid_pct")])
def test_new_indicators_render_on_the_theme_pages(snap, monkeypatch, page, ind):
    """The kernthema pages, Brede welvaart and Dwarsverbanden (x:y) read the indicators from the
    snapshot: the new ones render for a gemeente without an exception, with their title."""
    from tests.support.apptest import run_app, texts

    params = {"gemeente": "GM1680"} | ({"indicator": ind} if ind else {})
    if page == "dwarsverbanden":
        params = {"gemeente": "GM1680", "x": ind.split(":")[0], "y": ind.split(":")[1]}
        ind = params["y"]
    at = run_app(snap.path.parents[1], monkeypatch, page, **params)
    if ind:
        title = next(i.title for i in snap.manifest.indicators if i.id == ind)
        assert title in texts(at) + " ".join(str(s.value) for s in at.selectbox)


def test_over_de_data_names_what_is_not_shown_and_where_leegstand_is(snap, monkeypatch):
    from tests.support.apptest import run_app, texts

    at = run_app(snap.path.parents[1], monkeypatch, "over")
    page = texts(at)
    assert "Landelijke Monitor Leegstand" in page and "administratieve" in page
    off = next(d.value for d in at.dataframe if "Waarom niet" in d.value.columns)
    why = dict(zip(off["Indicator"], off["Waarom niet"], strict=True))
    assert "geen cijfers" in why["Gemiddelde WOZ-waarde van woningen"]
    assert "82211NED" in why["Woningen in de pijplijn per 1.000 woningen (niet geverifieerd)"]
