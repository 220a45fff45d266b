"""Region table from CBS "Gebieden in Nederland <year>".

The Code_n / Naam_n column numbers shift between editions (COROP is Code_8 in 2020 and Code_10 in
2024), so the columns are found by what they hold: the code prefix of their values (PV, CR, AM,
LD, GM) and, for the numeric size class and urbanity codes, the text of their descriptions.
"""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from .snapshot import REGIONS

LEVEL_PREFIXES = ("NL", "LD", "PV", "CR", "AM", "GM")
COLUMNS = REGIONS.names  # the snapshot contract (pipelines/snapshot.py)
_PARENTS = {"PV": "provincie", "CR": "corop", "AM": "arbeidsmarktregio", "LD": "landsdeel"}


class RegionError(ValueError):
    pass


# Kerncijfers wijken en buurten calls Nederland NL00 (see ../shared/cbs/PROVENANCE.md, 84799NED);
# every other table NL01. One code for the country, so "compare with Nederland" finds it.
CODE_ALIASES = {"NL00": "NL01"}


def level_of(code: str) -> str | None:
    """Region level from a stripped CBS region key (GM0363 -> GM); None when not a level we use."""
    prefix = code[:2]
    return prefix if prefix in LEVEL_PREFIXES and code[2:].isdigit() else None


def _num(key: str) -> int:
    m = re.search(r"_(\d+)$", key)
    return int(m.group(1)) if m else -1


def _clean(v):
    return v.strip() if isinstance(v, str) else v


def detect_columns(rows: list[dict], properties: list[dict], table: str) -> dict[str, tuple[str, str]]:
    """Map role -> (code column, name column). Roles: GM PV CR AM LD size urbanity."""
    topics = [p["Key"] for p in properties if p.get("Type") == "Topic" and p.get("Key")]
    by_num = {_num(k): k for k in topics}
    found: dict[str, tuple[str, str]] = {}
    for key in topics:
        if not key.startswith("Code_"):
            continue
        partner = by_num.get(_num(key) + 1)
        if not partner or not partner.startswith(("Naam_", "Omschrijving_")):
            continue
        values = [_clean(r.get(key)) for r in rows if _clean(r.get(key))]
        if not values:
            continue
        prefixes = Counter(re.match(r"^[A-Z]*", v).group(0) for v in values)
        prefix, n = prefixes.most_common(1)[0]
        if prefix in _PARENTS or prefix == "GM":
            if n == len(values) and prefix not in found:
                found[prefix] = (key, partner)
        elif prefix == "":
            texts = " ".join(str(_clean(r.get(partner)) or "") for r in rows[:50]).lower()
            if "inwoners" in texts and "size" not in found:
                found["size"] = (key, partner)
            elif "stedelijk" in texts and "urbanity" not in found:
                found["urbanity"] = (key, partner)
    missing = [r for r in ("GM", "PV", "CR", "AM") if r not in found]
    if missing:
        raise RegionError(f"{table}: cannot find the Code/Naam columns for {', '.join(missing)} "
                          "in 'Gebieden in Nederland' (column layout changed?)")
    return found


def build_regions(rows: list[dict], properties: list[dict], table: str) -> pd.DataFrame:
    """One row per gemeente of the edition, plus NL and one row per PV/CR/AM/LD."""
    cols = detect_columns(rows, properties, table)
    topics = [p["Key"] for p in properties if p.get("Type") == "Topic"]
    pop_key = next((k for k in topics if k.startswith("Inwonertal")), None)
    dens_key = next((k for k in topics if k.startswith("Omgevingsadressendichtheid")), None)

    def pair(r, role):
        if role not in cols:
            return None, None
        c, n = cols[role]
        return _clean(r.get(c)) or None, _clean(r.get(n)) or None

    gm = []
    for r in rows:
        code, name = pair(r, "GM")
        if not code:
            continue
        rec = {"code": code, "name": name, "level": "GM", "is_current": True}
        for role, col in _PARENTS.items():
            rec[f"{col}_code"], rec[col] = pair(r, role)
        rec["size_class_code"], rec["size_class"] = pair(r, "size")
        rec["urbanity_code"], rec["urbanity"] = pair(r, "urbanity")
        rec["inwoners"] = r.get(pop_key) if pop_key else None
        rec["density"] = r.get(dens_key) if dens_key else None
        gm.append(rec)
    if not gm:
        raise RegionError(f"{table}: no gemeenten in 'Gebieden in Nederland'")
    gdf = pd.DataFrame(gm)
    dupes = gdf["code"][gdf["code"].duplicated()].tolist()
    if dupes:
        raise RegionError(f"{table}: gemeente codes occur twice: {', '.join(dupes[:5])}")

    higher = [{"code": "NL01", "name": "Nederland", "level": "NL", "is_current": True,
               "inwoners": gdf["inwoners"].sum(min_count=1)}]
    for level, col in _PARENTS.items():
        sub = gdf.dropna(subset=[f"{col}_code"])
        for code, grp in sub.groupby(f"{col}_code", sort=True):
            rec = {"code": code, "name": grp[col].iloc[0], "level": level, "is_current": True,
                   "inwoners": grp["inwoners"].sum(min_count=1)}
            # parents that are unique within the group (a COROP lies in one provincie)
            for plevel, pcol in _PARENTS.items():
                if plevel == level:
                    continue
                vals = grp[f"{pcol}_code"].dropna().unique()
                if len(vals) == 1:
                    rec[f"{pcol}_code"] = vals[0]
                    rec[pcol] = grp[pcol].iloc[0]
            higher.append(rec)
    out = pd.concat([pd.DataFrame(higher), gdf], ignore_index=True)
    return typed_regions(out)


def add_dimension_regions(regions: pd.DataFrame, dims: dict[str, list[dict]]) -> pd.DataFrame:
    """Add regions that CBS tables list in their RegioS dimension but the reference edition lacks
    (former gemeenten, old arbeidsmarktregio codes). They are marked ``is_current = False``."""
    known = set(regions["code"])
    extra = {}
    for _table, items in sorted(dims.items()):
        for item in items:
            code = _clean(item.get("Key")) or ""
            code = CODE_ALIASES.get(code, code)
            level = level_of(code)
            if level and code not in known and code not in extra:
                title = _clean(item.get("Title")) or code
                title = re.sub(r"\s*\((PV|CR|LD|AM|GM)\)$", "", title)
                extra[code] = {"code": code, "name": title, "level": level, "is_current": False}
    if not extra:
        return regions
    return typed_regions(pd.concat([regions, pd.DataFrame(extra.values())], ignore_index=True))


def typed_regions(df: pd.DataFrame) -> pd.DataFrame:
    """The region contract: COLUMNS in order, typed, sorted by level then code."""
    for c in COLUMNS:
        if c not in df:
            df[c] = None
    df = df[COLUMNS].copy()
    for c in COLUMNS:
        if c in ("inwoners", "density"):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Float64")
        elif c == "is_current":
            df[c] = df[c].astype(bool)
        else:
            df[c] = df[c].astype("string")
    order = {lv: i for i, lv in enumerate(LEVEL_PREFIXES)}
    df["_o"] = df["level"].map(order)
    return df.sort_values(["_o", "code"]).drop(columns="_o").reset_index(drop=True)
