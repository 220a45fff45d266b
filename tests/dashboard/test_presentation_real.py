"""The presentation rules hold for EVERY current gemeente on the real-data snapshot (../shared,
built once per session): on the page model (compute.profile = Overzicht, exports, briefing),
Brede welvaart, the briefing's content, and for Breda, Voorne aan Zee and Vlieland through
AppTest and the briefing PDF itself. Skipped with the reason when ../shared is absent.

* no size carries a position, quartile, percentile or good/bad direction;
* no figure of a larger region is a gemeente's headline (it sits in a block under its name);
* every period older than its indicator's normal lag carries "verouderd" with the period;
* every gap text starts with one of the known reasons.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from dashboard.core import briefing, compute, dashdata, welvaart
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from pipelines import snapshot
from pipelines.catalog import THEMES

pytestmark = pytest.mark.integration

CASES = {"GM0758": "Breda", "GM1992": "Voorne aan Zee", "GM0096": "Vlieland"}
PDF_CASES = {"GM0096": "Vlieland", "GM0088": "Schiermonnikoog", "GM0758": "Breda",
             "GM0363": "Amsterdam"}


@pytest.fixture(scope="module")
def dd(real_data) -> dashdata.DashData:
    return dashdata.build(snapshot.load_snapshot(real_data))


@pytest.fixture(scope="module")
def pages(dd) -> dict[str, tuple[compute.Peers, list[dict]]]:
    """gemeente -> (peers, the page model of its Overzicht) for all current gemeenten."""
    out = {}
    for gm in dd.gemeenten["code"]:
        peer = compute.peer_set(dd.peers, dd.regions, gm, "grootte")
        out[gm] = (peer, dd.profile("huidig", gm, peer))
    return out


def expected_stale(dd, iid: str, period: str) -> bool:
    """The freshness rule, stated from the snapshot: the period ends more months before the
    snapshot date than the lag allowed for the indicator, or its CBS table was stopped."""
    behind = pr.months_behind(period, dd.lags.reference)
    return bool(dd.lags.discontinued.get(iid)) or (
        behind is not None and behind > dd.lags.allowed[iid])


def test_the_snapshot_covers_all_342_gemeenten(dd, pages):
    assert len(pages) == 342
    assert {"GM0758", "GM1992", "GM0096"} <= set(pages)


def test_sizes_never_ranked_and_region_figures_never_headlines(dd, pages):
    sizes = {i for i, m in dd.indicators.items() if pr.is_size(m)}
    assert {"vestigingen", "banen_werknemers", "woningvoorraad"} <= sizes
    bad = []
    for gm, (_peer, figures) in pages.items():
        for f in figures:
            where = (gm, f["indicator"])
            if f["kind"] == pr.SIZE and (f["rank"] is not None or f["rank_n"]
                                         or f["higher_is_better"] is not None):
                bad.append(("size ranked", where))
            if f["headline"] != (f["region_level"] == "GM"):
                bad.append(("level", where))
            if f["headline"] and f["region_code"] != gm:
                bad.append(("headline of another region", where))
            if not f["headline"] and (not f["block"] or f["region_name"] not in f["block"]):
                bad.append(("region figure without its region's name", where))
            if (pr.judged(dd.indicators[f["indicator"]]) and f["headline"]
                    and f["value"] is not None and not f["imprecise"] and f["rank"] is None):
                bad.append(("figure with a direction without a position", where))
    assert not bad, bad[:20]


def test_every_old_period_is_marked_verouderd_with_the_period(dd, pages):
    bad, stale_seen = [], set()
    for gm, (_peer, figures) in pages.items():
        for f in figures:
            if f["period"] is None:
                assert not f["stale"]
                continue
            want = expected_stale(dd, f["indicator"], f["period"])
            if f["stale"] != want:
                bad.append((gm, f["indicator"], f["period"], f["stale"]))
            if f["stale"]:
                stale_seen.add(f["indicator"])
                if not (f["freshness"].startswith("Verouderd")
                        and fmt.period(f["period"]) in f["freshness"]):
                    bad.append((gm, f["indicator"], f["freshness"]))
    assert not bad, bad[:20]
    # the real data has one: openstaande vacatures stop at 2020 2e kwartaal
    assert "openstaande_vacatures" in stale_seen


def test_every_gap_says_a_known_reason(dd, pages):
    bad, codes = [], set()
    for gm, (_peer, figures) in pages.items():
        for f in figures:
            if f["gap"] is None:
                continue
            if not pr.is_known_gap_text(f["gap"]):
                bad.append((gm, f["indicator"], f["gap"]))
            lead = next(k for k, v in pr.GAP_REASONS.items() if f["gap"].startswith(v))
            codes.add(lead)
            # an indicator CBS publishes per gemeente is never blamed on the level
            if f["headline"] and lead == "niet_per_gemeente":
                bad.append((gm, f["indicator"], "blamed on the level"))
            if f["headline"] and f["period"] is not None:
                bad.append((gm, f["indicator"], "gap text beside a value"))
            if "Het CBS publiceert deze indicator niet" in f["gap"]:
                bad.append((gm, f["indicator"], "old wording"))
    assert not bad, bad[:20]
    assert "niet_per_gemeente" in codes
    # the development mirror lacks some gemeenten: that is said, not blamed on CBS
    assert "ontbreekt_demo" in codes


def test_exports_carry_positions_only_for_rankable_figures_and_mark_old_periods(pages):
    for gm in CASES:
        prof = pd.DataFrame(pages[gm][1])
        ex = compute.profile_export(prof, THEMES)
        sizes = prof["kind"].eq(pr.SIZE)
        assert ex.loc[sizes, "positie"].isna().all()
        assert (ex.loc[prof["stale"], "actualiteit"] == pr.STALE).all()
        assert (ex.loc[~prof["stale"] & prof["period"].notna(), "actualiteit"] == "actueel").all()


def _decimals_used(v) -> int:
    text = repr(float(v))
    return 0 if text.endswith(".0") else len(text.split(".")[1])


def test_profile_downloads_carry_no_more_decimals_than_the_indicator(pages):
    """CSV/Excel showed 13-16 decimals (ratios, medians): every figure of the download is
    rounded to its indicator's decimals, shares to one."""
    for gm in CASES:
        prof = pd.DataFrame(pages[gm][1])
        ex = compute.profile_export(prof, THEMES)
        for col in ("waarde", "vorig jaar", "verandering", "Nederland", "provincie",
                    "vergelijkbare gemeenten (mediaan)"):
            for v, dec, title in zip(ex[col], prof["decimals"], prof["title"], strict=True):
                if pd.notna(v):
                    assert _decimals_used(v) <= int(dec), (gm, col, title, v)
        for col in ("aandeel Nederland (%)", "aandeel provincie (%)"):
            assert all(_decimals_used(v) <= 1 for v in ex[col].dropna()), (gm, col)


def test_brede_welvaart_never_ranks_sizes_and_counts_only_rankable(dd, pages):
    # a spread of gemeenten (every 8th by name, and the three cases) keeps this test short;
    # the rule itself does not depend on the gemeente, the data gaps do
    sample = list(pages)[::8] + list(CASES)
    for gm in sample:
        peer = pages[gm][0]
        ov = welvaart.overview(dd.view("huidig"), dd.indicators, gm, peer.codes, lags=dd.lags)
        sizes = ov["kind"].eq(pr.SIZE)
        assert ov.loc[sizes, "standing"].isna().all(), gm
        assert ov.loc[sizes, "percentile"].isna().all(), gm
        assert not ov.loc[sizes, "trend"].isin(["gunstig", "ongunstig"]).any(), gm
        n_rankable = int((ov["rankable"].astype(bool) & ov["higher_is_better"].notna()).sum())
        assert f"van {n_rankable} indicatoren met een voorkeursrichting" in \
            welvaart.summary(ov)[0], gm
        for _, r in ov[ov["stale"]].iterrows():
            assert fmt.period(r["period"]) in r["freshness"], (gm, r["indicator"])


def test_briefing_content_follows_the_rules_for_every_gemeente(dd, pages):
    src = briefing.Source(dd.snapshot_id, dd.manifest, dd.regions, dd.view("huidig"),
                          dd.indicators, "current", dd.lags, dd.gaps)
    rank = re.compile(r"^\d+ van \d+$")
    for gm, (peer, figures) in pages.items():
        c = briefing.content(src, gm, peer, charts=False, figures=figures)
        by_title = {fmt.titled(f["title"], f["unit"]): f for f in figures}
        for theme in c["themes"]:
            for row in theme["rows"]:
                f = by_title[row["title"]]  # own figures only: titles without a region name
                assert f["headline"], (gm, row["title"])
                if row["gap"]:
                    assert pr.is_known_gap_text(row["gap"]), (gm, row)
                    continue
                if f["kind"] == pr.SIZE:
                    assert not rank.match(row["position"]) and row["peers"] == "–", (gm, row)
                assert (row["stale"] != "") == f["stale"], (gm, row)
        by_region_title = {f"{f['title']} ({f['region_name']})": f for f in figures
                           if not f["headline"]}
        for block in c["regions"]:
            assert block["label"] in {f["block"] for f in figures if f["block"]}
            for row in block["rows"]:
                f = by_region_title[row["title"]]  # labelled with the region's name
                assert f["block"] == block["label"], (gm, row)
                if f["kind"] == pr.SIZE:
                    assert not rank.match(row["position"]), (gm, row)
        stale = [f for f in figures if f["stale"]]
        for f in stale:
            assert fmt.period(f["period"]) in c["period_line"], gm
        assert c["credit"].startswith(pr.CREDIT)
        assert "cijfers van" not in c["period_line"]


# --------------------------------------------------------------------------- through the app

def _app(real_data, monkeypatch, page: str, **params):
    from tests.support.apptest import run_app  # noqa: PLC0415 - the AppTest helper

    return run_app(real_data, monkeypatch, page, **params)


def _texts(at) -> str:
    from tests.support.apptest import texts  # noqa: PLC0415

    return texts(at)


@pytest.mark.parametrize("gm", list(CASES))
def test_overzicht_through_the_app(real_data, dd, pages, monkeypatch, gm):
    at = _app(real_data, monkeypatch, "overzicht", gemeente=gm)
    assert at.title[0].value == CASES[gm]
    figures = pages[gm][1]
    headline_titles = {m.label for m in at.metric}
    for f in figures:
        if not f["headline"]:
            assert fmt.titled(f["title"], f["unit"]) not in headline_titles, f["title"]
    # a card per own figure with a value; those without one in a list with their reason
    assert {fmt.titled(f["title"], f["unit"]) for f in figures
            if f["headline"] and f["period"] is not None} == headline_titles
    t = _texts(at)
    for f in figures:
        if f["headline"] and f["period"] is None:
            assert f"{f['title']}: {f['gap']}" in t, f["title"]
    assert "Demo-gegevens, onvolledig" in t
    card = next(f for f in figures if f["indicator"] == "inwoners")
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert f"Inwoners: {fmt.number(card['value'])} (1 januari {card['period']})" in sidebar
    for f in figures:
        if not f["headline"] and f["period"]:
            assert f["block"] in t
        if f["stale"]:
            assert f["freshness"] in t
        if f["headline"] and f["gap"]:
            assert f["gap"] in t
    # a size's card shows its share, never a position
    size_lines = [c.value for c in at.caption if "Aandeel:" in str(c.value)]
    assert size_lines and not any("Positie" in s for s in size_lines)


def test_kernthema_brede_welvaart_and_vergelijken_through_the_app(real_data, monkeypatch):
    at = _app(real_data, monkeypatch, "human_capital", gemeente="GM0758",
              indicator="openstaande_vacatures")
    t = _texts(at)
    assert "Verouderd: " in t and "2020 2e kwartaal" in t
    assert "Provincie Noord-Brabant" in t  # the region's name, not Breda's
    assert not [m for m in at.metric if m.label == "Positie"]  # a size: share, no position
    at = _app(real_data, monkeypatch, "human_capital", gemeente="GM1992",
              indicator="banen_werknemers")
    assert any(m.label == "Aandeel in Nederland" for m in at.metric)
    at = _app(real_data, monkeypatch, "brede_welvaart", gemeente="GM1992")
    t = _texts(at)
    assert "indicatoren met een voorkeursrichting" in t
    # the gemeente's missing figures are named with their true reason, not left out silently
    assert "Zonder cijfer voor Voorne aan Zee: **Vestigingen van bedrijven**: " \
        + pr.GAP_REASONS["ontbreekt_demo"] in t
    at = _app(real_data, monkeypatch, "vergelijken", gemeente="GM0758")
    cols = " ".join(str(c) for d in at.dataframe for c in d.value.columns)
    assert f"2020 2e kwartaal, {pr.STALE}" in cols
    regio = at.dataframe[0].value.iloc[:, 0].astype(str).tolist()
    assert regio[0] == "Nederland" and "Noord-Brabant" in regio[1] and "Breda" in regio[2]


# --------------------------------------------------------------------------- the PDF

@pytest.mark.parametrize("gm", list(CASES))
def test_briefing_pdf_text_and_tags(real_data, dd, pages, gm):
    from tests.support.pdf import assert_tagged, pdf_text  # noqa: PLC0415

    src = briefing.Source.load(real_data)
    peer = compute.peers(src.regions, gm)
    data = briefing.render(src, gm, peer)
    n, text = pdf_text(data)
    assert n == 1
    assert_tagged(data, f"Briefing regionale economie {CASES[gm]}")
    flat = re.sub(r"(?<=\w)- (?=\w)", "-", " ".join(text.split()))  # cells wrap at hyphens
    lines = text.splitlines()
    for f in pages[gm][1]:
        if f["kind"] == pr.SIZE and f["headline"] and f["period"]:
            row = next(x for x in lines if re.match(re.escape(f["title"]) + r" [\d−]", x))
            assert "van NL" in row and not re.search(r"\d+ van \d+\b(?! NL)", row.replace(
                "van NL", "")), row
        if not f["headline"] and f["period"]:
            assert f"{f['title']} ({f['region_name']})" in flat
            assert flat.index("Alleen voor een grotere regio gepubliceerd") < flat.index(
                f"{f['title']} ({f['region_name']})")
        if f["stale"]:
            assert f"verouderd ({fmt.period(f['period'])})" in flat
        if f["headline"] and f["gap"]:
            assert " ".join(f["gap"].split()) in flat
    assert pr.CREDIT in flat and "Cijfers over " in flat
    assert "Groen" not in flat and "groen" not in flat
    # one number format: CBS's '150 000 tot 250 000 inwoners' written '150.000 tot 250.000'
    assert not re.search(r"\d \d{3} (?:tot|inwoners)", flat), "a number with a space"


# --------------------------------------------------------------------------- fit to read (#18)

def test_imprecise_figures_are_never_ranked_coloured_or_compared(dd, pages):
    """Over all 342 gemeenten: a figure the rounding of its inputs makes meaningless has no
    position, standing or colour; a figure without a better/worse direction has no position and
    no good/bad word; the peer median leaves imprecise values out."""
    bad, seen_imprecise = [], set()
    view = dd.view("huidig")
    for gm, (peer, figures) in pages.items():
        for f in figures:
            where = (gm, f["indicator"])
            meta = dd.indicators[f["indicator"]]
            if f["imprecise"]:
                seen_imprecise.add(f["indicator"])
                if f["rank"] is not None or f["standing"] or f["higher_is_better"] is not None:
                    bad.append(("imprecise but judged", where))
            if not pr.judged(meta) and (f["rank"] is not None or f["rank_n"]):
                bad.append(("position without a direction", where))
            if not pr.judged(meta) and f["higher_is_better"] is not None:
                bad.append(("colour without a direction", where))
            if f["peers"] is not None and f["period"]:
                obs = view[f["indicator"]]
                vals = [compute.value_at(obs, c, f["period"]) for c in peer.codes
                        if not compute.imprecise_at(obs, c, f["period"])]
                vals = [v for v in vals if v is not None]
                if not vals or abs(pd.Series(vals).median() - f["peers"]) > 1e-9:
                    bad.append(("peer median with imprecise values", where))
    assert not bad, bad[:20]
    # the real data has them: small gemeenten' per-1.000 figures over counts in thousands
    assert {"banen_per_1000_inwoners", "woningen_per_1000_inwoners"} <= seen_imprecise


def test_vlieland_gets_no_rounding_artefact_stated_as_fact(pages):
    figures = {f["indicator"]: f for f in pages["GM0096"][1]}
    banen = figures["banen_per_1000_inwoners"]
    assert banen["imprecise"] and banen["rank"] is None and banen["higher_is_better"] is None
    # CBS's own rate, not 0 of 1 thousand: no "0,0 %" with a position
    zelf = figures["aandeel_zelfstandigen"]
    assert zelf["rank"] is None and (zelf["value"] is None or zelf["value"] > 0)
    assert compute.position_words(banen) == pr.IMPRECISE


def test_movements_and_wat_valt_op_use_only_figures_that_deserve_it(dd, pages):
    from dashboard.core import storyline  # noqa: PLC0415

    period = re.compile(r"\b(19|20)\d\d\b")
    bad, short = [], []
    for gm, (peer, figures) in pages.items():
        name = dd.names[gm]
        by_id = {f["indicator"]: f for f in figures}
        moves = storyline.movements(figures)
        for f, _m in moves:
            if f["imprecise"] or f["within_rounding"] or not f["headline"]:
                bad.append(("movement", gm, f["indicator"]))
        lines = storyline.highlights(figures, name, peer.description, moves)
        assert 1 <= len(lines) <= storyline.MAX_SENTENCES, gm
        if len(lines) < storyline.MIN_SENTENCES:
            short.append(gm)
        for line in lines:
            if line.startswith(("Let op", "Voor ", "Geen cijfer")):
                continue
            if "(gemeente" not in line or not period.search(line):
                bad.append(("sentence without level or period", gm, line))
            title = max((f["title"] for f in figures if line.startswith(f["title"] + " ")),
                        key=len, default=None)
            f = next((f for f in figures if f["title"] == title), None)
            if f is None or f["imprecise"] or f["stale"] or not f["headline"]:
                bad.append(("sentence about a figure that does not qualify", gm, line))
            elif not pr.judged(dd.indicators[f["indicator"]]) and "gunstig" in line:
                bad.append(("judgement without a direction", gm, line))
        assert by_id  # every gemeente has its figures
    assert not bad, bad[:20]
    # three to five sentences (measured on the real-data snapshot: every gemeente has three)
    assert not short, short


def test_header_population_is_the_cards_population(dd, pages):
    for gm, (_peer, figures) in pages.items():
        card = next(f for f in figures if f["indicator"] == "inwoners")
        inw, when = compute.population(figures, compute.region_row(dd.regions, gm),
                                       dd.manifest.reference_year)
        assert inw == card["value"] and when == f"1 januari {card['period']}", gm
        # the sidebar on every page says the same (it has no key figures at hand)
        assert compute.latest_population(dd.view("huidig"), gm, compute.region_row(
            dd.regions, gm), dd.manifest.reference_year) == (inw, when), gm


@pytest.mark.parametrize("gm", list(PDF_CASES))
def test_briefing_text_is_fit_to_read(real_data, pages, gm):
    from tests.support.pdf import pdf_text  # noqa: PLC0415

    src = briefing.Source.load(real_data)
    peer = compute.peers(src.regions, gm)
    n, text = pdf_text(briefing.render(src, gm, peer))
    flat = " ".join(text.split())
    assert n == 1 and f"Wat valt op voor {PDF_CASES[gm]}" in flat
    figures = compute.profile(src.by_indicator, src.regions, src.indicators, gm, peer,
                              lags=src.lags, manifest=src.manifest, gaps=src.gaps)
    card = next(f for f in figures if f["indicator"] == "inwoners")
    assert f"{fmt.number(card['value'])} inwoners (1 januari {card['period']})" in flat
    lines = text.splitlines()
    for f in figures:
        if not f["headline"] or f["period"] is None:
            continue
        row = next((x for x in lines if x.startswith(f["title"] + " ")), None)
        if row is None:
            continue  # a long title wraps: the rules are checked on the content test above
        if f["imprecise"]:
            assert not re.search(r"\b\d+ van \d+\b", row), row
        if not pr.judged(src.indicators[f["indicator"]]):
            assert not re.search(r"\b\d+ van 342\b", row), row


def test_briefing_draws_no_line_of_rounding_steps(real_data, dd, pages):
    """Vlieland's banen per 1.000 inwoners is imprecise (700 -> 800 -> 700 are rounding steps):
    the briefing draws the next indicator instead; Breda's is precise and drawn."""
    src = briefing.Source.load(real_data)
    for gm, drawn in (("GM0096", False), ("GM0758", True)):
        peer, figures = pages[gm]
        banen = next(f for f in figures if f["indicator"] == "banen_per_1000_inwoners")
        assert banen["imprecise"] is not drawn
        c = briefing.content(src, gm, peer, figures=figures)
        titles = [ch["alt"] for ch in c["charts"]]
        assert len(c["charts"]) == 3, gm
        assert any("Banen van werknemers per 1.000" in t for t in titles) is drawn, (gm, titles)


@pytest.mark.parametrize("gm", ["GM0638", "GM0626"])  # long COROP names, three movements
def test_the_fullest_briefings_still_fit_one_page(real_data, gm):
    """Measured over all 342 gemeenten (python -m dashboard briefing --all): these two were the
    first to need a second page; every briefing is one A4 page."""
    from tests.support.pdf import pdf_text  # noqa: PLC0415

    src = briefing.Source.load(real_data)
    n, _text = pdf_text(briefing.render(src, gm, compute.peers(src.regions, gm)))
    assert n == 1
