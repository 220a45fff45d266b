"""The OData query language (``standin/grammar.py``): ``$filter`` in the v3 and v4 dialects,
``$select``, ``$orderby``, ``$top``/``$skip``, the query string, and all of them applied to rows.
Most cases go through the v3 feed over HTTP, as the pipeline sends them."""

from __future__ import annotations

import pytest

from standin import ODataError, parse_filter
from standin.grammar import apply_query, parse_query
from tests.support.standin_feed import ROWS, error_message, get, ids

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


def test_v4_filter_grammar():
    row = {"RegioS": "GM0363", "Measure": "M000352", "Title": "Amsterdam"}
    assert parse_filter("RegioS in ('GM0363','GM0518')", dialect="v4")(row)
    assert not parse_filter("RegioS in ('GM0518')", dialect="v4")(row)
    assert parse_filter("contains(Title,'dam') and startswith(RegioS,'GM')", dialect="v4")(row)
    assert parse_filter("(Measure eq 'M000352' or Measure eq 'M1') and not (RegioS eq 'x')",
                        dialect="v4")(row)
    with pytest.raises(Exception, match="unknown function 'substringof'"):
        parse_filter("substringof('dam',Title)", dialect="v4")
    with pytest.raises(Exception, match="unexpected"):
        parse_filter("RegioS in ('GM0363')")  # v3 has no 'in'


def test_v3_has_no_contains_and_in_takes_only_literals():
    with pytest.raises(ODataError, match="unknown function 'contains'") as info:
        parse_filter("contains(RegioS,'GM')")
    assert info.value.status == 400
    with pytest.raises(ODataError, match="'in' takes a list of literals"):
        parse_filter("RegioS in (Perioden)", dialect="v4")
    assert parse_filter("Jaar in (2023, 2024)", dialect="v4")({"Jaar": 2024})


def test_parse_query_accepts_only_the_dialects_options():
    assert parse_query("$top=2&reset=1&$filter=", ("$top", "$filter")) == {
        "$top": "2", "reset": "1", "$filter": ""}
    with pytest.raises(ODataError, match="query option '\\$count' is not supported"):
        parse_query("$count=true", ("$top",))
    with pytest.raises(ODataError, match="given more than once"):
        parse_query("$top=1&$top=2", ("$top",))


def test_apply_query_pages_and_says_where_the_next_page_starts():
    rows = [{"ID": i, "K": "ab"[i % 2]} for i in range(7)]
    # (page, next $skip, next $top): no paging, a full window, a window cut at the page size
    assert apply_query(rows, ["ID", "K"], {}, None) == (rows, None, None)
    page, skip, top = apply_query(rows, ["ID", "K"], {"$filter": "K eq 'a'"}, 3)
    assert ([r["ID"] for r in page], skip, top) == ([0, 2, 4], 3, None)
    page, skip, top = apply_query(rows, ["ID", "K"], {"$skip": "1", "$top": "5",
                                                      "$select": "ID"}, 2)
    assert (page, skip, top) == ([{"ID": 1}, {"ID": 2}], 3, 3)
    assert apply_query(rows, ["ID", "K"], {"$top": "2"}, 2) == (rows[:2], None, None)
    # an empty entity set has no columns to check a query against
    assert apply_query([], [], {"$select": "Nope", "$orderby": "Nope"}, 2) == ([], None, None)
    with pytest.raises(ODataError, match="unknown column 'Nope'"):
        apply_query(rows, ["ID", "K"], {"$select": "Nope"}, 2)
