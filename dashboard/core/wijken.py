"""The wijken of one gemeente (pure: no streamlit): table, centrum, centrum versus the rest.

Reads the snapshot's ``wijk_observations`` (pipelines/wijken.py: KWB per wijk x measure x year).
What a wethouder asks of it: where in my gemeente are the businesses and the empty homes, and
how does the centre compare with the rest? The rules that keep it as honest as the gemeente
figures:

* CBS rounds business counts per wijk to 5. A wijk whose count is marked *onnauwkeurig* keeps
  its figures in the table with the mark, but they are never ranked, coloured on the map or
  used to pick the centrum.
* The centrum is the wijk CBS names "Centrum" (the word in the wijk name); else the wijk with the
  highest omgevingsadressendichtheid; the page says which rule chose it.
* A change since the previous year only where the wijk is *continuous* (same code, gemeente and
  land area); otherwise "nieuwe of gewijzigde wijk" instead of a number.
"""

from __future__ import annotations

import pandas as pd

from . import format as fmt
from . import presentation as pr

TOTAL = "BedrijfsvestigingenTotaal"
# table column -> (label, unit, decimals)
COLUMNS = {
    "inwoners": ("Inwoners", "aantal", 0),
    "vestigingen": ("Bedrijfsvestigingen", "aantal", 0),
    "vest_per_1000": ("Vestigingen per 1.000 inwoners", "per 1.000 inwoners", 0),
    "vest_per_km2": ("Vestigingen per km² land", "per km²", 0),
    "aandeel_gi": ("Aandeel handel en horeca (G+I)", "%", 0),
    "onbewoond": ("Onbewoonde woningen (ook tweede woningen)", "%", 0),
    "woz": ("Gemiddelde WOZ-waarde", "x 1 000 euro", 0),
    "oad": ("Omgevingsadressendichtheid", "per km²", 0),
    "verandering": ("Vestigingen t.o.v. vorig jaar", "aantal", 0),
}
# the indicator the map shows: neutral (higher is not better or worse), so no good/bad colours
MAP_META = {"title": "Bedrijfsvestigingen per km² land", "unit": "per km²", "decimals": 0,
            "higher_is_better": None, "kind": "rate"}
_CENTRE_WORDS = ("centrum", "binnenstad")


def years(frame: pd.DataFrame | None) -> list[int]:
    return [] if frame is None or frame.empty else sorted(int(y) for y in frame["year"].unique())


def wijk_table(frame: pd.DataFrame, gemeente: str, year: int) -> pd.DataFrame:
    """One row per wijk of ``gemeente`` in ``year`` (code, naam, the :data:`COLUMNS`,
    ``imprecise``: the vestigingen count is onnauwkeurig, ``continuous``), sorted by name."""
    rows = frame[(frame["gemeente_code"] == gemeente) & (frame["year"] == year)]
    if rows.empty:
        return pd.DataFrame(columns=["code", "naam", "gemeente", *COLUMNS, "imprecise",
                                     "continuous"])
    wide = rows.pivot_table(index="region_code", columns="measure", values="value",
                            aggfunc="first")
    first = rows.groupby("region_code").first()
    q = rows[rows["measure"] == TOTAL].set_index("region_code")["quality"]

    def col(m):
        return wide[m] if m in wide else pd.Series(float("nan"), index=wide.index)

    out = pd.DataFrame({
        "code": wide.index, "naam": first.loc[wide.index, "region_name"].to_numpy(),
        "gemeente": first.loc[wide.index, "gemeente_name"].to_numpy(),
        "inwoners": col("AantalInwoners"), "vestigingen": col(TOTAL),
        "onbewoond": col("OnbewoondeWoningen"), "woz": col("GemiddeldeWOZWaardeVanWoningen"),
        "oad": col("Omgevingsadressendichtheid"), "woningen": col("Woningvoorraad"),
        "gi": col("GIHandelEnHoreca"), "land_ha": col("OppervlakteLand")}).reset_index(drop=True)
    out["vest_per_1000"] = out["vestigingen"] / out["inwoners"].where(out["inwoners"] > 0) * 1000
    out["vest_per_km2"] = out["vestigingen"] / (out["land_ha"].where(out["land_ha"] > 0) / 100)
    out["aandeel_gi"] = out["gi"] / out["vestigingen"].where(out["vestigingen"] > 0) * 100
    out["imprecise"] = out["code"].map(q).map(pr.is_imprecise).fillna(False).astype(bool)
    out["continuous"] = out["code"].map(first["continuous"]).fillna(False).astype(bool)
    before = frame[(frame["year"] == year - 1) & (frame["measure"] == TOTAL)
                   ].set_index("region_code")["value"]
    out.attrs["has_previous"] = not before.empty
    out["verandering"] = [v - before[c] if ok and c in before.index else float("nan")
                          for c, v, ok in zip(out["code"], out["vestigingen"], out["continuous"],
                                              strict=True)]
    return out.sort_values("naam", kind="stable").reset_index(drop=True)


def centrum(table: pd.DataFrame) -> tuple[str | None, str]:
    """(code, how it was chosen) of the centrum: the wijk named "Centrum" (or "Binnenstad", alone
    or with the gemeente's name: "Breda centrum"; not "Bijlmer Centrum", a district centre), else
    the one with the highest omgevingsadressendichtheid; (None, reason) when there is nothing to
    compare."""
    if len(table) < 2:
        return None, "Deze gemeente heeft één wijk: er is niets te vergelijken."
    gm = str(table["gemeente"].iloc[0]).lower() if "gemeente" in table else ""
    names = {f"{w}" for w in _CENTRE_WORDS} | {f"{gm} {w}" for w in _CENTRE_WORDS} | {
        f"{w} {gm}" for w in _CENTRE_WORDS}
    named = table[table["naam"].str.lower().str.strip().isin(names)]
    if len(named) == 1:
        return str(named.iloc[0]["code"]), "de wijk die het CBS \u201ccentrum\u201d noemt"
    dense = table.dropna(subset=["oad"])
    if dense.empty:
        return None, "Geen wijknaam met \u201ccentrum\u201d en geen adressendichtheid bekend."
    top = dense.sort_values("oad", ascending=False, kind="stable").iloc[0]
    return str(top["code"]), "de wijk met de hoogste omgevingsadressendichtheid"


def _group(rows: pd.DataFrame) -> dict[str, float]:
    inw, vest = rows["inwoners"].sum(min_count=1), rows["vestigingen"].sum(min_count=1)
    land, gi = rows["land_ha"].sum(min_count=1), rows["gi"].sum(min_count=1)
    w = rows.dropna(subset=["onbewoond", "woningen"])
    onb = ((w["onbewoond"] * w["woningen"]).sum() / w["woningen"].sum()
           if w["woningen"].sum() > 0 else float("nan"))
    return {"inwoners": inw, "vestigingen": vest,
            "vest_per_1000": vest / inw * 1000 if inw and inw > 0 else float("nan"),
            "vest_per_km2": vest / (land / 100) if land and land > 0 else float("nan"),
            "aandeel_gi": gi / vest * 100 if vest and vest > 0 else float("nan"),
            "onbewoond": onb}


def national(frame: pd.DataFrame, year: int) -> dict[str, float]:
    """Nederland as the sum of all wijken of ``year`` (the same sums and ratios as
    :func:`centrum_vs_rest`, so the reference is computed exactly like the columns beside it)."""
    rows = frame[(frame["year"] == year)]
    wide = rows.pivot_table(index="region_code", columns="measure", values="value",
                            aggfunc="first")

    def col(m):
        return wide[m] if m in wide else pd.Series(float("nan"), index=wide.index)

    return _group(pd.DataFrame({
        "inwoners": col("AantalInwoners"), "vestigingen": col(TOTAL), "land_ha":
        col("OppervlakteLand"), "gi": col("GIHandelEnHoreca"), "onbewoond":
        col("OnbewoondeWoningen"), "woningen": col("Woningvoorraad")}))


def centrum_vs_rest(table: pd.DataFrame, code: str,
                    country: dict[str, float] | None = None) -> pd.DataFrame:
    """Centrum and the rest of the gemeente side by side (sums of counts, ratios of sums;
    onbewoonde woningen weighted by the woningvoorraad), with the whole gemeente and, given
    ``country`` (:func:`national`), Nederland as reference: rows = measures, columns Centrum,
    Rest (of the gemeente), Gemeente (whole)[, NL]. Nederland's counts (inwoners,
    vestigingen) say nothing beside a gemeente's: only its ratios are shown."""
    cen, rest = table[table["code"] == code], table[table["code"] != code]
    # short heads (the section title says "centrum en de rest van de gemeente"): four columns
    # of numbers fit a 390 px phone without breaking a number over two lines
    groups = {"Centrum": _group(cen), "Rest": _group(rest), "Gemeente": _group(table)}
    if country is not None:
        groups["NL"] = {k: (float("nan") if COLUMNS[k][1] == "aantal" else v)
                               for k, v in country.items()}
    keys = list(groups["Centrum"])
    out = {"Maatstaf": [COLUMNS[k][0] for k in keys]}
    for label, g in groups.items():
        # the unit is in the row's label: the cells stay short enough for four columns on a phone
        out[label] = [(fmt.number(g[k], COLUMNS[k][2]) + ("\u00a0%" if COLUMNS[k][1] == "%" else ""))
                      if not pd.isna(g[k]) else "" for k in keys]
    return pd.DataFrame(out)


def display(table: pd.DataFrame, centrum_code: str | None) -> pd.DataFrame:
    """The table as shown (and as text alternative): Dutch labels, formatted values; an imprecise
    count carries its mark, a discontinuous wijk says why it has no change."""
    no_previous = ("geen cijfers over het vorige jaar" if not table.attrs.get("has_previous")
                   else "nieuwe of gewijzigde wijk")
    out = {"Wijk": [n + (" (centrum)" if c == centrum_code else "")
                    for c, n in zip(table["code"], table["naam"], strict=True)],
           "Code": table["code"].tolist()}
    for k, (label, unit, dec) in COLUMNS.items():
        vals = []
        for _, r in table.iterrows():
            if k == "verandering" and not r["continuous"]:
                vals.append(no_previous)
                continue
            text = fmt.value(r[k], unit, dec) if not fmt.is_missing(r[k]) else fmt.MISSING
            if r["imprecise"] and k in ("vestigingen", "vest_per_1000", "vest_per_km2",
                                        "aandeel_gi", "verandering") and text != fmt.MISSING:
                text += " (onnauwkeurig)"
            vals.append(text)
        out[label] = vals
    return pd.DataFrame(out)


def formed_after(history: pd.DataFrame | None, gemeente: str, year: int
                 ) -> tuple[int, list[str]] | None:
    """(year, predecessor names) when ``gemeente`` was formed by a herindeling after ``year``:
    its wijken of ``year`` carry its predecessors' codes."""
    if history is None or history.empty:
        return None
    hit = history[(history["successor"] == gemeente) & (history["year"] > year)
                  & (history["predecessor"] != gemeente)]
    if hit.empty:
        return None
    return int(hit["year"].min()), sorted(set(hit["predecessor_name"].astype(str)))


def summary(gemeente_name: str, table: pd.DataFrame, year: int,
            formed: tuple[int, list[str]] | None = None) -> str:
    """One sentence for the map and the page: how many wijken, the centrum and its value."""
    if table.empty:
        if formed:
            names = formed[1]
            joined = " en ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
            return (f"{gemeente_name} bestaat sinds {formed[0]}; de wijkcijfers over {year} "
                    f"horen bij {joined}, met hun eigen wijkcodes. Zodra het CBS wijkcijfers "
                    f"van na de herindeling publiceert, staan ze hier.")
        return f"Voor {gemeente_name} zijn geen wijkcijfers over {year}."
    if len(table) < 2:
        return (f"{gemeente_name} heeft in {year} één wijk: er is niets te vergelijken binnen de "
                "gemeente.")
    code, how = centrum(table)
    if code is None:
        return f"{gemeente_name} heeft in {year} {len(table)} wijken. {how}"
    row = table[table["code"] == code].iloc[0]
    val = fmt.number(row["vest_per_km2"], 0)
    mark = " (onnauwkeurig)" if row["imprecise"] else ""
    return (f"{gemeente_name} heeft in {year} {len(table)} wijken. Het centrum is "
            f"{row['naam']} ({how}): {val}{mark} bedrijfsvestigingen per km² land, "
            f"{fmt.number(row['vestigingen'], 0)} vestigingen in totaal.")


def map_frame(table: pd.DataFrame) -> pd.DataFrame:
    """(code, name, value, quality) for ``charts.build.map_chart``: imprecise wijken are marked
    and so stay outside the colour scale."""
    return pd.DataFrame({"code": table["code"], "name": table["naam"],
                         "value": table["vest_per_km2"],
                         "quality": ["onnauwkeurig" if i else "" for i in table["imprecise"]]})


PHONE_COLUMNS = ("Bedrijfsvestigingen", "Vestigingen per km² land",
                 "Aandeel handel en horeca (G+I)", "Onbewoonde woningen (ook tweede woningen)")


def long_display(shown: pd.DataFrame) -> pd.DataFrame:
    """:func:`display` as three columns, wijk by wijk, for a phone (the main measures only; the
    download has them all): it fits 390 px however many wijken there are."""
    long = shown.melt(id_vars="Wijk", value_vars=list(PHONE_COLUMNS), var_name="Maatstaf",
                      value_name="Waarde")
    order = {w: i for i, w in enumerate(shown["Wijk"])}
    return long.sort_values("Wijk", key=lambda s: s.map(order), kind="stable").reset_index(
        drop=True)


def briefing_paragraph(gemeente_name: str, frame: pd.DataFrame | None,
                       gemeente: str) -> dict | None:
    """The briefing's short "Kernen en centrum" paragraph from the same figures as the Wijken
    page: its summary sentence and, where there is a centrum, one sentence comparing it with
    the rest of the gemeente. None without wijk rows for this gemeente (the briefing then has
    no such heading)."""
    yrs = years(frame)
    if not yrs:
        return None
    year = yrs[-1]
    table = wijk_table(frame, gemeente, year)
    if table.empty:
        return None
    code, how = centrum(table)
    if code is None:
        text = summary(gemeente_name, table, year)
    else:
        a = _group(table[table["code"] == code])
        b = _group(table[table["code"] != code])

        def n(k):
            return f"{fmt.number(a[k], 0)} tegen {fmt.number(b[k], 0)}"

        name = table.loc[table["code"] == code, "naam"].iloc[0]
        short = "CBS-wijknaam" if "noemt" in how else "hoogste adressendichtheid"
        text = (f"{len(table)} wijken (CBS-wijkcijfers {year}, aantallen afgerond); centrum "
                f"{name} ({short}) tegenover de rest van de "
                f"gemeente: {n('vest_per_1000')} vestigingen per 1.000 inwoners, handel en "
                f"horeca {n('aandeel_gi')} % van de vestigingen, onbewoonde woningen "
                f"{n('onbewoond')} %.")
    return {"title": "Kernen en centrum", "text": text}
