"""Command line: python -m pipelines refresh | status | catalog | export | rollback."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from . import catalog as catalog_mod
from . import editions, logs, notices, runs, snapshot, spreadsheet, store
from .cbs import CbsClient, CbsConfig, CbsError
from .refresh import EXIT_FAILED, EXIT_OK, refresh

log = logging.getLogger("pipelines")

EXPORT_COLUMNS = ["indicator", "region_code", "region_name", "region_level", "period", "value",
                  "unit", "status", "cbs_table", "measure"]


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="data folder (env REGIO_DATA_DIR, default: data)")
    common.add_argument("--catalog", help="indicator catalogue (default: pipelines/indicators.yaml)")
    common.add_argument("--log-format", choices=["auto", "text", "json"], default="auto",
                        help="json: one object per line (the nightly); text: progress bars and "
                             "plain lines for a person; auto: text on a terminal, else json")
    common.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING"], default="INFO",
                        help="DEBUG adds every request to the text output")
    cbs = argparse.ArgumentParser(add_help=False)
    cbs.add_argument("--cbs-url", help="CBS OData base URL (env CBS_ODATA_URL, "
                                       "default https://opendata.cbs.nl)")
    cbs.add_argument("--cbs4-url", help="CBS OData v4 base URL for tables with 'api: v4' (env "
                                        "CBS_ODATA4_URL, default https://datasets.cbs.nl/odata/v1)")
    cbs.add_argument("--cbs-web-url", help="base URL of CBS's web site, where workbooks such as the "
                                           "Landelijke Monitor Leegstand are published (tables "
                                           "with 'api: file'; env CBS_WEB_URL, default "
                                           "https://www.cbs.nl)")
    cbs.add_argument("--timeout", type=float, default=120.0,
                     help="read timeout per request (CBS and boundary files), s")
    cbs.add_argument("--retries", type=int, default=4,
                     help="retries per request, whatever fails (no answer, 429/5xx, a body cut "
                          "off): at most retries+1 requests")
    cbs.add_argument("--backoff", type=float, default=1.0,
                     help="first retry delay in s (plus up to as much at random), doubling each "
                          "retry; a server's Retry-After replaces it")

    p = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("refresh", parents=[common, cbs], help="fetch, check and publish a snapshot")
    r.add_argument("--only", help="one indicator id or CBS table id")
    r.add_argument("--force", action="store_true", help="download even if CBS reports no change")
    r.add_argument("--accept", action="append", default=[], metavar="TABLE",
                   help="take this table's new data even if it fails the plausibility checks "
                        "against the published snapshot (a real change at CBS); repeatable")
    r.add_argument("--keep", type=int, default=5, help="snapshots to keep (default 5)")
    r.add_argument("--workers", type=int, default=4, help="tables fetched at once (default 4)")
    r.add_argument("--data-source", choices=["cbs", "mirror", "test"],
                   help="record where the data comes from (default: cbs for a CBS host, else "
                        "'onbekend'); 'mirror' = the local development copy (the dashboard "
                        "shows a demo banner)")
    r.add_argument("--geo-url", help="gemeente boundaries URL template with {year} "
                                     "(env GEO_URL, default PDOK gebiedsindelingen WFS)")
    sub.add_parser("status", parents=[common], help="the published snapshot and recent runs")
    c = sub.add_parser("catalog", parents=[common, cbs], help="list (or --check) the indicators")
    c.add_argument("--check", action="store_true",
                   help="verify every table id, measure and category key at CBS")
    e = sub.add_parser("export", parents=[common], help="the published tidy table as CSV")
    e.add_argument("--out", required=True,
                   help="CSV file to write, replaced atomically if it exists ('-' for stdout); "
                        "text a spreadsheet would run as a formula gets a leading apostrophe")
    e.add_argument("--boundaries", choices=["current", "historical"], default="current",
                   help="current: series on today's gemeente boundaries (merged gemeenten summed); "
                        "historical: each year on that year's boundaries, as CBS publishes")
    e.add_argument("--level", choices=["GM", "WK"], default="GM",
                   help="GM: the tidy table (gemeenten, with NL and the regions above them); "
                        "WK: the wijk figures (catalogue wijk_indicators) per wijk and year, with "
                        "their gemeente; select with --gemeenten (GM codes) and --indicatoren "
                        "(wijk indicator ids); --boundaries does not apply: wijken are as CBS "
                        "published them")
    e.add_argument("--dialect", choices=["plain", "nl"], default="plain",
                   help="plain: comma + decimal point; nl: semicolon + decimal comma (Excel NL)")
    for flag, what in (("--gemeenten", "GM codes or names"),
                       ("--indicatoren", "catalogue indicator ids"),
                       ("--regio", "provincie (PV..), COROP (CR..) or arbeidsmarktregio (AM..) "
                                   "codes: all their gemeenten"),
                       ("--grootteklasse", "'Gebieden in Nederland' size class codes (1-8)"),
                       ("--stedelijkheid", "'Gebieden in Nederland' urbanity codes (1-5)")):
        e.add_argument(flag, help=f"comma-separated {what}; only this selection is exported "
                                  "(as on the dashboard's Vergelijken page: the gemeenten "
                                  "named plus those meeting every region filter)")
    sub.add_parser("rollback", parents=[common], help="switch back to the previous snapshot")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    args.command_line = " ".join(argv)
    logs.setup(args.log_format, args.log_level)
    root = snapshot.data_dir(args.data_dir)
    try:
        cat = catalog_mod.load(args.catalog)
    except catalog_mod.CatalogError as exc:
        log.error(f"catalogue error: {exc}")
        return EXIT_FAILED
    try:
        return COMMANDS[args.cmd](args, cat, root)
    except (catalog_mod.CatalogError, ValueError, store.StorageError) as exc:
        log.error(str(exc))
        return EXIT_FAILED


def _client(args) -> CbsClient:
    return CbsClient(CbsConfig.from_env(args.cbs_url, v4_url=args.cbs4_url,
                                        web_url=args.cbs_web_url, read_timeout=args.timeout,
                                        retries=args.retries, backoff=args.backoff))


def cmd_refresh(args, cat, root: Path) -> int:
    return refresh(cat, root, _client(args), only=args.only, force=args.force, keep=args.keep,
                   workers=args.workers, command=args.command_line, geo_url=args.geo_url,
                   data_source=args.data_source, accept=args.accept)


def cmd_status(args, cat, root: Path) -> int:
    out = sys.stdout
    sid = snapshot.current_id(root)
    if not sid:
        print(f"Geen gepubliceerde snapshot in {root}. Maak er een met: python -m pipelines refresh",
              file=out)
    damaged = snapshot.verify_snapshot(root, sid) if sid else []
    if damaged:
        fallback = snapshot.newest_intact(root, before=sid)
        print(f"DAMAGED    current snapshot {sid} fails its integrity check (every file against "
              "its sha256, the manifest against the snapshot contract):", file=out)
        for p in damaged:
            print(f"             {p}", file=out)
        print("           the dashboard shows " + (f"the earlier snapshot {fallback}" if fallback
                                                   else "no figures (no intact snapshot)")
              + "; the next refresh republishes (or: python -m pipelines refresh --force)",
              file=out)
    try:
        m = snapshot.read_manifest(root) if sid else None
    except snapshot.NoSnapshot:
        m = None
    if m:
        print(f"snapshot   {sid}  (published {m.published_at}, {m.rows} rows)", file=out)
        print(f"data dir   {root.resolve()}", file=out)
        print(f"integrity  {'DAMAGED (see above)' if damaged else 'ok: every file matches its sha256'}",
              file=out)
        print(f"contract   schema version {m.schema_version} (this code: "
              f"{snapshot.SCHEMA_VERSION})", file=out)
        print(f"\n{'table':<10} {'api':<4} {'rows':>7}  {'fetched at':<21} {'CBS Modified':<25} "
              "state", file=out)
        for t, tm in m.tables.items():
            state = "STALE: " + (tm.error or "") if tm.stale else "ok"
            if tm.edition:
                state += f" (edition {tm.edition}: {tm.url})"
            print(f"{t:<10} {tm.api:<4} {tm.rows or 0:>7}  "
                  f"{tm.fetched_at or '-':<21} {tm.modified or '-':<25} {state}",
                  file=out)
        print(f"\n{'indicator':<30} {'rows':>7}  gemeenten in latest period", file=out)
        for ind in m.indicators:
            if not ind.enabled:
                continue
            c = m.coverage.get(ind.id)
            cv = (f"{c.covered}/{c.expected} in {c.latest_period}" if c else "n.v.t.")
            print(f"{ind.id:<30} {ind.rows:>7}  {cv}", file=out)
        for n in m.new_editions:
            print(f"NEW EDITION at CBS: {editions.message(n.model_dump())}", file=out)
        if m.indicators_not_yet_fetched:
            print("not yet fetched: " + ", ".join(m.indicators_not_yet_fetched), file=out)
    history = runs.load(root)  # never raises: bad lines are named below, good runs still listed
    recent = history.runs[-5:]
    if history.problems:
        print(f"\nrun history {history.path}: {len(history.problems)} problem(s)", file=out)
        for p in history.problems[:5]:
            print(f"  {p}", file=out)
        if len(history.problems) > 5:
            print(f"  (+{len(history.problems) - 5} more)", file=out)
    if recent:
        print("\nrecent runs", file=out)
        for r in recent:
            acts = {}
            for t in (r.get("tables") or {}).values():
                acts[str(t.get("action"))] = acts.get(str(t.get("action")), 0) + 1
            summary = ", ".join(f"{v} {k}" for k, v in sorted(acts.items()))
            print(f"  {r.get('started')}  {r.get('outcome') or '-':<8} exit {r.get('exit_code')}  "
                  f"{r.get('seconds', '-')}s  {summary}" + (f"  error: {r['error']}" if r.get("error")
                                                       else "")
                  + ("  current was damaged: republished" if r.get("current_damaged") else ""),
                  file=out)
        last = recent[-1]
        for t, tr in (last.get("tables") or {}).items():
            if tr.get("action") in ("stale", "rejected", "failed") and tr.get("error"):
                print(f"    {t} {tr['action']}: {tr['error']}", file=out)
        for w in last.get("wijken_warnings") or []:  # wijk rows: never fatal, never silent
            print(f"    wijken: {w}", file=out)
    checked = runs.last_successful_check(history.runs)
    age = _days_since(checked)
    fresh = age is not None and age < FRESH_DAYS
    print(f"\nlast successful check at CBS: {checked or 'never'}"
          + (f" ({age} day(s) ago)" if age is not None else "")
          + ("" if fresh else f"  NOT FRESH: no full refresh succeeded in {FRESH_DAYS} days"),
          file=out)
    # monitoring runs this: a damaged snapshot, none at all, or figures not checked at CBS for
    # FRESH_DAYS days is a failure, not a printed remark with exit 0
    return EXIT_FAILED if damaged or not sid or not fresh else EXIT_OK


FRESH_DAYS = 3  # as the dashboard footer (dashboard/core/compute.py STALE_AFTER_DAYS)


def _days_since(ts: str | None) -> int | None:
    try:
        when = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (datetime.now(UTC) - when).days


def cmd_catalog(args, cat, root: Path) -> int:
    if not args.check:
        for theme, title in catalog_mod.THEMES.items():
            print(f"\n{title} ({theme})")
            for i in cat.indicators:
                if i.theme == theme:
                    flag = "" if i.enabled else f"  [uitgeschakeld: {i.disabled_reason}]"
                    print(f"  {i.id:<30} {i.title} [{i.unit}]  {'+'.join(i.tables)} "
                          f"{'/'.join(i.levels)}{flag}")
        return EXIT_OK
    client = _client(args)
    wanted: dict[str, dict] = {}
    for ind in cat.indicators:
        for inp, table in ((i, t) for i in ind.inputs for t in cat.tables_of(i.table)):
            w = wanted.setdefault(table, {"measures": set(), "filters": set(), "by": set(),
                                          "enabled": False, "stems": table != inp.table})
            w["measures"].add(inp.measure)
            w["filters"].update(inp.filters)
            w["by"].add(ind.id if ind.enabled else f"{ind.id} (disabled)")
            w["enabled"] |= ind.enabled
    for t in cat.gebieden.values():
        wanted.setdefault(t, {"measures": set(), "filters": set(), "by": {"regions"},
                              "enabled": True})
    problems = 0
    client.for_api("file").configure(cat.files)
    for table, w in wanted.items():
        api = cat.tables[table].api if table in cat.tables else "v3"
        if table in cat.tables and cat.tables[table].series:  # an edition: CBS's title must say so
            w["edition_title"] = cat.tables[table].title
        check = _check_file if api == "file" else _check_table
        line = check(client.for_api(api), table, w)
        print(line)
        if not line.startswith("ok") and w["enabled"]:
            problems += 1
    for year in cat.wijken.years if cat.wijken is not None else ():  # the ones asked nightly
        line = _check_wijk_edition(client, year, cat.wijken.table(year), cat.wijken)
        print(line)
        problems += not line.startswith(("ok", "UNCHECKED"))
    print(f"\n{problems} problem(s) in enabled indicators" if problems
          else "\nall tables, measures and keys of enabled indicators exist")
    for ser in cat.series.values():
        try:
            new = editions.check_series(client, ser)
        except CbsError as exc:
            print(f"UNCHECKED {ser.name}: cannot read the CBS catalogue ({exc})")
            continue
        for n in new:
            print(f"NEW EDITION {ser.name}: {editions.message(n)}")
        if not new:
            print(f"ok       {ser.name}: newest edition in use ({ser.latest}: "
                  f"{ser.editions[ser.latest]})")
    for name in cat.files:
        if name not in wanted:
            continue
        try:
            found = client.for_api("file").new_editions(name)
        except CbsError as exc:  # already reported by its table line above
            print(f"WARNING  {name}: cannot look for new editions: {exc}")
            continue
        for n in found:
            print(f"NEW EDITION {name}: {editions.message(n)}")
    return EXIT_FAILED if problems else EXIT_OK


def _check_file(client, table: str, w: dict) -> str:
    """A workbook CBS publishes as a file: find the edition (discovering newer ones), download
    it and check its header, categories and the measures the catalogue uses."""
    used_by = ", ".join(sorted(w["by"]))
    try:
        info = client.table_info(table)
        props = client.meta(table, "DataProperties")
        cats = {d: {str(c["Key"]) for c in client.meta(table, d)} for d, _ in w["filters"]}
    except CbsError as exc:
        what = "NOT FOUND at CBS" if exc.kind == "not_found" else "does not fit the catalogue"
        return f"MISSING  {table}: {what}: {exc} - used by {used_by}"
    keys = {p.get("Key") for p in props}
    bad = sorted(m for m in w["measures"] if m not in keys)
    bad += [f"{d}={k}" for d, k in sorted(w["filters"]) if k not in cats.get(d, set())]
    edition = (f"edition {info['Edition']}" + ("" if info.get("EditionVerified") else
                                              " (not yet verified in the catalogue)"))
    if bad:
        return (f"MISSING  {table} ({info.get('Title')}, {edition}): {', '.join(bad)} not in "
                f"the workbook - used by {used_by}")
    return (f"ok       {table} ({info.get('Title')}, {edition}): {info.get('File')} - header, "
            f"gebruiksfuncties and measures as the catalogue says; page {info.get('Page')}")


def _check_wijk_edition(client: CbsClient, year: int, table: str, wijk) -> str:
    """One KWB edition of the catalogue's wijk section: CBS must call it "Kerncijfers wijken en
    buurten <year>" (else the id is wrong), and which measure stems it has. A stem an edition
    lacks is no problem (the refresh does not ask it; a new edition adds measures later), so
    it is listed, not counted."""
    from . import wijken
    try:
        info = client.table_info(table)
        props = client.meta(table, "DataProperties")
    except CbsError as exc:
        if exc.kind == "not_found":
            return f"MISSING  {table}: DOES NOT EXIST at CBS - wijken {year}"
        return f"UNCHECKED {table}: cannot check ({exc}) - wijken {year}"
    title = " ".join(str(info.get("Title") or "").split())
    if title.casefold() != f"kerncijfers wijken en buurten {year}":
        return (f"MISSING  {table}: CBS calls it {title!r}, not 'Kerncijfers wijken en buurten "
                f"{year}': wrong id for this wijk year")
    lacks = []
    for stem in wijken.stems(wijk):
        try:
            editions.resolve_measure(stem, props, table)
        except editions.EditionError:
            lacks.append(stem)
    note = f"; not in this edition: {', '.join(lacks)}" if lacks else ""
    return (f"ok       {table} ({title}), Modified {info.get('Modified')}: wijken {year}, "
            f"{len(wijken.stems(wijk)) - len(lacks)} of {len(wijken.stems(wijk))} measures{note}")


def _check_table(client: CbsClient, table: str, w: dict) -> str:
    used_by = ", ".join(sorted(w["by"]))
    try:
        info = client.table_info(table)
        props = client.meta(table, "DataProperties")
    except CbsError as exc:
        what = "DOES NOT EXIST at CBS" if exc.kind == "not_found" else f"cannot check ({exc})"
        return f"MISSING  {table}: {what} - used by {used_by}"
    keys = {p.get("Key") for p in props}
    bad = sorted(m for m in w["measures"] if m not in keys)
    if w.get("stems"):  # an edition of a series: stems resolve to this edition's keys
        resolved = []
        for m in sorted(w["measures"]):
            try:
                resolved.append(f"{m}={editions.resolve_measure(m, props, table)}")
            except editions.EditionError as exc:
                resolved.append(str(exc).split(": ", 1)[1])
        bad = [r for r in resolved if "=" not in r]
        note_keys = "; keys " + ", ".join(resolved) if resolved and not bad else ""
    else:
        note_keys = ""
    for dim in sorted({d for d, _ in w["filters"]}):
        try:
            cats = {str(i["Key"]).strip() for i in client.meta(table, dim)}
        except CbsError:
            bad.append(f"dimension {dim}")
            continue
        bad += [f"{dim}={k}" for d, k in sorted(w["filters"]) if d == dim and k not in cats]
    status = (info.get("OutputStatus") or "").strip()
    note = f"  [CBS status: {status}]" if status and status.lower() != "regulier" else ""
    expected = w.get("edition_title")
    if expected and " ".join(str(info.get("Title") or "").split()).casefold() != \
            " ".join(expected.split()).casefold():
        return (f"MISSING  {table}: CBS calls it {info.get('Title')!r}, not {expected!r}: wrong "
                f"id for this edition - used by {used_by}")
    if bad:
        return (f"MISSING  {table} ({info.get('Title')}): {', '.join(bad)} do not exist - "
                f"used by {used_by}{note}")
    return (f"ok       {table} ({info.get('Title')}), Modified {info.get('Modified')}{note}"
            f"{note_keys}")


def export_frame(snap: snapshot.Snapshot, boundaries: str = "historical") -> pd.DataFrame:
    """The documented export: EXPORT_COLUMNS plus `boundaries`, `harmonisation` (gepubliceerd /
    opgeteld / geschat) and `kwaliteit` ("onnauwkeurig" where the rounding of the inputs makes
    the figure meaningless, else empty). A figure the pipeline computed (a derived indicator) is
    rounded to the indicator's decimals; a value CBS published keeps CBS's precision."""
    obs, regions = snap.observations, snap.regions
    current = snap.frame("observations_current") if boundaries == "current" else None
    if boundaries == "current" and current is None:
        raise ValueError(f"snapshot {snap.id} has no current-boundary series; "
                         "use --boundaries historical or refresh")
    obs = current if current is not None else obs.assign(harmonisation="gepubliceerd")
    units = {i.id: i.unit for i in snap.manifest.indicators}
    derived = {i.id: i.decimals for i in snap.manifest.indicators if i.derived}
    names = regions.drop_duplicates("code").set_index("code")["name"]
    value = obs["value"].copy()
    for iid, dec in derived.items():
        hit = obs["indicator"] == iid
        value[hit] = obs.loc[hit, "value"].round(int(dec or 0))
    out = obs.assign(region_name=obs["region_code"].map(names), value=value,
                     unit=obs["indicator"].map(units), boundaries=boundaries,
                     kwaliteit=obs["quality"].fillna(""))
    return pd.DataFrame(out[[*EXPORT_COLUMNS, "boundaries", "harmonisation", "kwaliteit"]])


def _codes(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def select_export(df: pd.DataFrame, regions: pd.DataFrame, *, gemeenten: str | None = None,
                  indicatoren: str | None = None, regio: str | None = None,
                  grootteklasse: str | None = None, stedelijkheid: str | None = None,
                  ) -> pd.DataFrame:
    """Only the selection of ``export_frame``: the rows of the chosen gemeenten (named, plus
    every current gemeente meeting all region filters; within a filter any of its codes) and
    indicators, all periods. The same meaning as the dashboard's Vergelijken selection
    (dashboard/core/selection.py; not imported: pipelines stay free of dashboard code). Raises
    ValueError naming what is unknown: a script must not silently export less."""
    gms = regions[(regions["level"] == "GM") & regions["is_current"].astype(bool)]
    by_name = gms.assign(k=gms["name"].str.casefold()).drop_duplicates("k", keep=False)
    by_name = dict(zip(by_name["k"], by_name["code"], strict=True))
    codes, bad = [], []
    for part in _codes(gemeenten):
        code = part.upper() if part.upper() in set(gms["code"]) else by_name.get(part.casefold())
        (codes.append(code) if code else bad.append(part))
    mask = pd.Series(True, index=gms.index)
    groups = {"PV": "provincie_code", "CR": "corop_code", "AM": "arbeidsmarktregio_code"}
    filters = False
    if _codes(regio):
        filters = True
        hit = pd.Series(False, index=gms.index)
        for code in _codes(regio):
            col = groups.get(code[:2].upper())
            if col is None or not gms[col].eq(code.upper()).any():
                bad.append(code)
                continue
            hit |= gms[col].eq(code.upper()).fillna(False)
        mask &= hit
    for text, col in ((grootteklasse, "size_class_code"), (stedelijkheid, "urbanity_code")):
        if _codes(text):
            filters = True
            have = set(gms[col].dropna().astype(str)) if col in gms.columns else set()
            bad += [c for c in _codes(text) if c not in have]
            mask &= gms[col].astype("string").isin(_codes(text)).fillna(False) \
                if col in gms.columns else False
    if filters:
        codes += [c for c in gms.loc[mask.astype(bool), "code"] if c not in codes]
    ids = [i.lower() for i in _codes(indicatoren)]
    bad += [i for i in ids if i not in set(df["indicator"])]
    if bad:
        raise ValueError("unknown in the selection: " + ", ".join(bad))
    out = df
    if gemeenten or filters:
        out = out[out["region_code"].isin(codes)]
    if ids:
        out = out[out["indicator"].isin(ids)]
    return out.reset_index(drop=True)
WIJK_EXPORT_COLUMNS = ["indicator", "title", "region_code", "region_name", "region_level",
                       "gemeente_code", "gemeente_name", "period", "value", "unit", "kwaliteit",
                       "cbs_table", "continuous"]


def wijk_export_frame(snap: snapshot.Snapshot, gemeenten: list[str] | None = None,
                      indicatoren: list[str] | None = None) -> pd.DataFrame:
    """The wijk figures (``--level WK``): one row per wijk x wijk indicator (the catalogue's
    ``wijk_indicators`` as the snapshot carries them) x year with its gemeente, rounded to the
    indicator's decimals; ``continuous``: same code, gemeente and land area as the previous
    year (a change across a code change is not a change of the same wijk); ``kwaliteit``:
    "onnauwkeurig" where CBS's rounding (counts per wijk to 5) makes the figure meaningless.
    ``gemeenten`` (GM codes) and ``indicatoren`` (wijk indicator ids) select; an unknown one is
    an error naming it."""
    from . import wijken
    wk = snap.frame("wijk_observations")
    info = snap.manifest.wijken
    if wk is None or info is None:
        raise ValueError(f"snapshot {snap.id} has no wijk figures; refresh to fetch them")
    inds = {i.id: i for i in info.indicators}
    unknown = [i for i in indicatoren or () if i not in inds]
    if unknown:
        raise ValueError(f"unknown wijk indicator(s): {', '.join(unknown)} (known: "
                         f"{', '.join(inds)})")
    unknown = [g for g in gemeenten or () if g not in set(wk["gemeente_code"])]
    if unknown:
        raise ValueError(f"no wijken of gemeente(n): {', '.join(unknown)}")
    if gemeenten:
        wk = wk[wk["gemeente_code"].isin(gemeenten)]
    chosen = [inds[i] for i in (indicatoren or inds)]
    frames = []
    for year, rows in wk.groupby("year"):
        v = wijken.indicator_values(rows, chosen, None, info.max_uncertainty_pct)
        first = rows.groupby("region_code").first()
        v = v.join(first[["region_name", "gemeente_code", "gemeente_name", "cbs_table",
                          "continuous"]], on="group")
        frames.append(v.assign(period=str(year)))
    out = pd.concat(frames, ignore_index=True).rename(columns={"group": "region_code",
                                                               "indicator": "indicator"})
    out["title"] = out["indicator"].map({k: i.title for k, i in inds.items()})
    out["unit"] = out["indicator"].map({k: i.unit for k, i in inds.items()})
    out["value"] = [round(float(x), inds[i].decimals)
                    for x, i in zip(out["value"], out["indicator"], strict=True)]
    out["kwaliteit"] = ["onnauwkeurig" if b else "" for b in out["imprecise"]]
    out["region_level"] = "WK"
    out = out.sort_values(["gemeente_code", "region_code", "indicator", "period"], kind="stable")
    return pd.DataFrame(out[WIJK_EXPORT_COLUMNS]).reset_index(drop=True)


def cmd_export(args, cat, root: Path) -> int:
    try:
        snap = snapshot.load_snapshot(root)
    except snapshot.NoSnapshot as exc:
        log.error(f"{exc}; run: python -m pipelines refresh")
        return EXIT_FAILED
    try:
        if getattr(args, "level", "GM") == "WK":  # the wijk figures
            chosen = [f for f in ("regio", "grootteklasse", "stedelijkheid")
                      if getattr(args, f, None)]
            if chosen:  # refused, not ignored: a script must not get more than it asked for
                raise ValueError("--level WK selects by --gemeenten and --indicatoren only, not "
                                 + ", ".join(f"--{f}" for f in chosen))
            df = wijk_export_frame(snap, [c.upper() for c in _codes(args.gemeenten)],
                                   _codes(args.indicatoren))
        else:
            df = select_export(export_frame(snap, args.boundaries), snap.regions,
                               gemeenten=args.gemeenten, indicatoren=args.indicatoren,
                               regio=args.regio, grootteklasse=args.grootteklasse,
                               stedelijkheid=args.stedelijkheid)
    except ValueError as exc:
        log.error(f"export: {exc}")
        return EXIT_FAILED
    # a demo or not-CBS snapshot says so on every row, as the dashboard's downloads do
    notice = notices.demo_notice(snap.manifest)
    if notice:
        log.warning(f"export: {notice}")
    df = spreadsheet.csv_safe(notices.with_notice(df, notice))
    kw = {"sep": ";", "decimal": ","} if args.dialect == "nl" else {}
    kw["lineterminator"] = "\r\n"  # RFC 4180: a CR or LF inside a text is then quoted
    if args.out == "-":
        df.to_csv(sys.stdout, index=False, **kw)
        return EXIT_OK
    out = Path(args.out)
    if out.is_dir():
        log.error(f"export: --out {out} is a folder; give a file name, e.g. "
                  f"{out / 'regio-economie.csv'}")
        return EXIT_FAILED
    with store.writing(out.parent):
        out.parent.mkdir(parents=True, exist_ok=True)
    # a unique temporary name beside the target, renamed into place; removed on any failure
    with store.writing(out.parent):
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    tmp = Path(name)
    with store.writing(out, cleanup=tmp):
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            df.to_csv(fh, index=False, **kw)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a normal file is what users expect
        os.replace(tmp, out)
    log.info("exported", extra={"file": str(out), "rows": len(df), "snapshot_id": snap.id})
    return EXIT_OK


def cmd_rollback(args, cat, root: Path) -> int:
    try:
        sid = snapshot.rollback(root)
    except snapshot.NoSnapshot as exc:
        log.error(str(exc))
        return EXIT_FAILED
    runs.append_run(root, {"started": store.utcnow(), "command": "rollback", "outcome": "rollback",
                            "exit_code": 0, "snapshot_id": sid})
    print(json.dumps({"current": sid}))
    return EXIT_OK


COMMANDS = {"refresh": cmd_refresh, "status": cmd_status, "catalog": cmd_catalog,
            "export": cmd_export, "rollback": cmd_rollback}

if __name__ == "__main__":
    sys.exit(main())
