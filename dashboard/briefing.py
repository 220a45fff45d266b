"""Wethoudersbriefing: a one-page A4 PDF per gemeente, from the published snapshot.

    python -m dashboard.briefing GM0758 --out briefing.pdf
    python -m dashboard.briefing --all --out briefings/        # every current gemeente

Route: reportlab (PDF layout) + matplotlib (small charts), both plain Python wheels: it works
offline, needs no browser, and is fast enough to produce all gemeenten every night. Headline
figures come from the same functions the dashboard uses (``compute``), so the PDF and the screen
never disagree. Series are on current gemeente boundaries when the snapshot has them.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.platypus import (  # noqa: E402
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from pipelines import store  # noqa: E402

from . import compute  # noqa: E402
from . import format as fmt  # noqa: E402

THEMES = {"mkb_innovatie": "Breed MKB en innovatie", "human_capital": "Human Capital",
          "ruimtelijke_economie": "Ruimtelijke economie en vitale kernen"}
CHART_INDICATORS = ("werkloosheid_pct", "banen_per_1000_inwoners", "vestigingen_per_1000_inwoners",
                    "woningvoorraad")
GREEN, RED, GREY = "#1a7f37", "#c62828", "#6b6b6b"
BLUE, ORANGE, DARK = "#1565c0", "#ef6c00", "#333333"


@dataclass
class Source:
    """What a briefing needs from a snapshot, loaded once and reused for many gemeenten."""

    snapshot_id: str
    manifest: dict
    regions: pd.DataFrame
    by_indicator: dict[str, pd.DataFrame]
    indicators: dict[str, dict]
    boundaries: str  # "current" | "historical"

    @classmethod
    def load(cls, root: Path) -> Source:
        snap = store.load_snapshot(root)
        obs = snap.frame("observations_current")
        boundaries = "current" if obs is not None else "historical"
        obs = obs if obs is not None else snap.observations
        by_ind = {i: g.sort_values(["region_code", "period"]).reset_index(drop=True)
                  for i, g in obs.groupby("indicator", sort=False)}
        inds = {m["id"]: m for m in snap.manifest.get("indicators", [])
                if m.get("enabled", True) and m["id"] in by_ind}
        return cls(snap.id, snap.manifest, snap.regions, by_ind, inds, boundaries)


# --------------------------------------------------------------------------- content (pure)

def movements(src: Source, gemeente: str, n: int = 3) -> list[dict]:
    """The ``n`` largest movements since the previous year: the gemeente's change divided by the
    spread of that change over all gemeenten (how unusual it is), largest first."""
    out = []
    for iid, meta in src.indicators.items():
        obs = src.by_indicator[iid]
        gm = obs[(obs["region_level"] == "GM") & (obs["period_type"] == "jaar")]
        if gm.empty or gemeente not in set(gm["region_code"]):
            continue
        last = gm.loc[gm["region_code"] == gemeente, "period"].max()
        prev = compute.previous_period(last)
        wide = gm[gm["period"].isin([last, prev])].pivot_table(
            index="region_code", columns="period", values="value")
        if prev not in wide or gemeente not in wide.index or pd.isna(wide.loc[gemeente, prev]):
            continue
        delta = (wide[last] - wide[prev]).dropna()
        spread = delta.std(ddof=0)
        if not spread or pd.isna(spread):
            continue
        d = float(delta[gemeente])
        nl = compute.value_at(obs, compute.NL, last), compute.value_at(obs, compute.NL, prev)
        out.append({"indicator": iid, "title": meta["title"], "unit": meta["unit"],
                    "decimals": int(meta.get("decimals") or 0), "period": last, "prev": prev,
                    "value": float(wide.loc[gemeente, last]), "change": d, "score": abs(d) / spread,
                    "higher_is_better": meta.get("higher_is_better"),
                    "nl_change": None if None in nl else nl[0] - nl[1]})
    return sorted(out, key=lambda m: (-m["score"], m["indicator"]))[:n]


def movement_sentence(m: dict) -> str:
    word = "steeg" if m["change"] > 0 else "daalde"
    ch = fmt.change(abs(m["change"]), m["unit"], m["decimals"]).lstrip("+")
    nl = (f" (Nederland: {fmt.change(m['nl_change'], m['unit'], m['decimals'])})"
          if m["nl_change"] is not None else "")
    return (f"{m['title']} {word} met {ch} naar {fmt.value(m['value'], m['unit'], m['decimals'])} "
            f"({fmt.period(m['prev'])} → {fmt.period(m['period'])}){nl}.")


def _direction_colour(change, hib) -> str:
    if change is None or hib is None or abs(change) < 1e-12:
        return GREY
    return GREEN if (change > 0) == bool(hib) else RED


# --------------------------------------------------------------------------- charts

def _chart(src: Source, iid: str, gemeente: str, peer: compute.Peers) -> bytes | None:
    obs = src.by_indicator.get(iid)
    meta = src.indicators.get(iid)
    if obs is None or meta is None:
        return None
    s = compute.series(obs, gemeente)
    if s.empty:
        return None
    row = compute.region_row(src.regions, gemeente)
    fig, ax = plt.subplots(figsize=(2.45, 1.75), dpi=140)
    fig.subplots_adjust(left=0.14, right=0.98, bottom=0.12, top=0.8)  # fixed: no tight_layout pass
    periods = list(s["period"])
    ax.plot(periods, s["value"], color=BLUE, lw=2, label=row.get("name", gemeente))
    nl = compute.series(obs, compute.NL)
    nl = nl[nl["period"].isin(periods)]
    if not nl.empty:
        ax.plot(list(nl["period"]), nl["value"], color=DARK, lw=1.2, ls="--", label="Nederland")
    if peer.codes:
        med = [compute.peer_median(obs, peer.codes, p) for p in periods]
        ax.plot(periods, med, color=ORANGE, lw=1.2, ls=":", label="Vergelijkbaar (mediaan)")
    title = textwrap.fill(f"{meta['title']} ({fmt.unit_label(meta['unit'])})", 40)
    ax.set_title(title, fontsize=6.2, loc="left")
    ax.tick_params(labelsize=5.5)
    step = max(1, len(periods) // 5)
    ax.set_xticks(periods[::step])
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda v, _p: fmt.number(v, 0 if abs(v) >= 100 else 1)))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", lw=0.3, color="#dddddd")
    ax.legend(fontsize=4.8, frameon=False, loc="best")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


# --------------------------------------------------------------------------- the page

def _styles():
    ss = getSampleStyleSheet()
    base = ParagraphStyle("b", parent=ss["BodyText"], fontName="Helvetica", fontSize=7.5,
                          leading=9.5)
    return {
        "title": ParagraphStyle("t", parent=base, fontName="Helvetica-Bold", fontSize=15,
                                leading=18),
        "sub": ParagraphStyle("s", parent=base, fontSize=8.5, leading=11, textColor="#444444"),
        "h": ParagraphStyle("h", parent=base, fontName="Helvetica-Bold", fontSize=10, leading=12,
                            spaceBefore=5, spaceAfter=2),
        "cell": base,
        "small": ParagraphStyle("sm", parent=base, fontSize=6.3, leading=8, textColor="#555555"),
        "head": ParagraphStyle("hd", parent=base, fontName="Helvetica-Bold", fontSize=6.8,
                               leading=8.5),
    }


def _esc(text) -> str:
    return (str(text) if text is not None else "").replace("&", "&amp;").replace("<", "&lt;")


def render(src: Source, gemeente: str, peer: compute.Peers | None = None) -> bytes:
    """The briefing of one gemeente as PDF bytes (one A4 page). ``peer``: the comparable
    gemeenten to use (default: same size class and urbanity)."""
    row = compute.region_row(src.regions, gemeente)
    if not row or row.get("level") != "GM":
        raise KeyError(f"{gemeente} is not a gemeente in snapshot {src.snapshot_id}")
    st = _styles()
    peer = peer if peer is not None else compute.peers(src.regions, gemeente)
    figures = compute.profile(src.by_indicator, src.regions, src.indicators, gemeente, peer)
    name = row.get("name", gemeente)
    inw = row.get("inwoners")
    facts = [f"provincie {row.get('provincie') or '?'}"]
    if inw is not None and not pd.isna(inw):
        facts.append(f"{fmt.number(inw)} inwoners")
    facts += [str(row[k]).lower() for k in ("urbanity",) if row.get(k)]
    story = [
        Paragraph(f"Regionale economie van {_esc(name)}", st["title"]),
        Paragraph(_esc(" · ".join(facts)) + f" · cijfers van {fmt.date(src.manifest.get('published_at'))}"
                  + (" · op huidige gemeentegrenzen" if src.boundaries == "current" else ""),
                  st["sub"]),
        Spacer(1, 3 * mm),
    ]
    tables = sorted({t for f in figures if f.get("cbs_table") for t in f["cbs_table"].split("+")})
    head = [Paragraph(h, st["head"]) for h in
            ("Indicator", "Waarde", "T.o.v. vorig jaar", "Vergelijkbaar¹", "Nederland", "Positie²")]
    for theme, title in THEMES.items():
        rows = [head]
        colours = []
        for f in (f for f in figures if f["theme"] == theme):
            where = "" if f["region_level"] == "GM" else f" ({_esc(f['region_name'])})"
            val = fmt.value(f["value"], f["unit"], f["decimals"], short=True)
            per = fmt.period_status(f["period"], f["status"]) if f["period"] else ""
            ch = fmt.change(f["change"], f["unit"], f["decimals"]) if f["change"] is not None else "–"
            colours.append(_direction_colour(f["change"], f["higher_is_better"]))
            rank = fmt.rank(f["rank"], f["rank_n"]) if f["rank"] else "–"
            rows.append([
                Paragraph(_esc(f["title"]) + where, st["cell"]),
                Paragraph(f"<b>{_esc(val)}</b> <font size=6 color='#666666'>{_esc(per)}</font>",
                          st["cell"]),
                Paragraph(_esc(ch), st["cell"]),
                Paragraph(_esc(fmt.value(f["peers"], f["unit"], f["decimals"], short=True)
                               if f["region_level"] == "GM" else "n.v.t."), st["cell"]),
                Paragraph(_esc(fmt.value(f["nl"], f["unit"], f["decimals"], short=True)), st["cell"]),
                Paragraph(_esc(rank), st["cell"]),
            ])
        if len(rows) == 1:
            continue
        t = Table(rows, colWidths=[62 * mm, 30 * mm, 24 * mm, 22 * mm, 22 * mm, 20 * mm])
        style = [("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#999999")),
                 ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#dddddd")),
                 ("VALIGN", (0, 0), (-1, -1), "TOP"),
                 ("TOPPADDING", (0, 0), (-1, -1), 1.2), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.2)]
        style += [("TEXTCOLOR", (2, i + 1), (2, i + 1), colors.HexColor(c))
                  for i, c in enumerate(colours)]
        t.setStyle(TableStyle(style))
        story.append(KeepTogether([Paragraph(title, st["h"]), t]))

    moves = movements(src, gemeente)
    if moves:
        story.append(KeepTogether(
            [Paragraph("Grootste bewegingen sinds vorig jaar", st["h"])]
            + [Paragraph("• " + _esc(movement_sentence(m)), st["cell"]) for m in moves]))

    charts = []
    for iid in CHART_INDICATORS:  # the first three that have data
        if len(charts) < 3 and (png := _chart(src, iid, gemeente, peer)):
            charts.append(png)
    if charts:
        imgs = [Image(io.BytesIO(c), width=58 * mm, height=41.4 * mm) for c in charts]
        story.append(KeepTogether([Paragraph("Ontwikkeling", st["h"]),
                                   Table([imgs], colWidths=[60 * mm] * len(imgs))]))

    story += [Spacer(1, 2 * mm), Paragraph(
        f"¹ Mediaan van {len(peer.codes)} vergelijkbare gemeenten: {_esc(peer.description)}. "
        "² 1 = gunstigste van alle gemeenten (of regio's van dat niveau); bij indicatoren zonder "
        "richting: 1 = hoogste. Groen/rood: gunstige/ongunstige verandering. "
        "Cijfers die CBS nog voorlopig noemt zijn gemarkeerd.", st["small"]),
        Paragraph(f"Bron: CBS StatLine, tabellen {_esc(', '.join(tables))}; bewerking Regio-economie "
                  f"dashboard. Licentie CC BY 4.0. Snapshot {_esc(src.snapshot_id)}.", st["small"])]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm,
                            topMargin=12 * mm, bottomMargin=10 * mm,
                            title=f"Briefing regionale economie {name}", author="Regio-economie",
                            subject=f"CBS-cijfers, snapshot {src.snapshot_id}")
    doc.build(story)
    return buf.getvalue()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dashboard.briefing", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gemeenten", nargs="*", help="gemeente codes, e.g. GM0758")
    ap.add_argument("--all", action="store_true", help="every current gemeente")
    ap.add_argument("--out", required=True, help="a .pdf file (one gemeente) or a folder")
    ap.add_argument("--data-dir", help="data folder (env REGIO_DATA_DIR, default data)")
    ap.add_argument("--workers", type=int, default=1, help="processes for --all (default 1)")
    args = ap.parse_args(argv)
    root = store.data_dir(args.data_dir)
    try:
        src = Source.load(root)
    except store.NoSnapshot as exc:
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
    out = Path(args.out)
    single = len(codes) == 1 and out.suffix.lower() == ".pdf"
    (out.parent if single else out).mkdir(parents=True, exist_ok=True)
    names = dict(zip(src.regions["code"], src.regions["name"], strict=False))
    t0 = time.perf_counter()
    jobs = [(c, out if single else out / f"briefing-{c}-{slug(names.get(c, c))}.pdf") for c in codes]
    if args.workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(str(root),)) as pool:
            list(pool.map(_write_one, jobs, chunksize=8))
    else:
        for code, path in jobs:
            _write(src, code, path)
    print(f"{len(jobs)} briefing(s) in {time.perf_counter() - t0:.1f}s -> {out}")
    return 0


def _write(src: Source, code: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(render(src, code))
    tmp.replace(path)


_SRC: Source | None = None


def _init(root: str) -> None:
    global _SRC
    _SRC = Source.load(Path(root))


def _write_one(job) -> None:
    _write(_SRC, *job)


if __name__ == "__main__":
    sys.exit(main())
