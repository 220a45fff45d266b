"""Comparable gemeenten (peers), computed in the pipeline and stored in the snapshot.

Two methods, both deterministic (ties broken by code) and never including the gemeente itself:

- ``grootte_stedelijkheid``: the same CBS gemeentegrootteklasse and stedelijkheidsklasse
  ("Gebieden in Nederland" of the reference year).
- ``statistisch``: nearest neighbours, in the manner of ONS's "nearest neighbours" for UK local
  authorities, on the standardised structural features in ``FEATURES``. Each feature is turned into
  a z-score over all current gemeenten; the distance is the root mean squared z-difference over
  the features both gemeenten have (at least ``MIN_COMMON``). ``similar_on`` names the three
  features on which a peer is closest, so the dashboard can say why it is a peer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .snapshot import PEER_FEATURES, PEERS

K = 10
MIN_COMMON = 4
RECENT_YEARS = 3  # a feature value may be at most this many years older than the newest

# (id, Dutch label, where from). Structural, not outcomes: unemployment or growth would make the
# comparison circular. Sector mix would belong here; the CBS mirror has it for too few gemeenten.
FEATURES = [
    ("inwoners_log", "Inwonertal (log)", "regions.inwoners"),
    ("dichtheid", "Omgevingsadressendichtheid", "regions.density"),
    ("banen_per_1000_inwoners", "Banen per 1.000 inwoners", "indicator"),
    ("vestigingen_per_1000_inwoners", "Vestigingen per 1.000 inwoners", "indicator"),
    ("aandeel_zelfstandigen", "Aandeel zelfstandigen", "indicator"),
    ("aandeel_koopwoningen", "Aandeel koopwoningen", "indicator"),
    ("aandeel_corporatiewoningen", "Aandeel corporatiewoningen", "indicator"),
    ("woningen_per_1000_inwoners", "Woningen per 1.000 inwoners", "indicator"),
]
PEER_COLUMNS = PEERS.names  # the snapshot contract (pipelines/snapshot.py)


def feature_matrix(obs: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    """Rows: current gemeenten; columns: FEATURES ids (raw values, NaN where unknown)."""
    gm = regions[(regions["level"] == "GM") & regions["is_current"]].set_index("code")
    out = pd.DataFrame(index=pd.Index(sorted(gm.index), name="code"))
    obs = obs[(obs["region_level"] == "GM") & (obs["period_type"] == "jaar")]
    for fid, _label, source in FEATURES:
        if source == "regions.inwoners":
            v = pd.to_numeric(gm["inwoners"], errors="coerce").astype("float64")
            out[fid] = np.log(v.where(v > 0))
        elif source == "regions.density":
            out[fid] = pd.to_numeric(gm["density"], errors="coerce").astype("float64")
        else:
            sub = obs[obs["indicator"] == fid]
            if sub.empty:
                out[fid] = np.nan
                continue
            newest = int(sub["year"].max())
            sub = sub[sub["year"] >= newest - RECENT_YEARS]
            latest = sub.sort_values("year").groupby("region_code")["value"].last()
            out[fid] = latest.astype("float64")
    return out.reindex(sorted(gm.index))


def zscores(features: pd.DataFrame) -> pd.DataFrame:
    std = features.std(ddof=0).replace(0, np.nan)
    return (features - features.mean()) / std


def statistical_peers(z: pd.DataFrame, k: int = K) -> pd.DataFrame:
    codes = list(z.index)
    labels = {fid: label for fid, label, _ in FEATURES}
    m = z.to_numpy(dtype="float64")
    present = ~np.isnan(m)
    rows = []
    for i, code in enumerate(codes):
        diff = m - m[i]
        both = present & present[i]
        common = both.sum(axis=1)
        sq = np.where(both, diff ** 2, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = np.sqrt(sq / common)
        dist[common < MIN_COMMON] = np.nan
        dist[i] = np.nan  # never yourself
        order = sorted((d, c, j) for j, (d, c) in enumerate(zip(dist, codes, strict=True))
                       if not np.isnan(d))
        for rank, (d, c, j) in enumerate(order[:k], start=1):
            closeness = [(abs(diff[j, f]), z.columns[f]) for f in range(m.shape[1]) if both[j, f]]
            similar = [labels[fid] for _d, fid in sorted(closeness)[:3]]
            rows.append({"gemeente": code, "method": "statistisch", "rank": rank, "peer": c,
                         "distance": round(float(d), 6), "similar_on": "; ".join(similar)})
    return pd.DataFrame(rows, columns=PEER_COLUMNS)


def class_peers(regions: pd.DataFrame) -> pd.DataFrame:
    gm = regions[(regions["level"] == "GM") & regions["is_current"]].sort_values("code")
    rows = []
    for (size, urb), grp in gm.groupby(["size_class", "urbanity"], dropna=False, sort=True):
        codes = list(grp["code"])
        why = f"{size}; {urb}"
        for code in codes:
            for rank, peer in enumerate([c for c in codes if c != code], start=1):
                rows.append({"gemeente": code, "method": "grootte_stedelijkheid", "rank": rank,
                             "peer": peer, "distance": None, "similar_on": why})
    return pd.DataFrame(rows, columns=PEER_COLUMNS)


def compute(obs_current: pd.DataFrame, regions: pd.DataFrame, k: int = K
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(peers, features long: code, feature, label, value, z)."""
    feats = feature_matrix(obs_current, regions)
    z = zscores(feats)
    peers = pd.concat([class_peers(regions), statistical_peers(z, k)], ignore_index=True)
    peers = peers.astype({"gemeente": "string", "method": "string", "rank": "int64",
                          "peer": "string", "distance": "float64", "similar_on": "string"})
    labels = {fid: label for fid, label, _ in FEATURES}
    long = feats.stack(future_stack=True).rename("value").reset_index()
    long.columns = ["code", "feature", "value"]
    long["z"] = z.stack(future_stack=True).to_numpy()
    long["label"] = long["feature"].map(labels)
    return peers, long[PEER_FEATURES.names]
