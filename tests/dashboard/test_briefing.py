"""The wethoudersbriefing PDF: one A4 page with the gemeente, its figures and the sources; a
tagged PDF (structure tree, /Lang nl, title, figures with alt text)."""

from __future__ import annotations

import re

import pytest

from dashboard.core import briefing, storyline
from dashboard.core import presentation as pr
from pipelines import snapshot
from tests.support.pdf import assert_tagged, pdf_text


@pytest.fixture
def gemeenten() -> dict:
    from tests.support.snapshot_factory import GEMEENTEN

    return GEMEENTEN


@pytest.fixture
def gem(gemeenten) -> tuple[str, str]:
    code = next(iter(gemeenten))
    return code, gemeenten[code][0]


def test_render_is_one_page_with_name_figures_and_sources(dash_snapshot, gem):
    CODE, NAME = gem
    src = briefing.Source.load(dash_snapshot)
    pages, text = pdf_text(briefing.render(src, CODE))
    assert pages == 1
    assert f"Regionale economie van {NAME}" in text
    for theme in ("Breed MKB en innovatie", "Human Capital", "Ruimtelijke economie"):
        assert theme in text
    assert pr.CREDIT in text and "CC BY 4.0" in text
    assert "81575NED" in text and src.snapshot_id[:15] in text.replace("\n", "")
    assert "Grootste bewegingen sinds vorig jaar" in text
    assert not re.search(r"cijfers van \d", text) and "Cijfers over " in text  # period, not date
    assert "Groen" not in text and "groen" not in text  # no legend for colours not shown


def test_the_pdf_is_tagged_in_dutch_with_alt_texts(dash_snapshot, gem):
    CODE, NAME = gem
    src = briefing.Source.load(dash_snapshot)
    assert_tagged(briefing.render(src, CODE), f"Briefing regionale economie {NAME}")


def test_every_gemeente_fits_on_one_page(dash_snapshot, gemeenten):
    src = briefing.Source.load(dash_snapshot)
    for code in gemeenten:
        assert pdf_text(briefing.render(src, code))[0] == 1, code


def test_unknown_or_non_gemeente_code_is_refused(dash_snapshot):
    src = briefing.Source.load(dash_snapshot)
    with pytest.raises(KeyError, match="GM9999 is not a gemeente"):
        briefing.render(src, "GM9999")
    with pytest.raises(KeyError):
        briefing.render(src, "NL01")


def fig(iid, value, prev, nl, nl_prev, **kw) -> dict:
    return {"indicator": iid, "title": iid.title(), "unit": "aantal", "decimals": 0,
            "headline": True, "stale": False, "period": "2024", "prev_period": "2023",
            "value": value, "prev_value": prev, "nl": nl, "nl_prev": nl_prev,
            "imprecise": False, "within_rounding": False, "rank": None, "rank_n": 0,
            "rank_tied": 0, "standing": None, "quality": "", "uncertainty": None,
            "kind": "rate", "higher_is_better": None, **kw}


def test_movements_are_relative_changes_against_nederland_only_where_material():
    figures = [
        fig("groot", 1_073 + 100_000, 100_000, 8_000_000, 7_921_180),  # +1,1% vs NL +1,0%
        fig("snel", 520, 500, 1_000, 1_000),                           # +4,0% vs NL 0%
        fig("daalt", 90, 100, 1_000, 990),                              # -10% vs NL +1%
        fig("regio", 200, 100, 1_000, 1_000, headline=False),           # not the gemeente's
        fig("oud", 200, 100, 1_000, 1_000, stale=True),                 # an old period
        fig("kwartaal", 200, 100, 1_000, 1_000, period="2024KW02"),     # not a yearly change
        fig("vaag", 200, 100, 1_000, 1_000, imprecise=True),            # rounding: meaningless
        fig("afronding", 16, 15, 1_000, 1_000, within_rounding=True),   # one rounding step
    ]
    moves = storyline.movements(figures, n=5)
    assert [f["indicator"] for f, _ in moves] == ["daalt", "snel"]
    s = briefing.movement_sentence(*moves[1])
    assert s == "Snel: +4,0% (Nederland ±0,0%) van 2023 tot 2024, naar 520."


def test_sizes_region_figures_stale_periods_and_gaps_in_the_rows():
    size = fig("banen", 115_900, 114_400, 8_996_700, 8_900_000, kind="size", rank=None,
               rank_n=0, change=1_500, peers=None, status="Definitief", region_name="Breda")
    row = briefing._row(size)
    assert row["position"] == "1,3% van NL" and row["value"] == "115.900"
    region = {**size, "headline": False, "region_name": "West-Noord-Brabant", "stale": True,
              "period": "2020KW02", "kind": "size"}
    row = briefing._row(region)
    assert row["title"] == "Banen (West-Noord-Brabant)"
    assert row["stale"] == "verouderd (2020 2e kwartaal)"
    gap = {**size, "period": None, "gap": pr.GAP_REASONS["ontbreekt_bron"] + ": x."}
    assert briefing._row(gap) == {"title": "Banen", "gap": gap["gap"]}


def test_cli_one_file_all_to_folder_and_errors(dash_snapshot, tmp_path, empty_data_dir, capsys,
                                               gemeenten, gem):
    CODE = gem[0]
    out = tmp_path / "b.pdf"
    assert briefing.main([CODE.lower(), "--out", str(out), "--data-dir", str(dash_snapshot)]) == 0
    assert pdf_text(out.read_bytes())[0] == 1
    folder = tmp_path / "all"
    assert briefing.main(["--all", "--out", str(folder), "--data-dir", str(dash_snapshot)]) == 0
    current = list(gemeenten)
    assert sorted(p.name.split("-")[1] for p in folder.glob("*.pdf")) == sorted(current)
    assert not list(folder.glob(".*tmp"))
    assert briefing.main(["GM9999", "--out", str(out), "--data-dir", str(dash_snapshot)]) == 2
    assert "onbekende gemeentecode" in capsys.readouterr().err
    assert briefing.main([CODE, "--out", str(out), "--data-dir", str(empty_data_dir)]) == 1
    assert "python -m pipelines refresh" in capsys.readouterr().err


def test_uses_current_boundaries_when_the_snapshot_has_them(dash_snapshot, tmp_path, gem):
    CODE = gem[0]
    snap = snapshot.load_snapshot(dash_snapshot)
    cur = snap.observations.assign(harmonisation="gepubliceerd")
    root = tmp_path / "d"
    snapshot.publish(root, snap.observations, snap.regions, snap.manifest,
                     frames={"observations_current": cur})
    src = briefing.Source.load(root)
    assert src.boundaries == "current"
    assert "op huidige gemeentegrenzen" in pdf_text(briefing.render(src, CODE))[1]


def test_comparison_briefing_with_the_selection_says_so(dash_snapshot, gem, tmp_path, gemeenten):
    """The Vergelijken selection as the comparison group: the column and the note say it is the
    adviser's selection, not 'vergelijkbare gemeenten'; still one page. Also from the CLI."""
    from dashboard.core import compute

    CODE, NAME = gem
    others = [c for c in gemeenten if c != CODE][:3]
    src = briefing.Source.load(dash_snapshot)
    peer = compute.selection_peers([CODE, *others], CODE, "Amsterdam, Hilversum en Zeist")
    assert peer.codes == tuple(others)
    pages, text = pdf_text(briefing.render(src, CODE, peer))
    flat = " ".join(text.split())
    assert pages == 1
    assert "Selectie¹" in flat and "Vergelijkbaar¹" not in flat
    assert (f"Mediaan van {len(others)} andere gemeenten uit de eigen selectie uit "
            "Vergelijken: Amsterdam, Hilversum en Zeist (in plaats van de vergelijkbare "
            "gemeenten)") in flat
    out = tmp_path / "b.pdf"
    assert briefing.main([CODE, "--out", str(out), "--data-dir", str(dash_snapshot),
                          "--selectie", ",".join(others)]) == 0
    assert "Selectie¹" in " ".join(pdf_text(out.read_bytes())[1].split())
    assert briefing.main([CODE, "--out", str(out), "--data-dir", str(dash_snapshot),
                          "--selectie", "GM9999"]) == 2
