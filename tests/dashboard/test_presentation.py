"""The presentation rules (dashboard/presentation.py): each rule on small, explicit inputs."""

from __future__ import annotations

from datetime import date

import pytest

from dashboard.core import presentation as pr
from pipelines import catalog
from pipelines.snapshot import CoverageEntry
from tests.support.snapshot_factory import published_manifest, table_entry

SIZE = {"id": "vestigingen", "unit": "aantal", "kind": "size", "rankable": False,
        "higher_is_better": True, "levels": ["NL", "PV", "CR", "GM"], "tables": ["81575NED"]}
RATE = {"id": "werkloosheid_pct", "unit": "%", "kind": "rate", "rankable": True,
        "higher_is_better": False, "levels": ["NL", "GM"], "tables": ["86088NED"]}


def test_sizes_are_never_ranked_nor_coloured():
    assert not pr.is_rankable(SIZE) and pr.direction(SIZE) is None
    # even a manifest that claims otherwise cannot make a size rankable
    assert not pr.is_rankable({**SIZE, "rankable": True})
    assert pr.is_rankable(RATE) and pr.direction(RATE) is False
    assert pr.direction({**RATE, "rankable": False}) is None
    assert not pr.is_rankable({"unit": "%", "kind": "index"})
    assert pr.is_rankable({"unit": "%", "kind": "index", "rankable": True})


def test_kind_falls_back_to_the_unit_for_older_snapshots():
    assert pr.kind({"unit": "aantal"}) == "size"
    assert pr.kind({"unit": "euro"}) == "rate"


def test_kind_from_the_catalogue_objects():
    cat = catalog.load()
    assert pr.kind(cat.indicator("woningvoorraad")) == "size"
    assert not pr.is_rankable(cat.indicator("banen_werknemers"))
    assert pr.is_rankable(cat.indicator("banen_per_1000_inwoners"))


def test_share_of_a_larger_area():
    assert pr.share(50, 1000) == 5.0
    assert pr.share(None, 1000) is None and pr.share(5, 0) is None
    assert pr.share_text(1_234, 2_000_000, "Nederland") == "0,06% van Nederland"
    assert pr.share_text(150_000, 1_000_000, "Noord-Brabant") == "15,0% van Noord-Brabant"


def test_larger_region_figures_go_to_their_own_block():
    figs = [{"id": "a", "region_level": "GM", "region_name": "Breda"},
            {"id": "b", "region_level": "CR", "region_name": "West-Noord-Brabant"},
            {"id": "c", "region_level": "PV", "region_name": "Noord-Brabant"},
            {"id": "d", "region_level": "CR", "region_name": "West-Noord-Brabant"}]
    own, blocks = pr.split_by_level(figs)
    assert [f["id"] for f in own] == ["a"]
    assert {k: [f["id"] for f in v] for k, v in blocks.items()} == {
        "Regio West-Noord-Brabant (COROP)": ["b", "d"], "Provincie Noord-Brabant": ["c"]}
    assert pr.is_headline("GM") and not pr.is_headline("CR") and not pr.is_headline(None)
    assert pr.region_block_label("Nederland", "NL") == "Nederland"


@pytest.mark.parametrize("period,end", [("2024", (2024, 12)), ("2020KW02", (2020, 6)),
                                        ("2024MM03", (2024, 3)), ("2024X000", None)])
def test_period_end(period, end):
    assert pr.period_end(period) == end


def man(tables: dict | None = None, coverage: dict | None = None, **fields):
    """A published manifest with these tables ({id: TableEntry fields}) and coverage."""
    return published_manifest(
        tables={t: table_entry(**v) for t, v in (tables or {}).items()},
        coverage={k: CoverageEntry(**v) for k, v in (coverage or {}).items()}, **fields)


MANIFEST = man({"A": {"output_status": "Regulier"}, "B": {"output_status": "Regulier"},
                "C": {}, "Q": {"output_status": "Regulier"}, "S": {"output_status": "Stopgezet"}},
               published_at="2026-11-25T04:00:00Z")
INDS = {"a": {"tables": ["A"]}, "a2": {"tables": ["A"]}, "b": {"tables": ["B"]},
        "c": {"tables": ["C"]}, "q": {"tables": ["Q"]}, "s": {"tables": ["S"]}}


def test_freshness_against_the_other_tables():
    latest = {"a": "2025", "a2": "2024", "b": "2024", "c": "2023", "q": "2020KW02", "s": "2024"}
    lg = pr.lags(MANIFEST, INDS, latest)
    assert lg.reference == date(2026, 11, 25)
    # group A counts once (its freshest period); the median of the others for c: A 11, B 23,
    # Q 77, S 23 -> 23 months, plus one year
    assert lg.allowed["c"] == 23 + 12
    assert not lg.of("c", "2023").stale          # 35 months: normal for a yearly table now
    assert lg.of("c", "2022").stale               # 47 months
    q = lg.of("q", "2020KW02")                    # quarterly: 23 + 3 allowed, 77 behind
    assert q.stale and q.label == "verouderd" and q.short == "verouderd (2020 2e kwartaal)"
    assert "2020 2e kwartaal" in q.text and not q.discontinued
    assert not lg.of("a", "2025").stale and lg.of("a", "2025").text == ""
    s = lg.of("s", "2024")
    assert s.stale and s.discontinued and "gestopt met tabel S" in s.text
    assert lg.of("a", None) == pr.Freshness(None)


def test_freshness_without_anything_to_compare():
    lg = pr.lags(man(published_at="2026-11-25T04:00:00Z"), {"x": {"tables": ["X"]}},
                 {"x": "2023"})
    assert lg.allowed["x"] == pr.FALLBACK_LAG + 12
    assert not lg.of("x", "2023").stale and lg.of("x", "2022").stale


COV = {"vestigingen": {"latest_period": "2025", "covered": 288, "expected": 342,
                       "missing": ["GM1992 Voorne aan Zee"],
                       "missing_reasons": {"GM0050": "geheim: CBS publiceert dit cijfer niet"}}}


@pytest.mark.parametrize("manifest,kwargs,code,needle", [
    (man({"81575NED": {"rows": 10}}, COV, data_source="mirror"), {},
     "ontbreekt_demo", "ontwikkelkopie van CBS-tabel 81575NED heeft geen cijfer voor Voorne aan "
     "Zee over 2025"),
    (man({"81575NED": {"rows": 10}}, COV, data_source="cbs"), {},
     "ontbreekt_bron", "CBS-tabel 81575NED bevat geen cijfer voor Voorne aan Zee over 2025"),
    (man({"81575NED": {"rows": 10}}, {}, data_source="cbs"),
     {"harmonisation": ["2012–2017: vóór 2018 geen herindelingsgegevens"]},
     "niet_harmoniseerbaar", "2012–2017: vóór 2018 geen herindelingsgegevens."),
    # missing from the source in the latest period: that, not the harmonisation, is the reason
    (man({"81575NED": {"rows": 10}}, COV, data_source="mirror"),
     {"harmonisation": ["2023: ontbreekt in de bron: Voorne aan Zee (GM1992)"]},
     "ontbreekt_demo", "geen cijfer voor Voorne aan Zee over 2025"),
    (man({"81575NED": {"error": "timeout", "rows": None}}, COV, data_source="cbs"), {},
     "niet_opgehaald", "CBS-tabel 81575NED is bij de laatste verversing niet opgehaald"),
    (man({"81575NED": {"rows": 1}}, COV, data_source="cbs",
         indicators_not_yet_fetched=["vestigingen"]), {}, "niet_opgehaald", "81575NED"),
])
def test_gap_reasons_say_the_true_reason(manifest, kwargs, code, needle):
    gap = pr.gap_reason(manifest, SIZE, "GM1992", "Voorne aan Zee", **kwargs)
    assert gap.code == code and needle in gap.text
    assert gap.text.startswith(pr.GAP_REASONS[code] + ": ") and pr.is_known_gap_text(gap.text)
    assert "publiceert deze indicator niet" not in gap.text


def test_gap_reason_from_cbs_and_for_other_levels():
    m = man({"81575NED": {"rows": 10}}, COV, data_source="cbs")
    gap = pr.gap_reason(m, SIZE, "GM0050", "Zeewolde")
    assert gap.code == "cbs_reden" and "geheim" in gap.text and "Zeewolde over 2025" in gap.text
    gap = pr.gap_reason(m, {**SIZE, "levels": ["NL", "PV"]}, "GM0050", "Zeewolde",
                        shown_region="Provincie Flevoland")
    assert gap.code == "niet_per_gemeente" and gap.text.endswith("getoond: Provincie Flevoland.")
    assert not pr.is_known_gap_text("Het CBS publiceert deze indicator niet voor Zeewolde")


def test_movements_relative_to_nederland_and_only_when_material():
    m = pr.relative_movement(1_100, 1_000, 102_000, 100_000)
    assert m.relative == pytest.approx(0.10) and m.nl_relative == pytest.approx(0.02)
    assert m.excess == pytest.approx(0.08) and m.material
    same = pr.relative_movement(1_020, 1_000, 102_000, 100_000)  # moves like NL
    assert not same.material
    assert pr.relative_movement(5, 0) is None and pr.relative_movement(None, 3) is None
    big_abs = pr.relative_movement(1_073 + 100_000, 100_000, 8_078_820, 8_000_000)
    top = pr.largest_movements([("x", m), ("same", same), ("big", big_abs), ("none", None)])
    assert [k for k, _ in top] == ["x"]  # +1.073 vs NL +78.820 is no movement: 1,07% vs 0,99%
    assert pr.movement_text(m) == "+10,0% (Nederland +2,0%)"


def test_one_number_format_and_one_credit_line():
    assert pr.number(150000) == "150.000" and pr.number(188078) == "188.078"
    assert pr.number(-1234.5, 1) == "−1.234,5"
    assert pr.credit_line() == "Bron: CBS · Regio-economie dashboard · CC BY 4.0"
    assert pr.credit_line(["81575NED", "86088NED", "81575NED"]) == (
        "Bron: CBS · Regio-economie dashboard · CBS-tabellen 81575NED, 86088NED · CC BY 4.0")


@pytest.mark.parametrize("manifest,source,banner", [
    (man(data_source="mirror"), "mirror", "Demo-gegevens, onvolledig"),
    (man(data_source="cbs", cbs_url="http://127.0.0.1:1"), "cbs", None),
    (man(cbs_url="https://opendata.cbs.nl/ODataFeed/odata"), "cbs", None),
    (man(cbs_url="http://127.0.0.1:8080"), "onbekend", "niet rechtstreeks van het CBS"),
    (man(), None, None),
])
def test_data_source_and_demo_banner(manifest, source, banner):
    assert pr.data_source(manifest) == source
    text = pr.demo_banner(manifest)
    assert (text is None) if banner is None else (banner in text)
