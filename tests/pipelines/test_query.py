"""query.py on its own: what is asked of CBS for a table, planned from the catalogue and resolved
against small hand-made metadata (no server, no disk beyond the catalogue file)."""

from __future__ import annotations

import pytest

from pipelines import catalog as catalog_mod
from pipelines.query import Query, Request, TableProblem, plan, resolve
from tests.pipelines.test_editions import CATALOG_SERIES
from tests.pipelines.test_v4 import BEV, V4_CATALOG
from tests.support.world import CATALOG, GEBIEDEN, VEST, WON, write_catalog


@pytest.fixture
def cat(tmp_path):
    return catalog_mod.load(write_catalog(tmp_path / "c.yaml", V4_CATALOG))


def props(*dims: str, topics=(), kind="Dimension") -> list[dict]:
    out = [{"Key": "RegioS", "Type": "GeoDimension"}, {"Key": "Perioden", "Type": "TimeDimension"}]
    out += [{"Key": d, "Type": kind} for d in dims]
    return out + [{"Key": t, "Type": "Topic", "Title": t} for t in topics]


def cats(*keys: str) -> list[dict]:
    return [{"Key": k, "Title": k.strip()} for k in keys]


# --------------------------------------------------------------------------- plan

def test_plan_asks_for_every_measure_and_category_of_the_catalogue(cat):
    req = plan(cat, WON)
    assert req.select == ["RegioS", "Perioden", "StatusVanBewoning", "TotaleWoningvoorraad_1"]
    assert req.filter_dims == {"StatusVanBewoning": ["A028725", "T001235"]}  # both inputs
    assert req.levels == ("NL", "PV", "GM") and req.api == "v3" and not req.edition
    assert req.metadata == ["DataProperties", "StatusVanBewoning"]
    assert plan(cat, BEV).api == "v4"


def test_a_region_table_is_read_whole(cat):
    req = plan(cat, GEBIEDEN)
    assert (req.select, req.filter_dims, req.levels, req.metadata) == (None, {}, (), [])
    q = resolve(req, {})
    assert (q.select, q.filter, q.entity) == (None, None, "TypedDataSet")


@pytest.mark.parametrize("text,table,signature", [
    (CATALOG, GEBIEDEN, "f1d9d594803d645c"),
    (CATALOG, VEST, "211de7e628f28698"),
    (CATALOG, WON, "5abcfe0c3af52af2"),
    (V4_CATALOG, BEV, "38999d0b829966dc"),
    (CATALOG_SERIES, "91024NED", "d043e08d81293e20"),
])
def test_signatures_stay_what_they_were(tmp_path, text, table, signature):
    """The raw store compares signatures to decide a no-op night: a changed one would make every
    deployment download everything again. These are the values the code before query.py gave."""
    cat = catalog_mod.load(write_catalog(tmp_path / "c.yaml", text))
    assert plan(cat, table).signature == signature


def test_the_signature_follows_the_question_not_its_order():
    a = Request("T", ["RegioS", "Perioden", "M1"], {"D": ["a", "b"]}, ("NL", "GM"))
    b = Request("T", ["RegioS", "Perioden", "M1"], {"D": ["a", "b"]}, ("NL", "GM"), edition=True)
    assert a.signature == b.signature  # editions resolve stems later; the question is the same
    assert a.signature != Request("T", ["RegioS", "Perioden", "M2"], {"D": ["a", "b"]},
                                  ("NL", "GM")).signature
    assert a.signature != Request("T", a.select, a.filter_dims, a.levels, "v4").signature


# --------------------------------------------------------------------------- resolve, v3

def test_v3_filter_uses_cbs_padded_keys_and_region_levels(cat):
    req = plan(cat, VEST)
    meta = {"DataProperties": props("BedrijfstakkenBranchesSBI2008", topics=["Vestigingen_1"]),
            "BedrijfstakkenBranchesSBI2008": cats("T001081", "301000 ")}
    q = resolve(req, meta)
    assert q == Query(VEST, "v3", req.select,
                      "(BedrijfstakkenBranchesSBI2008 eq 'T001081') and (startswith(RegioS,'NL') "
                      "or startswith(RegioS,'PV') or startswith(RegioS,'CR') or "
                      "startswith(RegioS,'GM'))", req.signature)
    assert (q.entity, q.next_link) == ("TypedDataSet", "odata.nextLink")
    padded = resolve(Request("T", ["RegioS", "Perioden", "D", "M"], {"D": ["301000"]}, ()),
                     {"DataProperties": props("D", topics=["M"]), "D": cats("301000 ")})
    assert padded.filter == "(D eq '301000 ')"  # stripped in the catalogue, padded at CBS


def test_all_region_levels_need_no_region_filter():
    req = Request("T", ["RegioS", "Perioden", "M"], {}, ("GM", "AM", "CR", "PV", "LD", "NL"))
    q = resolve(req, {"DataProperties": props(topics=["M"])})
    assert q.filter is None and q.params == {"$select": "RegioS,Perioden,M"}


def test_a_vanished_measure_is_a_table_problem():
    req = Request("T", ["RegioS", "Perioden", "D", "Gone_3", "Here_1"], {"D": ["a"]}, ())
    with pytest.raises(TableProblem) as exc:
        resolve(req, {"DataProperties": props("D", topics=["Here_1"]), "D": cats("a")})
    assert exc.value.kind == "missing_measure" and exc.value.table == "T"
    assert str(exc.value) == ("T: measure(s) Gone_3 do not exist in this table (anymore): check "
                              "the catalogue")


def test_an_unknown_category_is_a_table_problem():
    req = Request("T", ["RegioS", "Perioden", "D", "M"], {"D": ["a", "zz", "yy"]}, ())
    with pytest.raises(TableProblem) as exc:
        resolve(req, {"DataProperties": props("D", topics=["M"]), "D": cats("a   ", "b")})
    assert exc.value.kind == "missing_category"
    assert str(exc.value) == "T: D has no category zz, yy"


# --------------------------------------------------------------------------- resolve, editions

def test_edition_stems_become_this_editions_keys_and_its_region_dimension():
    req = Request("K", ["RegioS", "Perioden", "Dichtheid", "Inwoners_5"], {}, ("NL", "GM"),
                  edition=True)
    meta = [{"Key": "WijkenEnBuurten", "Type": "GeoDetail"},
            {"Key": "Dichtheid_34", "Type": "Topic", "Title": "Dichtheid"},
            {"Key": "Inwoners_5", "Type": "Topic", "Title": "Inwoners"}]
    q = resolve(req, {"DataProperties": meta})
    assert q.select == ["WijkenEnBuurten", "Dichtheid_34", "Inwoners_5"]  # no Perioden here
    assert q.filter == "(startswith(WijkenEnBuurten,'NL') or startswith(WijkenEnBuurten,'GM'))"
    assert q.signature == req.signature


def test_an_ambiguous_or_absent_stem_is_a_missing_measure():
    req = Request("K", ["RegioS", "Perioden", "Nederland"], {}, (), edition=True)
    meta = props(topics=["Nederland_17", "Nederland_20"])
    with pytest.raises(TableProblem, match=r"^K: measure stem 'Nederland' is ambiguous") as exc:
        resolve(req, {"DataProperties": meta})
    assert exc.value.kind == "missing_measure"
    with pytest.raises(TableProblem, match="no measure 'Nederland'"):
        resolve(req, {"DataProperties": props(topics=["Other_1"])})


# --------------------------------------------------------------------------- resolve, v4

def test_v4_asks_for_measures_as_cells_with_every_dimension_column(cat):
    req = plan(cat, BEV)
    meta = {"DataProperties": props("Geslacht", topics=["M000352", "M000365"]),
            "Geslacht": cats("T001038", "3000")}
    q = resolve(req, meta)
    assert q.select == ["Measure", "ValueAttribute", "Value", "RegioS", "Perioden", "Geslacht"]
    assert q.filter == ("(Measure eq 'M000352') and (Geslacht eq 'T001038') and "
                        "(startswith(RegioS,'NL') or startswith(RegioS,'PV') or "
                        "startswith(RegioS,'GM'))")
    assert (q.entity, q.next_link, q.api) == ("Observations", "@odata.nextLink", "v4")
    assert q.params["$select"].startswith("Measure,ValueAttribute,Value,")
