"""The indicator catalogue: the shipped one is valid and complete; malformed entries are named."""

from __future__ import annotations

import pytest

from pipelines import catalog
from tests.support.world import CATALOG


def test_shipped_catalogue_is_valid_and_covers_every_theme():
    cat = catalog.load()
    by_theme = {t: [i for i in cat.enabled if i.theme == t] for t in catalog.THEMES}
    assert all(len(v) >= 4 for v in by_theme.values()), {k: len(v) for k, v in by_theme.items()}
    # at least 4 per theme exist per gemeente where CBS has them
    gm = {t: [i for i in v if "GM" in i.levels] for t, v in by_theme.items()}
    assert len(gm["human_capital"]) >= 4 and len(gm["ruimtelijke_economie"]) >= 4
    assert cat.indicator("onbewoonde_woningen_pct").formula == "(totaal - bewoond) / totaal * 100"
    assert cat.indicator("openstaande_vacatures").levels == ("NL", "PV")
    for ind in cat.enabled:
        assert all((cat.series[t] if t in cat.series else cat.tables[t]).verified
                   for t in ind.tables), ind.id
    assert cat.gebieden_series == "gebieden_in_nederland"
    assert cat.gebieden == {2024: "85755NED", 2025: "86059NED"}
    assert cat.reference_year == 2025 and cat.gebieden[cat.reference_year] == "86059NED"
    assert cat.tables["86059NED"].title == "Gebieden in Nederland 2025"


def test_every_indicator_says_what_kind_of_figure_it_is():
    cat = catalog.load()
    sizes = {i.id for i in cat.indicators if i.kind == "size"}
    assert sizes == {"vestigingen", "oprichtingen", "opheffingen", "banen_werknemers",
                     "openstaande_vacatures", "woningvoorraad", "inwoners"}
    for ind in cat.indicators:
        assert ind.rankable == (ind.kind == "rate"), ind.id
        if ind.unit == "%" or ind.unit.startswith("per "):
            assert ind.kind == "rate", ind.id


def test_rankable_override(tmp_path):
    text = CATALOG.replace('    unit: "%"\n    kind: rate\n', '    unit: "%"\n    kind: rate\n'
                           '    rankable: false\n')
    cat = catalog.load(_write(tmp_path, text))
    assert cat.indicator("onbewoond_pct").rankable is False
    text = CATALOG.replace('    unit: "%"\n    kind: rate\n', '    unit: "%"\n    kind: index\n')
    assert catalog.load(_write(tmp_path, text)).indicator("onbewoond_pct").rankable is False
    text = text.replace("kind: index\n", "kind: index\n    rankable: true\n")
    assert catalog.load(_write(tmp_path, text)).indicator("onbewoond_pct").rankable is True


def test_measure_label_for_export():
    cat = catalog.load()
    assert cat.indicator("werkloosheid_pct").measure_label == "Werkloosheidspercentage_13"
    lbl = cat.indicator("onbewoonde_woningen_pct").measure_label
    assert lbl.startswith("(totaal - bewoond) / totaal * 100 (totaal=82900NED.TotaleWoningvoorraad_1")
    assert "bewoond=82900NED.TotaleWoningvoorraad_1[StatusVanBewoning=A028725]" in lbl


def _write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def _line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


@pytest.mark.parametrize("old,new,message", [
    ("    theme: mkb_innovatie\n    title: \"Vestigingen\"\n",
     "    theme: mkb\n    title: \"Vestigingen\"\n", "theme 'mkb' is not one of"),
    ('formula: "vest / won * 1000"', 'formula: "vest / wonen * 1000"',
     "formula uses undefined input(s): wonen"),
    ('formula: "vest / won * 1000"', 'formula: "__import__(\'os\')"', "only + - * / allowed"),
    ('formula: "vest / won * 1000"', 'formula: "vest / won *"', "is not valid arithmetic"),
    ("    unit: aantal\n", "", "missing field(s): unit"),
    ("levels: [NL, PV, CR, GM]", "levels: [NL, XX]", "levels must be a list"),
    ("    kind: size\n", "", "missing field: kind (size, rate or index)"),
    ("    kind: size\n", "    kind: count\n", "kind 'count' is not one of size, rate, index"),
    ("    kind: size\n", "    kind: size\n    rankable: true\n", "cannot be rankable"),
    ("    kind: size\n", "    kind: size\n    rankable: ja\n", "rankable must be true or false"),
    ("    unit: aantal\n    kind: size\n", "    unit: \"%\"\n    kind: size\n",
     "kind size does not fit unit '%'"),
    ("measure: Vestigingen_1, filters", "measure: 'Vestigingen 1', filters",
     "is not a CBS measure key"),
])
def test_malformed_indicator_is_named_with_its_line(tmp_path, old, new, message):
    assert old in CATALOG
    text = CATALOG.replace(old, new, 1)
    with pytest.raises(catalog.CatalogError) as exc:
        catalog.load(_write(tmp_path, text))
    msg = str(exc.value)
    assert message in msg
    assert f"c.yaml:{_line_of(text, '- id: vestigingen')}" in msg or "c.yaml:" in msg
    assert "indicator 'vestigingen" in msg


def test_error_line_points_at_the_entry(tmp_path):
    text = CATALOG.replace('formula: "vest / won * 1000"', 'formula: "vest / x"')
    with pytest.raises(catalog.CatalogError) as exc:
        catalog.load(_write(tmp_path, text))
    line = _line_of(text, "- id: vestigingen_per_1000_woningen")
    assert str(exc.value).startswith(f"{tmp_path / 'c.yaml'}:{line}: indicator "
                                     "'vestigingen_per_1000_woningen'")


def test_duplicate_id_and_unknown_table(tmp_path):
    dup = CATALOG.replace("- id: onbewoond_pct", "- id: vestigingen")
    with pytest.raises(catalog.CatalogError, match="duplicate id"):
        catalog.load(_write(tmp_path, dup))
    old = "won: {table: 90002NED"
    assert old in CATALOG
    unk = CATALOG.replace(old, "won: {table: 90007NED")
    with pytest.raises(catalog.CatalogError, match="table 90007NED is not described"):
        catalog.load(_write(tmp_path, unk))


def test_unverified_table_must_be_disabled(tmp_path):
    text = CATALOG.replace('90002NED: {title: "Woningen (test)", verified: true',
                           '90002NED: {title: "Woningen (test)", verified: false')
    with pytest.raises(catalog.CatalogError, match="unverified table"):
        catalog.load(_write(tmp_path, text))
    off = "\n    enabled: false"
    text = text.replace("    formula: \"(totaal - bewoond) / totaal * 100\"",
                        "    formula: \"(totaal - bewoond) / totaal * 100\"" + off)
    text = text.replace("    formula: \"vest / won * 1000\"", "    formula: \"vest / won * 1000\"" + off)
    with pytest.raises(catalog.CatalogError, match="enabled: false needs a disabled_reason"):
        catalog.load(_write(tmp_path, text))
    text = text.replace(off, off + "\n    disabled_reason: \"90002NED niet geverifieerd\"")
    cat = catalog.load(_write(tmp_path, text))
    assert [i.id for i in cat.enabled] == ["vestigingen"]
    assert cat.data_tables() == ["90001NED"]
    assert {i.disabled_reason for i in cat.indicators if not i.enabled} == {"90002NED niet geverifieerd"}
    enabled_with_reason = CATALOG.replace("    formula: \"vest / won * 1000\"",
                                          "    formula: \"vest / won * 1000\"\n"
                                          "    disabled_reason: \"oud\"")
    with pytest.raises(catalog.CatalogError, match="disabled_reason is given but the indicator is enabled"):
        catalog.load(_write(tmp_path, enabled_with_reason))


def test_not_yaml_and_missing_sections(tmp_path):
    with pytest.raises(catalog.CatalogError, match=r"c.yaml:\d+: not valid YAML"):
        catalog.load(_write(tmp_path, "indicators: [\n  - id: x\n bad"))
    with pytest.raises(catalog.CatalogError, match="missing section 'tables'"):
        catalog.load(_write(tmp_path, "regions: {}\nindicators: []\n"))


def test_select_only():
    cat = catalog.load()
    tables, inds = cat.select("onbewoonde_woningen_pct")
    assert tables == ["82900NED"] and [i.id for i in inds] == ["onbewoonde_woningen_pct"]
    tables, inds = cat.select("86088ned")
    assert tables == ["86088NED"] and "werkloosheid_pct" in [i.id for i in inds]
    with pytest.raises(catalog.CatalogError):
        cat.select("12345NED")


def test_brede_welvaart_tags_and_dwarsverbanden(tmp_path):
    cat = catalog.load()
    assert all(i.bw_dimension in ("hier_en_nu", "later", "elders") and i.bw_theme
               for i in cat.indicators)
    assert {p["theme"] for p in cat.pairs} == set(catalog.THEMES)
    bad = CATALOG.replace("indicators:\n", "dwarsverbanden:\n  - {theme: human_capital, x: vestigingen, "
                                           "y: nope}\nindicators:\n", 1)
    with pytest.raises(catalog.CatalogError, match="y 'nope' is not an indicator"):
        catalog.load(_write(tmp_path, bad))
    bad = CATALOG.replace("    theme: mkb_innovatie\n", "    theme: mkb_innovatie\n"
                          "    brede_welvaart: {dimensie: morgen, thema: x}\n", 1)
    with pytest.raises(catalog.CatalogError, match="brede_welvaart needs dimensie"):
        catalog.load(_write(tmp_path, bad))
