"""Brede welvaart and dwarsverbanden: pure pandas (no streamlit).

The words are those of every other page (presentation.py): "gunstig" / "ongunstig" only where
higher or lower is better, "hoog" / "rond het midden" / "laag" and "hoger" / "lager" where it is
not, "onnauwkeurig" where the rounding makes a figure meaningless.

* :func:`standing` — percentile and quartile of one gemeente among all gemeenten, direction
  aware (percentile 100 = most favourable; without a direction: 100 = highest).
* :func:`trend` — five-year development of a series, direction aware: ``gunstig`` /
  ``ongunstig`` / ``gelijk``, or ``hoger`` / ``lager`` when the indicator has no preferred
  direction.
  A change is ``gelijk`` when it is smaller than :data:`TREND_THRESHOLD` (1%) of the start
  value (or than 1e-9 when that is 0): rounding noise is not a development.
* :func:`overview` — one row per indicator with gemeente data for the Brede welvaart page.
* :func:`correlation` — Pearson r and Spearman rho with n, for the Dwarsverbanden scatter.
"""

from __future__ import annotations

import math

import pandas as pd

from dashboard.core import compute
from dashboard.core import presentation as pr
from pipelines.snapshot import IndicatorEntry

TREND_YEARS = 5
TREND_THRESHOLD = 0.01  # relative: |change| < 1% of the start value counts as "gelijk"
MIN_CORRELATION_N = 3
DIMENSIES = {"hier_en_nu": "Hier en nu", "later": "Later", "elders": "Elders"}
DIMENSIE_UITLEG = {
    "Hier en nu": "de welvaart van de inwoners nu: werk, inkomen, wonen",
    "Later": "wat de gemeente opbouwt of verbruikt voor later: bedrijven, kennis, woningbouw",
    "Elders": "de invloed op andere regio's en landen",
}
GOOD, BAD = "gunstig", "ongunstig"
# the colours of the other pages' good / bad (Streamlit's green and red, darkened to 4.5:1 on
# white for text); the words are always there too, never colour alone
TREND_COLOR = {GOOD: "#1a7f37", BAD: "#c62828", "gelijk": "#595959", "hoger": "#595959",
               "lager": "#595959"}
TOP, BOTTOM, MIDDLE = "gunstigste 25%", "ongunstigste 25%", "middengroep"


# --------------------------------------------------------------------------- standing

def standing(values: pd.Series, code: str, higher_is_better: bool | None) -> dict:
    """Percentile (0-100, mid-rank for ties) and quartile of ``code`` among ``values`` (index =
    region code; missing values are left out). Orientation: favourable = high percentile when
    a direction exists, else highest = high percentile. Quartile 1 = top 25%.

    Returns {percentile, quartile, label, n}; percentile/quartile/label None when ``code`` has
    no value. Labels with a direction: 'gunstigste 25%' / 'ongunstigste 25%' / 'middengroep';
    without one the words of every page: 'hoog' / 'rond het midden' / 'laag'."""
    vals = pd.to_numeric(values, errors="coerce").dropna()
    n = len(vals)
    out = {"percentile": None, "quartile": None, "label": None, "n": n}
    if code not in vals.index or n == 0:
        return out
    v = float(vals[code])
    sign = -1.0 if higher_is_better is False else 1.0
    oriented = vals * sign
    own = v * sign
    below = int((oriented < own).sum())
    equal = int((oriented == own).sum()) - 1  # ties other than itself
    pct = 50.0 if n == 1 else 100.0 * (below + 0.5 * equal) / (n - 1)
    quartile = 1 if pct >= 75 else 2 if pct >= 50 else 3 if pct > 25 else 4
    if higher_is_better is None:
        top, bottom, middle = pr.STANDING_WORDS[0], pr.STANDING_WORDS[2], pr.STANDING_WORDS[1]
    else:
        top, bottom, middle = TOP, BOTTOM, MIDDLE
    label = top if quartile == 1 else bottom if quartile == 4 else middle
    out.update(percentile=pct, quartile=quartile, label=label)
    return out


# --------------------------------------------------------------------------- trend

def trend(series: pd.DataFrame, higher_is_better: bool | None, years: int = TREND_YEARS,
          threshold: float = TREND_THRESHOLD) -> dict | None:
    """Compare the latest value with the one ``years`` earlier, or the earliest within that
    window. ``series``: columns period, year, value (one region, yearly or quarterly; for
    quarters the same quarter is preferred). None without two points in the window."""
    s = series.dropna(subset=["value"]).sort_values("period")
    if len(s) < 2:
        return None
    last = s.iloc[-1]
    end_year = int(last["year"])
    window = s[(s["year"] >= end_year - years) & (s["period"] < last["period"])]
    if window.empty:
        return None
    target = str(last["period"]).replace(str(end_year), str(end_year - years), 1)
    hit = window[window["period"] == target]
    first = hit.iloc[0] if not hit.empty else window.iloc[0]
    start, end = float(first["value"]), float(last["value"])
    change = end - start
    scale = abs(start) if start != 0 else 0.0
    if (scale and abs(change) < threshold * scale) or (not scale and abs(change) < 1e-9):
        label = "gelijk"
    elif higher_is_better is None:
        label = "hoger" if change > 0 else "lager"
    else:
        label = GOOD if (change > 0) == bool(higher_is_better) else BAD
    return {"start_period": str(first["period"]), "start": start,
            "end_period": str(last["period"]), "end": end, "change": change,
            "relative": change / scale if scale else None, "label": label}


# --------------------------------------------------------------------------- overview

def overview(by_indicator: dict[str, pd.DataFrame], indicators: dict[str, IndicatorEntry],
             gemeente: str,
             peer_codes: tuple[str, ...] = (), lags: pr.Lags | None = None) -> pd.DataFrame:
    """One row per indicator that has a value for ``gemeente`` (catalogue order): theme,
    brede-welvaart tags, latest period/value, standing among all gemeenten in that period,
    five-year trend, Nederland and the peer median (with differences).

    Presentation rules (dashboard.presentation): a size gets no standing and a neutral trend
    (``veranderd``/``gelijk``) but its share of Nederland (``share_nl``); ``stale`` and
    ``freshness`` mark a period older than the indicator's normal lag (``lags``)."""
    rows = []
    for iid, meta in indicators.items():
        obs = by_indicator.get(iid)
        if obs is None:
            continue
        gm = obs[obs["region_level"] == "GM"]
        own = compute.series(obs, gemeente).dropna(subset=["value"])  # a GM code: GM rows only
        if own.empty:
            continue
        last = own.iloc[-1]
        period = str(last["period"])
        value = float(last["value"])
        imprecise = compute.imprecise_at(obs, gemeente, period)
        hib = pr.direction(meta) if not imprecise else None
        rankable = pr.is_rankable(meta) and not imprecise
        cur = compute.comparable(obs, period, "GM").set_index("region_code")["value"]
        st = standing(cur, gemeente, hib) if rankable else {
            "percentile": None, "quartile": None, "label": None, "n": len(cur)}
        if imprecise:
            st["label"] = pr.IMPRECISE
        tr = trend(own, hib)
        fresh = lags.of(iid, period) if lags is not None else pr.Freshness(period)
        nl = compute.value_at(obs, compute.NL, period)
        peers = compute.peer_median(gm, peer_codes, period)
        bw = meta.brede_welvaart
        dimensie = bw.dimensie if bw else None
        rows.append({
            "indicator": iid, "theme": meta.theme, "title": meta.title,
            "unit": meta.unit, "decimals": int(meta.decimals or 0),
            "higher_is_better": hib, "kind": pr.kind(meta), "rankable": rankable,
            "stale": fresh.stale, "freshness": fresh.text,
            "dimensie": DIMENSIES.get(dimensie, dimensie),
            "bw_thema": bw.thema if bw else None, "period": period, "status": last.get("status"),
            "value": value, "harmonisation": last.get("harmonisation"),
            "percentile": st["percentile"], "quartile": st["quartile"],
            "standing": st["label"], "n": st["n"],
            "trend": tr["label"] if tr else None,
            "trend_from": tr["start_period"] if tr else None,
            "trend_change": tr["change"] if tr else None,
            "nl": nl, "diff_nl": None if nl is None else value - nl,
            "share_nl": pr.share(value, nl) if pr.is_size(meta) else None,
            "peers": peers, "diff_peers": None if peers is None else value - peers,
            "imprecise": imprecise,
            "vs_nl": None if nl is None else compute.judgement(value, nl, hib),
        })
    return pd.DataFrame(rows)


def summary(ov: pd.DataFrame) -> list[str]:
    """Plain Dutch sentences over :func:`overview`."""
    if ov.empty:
        return []
    # only rankable indicators with a direction: sizes (counts) never count as good or bad
    directed = ov[ov["higher_is_better"].notna() & ov["rankable"].astype(bool)]
    n_dir = len(directed)
    best = int((directed["standing"] == TOP).sum())
    worst = int((directed["standing"] == BOTTOM).sum())
    out = [f"Bij de {TOP} van alle gemeenten op {best} van {n_dir} indicatoren met een "
           "voorkeursrichting" + (f", bij de {BOTTOM} op {worst}." if worst else ".")]
    with_trend = directed[directed["trend"].notna()]
    better = int((with_trend["trend"] == GOOD).sum())
    worse = int((with_trend["trend"] == BAD).sum())
    out.append(f"In de afgelopen {TREND_YEARS} jaar een {GOOD}e ontwikkeling op {better}, een "
               f"{BAD}e op {worse} van {len(with_trend)} indicatoren.")
    return out


def nl_versus_gemeenten(ov: pd.DataFrame) -> list[str]:
    """Sentences for the indicators where the comparison with Nederland and the standing among
    all gemeenten point different ways (werkloosheid lower than Nederland's, yet among the
    least favourable quarter of gemeenten): the national figure weighs the large cities, whose
    values differ from most gemeenten's, so both comparisons are true at once."""
    out = []
    for _, r in ov.iterrows():
        vs = r.get("vs_nl") or ""
        if r["standing"] == BOTTOM and vs.endswith(f"({GOOD})"):
            out.append(f"**{r['title']}** is gunstiger dan in Nederland, maar hoort bij de "
                       f"{BOTTOM} van alle gemeenten.")
        elif r["standing"] == TOP and vs.endswith(f"({BAD})"):
            out.append(f"**{r['title']}** is ongunstiger dan in Nederland, maar hoort bij de "
                       f"{TOP} van alle gemeenten.")
    if out:
        out.append("Beide kloppen: het cijfer van Nederland telt elke inwoner, dus weegt de grote "
                   "steden zwaar; de rangorde telt elke gemeente één keer.")
    return out


# --------------------------------------------------------------------------- correlation

def correlation(x: pd.Series, y: pd.Series) -> dict:
    """Pearson r and Spearman rho over the pairs where both are present (aligned on index).
    Returns {n, pearson, spearman, message}; with fewer than 3 pairs (or no spread) the
    coefficients are None and ``message`` says why in Dutch."""
    df = pd.concat([pd.to_numeric(x, errors="coerce").rename("x"),
                    pd.to_numeric(y, errors="coerce").rename("y")], axis=1).dropna()
    n = len(df)
    out = {"n": n, "pearson": None, "spearman": None, "message": None}
    if n < MIN_CORRELATION_N:
        out["message"] = f"te weinig gegevens (n = {n})"
        return out
    if df["x"].nunique() < 2 or df["y"].nunique() < 2:
        out["message"] = "geen spreiding in een van beide indicatoren"
        return out
    r = df["x"].corr(df["y"], method="pearson")
    rho = df["x"].rank().corr(df["y"].rank(), method="pearson")
    out["pearson"] = None if math.isnan(r) else float(r)
    out["spearman"] = None if math.isnan(rho) else float(rho)
    return out


def strength(r: float | None) -> str:
    """A rough Dutch word for |r| (for captions only)."""
    if r is None:
        return ""
    a = abs(r)
    word = ("nauwelijks" if a < 0.1 else "zwak" if a < 0.3 else "matig" if a < 0.5
            else "sterk")
    if a < 0.1:
        return "nauwelijks samenhang"
    return f"{word} {'positief' if r > 0 else 'negatief'} verband"


# --------------------------------------------------------------------------- scatter data

def latest_common_year(a: pd.DataFrame, b: pd.DataFrame) -> int | None:
    """The latest year in which both indicators have gemeente values (None: no overlap)."""
    ya = set(a.loc[a["region_level"] == "GM", "year"].astype(int))
    yb = set(b.loc[b["region_level"] == "GM", "year"].astype(int))
    common = ya & yb
    return max(common) if common else None


def gemeente_values(obs: pd.DataFrame, codes, year: int | None) -> tuple[pd.Series, dict]:
    """Value per gemeente (index code) in ``year`` (its last period), or — year None — each
    gemeente's latest value. Also returns {period: count} of the periods used."""
    last = latest_rows(obs, codes, year)
    used = last["period"].astype(str).value_counts().to_dict()
    return last["value"].astype(float), used


def latest_rows(obs: pd.DataFrame, codes, year: int | None) -> pd.DataFrame:
    """The rows behind :func:`gemeente_values`, indexed by region code (with the period and,
    on current boundaries, the harmonisation of each value)."""
    gm = obs[(obs["region_level"] == "GM") & obs["region_code"].isin(codes)]
    gm = gm.dropna(subset=["value"])
    if year is not None:
        gm = gm[gm["year"] == year]
    return gm.sort_values("period").groupby("region_code").tail(1).set_index("region_code")
