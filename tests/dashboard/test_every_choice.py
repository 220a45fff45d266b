"""No choice a visitor can make shows an error (issue 23): every page with every value of its
selectors — each indicator on each kernthema page for every gemeente (small, former and unknown
codes included) on both boundary views, every indicator pair on Dwarsverbanden (x = y too),
every comparison mode — renders without an exception and without the page guard's message.

The page guard (``app.guarded``) turns an unexpected error into a Dutch message and a log line;
this test fails on that message as well, so a caught error is still a failing test."""

from __future__ import annotations

import itertools

import pytest

from tests.support.apptest import PAGES, run_app
from tests.support.snapshot_factory import FORMER, GEMEENTEN, INDICATORS

PAGE_FAILED = "Deze weergave kon niet worden getoond"
THEME_PAGES = {"mkb_innovatie", "human_capital", "ruimtelijke_economie"}
CODES = [*GEMEENTEN, *FORMER, "GM9999"]  # every gemeente, a merged one, one that never existed


def assert_clean(at, what: str) -> None:
    assert not at.exception, (what, [e.value for e in at.exception])
    errors = [e.value for e in at.error if PAGE_FAILED in str(e.value)]
    assert not errors, (what, errors)


@pytest.mark.parametrize("grenzen", ["huidig", "historisch"])
@pytest.mark.parametrize("theme", sorted(THEME_PAGES))
def test_every_indicator_on_every_kernthema_page_for_every_gemeente(dash_snapshot, monkeypatch,
                                                                     theme, grenzen):
    indicators = [i[0] for i in INDICATORS if i[1] == theme]
    for code, iid in itertools.product(CODES, indicators):
        at = run_app(dash_snapshot, monkeypatch, theme, gemeente=code, indicator=iid,
                     grenzen=grenzen)
        assert_clean(at, (theme, code, iid, grenzen))


@pytest.mark.parametrize("page", [p for p in PAGES if p not in THEME_PAGES])
def test_every_other_page_for_every_gemeente(dash_snapshot, monkeypatch, page):
    for code in CODES:
        at = run_app(dash_snapshot, monkeypatch, page, gemeente=code)
        assert_clean(at, (page, code))


def test_every_indicator_pair_on_dwarsverbanden_including_one_against_itself(dash_snapshot,
                                                                              monkeypatch):
    gm = [i[0] for i in INDICATORS if "GM" in i[6]]
    assert len(gm) >= 3
    for x, y in itertools.product(gm, gm):
        at = run_app(dash_snapshot, monkeypatch, "dwarsverbanden", gemeente="GM0352", x=x, y=y)
        assert_clean(at, (x, y))
        if x == y:  # a sensible view: the scatter and its text, not an error
            assert any("horizontaal" in str(c.value) for c in at.caption), (x, y)
            assert any("Op beide assen staat" in i.value for i in at.info), (x, y)
            assert not any("r = " in str(m.value) for m in at.markdown), (x, y)  # no r = 1
        else:
            assert not any("Op beide assen" in i.value for i in at.info), (x, y)


@pytest.mark.parametrize("vergelijk", ["PV27", "CR13", "AM18", "GM0344,GM0362", ""])
def test_every_comparison_mode_and_indicator(dash_snapshot, monkeypatch, vergelijk):
    for iid in [i[0] for i in INDICATORS]:
        params = {"gemeente": "GM0362", "indicator": iid}
        if vergelijk:
            params["vergelijk"] = vergelijk
        at = run_app(dash_snapshot, monkeypatch, "vergelijken", **params)
        assert_clean(at, (vergelijk, iid))


def test_the_guard_turns_an_error_into_a_dutch_message_and_a_log_line(dash_snapshot, monkeypatch,
                                                                       caplog):
    from dashboard.core import compute

    def broken(*_a, **_k):
        raise ValueError("boom")

    monkeypatch.setattr(compute, "display_region", broken)  # not cached: fails on every view
    at = run_app(dash_snapshot, monkeypatch, "human_capital", gemeente="GM0355",
                 indicator="werkloosheid_pct")
    assert any(PAGE_FAILED in str(e.value) for e in at.error)
    assert not at.exception  # no English error box
    assert at.title[0].value == "Human Capital"  # the page up to the failure is still there
    assert any("page failed" in r.getMessage() and getattr(r, "page", "") == "human_capital"
               for r in caplog.records)  # logged with the page (and its parameters)
