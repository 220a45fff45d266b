"""The wethoudersbriefing PDF: one A4 page with the gemeente, its figures and the sources."""

from __future__ import annotations

import io

import pypdf
import pytest

from dashboard import briefing
from pipelines import store

pytest_plugins = ["snapshot_factory"]


@pytest.fixture
def gemeenten() -> dict:
    from snapshot_factory import GEMEENTEN  # loaded as a plugin above; import after that

    return GEMEENTEN


@pytest.fixture
def gem(gemeenten) -> tuple[str, str]:
    code = next(iter(gemeenten))
    return code, gemeenten[code][0]


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), " ".join(p.extract_text() for p in reader.pages)


def test_render_is_one_page_with_name_figures_and_sources(dash_snapshot, gem):
    CODE, NAME = gem
    src = briefing.Source.load(dash_snapshot)
    pages, text = pdf_text(briefing.render(src, CODE))
    assert pages == 1
    assert f"Regionale economie van {NAME}" in text
    for theme in ("Breed MKB en innovatie", "Human Capital", "Ruimtelijke economie"):
        assert theme in text
    assert "Bron: CBS StatLine" in text and "CC BY 4.0" in text
    assert "81575NED" in text and src.snapshot_id[:15] in text.replace("\n", "")
    assert "Grootste bewegingen sinds vorig jaar" in text


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


def test_movements_are_ranked_by_how_unusual_they_are(dash_snapshot, gem):
    CODE = gem[0]
    src = briefing.Source.load(dash_snapshot)
    moves = briefing.movements(src, CODE, n=10)
    assert moves and [m["score"] for m in moves] == sorted((m["score"] for m in moves), reverse=True)
    s = briefing.movement_sentence(moves[0])
    assert ("steeg met" in s or "daalde met" in s) and moves[0]["title"] in s


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
    snap = store.load_snapshot(dash_snapshot)
    cur = snap.observations.assign(harmonisation="gepubliceerd")
    root = tmp_path / "d"
    store.publish(root, snap.observations, snap.regions, snap.manifest,
                  extra_frames={"observations_current.parquet": cur})
    src = briefing.Source.load(root)
    assert src.boundaries == "current"
    assert "op huidige gemeentegrenzen" in pdf_text(briefing.render(src, CODE))[1]
