"""The workbench selection (dashboard/core/selection.py) and the shared link resolving of
gemeenten (state.resolve_gemeente): names, merged gemeenten, unknown codes."""

import pandas as pd

from dashboard.core import selection, state
from dashboard.core.selection import Selection

KNOWN = state.Known(
    gemeenten=frozenset({"GM0363", "GM0758", "GM0772", "GM0855", "GM1992", "GM0797"}),
    regions=frozenset({"GM0363", "GM0758", "PV30", "PV27", "AM17", "CR36"}),
    indicators={"werkloosheid_pct": "human_capital", "vestigingen": "mkb_innovatie",
                "banen_per_1000": "mkb_innovatie"},
    default_gemeente="GM0363",
    successors=state.successors(
        [{"predecessor": "GM0457", "predecessor_name": "Weesp", "successor": "GM0363"},
         {"predecessor": "GM0614", "predecessor_name": "Westvoorne", "successor": "GM1992"},
         {"predecessor": "GM0001", "predecessor_name": "Oud", "successor": "GM0002"},
         {"predecessor": "GM0002", "predecessor_name": "Tussen", "successor": "GM0758"},
         {"predecessor": "GM0003", "predecessor_name": "Gesplitst", "successor": "GM0758"},
         {"predecessor": "GM0003", "predecessor_name": "Gesplitst", "successor": "GM0855"}],
        {"GM0363", "GM0758", "GM1992", "GM0855"}),
    by_name={"amsterdam": "GM0363", "breda": "GM0758", "eindhoven": "GM0772",
             "tilburg": "GM0855", "voorne aan zee": "GM1992", "'s-hertogenbosch": "GM0796"},
    names={"GM0363": "Amsterdam", "GM0758": "Breda", "GM0772": "Eindhoven", "GM0855": "Tilburg",
           "GM1992": "Voorne aan Zee", "PV30": "Noord-Brabant", "GM0797": "Heusden"},
    size_classes={"6": "100 000 tot 150 000 inwoners", "7": "150 000 tot 250 000 inwoners",
                  "8": "250 000 inwoners of meer"},
    urbanities={"1": "Zeer sterk stedelijk", "2": "Sterk stedelijk"},
)

GEMEENTEN = pd.DataFrame({
    "code": ["GM0363", "GM0758", "GM0772", "GM0797", "GM0855"],
    "name": ["Amsterdam", "Breda", "Eindhoven", "Heusden", "Tilburg"],
    "provincie_code": ["PV27", "PV30", "PV30", "PV30", "PV30"],
    "corop_code": ["CR23", "CR35", "CR36", "CR34", "CR34"],
    "arbeidsmarktregio_code": ["AM21", "AM17", "AM18", "AM19", "AM19"],
    "size_class_code": pd.array(["8", "7", "8", "4", "8"], dtype="string"),
    "urbanity_code": pd.array(["1", "2", "1", "4", "2"], dtype="string"),
})


def test_resolve_gemeente_code_name_merged_unknown():
    assert state.resolve_gemeente(" gm0758 ", KNOWN) == ("GM0758", None)
    assert state.resolve_gemeente("Breda", KNOWN) == ("GM0758", None)
    assert state.resolve_gemeente("voorne  AAN zee", KNOWN) == ("GM1992", None)
    code, note = state.resolve_gemeente("GM0457", KNOWN)
    assert code == "GM0363" and note == ("Weesp (GM0457) is opgegaan in Amsterdam; "
                                         "Amsterdam (GM0363) wordt getoond.")
    code, note = state.resolve_gemeente("GM0614", KNOWN)
    assert code == "GM1992" and "Westvoorne" in note and "Voorne aan Zee" in note
    assert state.resolve_gemeente("GM0001", KNOWN)[0] == "GM0758"  # merged twice: to today
    code, note = state.resolve_gemeente("GM0003", KNOWN)  # split: no single successor
    assert code is None and "bestaat niet (meer)" in note
    code, note = state.resolve_gemeente("Atlantis", KNOWN)
    assert code is None and "`Atlantis`" in note


def test_parse_gemeente_by_name_and_merged_code_with_note():
    sel, w = state.parse({"gemeente": "Breda"}, KNOWN)
    assert sel.gemeente == "GM0758" and not w
    sel, w = state.parse({"gemeente": "GM0457"}, KNOWN)
    assert sel.gemeente == "GM0363" and len(w) == 1 and "opgegaan in Amsterdam" in w[0]
    sel, w = state.parse({"gemeente": "Nergenshuizen"}, KNOWN)
    assert sel.gemeente == "GM0363" and "standaardgemeente" in w[0]
    sel, w = state.parse({"gemeenten": "GM0758", "indicatoren": "vestigingen"}, KNOWN)
    assert not w  # the workbench parameters are known to the link parser


def test_round_trip_and_members():
    sel = Selection(gemeenten=("GM0758",), indicatoren=("werkloosheid_pct", "vestigingen"),
                    regio=("PV30",), grootteklasse=("7", "8"))
    q = sel.to_query()
    assert q == {"gemeenten": "GM0758", "indicatoren": "werkloosheid_pct,vestigingen",
                 "regio": "PV30", "grootteklasse": "7,8"}
    again, notes = Selection.from_query(q, KNOWN)
    assert again == sel and not notes
    # Breda first (hand-picked), then the large Brabantse gemeenten by name; not Amsterdam
    # (large, other provincie) nor Heusden (Brabant, small)
    assert sel.members(GEMEENTEN) == ["GM0758", "GM0772", "GM0855"]
    assert Selection(stedelijkheid=("1",)).members(GEMEENTEN) == ["GM0363", "GM0772"]
    assert Selection(gemeenten=("GM0797",)).members(GEMEENTEN) == ["GM0797"]
    assert Selection().empty and Selection().members(GEMEENTEN) == []
    text = sel.describe(KNOWN)
    assert text.startswith("Breda plus alle gemeenten met provincie Noord-Brabant")
    assert "150 000 tot 250 000 inwoners of 250 000 inwoners of meer" in text


def test_unknown_parts_named_rest_opens():
    sel, notes = Selection.from_query(
        {"gemeenten": "GM0758,GM9999,Breda,Weesp-oud,GM0457", "indicatoren": "VESTIGINGEN,nope",
         "regio": "pv30,PV99", "grootteklasse": "7,x", "stedelijkheid": "9"}, KNOWN)
    assert sel == Selection(("GM0758", "GM0363"), ("vestigingen",), ("PV30",), ("7",), ())
    text = " ".join(notes)
    for named in ("`GM9999`", "`Weesp-oud`", "`nope`", "`PV99`", "`x`", "`9`",
                  "opgegaan in Amsterdam"):
        assert named in text, named
    assert all(n.startswith(("Onbekende", "Weesp")) for n in notes)


def test_limits_and_theme_choice():
    many = ",".join(f"GM{i:04d}" for i in range(100))
    known = state.Known(frozenset(f"GM{i:04d}" for i in range(100)), frozenset(), {}, "GM0000")
    sel, notes = Selection.from_query({"gemeenten": many}, known)
    assert len(sel.gemeenten) == selection.MAX_GEMEENTEN and "Hoogstens" in notes[0]
    assert selection.indicators_of_theme(KNOWN, "mkb_innovatie") == ["vestigingen",
                                                                     "banen_per_1000"]
    assert Selection(("GM0758",)).replace(indicatoren=["vestigingen"]).to_query() == {
        "gemeenten": "GM0758", "indicatoren": "vestigingen"}


def test_a_long_selection_is_not_refused_by_the_link_parser():
    """60 hand-picked codes are 479 characters: longer than a single parameter may be, but the
    workbench parameters have their own limits (selection.MAX_GEMEENTEN)."""
    codes = [f"GM{i:04d}" for i in range(60)]
    known = state.Known(frozenset(codes), frozenset(), {}, "GM0000")
    _, w = state.parse({"gemeenten": ",".join(codes)}, known)
    assert not w
    sel, notes = Selection.from_query({"gemeenten": ",".join(codes)}, known)
    assert len(sel.gemeenten) == 60 and not notes
    sel, notes = Selection.from_query({"gemeenten": "GM0001," * 1000}, known)
    assert sel.gemeenten == () and "te lang" in notes[0]
