"""A small but realistic published snapshot for the dashboard tests, built from the snapshot
contract's models (``pipelines.snapshot``) and written with the pipeline's own
``pipelines.snapshot.publish``, so the format is exactly the pipeline's: no key is retyped here,
and a field the contract renames fails here first.

Seven current gemeenten in two provincies (four of them comparable: same size class and
urbanity), one former gemeente, six indicators across the three kernthema's: a count, a derived
per-1.000 figure, percentages (one with a Voorlopig latest year and a missing gemeente), one
NL/PV/CR-only indicator and one quarterly NL/PV-only indicator. Years 2019-2023. A tiny hand-made
GeoJSON, or the real 2025 gemeente boundaries from ../shared when asked and available.

The fixtures ``dash_snapshot`` (session; data dir with a published snapshot),
``snapshot_builder`` (``build_snapshot`` itself) and ``empty_data_dir`` are in tests/conftest.py.
:func:`table_entry`, :func:`indicator_entry` and :func:`published_manifest` make single contract
objects for unit tests (neutral values for the required fields, the test's own for the rest).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd

from pipelines import runs as run_history
from pipelines import snapshot
from pipelines.regions import typed_regions
from pipelines.transform import typed_observations
from tests.support.paths import GEO

REAL_GEO = GEO / "gemeente_2025.geojson"
YEARS = list(range(2019, 2024))

PV = {"PV26": "Utrecht", "PV27": "Noord-Holland"}
CR = {"CR13": ("Utrecht", "PV26"), "CR17": ("Groot-Amsterdam", "PV27"),
      "CR18": ("Het Gooi en Vechtstreek", "PV27")}
AM = {"AM18": "Groot Amsterdam", "AM25": "Midden-Utrecht"}
SIZE = {"4": "20 000 tot 50 000 inwoners", "5": "50 000 tot 100 000 inwoners",
        "7": "150 000 tot 250 000 inwoners", "9": "250 000 inwoners of meer"}
URB = {"1": "Zeer sterk stedelijk", "2": "Sterk stedelijk", "4": "Weinig stedelijk"}
# code: (name, corop, am, size, urbanity, inwoners, (lon, lat) for the tiny map)
GEMEENTEN = {
    "GM0363": ("Amsterdam", "CR17", "AM18", "9", "1", 931298, (4.90, 52.37)),
    "GM0344": ("Utrecht", "CR13", "AM25", "9", "1", 374238, (5.10, 52.09)),
    "GM0362": ("Amstelveen", "CR17", "AM18", "5", "2", 95000, (4.86, 52.30)),
    "GM0402": ("Hilversum", "CR18", "AM18", "5", "2", 92000, (5.17, 52.22)),
    "GM0355": ("Zeist", "CR13", "AM25", "5", "2", 66000, (5.23, 52.09)),
    "GM0406": ("Huizen", "CR18", "AM18", "5", "2", 51000, (5.24, 52.30)),
    "GM0352": ("Wijk bij Duurstede", "CR13", "AM25", "4", "4", 24000, (5.34, 51.97)),
}
FORMER = {"GM0370": ("Beemster", "CR17")}  # merged in 2022; data only before that
NO_DATA_2023 = "GM0352"  # werkloosheid 2023 missing: shown as "geen gegevens"
# herindelingen on current boundaries (fictional, small): Beemster absorbed by Huizen in 2022
# (its earlier figures are "opgeteld" for Huizen) and one "geschat" point for Wijk bij Duurstede
MERGED_INTO = {"GM0370": ("GM0406", 2022)}
ESTIMATED = ("GM0352", "aandeel_koopwoningen", "2019")
IMPRECISE = ("GM0352", "vestigingen_per_1000_inwoners")  # rounding moves it by 25 %: onnauwkeurig
GAP = ("GM0406", "werkloosheid_pct", "2019", "verdeling van Beemster onbekend")  # not on current
BOUNDARY_NOTES = {
    "GM0406": "Beemster is op 1 januari 2022 opgegaan in Huizen; cijfers vóór 2022 zijn opgeteld.",
    "GM0352": "Wijk bij Duurstede kreeg op 1 januari 2020 een deel van een buurgemeente; cijfers "
              "vóór 2020 zijn voor dat deel geschat.",
}
BREDE_WELVAART = {
    "vestigingen_per_1000_inwoners": ("later", "Economisch kapitaal"),
    "vestigingen": ("later", "Economisch kapitaal"),
    "bbp_groei": ("hier_en_nu", "Materiële welvaart"),
    "werkloosheid_pct": ("hier_en_nu", "Arbeid en vrije tijd"),
    "aandeel_koopwoningen": ("hier_en_nu", "Wonen"),
}
PAIRS = [{"theme": "human_capital", "x": "vestigingen_per_1000_inwoners", "y": "werkloosheid_pct",
          "vraag": "Is de werkloosheid lager waar meer bedrijven zijn?"},
         {"theme": "ruimtelijke_economie", "x": "aandeel_koopwoningen", "y": "werkloosheid_pct",
          "vraag": "Hangt het aandeel koopwoningen samen met de werkloosheid?"}]

INDICATORS = [
    # id, theme, title, unit, decimals, higher_is_better, levels, tables, formula, base
    ("vestigingen_per_1000_inwoners", "mkb_innovatie", "Vestigingen per 1.000 inwoners",
     "per 1.000 inwoners", 1, True, ["NL", "PV", "CR", "GM"], ["81575NED", "86088NED"],
     "vestigingen / inwoners * 1000", 150.0),
    ("vestigingen", "mkb_innovatie", "Vestigingen van bedrijven", "aantal", 0, True,
     ["NL", "PV", "CR", "GM"], ["81575NED"], None, None),
    ("bbp_groei", "mkb_innovatie", "Economische groei (bbp, volume)", "%", 1, True,
     ["NL", "PV", "CR"], ["85924NED"], None, 2.0),
    ("werkloosheid_pct", "human_capital", "Werkloosheid", "%", 1, False,
     ["NL", "PV", "CR", "AM", "GM"], ["86088NED"], None, 4.0),
    ("openstaande_vacatures", "human_capital", "Openstaande vacatures", "aantal", 0, None,
     ["NL", "PV"], ["83599NED"], None, None),
    ("aandeel_koopwoningen", "ruimtelijke_economie", "Aandeel koopwoningen", "%", 1, None,
     ["NL", "PV", "CR", "GM"], ["82900NED"], None, 55.0),
]
TABLE_TITLES = {
    "81575NED": "Vestigingen van bedrijven; bedrijfstak, gemeente",
    "86088NED": "Arbeidsdeelname; regionale indeling 2024",
    "85924NED": "Regionale kerncijfers; nationale rekeningen",
    "83599NED": "Openstaande vacatures; SBI 2008, regio",
    "82900NED": "Voorraad woningen; eigendom, type verhuurder, bewoning, regio",
    "85755NED": "Gebieden in Nederland 2024",
}


def regions_frame() -> pd.DataFrame:
    rows = [{"code": "NL01", "name": "Nederland", "level": "NL", "inwoners": 17942942,
             "is_current": True}]
    rows += [{"code": c, "name": n, "level": "PV", "is_current": True} for c, n in PV.items()]
    rows += [{"code": c, "name": n, "level": "CR", "provincie_code": p, "provincie": PV[p],
              "is_current": True} for c, (n, p) in CR.items()]
    rows += [{"code": c, "name": n, "level": "AM", "is_current": True} for c, n in AM.items()]
    for code, (name, cr, am, size, urb, inw, _) in GEMEENTEN.items():
        pv = CR[cr][1]
        rows.append({"code": code, "name": name, "level": "GM", "provincie_code": pv,
                     "provincie": PV[pv], "corop_code": cr, "corop": CR[cr][0],
                     "arbeidsmarktregio_code": am, "arbeidsmarktregio": AM[am],
                     "landsdeel_code": "LD03", "landsdeel": "West-Nederland",
                     "size_class_code": size, "size_class": SIZE[size], "urbanity_code": urb,
                     "urbanity": URB[urb], "inwoners": inw, "density": 1000.0,
                     "is_current": True})
    for code, (name, _cr) in FORMER.items():
        rows.append({"code": code, "name": name, "level": "GM", "is_current": False})
    return typed_regions(pd.DataFrame(rows))


def _gm_parents(code: str) -> list[str]:
    _, cr, am, *_ = GEMEENTEN[code]
    return [CR[cr][1], cr, am]


def observations_frame(seed: int = 7) -> pd.DataFrame:
    rnd = random.Random(seed)
    rows = []

    def add(iid, code, period, year, value, status, table, ptype="jaar"):
        rows.append({"indicator": iid, "region_code": code, "region_level": code[:2],
                     "period": period, "year": year, "period_type": ptype, "value": value,
                     "status": status, "cbs_table": table, "measure": f"{iid}_1"})

    for iid, _theme, _t, _u, dec, _h, levels, tables, _f, base in INDICATORS:
        table = "+".join(tables)
        for year in YEARS:
            status = "Voorlopig" if year == YEARS[-1] and iid == "werkloosheid_pct" else "Definitief"
            if iid == "openstaande_vacatures":
                for q in range(1, 5):
                    add(iid, "NL01", f"{year}KW0{q}", year, 250000 + 5000 * q + 10000 * (year - 2019),
                        status, table, "kwartaal")
                    for i, pv in enumerate(PV):
                        add(iid, pv, f"{year}KW0{q}", year, 20000 + 1000 * i + 500 * q, status,
                            table, "kwartaal")
                continue
            gm_vals = {}
            if "GM" in levels:
                for code, (_, _, _, _, _, inw, _) in GEMEENTEN.items():
                    if iid == "werkloosheid_pct" and code == NO_DATA_2023 and year == 2023:
                        continue
                    if base is None:  # a count
                        v = round(inw * 0.12 * (1 + 0.02 * (year - 2019)))
                    else:
                        v = round(base * (0.8 + 0.4 * rnd.random()) + 0.1 * (year - 2019), dec)
                    gm_vals[code] = v
                    add(iid, code, str(year), year, float(v), status, table)
                if year < 2022:  # a former gemeente with older data only
                    for code in FORMER:
                        add(iid, code, str(year), year, float(base or 1000), status, table)
            for code in [*PV, *CR, *(AM if "AM" in levels else {}), "NL01"]:
                if code[:2] not in levels:
                    continue
                if base is None:
                    v = 2_500_000.0 if code == "NL01" else float(sum(
                        val for g, val in gm_vals.items() if code in _gm_parents(g)) or 1000)
                else:
                    v = round(base * (0.9 + 0.2 * rnd.random()), dec)
                add(iid, code, str(year), year, float(v), status, table)
    return typed_observations(with_quality(pd.DataFrame(rows)))


def with_quality(df: pd.DataFrame) -> pd.DataFrame:
    """The rounding uncertainty and quality mark (pipelines/precision.py): half the shown step
    for every value, and the small gemeente's per-1.000 figure marked imprecise (its inwoners
    are a rounded count of thousands), as the pipeline would."""
    dec = {i[0]: i[4] for i in INDICATORS}
    unc = df["indicator"].map(dec).map(lambda d: 0.5 * 10.0 ** -d)
    code, iid = IMPRECISE
    hit = df["region_code"].eq(code) & df["indicator"].eq(iid)
    unc = unc.mask(hit, df["value"].abs() * 0.25)
    return df.assign(uncertainty=unc.astype("float64"),
                     quality=pd.Series("", index=df.index).mask(hit, "onnauwkeurig"))


def table_entry(**fields) -> snapshot.TableEntry:
    """A CBS table's provenance with neutral values (fetched, not stale) unless given."""
    return snapshot.TableEntry(**{
        "title": None, "catalogue_title": None, "modified": "2025-04-22T02:00:00",
        "fetched_at": "2026-11-20T02:00:00Z", "url": None, "filter": None, "select": None,
        "rows": 100, "sha256": None, "raw_folder": None, "stale": False, "error": None,
        "boundaries": "yearly", **fields})


def indicator_entry(**fields) -> snapshot.IndicatorEntry:
    """An indicator entry with neutral values (a GM-level percentage) unless given."""
    iid = fields.get("id", "x")
    return snapshot.IndicatorEntry(**{
        "id": iid, "theme": "human_capital", "title": iid, "description": None, "unit": "%",
        "decimals": 1, "higher_is_better": None, "levels": ("NL", "GM"), "tables": ("X",),
        "measure": None, "formula": None, "derived": False, "enabled": True,
        "in_snapshot": True, "rows": 1, "verified": True, **fields})


def published_manifest(**fields) -> snapshot.Manifest:
    """A published manifest with no tables, indicators or coverage unless given."""
    return snapshot.Manifest(**{
        "catalogue_sha256": "test", "reference_year": 2024, "gebieden_table": "85755NED",
        "licence": "CBS open data, CC BY 4.0 (Bron: CBS)", "rows": 0, "tables": {},
        "indicators": (), "coverage": {}, "stale_tables": (), "indicators_not_yet_fetched": (),
        "snapshot_id": "20261120T020000000000Z-test0000", "published_at": "2026-11-20T02:00:00Z",
        "content_sha256": "0" * 64, "schema_version": snapshot.SCHEMA_VERSION, **fields})


def manifest(obs: pd.DataFrame, *, stale: tuple[str, ...] = ()) -> snapshot.ManifestBody:
    """The manifest of an older-style snapshot: what every snapshot has had from the start."""
    tables = {t: table_entry(
        title=title, catalogue_title=title,
        url=f"https://opendata.cbs.nl/ODataFeed/odata/{t}/TypedDataSet",
        raw_folder=f"raw/{t}/20261120T020000Z", stale=t in stale,
        error="timeout" if t in stale else None, boundaries=None)
        for t, title in TABLE_TITLES.items()}
    indicators, coverage = [], {}
    for iid, theme, title, unit, dec, hib, levels, tbls, formula, _ in INDICATORS:
        sub = obs[obs["indicator"] == iid]
        indicators.append(snapshot.IndicatorEntry(
            id=iid, theme=theme, title=title,
            description=f"Beschrijving van {title.lower()} (testgegevens).",
            unit=unit, decimals=dec, higher_is_better=hib, levels=levels, tables=tbls,
            measure=formula or f"{tbls[0]}.{iid}_1", formula=formula,
            derived=formula is not None, enabled=True, in_snapshot=True, rows=len(sub),
            verified=True))
        gm = sub[sub["region_level"] == "GM"]
        if not gm.empty:
            latest = str(gm["period"].max())
            have = set(gm.loc[gm["period"] == latest, "region_code"])
            coverage[iid] = snapshot.CoverageEntry(
                latest_period=latest, covered=len(have), expected=len(GEMEENTEN),
                missing=[f"{c} {GEMEENTEN[c][0]}" for c in GEMEENTEN if c not in have])
    return snapshot.ManifestBody(
        catalogue_sha256="test", reference_year=2024, gebieden_table="85755NED",
        licence="CBS open data, CC BY 4.0 (Bron: CBS)", stale_tables=stale,
        indicators_not_yet_fetched=(), rows=len(obs), tables=tables, indicators=indicators,
        coverage=coverage)


def extended_manifest(man: snapshot.ManifestBody, cur: pd.DataFrame | None = None
                      ) -> snapshot.ManifestBody:
    """The manifest additions of newer snapshots: herindeling notes, changes, peers, pairs,
    brede welvaart tags and the earlier-year map. ``cur``: the series on current boundaries
    (for the harmonisation counts; default :func:`current_observations`)."""
    cur = cur if cur is not None else current_observations(observations_frame())
    indicators = [ind.model_copy(update={"brede_welvaart": snapshot.BredeWelvaart(
        dimensie=BREDE_WELVAART[ind.id][0], thema=BREDE_WELVAART[ind.id][1])})
        if ind.id in BREDE_WELVAART else ind for ind in man.indicators]
    changes = snapshot.Changes(previous_snapshot="20261119T020000000000Z-abcdef12", indicators={
        "werkloosheid_pct": snapshot.IndicatorChange(
            new_periods=["2023"], new_values=6, revised=2, revised_periods=["2022"],
            revised_examples=[snapshot.RevisedExample(region_code="GM0363", period="2022",
                                                      old=4.1, new=4.2)]),
        "vestigingen": snapshot.IndicatorChange(status_changed=7,
                                                status_changes=["Voorlopig -> Definitief"])})
    return snapshot.ManifestBody(**{
        **snapshot.body_of(man),
        "indicators": indicators,
        "harmonisation": snapshot.Harmonisation(
            history_from=2019, rows=len(cur), gaps=len(gaps_frame()),
            boundary_notes=BOUNDARY_NOTES,
            flags=cur["harmonisation"].value_counts().to_dict()),
        "changes": changes,
        "peers": snapshot.PeersInfo(k=3, min_common_features=2, features=[
            snapshot.PeerFeature(id="inwoners_log", label="Inwonertal (log)"),
            snapshot.PeerFeature(id="aandeel_koopwoningen", label="Aandeel koopwoningen")]),
        "dwarsverbanden": [snapshot.Dwarsverband(**p) for p in PAIRS],
        # an earlier-year map: the gemeenten of 2019-2021 (with Beemster) differ from today's
        "boundaries_by_year": {"2021": snapshot.YearMap(
            file="gemeenten_2021.geojson", gemeenten=8, years=(2021, 2020, 2019), year=2021,
            data_year=2021)},
    })


def current_observations(obs: pd.DataFrame) -> pd.DataFrame:
    """The series on current boundaries: former gemeenten folded into their successor (their
    earlier values marked "opgeteld"; counts summed) and one "geschat" point."""
    cur = obs.assign(harmonisation="gepubliceerd")
    for former, (succ, year) in MERGED_INTO.items():
        before = cur["region_code"].eq(succ) & cur["year"].lt(year)
        cur.loc[before, "harmonisation"] = "opgeteld"
        counts = cur["indicator"].isin([i[0] for i in INDICATORS if i[9] is None])
        add = cur[cur["region_code"].eq(former) & counts].set_index(["indicator", "period"])["value"]
        key = pd.MultiIndex.from_frame(cur.loc[before & counts, ["indicator", "period"]])
        cur.loc[before & counts, "value"] += add.reindex(key).fillna(0).to_numpy()
        cur = cur[cur["region_code"] != former]
    gcode, giid, gperiod, _ = GAP
    cur = cur[~(cur["region_code"].eq(gcode) & cur["indicator"].eq(giid)
                & cur["period"].eq(gperiod))]
    code, iid, period = ESTIMATED
    cur.loc[cur["region_code"].eq(code) & cur["indicator"].eq(iid) & cur["period"].eq(period),
            "harmonisation"] = "geschat"
    cur["harmonisation"] = cur["harmonisation"].astype("string")
    return cur.reset_index(drop=True)


def peers_frame() -> pd.DataFrame:
    """Both peer sets for every current gemeente: the size class + urbanity groups and three
    made-up 'statistical' neighbours (by population)."""
    rows = []
    for code, (_, _, _, size, urb, inw, _) in GEMEENTEN.items():
        same = [c for c, g in GEMEENTEN.items() if c != code and g[3] == size and g[4] == urb]
        for rank, peer in enumerate(same, start=1):
            rows.append({"gemeente": code, "method": "grootte_stedelijkheid", "rank": rank,
                         "peer": peer, "distance": float("nan"),
                         "similar_on": f"{SIZE[size]}; {URB[urb]}"})
        near = sorted((c for c in GEMEENTEN if c != code),
                      key=lambda c: (abs(GEMEENTEN[c][5] - inw), c))[:3]
        for rank, peer in enumerate(near, start=1):
            rows.append({"gemeente": code, "method": "statistisch", "rank": rank, "peer": peer,
                         "distance": round(abs(GEMEENTEN[peer][5] - inw) / 1e5, 3),
                         "similar_on": "Inwonertal (log); Aandeel koopwoningen"})
    df = pd.DataFrame(rows)
    for c in ("gemeente", "method", "peer", "similar_on"):
        df[c] = df[c].astype("string")
    return df


def gaps_frame() -> pd.DataFrame:
    code, iid, period, reason = GAP
    return pd.DataFrame([{"indicator": iid, "table": "86088NED", "region_code": code,
                          "period_key": f"{period}JJ00", "reason": reason}]).astype("string")


def region_history_frame() -> pd.DataFrame:
    return pd.DataFrame([{"year": year, "kind": "absorb", "predecessor": former,
                          "predecessor_name": FORMER[former][0], "successor": succ,
                          "successor_name": GEMEENTEN[succ][0], "share": 1.0, "verified": True,
                          "note": ""} for former, (succ, year) in MERGED_INTO.items()])


def tiny_geojson(year: int | None = None) -> dict:
    """A small square per current gemeente around its rough position (clockwise rings); with
    ``year`` before 2022 also Beemster (absorbed by Huizen in 2022)."""
    feats = []
    places = {code: (g[0], g[-1]) for code, g in GEMEENTEN.items()}
    if year is not None and year < 2022:
        places["GM0370"] = ("Beemster", (4.94, 52.55))
    for code, (name, (lon, lat)) in places.items():
        d = 0.035
        ring = [[lon - d, lat - d], [lon - d, lat + d], [lon + d, lat + d], [lon + d, lat - d],
                [lon - d, lat - d]]
        feats.append({"type": "Feature", "properties": {"statcode": code, "statnaam": name},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": feats}


def real_geojson() -> dict | None:
    """The real 2025 boundaries of the factory's gemeenten, or None when ../shared is absent."""
    if not REAL_GEO.exists():
        return None
    raw = json.loads(REAL_GEO.read_text(encoding="utf-8"))
    raw["features"] = [f for f in raw["features"] if f["properties"]["statcode"] in GEMEENTEN]
    return raw


def build_snapshot(root: Path, *, geo: str | None = "tiny", stale: tuple[str, ...] = (),
                   runs: list[dict] | None = None, extended: bool = True) -> Path:
    """Publish the test snapshot under ``root``; ``geo`` is "tiny", "real" (falls back to tiny
    when ../shared is absent) or None (no map). ``extended=False`` makes an older-style
    snapshot without current-boundary series, peers, history and the manifest additions.
    ``runs``: the run records to append (default: one successful refresh). Returns ``root``."""
    obs = observations_frame()
    man = manifest(obs, stale=stale)
    frames = None
    if extended:
        cur = current_observations(obs)
        man = extended_manifest(man, cur)
        frames = {"observations_current": cur, "peers": peers_frame(),
                  "region_history": region_history_frame(), "harmonisation_gaps": gaps_frame()}
    geojson = None
    if geo == "real":
        geojson = real_geojson()
    if geo and geojson is None:
        geojson = tiny_geojson()
    files = {}
    if geojson is not None:
        files[snapshot.BOUNDARIES] = json.dumps(geojson).encode()
        if extended:
            files["gemeenten_2021.geojson"] = json.dumps(tiny_geojson(2021)).encode()
    snapshot.publish(root, obs, regions_frame(), man, frames=frames, files=files)
    published = snapshot.read_manifest(root).published_at
    sid = snapshot.current_id(root)
    records = runs if runs is not None else [
        {"started": published, "ended": published, "outcome": "ok", "exit_code": 0,
         "snapshot_id": sid, "tables": {}}]
    for r in records:
        run_history.append_run(root, r)
    return root
