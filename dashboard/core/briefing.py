"""Wethoudersbriefing: a one-page A4 PDF per gemeente, from the published snapshot.

    python -m dashboard briefing GM0758 --out briefing.pdf
    python -m dashboard briefing --all --out briefings/        # every current gemeente

Route: typst (the ``typst`` wheel: a self-contained typesetting engine, no browser, no system
libraries) + the dashboard's own SVG charts (``charts.svg``, the same renderer as the web's
time series, at print size). Typst writes a *tagged* PDF (PDF/UA-1): headings,
paragraphs, tables with header cells, charts as figures with a Dutch alt text, document
language ``nl`` and a title, in reading order. Fonts are DejaVu Sans as shipped in matplotlib's
wheel (matplotlib is only the font source here), so the
result is the same on every machine. The page is ``briefing.typ``; all content reaches it as
JSON (:func:`content`), so no text is ever spliced into markup.

The figures come from the same functions the dashboard uses (``compute.profile``) with the same
presentation rules (``presentation``): sizes get no position but their share of Nederland; a
figure published only for a larger region sits in its own block under that region's name;
old periods say "verouderd" with the period in words; gaps give their true reason; the largest
movements are relative changes against Nederland's, only where the difference is material; one
Dutch number format and the credit line of the web pages. Series are on current gemeente
boundaries when the snapshot has them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import pandas as pd
import typst

from dashboard.core import compute, storyline, wijken
from dashboard.core import format as fmt
from dashboard.core import presentation as pr
from dashboard.core.charts import build, text
from dashboard.core.charts import svg as svgdraw
from pipelines import snapshot
from pipelines.fileio import StorageError, writing

THEMES = {"mkb_innovatie": "Breed MKB en innovatie", "human_capital": "Human Capital",
          "ruimtelijke_economie": "Ruimtelijke economie en vitale kernen"}
# in this order, the first three with a precise series for the gemeente
CHART_INDICATORS = ("werkloosheid_pct", "banen_per_1000_inwoners", "vestigingen_per_1000_inwoners",
                    "woningvoorraad", "netto_arbeidsparticipatie", "aandeel_koopwoningen")
TEMPLATE = Path(__file__).with_name("briefing.typ")
FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"  # DejaVu Sans, shipped with matplotlib
PDF_STANDARD = "ua-1"
HEAD = ["Indicator", "Waarde", "T.o.v. vorig jaar", "Vergelijkbaar¹", "Nederland",
        "Positie² of stand"]
REGION_HEAD = ["Indicator", "Waarde", "T.o.v. vorig jaar", "Nederland"]
SELECTION_HEAD = "Selectie¹"  # the peers column when the adviser's selection is the group


@dataclass
class Source:
    """What a briefing needs from a snapshot, loaded once and reused for many gemeenten."""

    snapshot_id: str
    manifest: snapshot.Manifest
    regions: pd.DataFrame
    by_indicator: dict[str, pd.DataFrame]
    indicators: dict[str, snapshot.IndicatorEntry]
    boundaries: str  # "current" | "historical"
    lags: pr.Lags | None = None
    gaps: pd.DataFrame | None = None  # harmonisation gaps (current boundaries only)
    wijk_rows: pd.DataFrame | None = None  # the snapshot's wijk_observations, if any
    region_history: pd.DataFrame | None = None  # herindelingen (a gemeente's predecessors)
    _compiler: typst.Compiler | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.lags is None:
            self.lags = pr.lags(self.manifest, self.indicators,
                                compute.latest_periods({k: self.by_indicator[k]
                                                        for k in self.indicators}))

    @classmethod
    def load(cls, root: Path) -> Source:
        snap = snapshot.load_snapshot(root)
        published = {i: g for i, g in snap.observations.groupby("indicator", sort=False)}
        inds = {m.id: m for m in snap.manifest.indicators if m.enabled and m.id in published}
        lags = pr.lags(snap.manifest, inds, compute.latest_periods(
            {k: published[k] for k in inds}))
        obs = snap.frame("observations_current")
        boundaries = "current" if obs is not None else "historical"
        by_ind = {i: g.sort_values(["region_code", "period"]).reset_index(drop=True)
                  for i, g in (obs if obs is not None else snap.observations).groupby(
                      "indicator", sort=False)}
        by_ind = {i: by_ind.get(i, published[i]) for i in published}
        gaps = None
        if obs is not None:
            try:
                gaps = snap.frame("harmonisation_gaps")
            except Exception:  # noqa: BLE001 - an optional table; without it gaps say less
                gaps = None
        return cls(snap.id, snap.manifest, snap.regions, by_ind, inds, boundaries, lags, gaps,
                   snap.frame("wijk_observations"), snap.frame("region_history"))

    @property
    def compiler(self) -> typst.Compiler:
        if self._compiler is None:
            self._compiler = typst.Compiler(font_paths=[str(FONTS)], ignore_system_fonts=True)
        return self._compiler


# --------------------------------------------------------------------------- content (pure)

def movement_sentence(f: dict, m: pr.Movement) -> str:
    """'Banen van werknemers: +4,1% (Nederland +1,0%) van 2023 tot 2024, naar 95.000.'"""
    return (f"{f['title']}: {pr.movement_text(m)} van {fmt.period(f['prev_period'])} tot "
            f"{fmt.period(f['period'])}, naar {fmt.value(f['value'], f['unit'], f['decimals'])}.")


def _period_cell(f: dict) -> str:
    return fmt.period_status(f["period"], f["status"]) if f["period"] else ""


def _row(f: dict) -> dict:
    """One table row of a figure, every cell already in words (no colour carries meaning)."""
    unit, dec = f["unit"], f["decimals"]
    if f["period"] is None:
        return {"title": fmt.titled(f["title"], unit), "gap": f["gap"] or fmt.MISSING}
    position = compute.position_words(f)
    change = "–"
    if f["change"] is not None:
        change = ("gelijk (afronding)" if f["within_rounding"]
                  else fmt.change(f["change"], unit, dec))
    return {
        "title": (fmt.titled(f["title"], unit) if f["headline"]
                  else f"{fmt.titled(f['title'], unit)} ({f['region_name']})"),
        "gap": None, "value": fmt.value(f["value"], unit, dec, short=True),
        "period": _period_cell(f),
        "stale": f"{pr.STALE} ({fmt.period(f['period'])})" if f["stale"] else "",
        "quality": pr.IMPRECISE_LABEL if f["imprecise"] else "",
        "change": change,
        "peers": (fmt.value(f["peers"], unit, dec, short=True) if f["peers"] is not None
                  and f["kind"] != pr.SIZE else "–"),
        "nl": fmt.value(f["nl"], unit, dec, short=True) if f["nl"] is not None else "–",
        "position": position,
    }


def _span(periods) -> str:
    ps = sorted(set(periods), key=lambda p: pr.period_end(p) or (0, 0))
    first, last = fmt.period(ps[0]), fmt.period(ps[-1])
    return first if first == last else f"{first} t/m {last}"


def period_line(figures: list[dict]) -> str:
    """The period of the figures (not the snapshot date): 'Cijfers over 2023 t/m 2025, per
    indicator het laatst gepubliceerde; verouderd: 2020 2e kwartaal (1 cijfer)'."""
    current = [f["period"] for f in figures if f["period"] and not f["stale"]]
    stale = [f["period"] for f in figures if f["period"] and f["stale"]]
    if not current and not stale:
        return "Geen cijfers in de snapshot"
    text = (f"Cijfers over {_span(current)}, per indicator het laatst gepubliceerde"
            if current else "Geen actuele cijfers")
    if stale:
        n = len(stale)
        text += f"; {pr.STALE}: {_span(stale)} ({n} {'cijfer' if n == 1 else 'cijfers'}, gemarkeerd)"
    return text


def _plain(markdown: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"\1", markdown)


def content(src: Source, gemeente: str, peer: compute.Peers | None = None,
            charts: bool = True, figures: list[dict] | None = None) -> dict:
    """Everything the page shows, as plain Dutch strings (the JSON the template reads).
    ``figures``: the gemeente's ``compute.profile`` when the caller already has it."""
    row = compute.region_row(src.regions, gemeente)
    if not row or row.get("level") != "GM":
        raise KeyError(f"{gemeente} is not a gemeente in snapshot {src.snapshot_id}")
    peer = peer if peer is not None else compute.peers(src.regions, gemeente)
    if figures is None:
        figures = compute.profile(src.by_indicator, src.regions, src.indicators, gemeente, peer,
                                  lags=src.lags, manifest=src.manifest, gaps=src.gaps)
    figures = [dict(f) for f in figures]
    for f in figures:  # NL's previous value, for relative movements
        f["nl_prev"] = (compute.value_at(src.by_indicator[f["indicator"]], compute.NL,
                                         f["prev_period"]) if f["prev_period"] else None)
    name = row.get("name", gemeente)
    inw, inw_when = compute.population(figures, row, src.manifest.reference_year)
    facts = [f"Provincie {row.get('provincie') or fmt.MISSING}"]
    if inw is not None:
        facts.append(f"{fmt.number(inw)} inwoners ({inw_when})" if inw_when
                     else f"{fmt.number(inw)} inwoners")
    if row.get("urbanity"):
        facts.append(pr.dutch_thousands(str(row["urbanity"]).lower()))
    if src.boundaries == "current":
        facts.append("op huidige gemeentegrenzen")
    own_all, blocks = pr.split_by_level(figures)
    themes = []
    for theme, title in THEMES.items():
        own = [f for f in own_all if f["theme"] == theme]
        if own:
            themes.append({"title": title, "rows": [_row(f) for f in own]})
    regions = [{"label": label, "rows": [_row(f) for f in figs if f["period"] is not None]}
               for label, figs in blocks.items()]
    regions = [b for b in regions if b["rows"]]
    moves = storyline.movements(figures)
    tables = [t for f in figures if f.get("cbs_table") for t in f["cbs_table"].split("+")]
    chosen = peer.method == compute.SELECTION_METHOD
    notes = [
        (f"¹ Mediaan van {len(peer.codes)} andere gemeenten uit {peer.description} (in plaats "
         "van de vergelijkbare gemeenten); niet bij aantallen." if chosen else
         f"¹ Mediaan van {len(peer.codes)} vergelijkbare gemeenten: "
         f"{pr.dutch_thousands(peer.description)}; niet bij aantallen."),
        "² Positie: 1 = gunstigste van alle gemeenten, alleen bij cijfers waar hoger of lager "
        "beter is. Bij verhoudingen zonder voorkeursrichting staat waar de gemeente staat: hoog, "
        "rond het midden of laag (hoogste, middelste of laagste kwart). Aantallen (vestigingen, "
        "banen, woningen) groeien met de gemeente: hun aandeel in Nederland (NL). "
        f"'{pr.IMPRECISE}': de afgeronde aantallen erachter zijn te klein om te vergelijken.",
        "Voorlopige cijfers van het CBS zijn als voorlopig aangeduid; 'verouderd' staat bij een "
        "cijfer dat ouder is dan gebruikelijk voor die CBS-tabel.",
        f"Snapshot {src.snapshot_id}, opgehaald {fmt.date(src.manifest.published_at)}.",
    ]
    shown = {f["indicator"] for f in figures if f["period"] is not None}
    notes[-1:-1] = [f"{fmt.titled(i.title, i.unit)}: {note}" for i in src.manifest.indicators
                    if i.id in shown for note in pr.break_notes(i)]
    out = {
        "title": f"Briefing regionale economie {name}",
        "author": pr.PRODUCT, "subject": f"CBS-cijfers over {name}",
        "heading": f"Regionale economie van {name}",
        "facts": " · ".join(facts), "period_line": period_line(figures),
        "demo": _plain(b) if (b := pr.demo_banner(src.manifest)) else None,
        "head": [SELECTION_HEAD if chosen and h == HEAD[3] else h for h in HEAD],
        "region_head": REGION_HEAD, "themes": themes, "regions": regions,
        "regions_intro": "Deze cijfers publiceert het CBS niet per gemeente; ze gaan over de "
                         "genoemde regio als geheel en zijn niet de cijfers van " + name + ".",
        "highlights": {"title": f"Wat valt op voor {name}",
                       "items": storyline.highlights(figures, name, peer.description, moves)},
        "movements": {
            "title": "Grootste bewegingen sinds vorig jaar",
            "items": [movement_sentence(f, m) for f, m in moves],
            "none": "Geen cijfer van de gemeente veranderde duidelijk anders dan in Nederland.",
            "note": "Relatieve verandering ten opzichte van het jaar ervoor, vergeleken met die "
                    "van Nederland; alleen waar het verschil minstens "
                    f"{fmt.number(100 * pr.MATERIAL)} procentpunt is.",
        },
        "kernen": wijken.briefing_paragraph(name, src.wijk_rows, src.manifest.wijken, gemeente,
                                            src.region_history),
        "charts": [],
        "notes": notes, "credit": pr.credit_line(sorted(set(tables))),
    }
    if charts:
        for iid in CHART_INDICATORS:  # the first three with data precise enough to draw
            if len(out["charts"]) < 3 and (c := chart(src, iid, gemeente, peer)):
                out["charts"].append(c)
    return out


# --------------------------------------------------------------------------- charts

def chart(src: Source, iid: str, gemeente: str, peer: compute.Peers) -> dict | None:
    """A small line chart (the dashboard's own SVG renderer, at print size) with its alt text
    (the chart's summary sentence). Sizes show the gemeente alone (Nederland's count would
    flatten it); rates add Nederland and the median of comparable gemeenten, over the
    gemeente's own periods."""
    obs = src.by_indicator.get(iid)
    meta = src.indicators.get(iid)
    if obs is None or meta is None:
        return None
    own = compute.series(obs, gemeente)
    if len(own) < 2:
        return None
    if "quality" in own.columns and own["quality"].iloc[-1] == pr.IMPRECISE:
        return None  # a line of rounding steps tells nothing: the next indicator is drawn
    name = compute.region_row(src.regions, gemeente).get("name", gemeente)
    lines = [(gemeente, name, "gemeente")]
    if not pr.is_size(meta):
        lines.append((compute.NL, "Nederland", "nl"))
    sdf = compute.series_frame(obs, lines, None if pr.is_size(meta) else peer)
    sdf = sdf[sdf["period"].isin(set(own["period"]))]
    spec = build.series_chart(sdf, meta, title=meta.title, source="")
    return {"svg": svgdraw.series(spec, text.summary(spec), svgdraw.PRINT),
            "alt": text.alt_text(spec)}


# --------------------------------------------------------------------------- the page

def render(src: Source, gemeente: str, peer: compute.Peers | None = None) -> bytes:
    """The briefing of one gemeente as a tagged PDF (one A4 page). ``peer``: the comparable
    gemeenten to use (default: same size class and urbanity)."""
    data = content(src, gemeente, peer)
    while True:  # one page: where the page is full, the last chart gives way (never a figure)
        pdf = src.compiler.compile(TEMPLATE.read_bytes(), format="pdf",
                                   sys_inputs={"data": json.dumps(data, ensure_ascii=False)},
                                   pdf_standards=[PDF_STANDARD])
        if page_count(pdf) <= 1 or not data["charts"]:
            return pdf
        data = {**data, "charts": data["charts"][:-1]}


def page_count(pdf: bytes) -> int:
    """Pages of a PDF typst wrote (its page objects are plain: ``/Type /Page``)."""
    return len(re.findall(rb"/Type\s*/Page(?![sL])", pdf))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dashboard briefing", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gemeenten", nargs="*", help="gemeente codes, e.g. GM0758")
    ap.add_argument("--all", action="store_true", help="every current gemeente")
    ap.add_argument("--out", required=True, help="a .pdf file (one gemeente) or a folder")
    ap.add_argument("--data-dir", help="data folder (env REGIO_DATA_DIR, default data)")
    ap.add_argument("--workers", type=int, default=1, help="processes for --all (default 1)")
    ap.add_argument("--selectie", help="comma-separated GM codes: compare with this group (the "
                                       "Vergelijken selection) instead of the comparable "
                                       "gemeenten; the briefing says so")
    args = ap.parse_args(argv)
    root = snapshot.data_dir(args.data_dir)
    try:
        src = Source.load(root)
    except snapshot.NoSnapshot as exc:
        print(f"{exc}. Maak er een met: python -m pipelines refresh", file=sys.stderr)
        return 1
    codes = list(compute.current_gemeenten(src.regions)["code"]) if args.all else [
        c.strip().upper() for c in args.gemeenten]
    if not codes:
        ap.error("name one or more gemeente codes, or --all")
    unknown = [c for c in codes if c not in set(src.regions.loc[src.regions.level == "GM", "code"])]
    if unknown:
        print(f"onbekende gemeentecode(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    group = [c.strip().upper() for c in (args.selectie or "").split(",") if c.strip()]
    unknown = [c for c in group if c not in set(src.regions.loc[src.regions.level == "GM", "code"])]
    if unknown or (args.selectie is not None and not group):
        print(f"onbekende gemeentecode(s) in --selectie: {', '.join(unknown) or '(leeg)'}",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    single = len(codes) == 1 and out.suffix.lower() == ".pdf"
    names = dict(zip(src.regions["code"], src.regions["name"], strict=False))
    t0 = time.perf_counter()
    group_text = ", ".join(names.get(c, c) for c in group)
    jobs = [(c, out if single else out / f"briefing-{c}-{slug(names.get(c, c))}.pdf",
             tuple(group), group_text) for c in codes]
    try:  # disk full, permission denied, read-only: one line naming the file, nothing half-written
        folder = out.parent if single else out
        with writing(folder):
            folder.mkdir(parents=True, exist_ok=True)
        if args.workers > 1 and len(jobs) > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(args.workers, initializer=_init,
                                     initargs=(str(root),)) as pool:
                list(pool.map(_write_one, jobs, chunksize=8))
        else:
            for job in jobs:
                _write(src, *job)
    except StorageError as exc:
        print(f"briefing: {exc}", file=sys.stderr)
        return 1
    print(f"{len(jobs)} briefing(s) in {time.perf_counter() - t0:.1f}s -> {out}")
    return 0


def _write(src: Source, code: str, path: Path, group: tuple[str, ...] = (),
           group_text: str = "") -> None:
    peer = compute.selection_peers(group, code, group_text) if group else None
    body = render(src, code, peer)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with writing(path, cleanup=tmp):
        tmp.write_bytes(body)
        tmp.replace(path)


_SRC: Source | None = None


def _init(root: str) -> None:
    global _SRC
    _SRC = Source.load(Path(root))


def _write_one(job) -> None:
    _write(_SRC, *job)


if __name__ == "__main__":
    sys.exit(main())
