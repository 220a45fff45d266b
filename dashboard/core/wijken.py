"""The wijken of one gemeente (pure: no streamlit): table, map, centrum, centrum versus the rest.

Reads the snapshot's ``wijk_observations`` (pipelines/wijken.py: KWB per wijk x measure x year)
and its wijk indicators (``manifest.wijken``: the catalogue's ``wijk_indicators``), computed by
``pipelines.wijken.indicator_values`` for a wijk or a group of wijken. What a wethouder asks of
it: where in my gemeente are the businesses and the empty homes, and how does the centre compare
with the rest? The rules that keep it as honest as the gemeente figures:

* CBS rounds business counts per wijk to 5. A figure whose rounding allows more than the
  catalogue's bound keeps its value in the table with the mark *onnauwkeurig*, but it is never
  coloured on the map and never used to pick the centrum.
* The centrum is the wijk CBS names "Centrum" (the word in the wijk name); else the wijk with the
  highest omgevingsadressendichtheid; the page says which rule chose it.
* Groups (centrum, rest, gemeente, Nederland) are computed from their wijken as one area (a ratio
  of sums; rates weighted by their count), never as a mean of wijk ratios.
* A change since the previous year only where the wijk is *continuous* (same code, gemeente and
  land area); otherwise "nieuwe of gewijzigde wijk" instead of a number.
"""

from __future__ import annotations

import pandas as pd

from pipelines import precision
from pipelines import wijken as pw

from . import format as fmt

_CENTRE_WORDS = ("centrum", "binnenstad")
# how the centrum was chosen (said on the page; the briefing says it shorter)
BY_NAME = "de wijk die het CBS \u201ccentrum\u201d noemt"
BY_DENSITY = "de wijk met de hoogste omgevingsadressendichtheid"
IMPRECISE = " (onnauwkeurig)"


def years(frame: pd.DataFrame | None) -> list[int]:
    return [] if frame is None or frame.empty else sorted(int(y) for y in frame["year"].unique())


def indicators(info) -> dict[str, object]:
    """id -> wijk indicator entry, in catalogue order."""
    return {} if info is None else {i.id: i for i in info.indicators}


def default_year(frame: pd.DataFrame, info) -> int:
    """The newest year with the map's indicator (the business counts: a new KWB edition has
    them only later in the year), else the newest year."""
    ind = indicators(info).get(info.map) if info is not None else None
    need = {i.measure for i in ind.inputs} if ind is not None else set()
    for y in reversed(years(frame)):
        if need <= set(frame.loc[frame["year"] == y, "measure"]):
            return y
    return years(frame)[-1]


def resolve_choice(frame: pd.DataFrame, info, year_text: str | None, ind_text: str | None
                   ) -> tuple[int, str | None, list[str]]:
    """(year, indicator id, notes) from the link's ``wijkjaar`` and ``wijkcijfer``: the default
    year (:func:`default_year`) and the map's indicator where the link says nothing; an unknown
    year or figure, or a figure that year lacks, falls back to them with a Dutch note."""
    notes, yrs = [], years(frame)
    year = default_year(frame, info)
    if year_text:
        try:
            wanted = int(str(year_text).strip())
        except ValueError:
            wanted = None
        if wanted in yrs:
            year = wanted
        else:
            notes.append(f"Geen wijkcijfers over \u2018{year_text}\u2019 in deze snapshot; "
                         f"hier staat {year}.")
    offered = available(frame, info, year)
    if not offered:  # a year kept without any measure the catalogue's figures need
        return year, None, notes
    ind_id = info.map if info.map in offered else offered[0]
    if ind_id_wanted := (str(ind_text).strip() if ind_text else None):
        if ind_id_wanted in offered:
            ind_id = ind_id_wanted
        else:
            known = indicators(info)
            what = (f"\u2018{known[ind_id_wanted].title}\u2019 is er niet over {year}"
                    if ind_id_wanted in known else
                    f"\u2018{ind_id_wanted}\u2019 is geen cijfer per wijk")
            notes.append(f"{what}; hier staat {_lower(known[ind_id].title)}.")
    return year, ind_id, notes


def _values(rows: pd.DataFrame, info, groups=None) -> pd.DataFrame:
    return pw.indicator_values(rows, info.indicators, groups, info.max_uncertainty_pct)


def available(frame: pd.DataFrame, info, year: int) -> list[str]:
    """The wijk indicators ``year`` has every input of (a new KWB edition lacks some measures at
    first, e.g. the distances): the others are not offered, rather than shown empty."""
    have = set(frame.loc[frame["year"] == year, "measure"])
    return [i.id for i in info.indicators if {x.measure for x in i.inputs} <= have]


def per_wijk(frame: pd.DataFrame, info, year: int) -> pd.DataFrame:
    """Every wijk indicator of every wijk of ``year`` (:func:`indicator_values`, ``group`` = the
    wijk code): the same for every visitor, so built once per snapshot and year."""
    return _values(frame[frame["year"] == year], info)


def wijk_table(frame: pd.DataFrame, info, gemeente: str | list[str], year: int,
               values: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per wijk of ``gemeente`` (a GM code, or several: the predecessors of a gemeente
    formed later, :func:`formed_after`) in ``year``: code, naam, gemeente, ``oad`` (the address
    density, for the centrum rule), ``continuous``, and per wijk indicator its value (column =
    id) and whether it is imprecise (``<id>__imprecise``); sorted by name. ``values``:
    :func:`per_wijk` of that year, when at hand."""
    codes = [gemeente] if isinstance(gemeente, str) else list(gemeente)
    rows = frame[frame["gemeente_code"].isin(codes) & (frame["year"] == year)]
    ids = list(indicators(info))
    base = ["code", "naam", "gemeente", "oad", "continuous"]
    if rows.empty:
        return pd.DataFrame(columns=base + ids + [f"{i}__imprecise" for i in ids])
    first = rows.groupby("region_code").first()
    oad = rows[rows["measure"] == pw.DENSITY].set_index("region_code")["value"]
    out = pd.DataFrame({"code": first.index, "naam": first["region_name"].to_numpy(),
                        "gemeente": first["gemeente_name"].to_numpy(),
                        "continuous": first["continuous"].to_numpy()})
    out["oad"] = out["code"].map(oad)
    vals = (_values(rows, info) if values is None
            else values[values["group"].isin(out["code"])])
    wide = vals.pivot(index="group", columns="indicator", values="value")
    bad = vals.pivot(index="group", columns="indicator", values="imprecise")
    for i in ids:
        out[i] = out["code"].map(wide[i]) if i in wide else float("nan")
        out[f"{i}__imprecise"] = (out["code"].map(bad[i]).fillna(False).astype(bool)
                                  if i in bad else False)
    out.attrs["year"] = year
    return out.sort_values("naam", kind="stable").reset_index(drop=True)


def change(frame: pd.DataFrame, info, table: pd.DataFrame, ind_id: str) -> pd.Series:
    """Per wijk of ``table`` (its order) the change of ``ind_id`` since the previous year: a
    number where the wijk is continuous and both years have it, "gelijk binnen de afronding"
    where the rounding explains it; else the reason (text)."""
    year = table.attrs.get("year")
    before = frame[(frame["year"] == (year or 0) - 1)
                   & frame["region_code"].isin(table["code"])]
    if year is None or before.empty:
        return pd.Series(["geen cijfers over het vorige jaar"] * len(table), index=table.index,
                         dtype=object)
    ind = indicators(info)[ind_id]
    now = frame[(frame["year"] == year) & frame["region_code"].isin(table["code"])]
    a = _values(now, info.model_copy(update={"indicators": (ind,)})).set_index("group")
    b = _values(before, info.model_copy(update={"indicators": (ind,)})).set_index("group")
    out = []
    for code, cont in zip(table["code"], table["continuous"], strict=True):
        if not cont:
            out.append("nieuwe of gewijzigde wijk")
        elif code not in a.index or code not in b.index:
            out.append(fmt.MISSING)
        else:
            d = float(a.at[code, "value"] - b.at[code, "value"])
            if precision.within_rounding(d, a.at[code, "uncertainty"], b.at[code, "uncertainty"]):
                out.append("gelijk binnen de afronding")
            else:
                out.append(d)
    return pd.Series(out, index=table.index, dtype=object)


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
        return str(named.iloc[0]["code"]), BY_NAME
    dense = table.dropna(subset=["oad"])
    if dense.empty:
        return None, "Geen wijknaam met \u201ccentrum\u201d en geen adressendichtheid bekend."
    top = dense.sort_values("oad", ascending=False, kind="stable").iloc[0]
    return str(top["code"]), BY_DENSITY


def national(frame: pd.DataFrame, info, year: int) -> pd.DataFrame:
    """Nederland as one group of all wijken of ``year`` (computed exactly like the groups beside
    it): indicator -> value, uncertainty, imprecise. Once per snapshot and year."""
    rows = frame[frame["year"] == year]
    return _values(rows, info, {"NL": rows["region_code"].unique()}).set_index("indicator")


def groups(frame: pd.DataFrame, info, table: pd.DataFrame, code: str | None) -> pd.DataFrame:
    """Centrum, Rest (the other wijken) and Gemeente (all wijken) as groups: indicator x group
    values (``value``, ``imprecise``); without a centrum only Gemeente."""
    year = table.attrs.get("year")
    rows = frame[(frame["year"] == year) & frame["region_code"].isin(table["code"])]
    g = {"Gemeente": list(table["code"])}
    if code is not None:
        g = {"Centrum": [code], "Rest": [c for c in table["code"] if c != code], **g}
    return _values(rows, info, g)


def _cell(value, imprecise: bool, ind, unit_in_label: bool = True) -> str:
    if pd.isna(value):
        return ""
    text = fmt.number(value, ind.decimals)
    if not unit_in_label:
        text = fmt.value(value, ind.unit, ind.decimals)
    elif ind.unit == "%":
        text += "\u00a0%"
    return text + ("*" if imprecise else "")


def label(ind) -> str:
    """Row/column label with the unit where the title does not say it."""
    return fmt.titled(ind.title, ind.unit)


def centrum_vs_rest(info, vals: pd.DataFrame, country: pd.DataFrame | None = None
                    ) -> pd.DataFrame:
    """The headline wijk indicators for Centrum, Rest (of the gemeente), Gemeente (whole)[, NL]
    (``vals``: :func:`groups` with a centrum; ``country``: :func:`national`): rows = indicators
    (label with unit), cells formatted; "*" marks an imprecise figure. Nederland's sizes
    (inwoners, vestigingen) say nothing beside a gemeente's: only rates."""
    inds = indicators(info)
    cols = ["Centrum", "Rest", "Gemeente"] + (["NL"] if country is not None else [])
    out = {"Maatstaf": []} | {c: [] for c in cols}
    for iid in info.headline:
        ind = inds[iid]
        out["Maatstaf"].append(label(ind))
        for c in cols:
            if c == "NL":
                hit = country.loc[iid] if iid in country.index else None
                ok = hit is not None and ind.kind != "size"
                out[c].append(_cell(hit["value"], bool(hit["imprecise"]), ind) if ok else "")
                continue
            hit = vals[(vals["group"] == c) & (vals["indicator"] == iid)]
            out[c].append(_cell(hit["value"].iloc[0], bool(hit["imprecise"].iloc[0]), ind)
                          if len(hit) else "")
    return pd.DataFrame(out)


def reference(info, vals: pd.DataFrame, ind_id: str, country: pd.DataFrame | None) -> str:
    """One sentence with the whole gemeente's (``vals``: :func:`groups`) and Nederland's value of
    ``ind_id`` (the map's reference), computed from their wijken like the wijken themselves."""
    ind = indicators(info)[ind_id]
    g = vals[(vals["group"] == "Gemeente") & (vals["indicator"] == ind_id)]
    parts = []
    if len(g):
        parts.append(f"de gemeente als geheel {_cell(g['value'].iloc[0], False, ind, False)}")
    if country is not None and ind_id in country.index and ind.kind != "size":
        parts.append(f"Nederland {_cell(country.loc[ind_id, 'value'], False, ind, False)}")
    return ("Ter vergelijking: " + " en ".join(parts) + ".") if parts else ""


def display(table: pd.DataFrame, info, centrum_code: str | None,
            changes: tuple[str, pd.Series] | None = None,
            shown: list[str] | None = None) -> pd.DataFrame:
    """The table as shown and downloaded (the text alternative of the map): Dutch labels with
    units, formatted values; an imprecise figure carries its mark; ``changes`` (indicator id,
    :func:`change`) adds the change since the previous year of that indicator; ``shown``: the
    indicators to show (:func:`available`), default all."""
    out = {"Wijk": [n + (" (centrum)" if c == centrum_code else "")
                    for c, n in zip(table["code"], table["naam"], strict=True)],
           "Code": table["code"].tolist()}
    if table["gemeente"].nunique() > 1:  # a gemeente formed later: its predecessors' wijken
        out[f"Gemeente in {table.attrs.get('year', '')}".strip()] = table["gemeente"].tolist()
    inds = indicators(info)
    order = list(inds)
    if changes is not None:  # the chosen figure first, its change beside it
        order.remove(changes[0])
        order.insert(0, changes[0])
    for iid in order:
        ind = inds[iid]
        if shown is not None and iid not in shown:
            continue
        out[label(ind)] = _column(table, iid, ind)
        if changes is not None and iid == changes[0]:
            out[f"{label(ind)}: verschil met vorig jaar"] = [
                fmt.change(v, ind.unit, ind.decimals) if isinstance(v, float) else v
                for v in changes[1]]
    return pd.DataFrame(out)


def _column(table: pd.DataFrame, iid: str, ind) -> list[str]:
    """One indicator's cells: its unit where the value shows one (%), the imprecise mark."""
    return [(fmt.value(v, ind.unit, ind.decimals, short=True) + (IMPRECISE if bad else ""))
            if not pd.isna(v) else fmt.MISSING
            for v, bad in zip(table[iid], table[f"{iid}__imprecise"], strict=True)]


def formed_after(history: pd.DataFrame | None, gemeente: str, year: int
                 ) -> tuple[int, list[str], list[str]] | None:
    """(year, predecessor names, predecessor codes) when ``gemeente`` was formed by a herindeling
    after ``year``: its wijken of ``year`` carry its predecessors' codes (same land, old codes)."""
    if history is None or history.empty:
        return None
    hit = history[(history["successor"] == gemeente) & (history["year"] > year)
                  & (history["predecessor"] != gemeente)]
    if hit.empty:
        return None
    return (int(hit["year"].min()), sorted(set(hit["predecessor_name"].astype(str))),
            sorted(set(hit["predecessor"].astype(str))))


def summary(gemeente_name: str, table: pd.DataFrame, info, year: int,
            formed: tuple[int, list[str], list[str]] | None = None,
            ind_id: str | None = None) -> str:
    """One sentence for the page: how many wijken, the centrum and its value of ``ind_id``
    (default: the map's indicator). ``formed`` (:func:`formed_after`): ``table`` holds the
    predecessors' wijken of a gemeente formed after ``year``, said so."""
    before = ""
    if formed:
        names = formed[1]
        joined = " en ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        before = (f"{gemeente_name} bestaat sinds {formed[0]}; de wijkcijfers over {year} horen "
                  f"bij {joined}, met hun eigen wijkcodes. ")
    if table.empty:
        if formed:
            return before + ("Zodra het CBS wijkcijfers van na de herindeling publiceert, staan "
                             "ze hier.")
        return f"Voor {gemeente_name} zijn geen wijkcijfers over {year}."
    if formed:  # the same land: the predecessors' wijken, under their old codes
        gemeente_name = f"Het gebied van {gemeente_name}"
        return before + _counted(gemeente_name, table, info, year, ind_id)
    return _counted(gemeente_name, table, info, year, ind_id)


def _counted(gemeente_name: str, table: pd.DataFrame, info, year: int,
             ind_id: str | None) -> str:
    if len(table) < 2:
        return (f"{gemeente_name} heeft in {year} één wijk: er is niets te vergelijken binnen de "
                "gemeente.")
    code, how = centrum(table)
    if code is None:
        return f"{gemeente_name} heeft in {year} {len(table)} wijken. {how}"
    ind = indicators(info)[ind_id or info.map]
    row = table[table["code"] == code].iloc[0]
    val = row[ind.id]
    in_title = ind.unit.lower() in ind.title.lower() or ind.unit == "aantal"
    shown = (fmt.value(val, ind.unit, ind.decimals, short=in_title) if not pd.isna(val)
             else "geen cijfer")
    mark = IMPRECISE if row[f"{ind.id}__imprecise"] else ""
    return (f"{gemeente_name} heeft in {year} {len(table)} wijken. Het centrum is "
            f"{row['naam']} ({how}): {_lower(ind.title)} {shown}{mark}.")


def _lower(title: str) -> str:
    """A title inside a sentence: 'Aandeel handel en horeca (G+I)' -> 'aandeel handel en horeca
    (G+I)' (only the first letter)."""
    return title[:1].lower() + title[1:]


def map_meta(info, ind_id: str) -> dict:
    """The map's indicator as ``charts.build.map_chart`` wants it: no good/bad colours unless the
    catalogue gives a direction."""
    ind = indicators(info)[ind_id]
    return {"title": ind.title, "unit": ind.unit, "decimals": ind.decimals,
            "higher_is_better": ind.higher_is_better, "kind": ind.kind}


def map_frame(table: pd.DataFrame, ind_id: str) -> pd.DataFrame:
    """(code, name, value, quality) for ``charts.build.map_chart``: imprecise wijken are marked
    and so stay outside the colour scale."""
    return pd.DataFrame({"code": table["code"], "name": table["naam"], "value": table[ind_id],
                         "quality": ["onnauwkeurig" if i else ""
                                     for i in table[f"{ind_id}__imprecise"]]})


def long_display(shown: pd.DataFrame, info, ind_id: str) -> pd.DataFrame:
    """The phone table: wijk and the value of ``ind_id`` (and its change when shown), so it fits
    390 px however many wijken there are; the selector above it picks the figure, the download
    has them all."""
    col = label(indicators(info)[ind_id])
    keep = ["Wijk", col] + [c for c in shown.columns if c.startswith(f"{col}: verschil")]
    out = shown[keep].rename(columns={col: "Waarde"})
    out = out.rename(columns={c: "t.o.v. vorig jaar" for c in keep[2:]})
    if "t.o.v. vorig jaar" in out:  # short enough for a third column at 390 px
        out["t.o.v. vorig jaar"] = out["t.o.v. vorig jaar"].replace(
            {"nieuwe of gewijzigde wijk": "gewijzigde wijk",
             "gelijk binnen de afronding": "gelijk (afronding)",
             "geen cijfers over het vorige jaar": "geen vorig jaar"})
    return out


def briefing_paragraph(gemeente_name: str, frame: pd.DataFrame | None, info,
                       gemeente: str, history: pd.DataFrame | None = None) -> dict | None:
    """The briefing's short "Kernen en centrum" paragraph from the same figures as the Wijken
    page: its summary sentence and, where there is a centrum, one sentence comparing it with
    the rest of the gemeente. None without wijk rows for this gemeente (the briefing then has
    no such heading)."""
    if info is None or not years(frame):
        return None
    year = default_year(frame, info)
    table = wijk_table(frame, info, gemeente, year)
    formed = formed_after(history, gemeente, year) if table.empty else None
    if formed:  # formed later: the same land's wijken under its predecessors' codes
        table = wijk_table(frame, info, formed[2], year)
    if table.empty:
        return None
    code, how = centrum(table)
    if code is None or formed:
        return {"title": "Kernen en centrum",
                "text": summary(gemeente_name, table, info, year, formed)}
    vals = groups(frame, info, table, code).set_index(["indicator", "group"])
    inds = indicators(info)
    parts = []
    for iid in info.headline:
        ind = inds[iid]
        if ind.kind == "size" or (iid, "Centrum") not in vals.index or (iid, "Rest") not in \
                vals.index:
            continue
        a, b = vals.loc[(iid, "Centrum")], vals.loc[(iid, "Rest")]
        unit = "\u00a0%" if ind.unit == "%" else ""
        mark = {True: IMPRECISE, False: ""}
        parts.append(f"{_lower(ind.title)} {fmt.number(a['value'], ind.decimals)}{unit}"
                     f"{mark[bool(a['imprecise'])]} tegen {fmt.number(b['value'], ind.decimals)}"
                     f"{unit}{mark[bool(b['imprecise'])]}")
    name = table.loc[table["code"] == code, "naam"].iloc[0]
    short = {BY_NAME: "CBS-wijknaam", BY_DENSITY: "hoogste adressendichtheid"}[how]
    text = (f"{len(table)} wijken (CBS-wijkcijfers {year}, aantallen afgerond); centrum "
            f"{name} ({short}) tegenover de rest van de gemeente: " + "; ".join(parts[:3]) + ".")
    return {"title": "Kernen en centrum", "text": text}


def download_frame(info, table: pd.DataFrame, vals: pd.DataFrame, cbs_table: str,
                   gemeente_name: str, country: pd.DataFrame | None = None) -> pd.DataFrame:
    """The download: one row per wijk x wijk indicator with numbers (rounded to the indicator's
    decimals), unit, year, kwaliteit and CBS table, then the whole gemeente (``vals``:
    :func:`groups`) and Nederland as reference rows computed the same way (Nederland: rates
    only)."""
    year = table.attrs.get("year")
    inds = indicators(info)
    rows = []
    for _, r in table.iterrows():
        for iid, ind in inds.items():
            rows.append((r["naam"], r["code"], "wijk", iid, ind.title, r[iid], ind.unit,
                         r[f"{iid}__imprecise"]))
    for _, r in vals[vals["group"] == "Gemeente"].iterrows():
        rows.append((gemeente_name, "", "gemeente (alle wijken)", r["indicator"],
                     inds[r["indicator"]].title, r["value"], inds[r["indicator"]].unit,
                     r["imprecise"]))
    if country is not None:
        for iid, r in country.iterrows():
            if iid in inds and inds[iid].kind != "size":
                rows.append(("Nederland", "NL00", "Nederland (alle wijken)", iid,
                             inds[iid].title, r["value"], inds[iid].unit, r["imprecise"]))
    out = pd.DataFrame(rows, columns=["regio", "code", "niveau", "indicator_id", "indicator",
                                      "waarde", "eenheid", "imprecise"])
    out = out.dropna(subset=["waarde"])
    out["waarde"] = [round(float(v), inds[i].decimals)
                     for v, i in zip(out["waarde"], out["indicator_id"], strict=True)]
    out.insert(5, "jaar", year)
    out["kwaliteit"] = ["onnauwkeurig" if b else "" for b in out.pop("imprecise")]
    out["CBS-tabel"] = cbs_table
    return out.reset_index(drop=True)
