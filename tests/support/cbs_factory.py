"""Write small CBS OData v3 tables in mirror layout (``<root>/<TABLE>/<Entity>.json``) for tests.

Every file is a whole CBS response object ``{"odata.metadata": ..., "value": [...]}``, shaped like
the real mirror in ``shared/cbs/mirror`` (which the tests do not need). Serve the folder with
:class:`standin.StandIn`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

CBS = "https://opendata.cbs.nl"

_QUARTERS = {"01": "1e kwartaal", "02": "2e kwartaal", "03": "3e kwartaal", "04": "4e kwartaal"}
_MONTHS = (
    "januari februari maart april mei juni juli augustus september oktober november december"
).split()
_FREQUENCY = {"JJ": "Perjaar", "KW": "Perkwartaal", "MM": "Permaand"}
_STATUS_DESCRIPTION = {
    "Voorlopig": "Voorlopige cijfers",
    "Nader voorlopig": "Nader voorlopige cijfers",
}


def write_table(
    root: Path,
    table_id: str,
    *,
    title: str,
    dimensions: dict[str, list[tuple[str, str]]],
    measures: list[tuple[str, str, str, int]],
    periods: list[tuple[str, str]],
    rows: list[dict],
    modified: str = "2025-04-22T02:00:00",
    regions: list[tuple[str, str]] | None = None,
) -> Path:
    """Write a table with the given non-geo dimensions, RegioS, Perioden and measures.

    ``dimensions``: {name: [(key, title), ...]}; ``measures``: [(key, title, unit, decimals)];
    ``periods``: [(key such as "2023JJ00", status)]; ``rows``: dicts with every dimension, RegioS,
    Perioden and (some of) the measures (a missing measure is null). Keys are written exactly as
    given, so pass CBS padding ("PV20  "). ``regions`` defaults to the RegioS values of the rows,
    titled by the key without padding. Returns the table folder.
    """
    folder = Path(root) / table_id
    folder.mkdir(parents=True, exist_ok=True)
    dims = list(dimensions)
    keys = [*dims, "RegioS", "Perioden"]
    measure_keys = [m[0] for m in measures]

    typed = []
    for i, row in enumerate(rows):
        unknown = set(row) - set(keys) - set(measure_keys)
        missing = [k for k in keys if k not in row]
        if unknown or missing:
            raise ValueError(f"row {i}: unknown columns {sorted(unknown)}, missing {missing}")
        typed.append(
            {"ID": i, **{k: row[k] for k in keys}, **{m: row.get(m) for m in measure_keys}}
        )

    if regions is None:
        seen = dict.fromkeys(row["RegioS"] for row in rows)
        regions = [(key, key.strip()) for key in seen]
    years = [key[:4] for key, _ in periods]
    map_year = max(years) if years else modified[:4]

    props: list[dict[str, Any]] = []
    for name in dims:
        props.append(_prop("Dimension", len(props), name, _split_camel(name)))
    props.append(
        _prop(
            "GeoDimension", len(props), "RegioS", "Regio's", MapYear=map_year, ReleasePolicy=False
        )
    )
    props.append(_prop("TimeDimension", len(props), "Perioden", "Perioden", ReleasePolicy=False))
    for key, measure_title, unit, decimals in measures:
        props.append(
            _prop(
                "Topic",
                len(props),
                key,
                measure_title,
                Datatype="Long" if decimals == 0 else "Double",
                Unit=unit,
                Decimals=decimals,
                Default="Missing",
            )
        )

    frequency = _FREQUENCY.get(periods[0][0][4:6], "Perjaar") if periods else "Perjaar"
    period_titles = [_period_title(key) for key, _ in periods]
    span = f"{period_titles[0]}-{period_titles[-1]}" if len(periods) > 1 else "".join(period_titles)
    entities = {
        "TableInfos": [
            _table_info(
                table_id, title, modified, span, frequency, len(rows), len(keys) + len(measures)
            )
        ],
        "DataProperties": props,
        "CategoryGroups": [],
        **{name: [_category(k, t) for k, t in dimensions[name]] for name in dims},
        "RegioS": [_category(k, t) for k, t in regions],
        "Perioden": [
            {
                "Key": key,
                "Title": _period_title(key),
                "Description": _STATUS_DESCRIPTION.get(status),
                "Status": status,
            }
            for key, status in periods
        ],
        "TypedDataSet": typed,
    }
    _write_all(folder, table_id, entities, [*dims, "RegioS", "Perioden"])
    return folder


# Gebieden in Nederland: (code prefix, TopicGroup title) of the Code_n/Naam_n pairs, in column
# order. The 2020 edition lacks Centrumgemeenten and Toeristische gebieden, so COROP is
# Code_8/Naam_9 and the provincie Code_26/Naam_27 there, but Code_10/Naam_11 and Code_28/Naam_29
# in 2024 (as in the real 84721NED and 85755NED).
_GROUPS_2024 = [
    ("AM", "Arbeidsmarktregio's"),
    ("AR", "Arrondissementen (rechtsgebieden)"),
    ("CE", "Centrumgemeenten"),
    ("CR", "COROP-gebieden"),
    ("CS", "COROP-subgebieden"),
    ("CP", "COROP-plusgebieden"),
    ("GG", "GGD-regio's"),
    ("JZ", "Jeugdzorgregio's"),
    ("KK", "Kamer van Koophandel"),
    ("LB", "Landbouwgebieden"),
    ("LG", "Landbouwgebieden (groepen)"),
    ("LD", "Landsdelen"),
    ("PV", "Provincies"),
    ("RE", "RES-regio's"),
    ("ES", "Regionale eenheden"),
    ("MC", "Meldkamerregio's"),
    ("RA", "Regionale arbeidsmarktregio's"),
    ("RT", "Ressorten (rechtsgebieden)"),
    ("ET", "Regio's (ET)"),
    ("TR", "Toeristengebieden"),
    ("TG", "Toeristische gebieden"),
    ("VT", "Vervoerregio's"),
    ("VR", "Veiligheidsregio's"),
    ("ZK", "Zorgkantoorregio's"),
]
_LAYOUTS = {"2024": _GROUPS_2024, "2020": [g for g in _GROUPS_2024 if g[0] not in ("CE", "TG")]}
# gemeente dict key holding (code, name) for a prefix; other groups get a filler value
_GEMEENTE_KEYS = {"AM": "am", "CR": "corop", "LD": "landsdeel", "PV": "provincie"}


def write_gebieden(
    root: Path,
    table_id: str,
    *,
    gemeenten: list[dict],
    title: str = "Gebieden in Nederland 2024",
    layout: str = "2024",
) -> Path:
    """Write a "Gebieden in Nederland" table: one row per gemeente (RegioS = GM code), Code_n/
    Naam_n text columns (padded to 10 and 50) grouped in TopicGroups, then gemeentegrootte,
    stedelijkheid, Inwonertal and Omgevingsadressendichtheid.

    ``gemeenten`` items: {"code": "GM0001", "name": ..., "provincie": ("PV20", "Groningen"),
    "corop": (...), "am": (...), "landsdeel": (...), "size": ("4", "20 000 tot 50 000 inwoners"),
    "urbanity": ("5", "Niet stedelijk"), "inwoners": 25000, "density": 300}. Groups not given
    (GGD, RES, ...) get a filler code such as "GG01". ``layout`` "2024" or "2020" sets the column
    numbering. Returns the table folder.
    """
    groups = _LAYOUTS[layout]
    folder = Path(root) / table_id
    folder.mkdir(parents=True, exist_ok=True)

    props: list[dict[str, Any]] = [
        _prop("GeoDimension", 0, "RegioS", "Regio's", MapYear=layout, ReleasePolicy=False)
    ]
    columns: list[tuple[str, Any]] = []  # (column key, gemeente -> value)
    position = 0

    def group(group_title: str) -> int:
        props.append(_prop("TopicGroup", len(props), "", group_title, Position=None))
        return props[-1]["ID"]

    def topic(name: str, value: Any, **extra: Any) -> None:
        nonlocal position
        position += 1
        key = f"{name}_{position}"
        props.append(_prop("Topic", len(props), key, name, Position=position, Decimals=0,
                           Default="Missing", **extra))
        columns.append((key, value))

    def text(name: str, parent: int | None, width: int, value: Any) -> None:
        topic(name, lambda g: value(g).ljust(width), ParentID=parent, Datatype="String", Unit="",
              MaxLength=width)

    def number(name: str, unit: str, value: Any) -> None:
        topic(name, value, Datatype="Long", Unit=unit)

    parent = group("Gemeenten")
    text("Code", parent, 10, lambda g: g["code"])
    text("Naam", parent, 50, lambda g: g["name"])
    text("SorteringNaam", None, 50, lambda g: g["name"])
    for prefix, group_title in groups:
        parent = group(group_title)
        pair = _pair_getter(prefix, group_title)
        text("Code", parent, 10, lambda g, p=pair: p(g)[0])
        text("Naam", parent, 50, lambda g, p=pair: p(g)[1])
    parent = group("Gemeentegrootte")
    text("Code", parent, 1, lambda g: g["size"][0])
    text("Omschrijving", parent, 50, lambda g: g["size"][1])
    parent = group("Stedelijkheid")
    text("Code", parent, 1, lambda g: g["urbanity"][0])
    text("Omschrijving", parent, 25, lambda g: g["urbanity"][1])
    number("Inwonertal", "aantal", lambda g: g.get("inwoners"))
    number("Omgevingsadressendichtheid", "per km2", lambda g: g.get("density"))

    typed = [
        {"ID": i, "RegioS": g["code"], **{key: value(g) for key, value in columns}}
        for i, g in enumerate(gemeenten)
    ]
    period = title.rsplit(" ", 1)[-1] if title[-4:].isdigit() else layout
    entities = {
        "TableInfos": [
            _table_info(
                table_id,
                title,
                "2025-04-22T02:00:00",
                period,
                "Eenmalig",
                len(typed),
                1 + len(columns),
            )
        ],
        "DataProperties": props,
        "CategoryGroups": [],
        "RegioS": [_category(g["code"], g["name"]) for g in gemeenten],
        "TypedDataSet": typed,
    }
    _write_all(folder, table_id, entities, ["RegioS"])
    return folder


# ---------------------------------------------------------------------------------------------


def _pair_getter(prefix: str, group_title: str):
    key = _GEMEENTE_KEYS.get(prefix)

    def get(g: dict) -> tuple[str, str]:
        if key is not None:
            return g[key]
        return g.get(prefix.lower(), (f"{prefix}01", f"{group_title} 1"))

    return get


def _prop(kind: str, ident: int, key: str, title: str, **extra: Any) -> dict[str, Any]:
    prop = {
        "odata.type": f"Cbs.OData.{kind}",
        "ID": ident,
        "Position": ident,
        "ParentID": None,
        "Type": kind,
        "Key": key,
        "Title": title,
        "Description": None,
    }
    prop.update(extra)
    return prop


def _category(key: str, title: str) -> dict[str, Any]:
    return {"Key": key, "Title": title, "Description": None, "CategoryGroupID": None}


def _period_title(key: str) -> str:
    year, kind, number = key[:4], key[4:6], key[6:8]
    if kind == "JJ":
        return year
    if kind == "KW" and number in _QUARTERS:
        return f"{year} {_QUARTERS[number]}"
    if kind == "MM" and number.isdigit() and 1 <= int(number) <= 12:
        return f"{year} {_MONTHS[int(number) - 1]}"
    return key


def _split_camel(name: str) -> str:
    """StatusVanBewoning -> "Status van bewoning", BranchesSBI2008 -> "Branches SBI2008"."""
    words = re.findall(r"[A-Z]{2,}\d*(?![a-z])|[A-Z]?[a-z]+\d*|\d+", name)
    if not words:
        return name
    rest = [w if w.isupper() or w[0].isdigit() else w.lower() for w in words[1:]]
    return " ".join([words[0], *rest])


def _table_info(
    table_id: str,
    title: str,
    modified: str,
    period: str,
    frequency: str,
    records: int,
    columns: int,
) -> dict[str, Any]:
    description = f"Testtabel {title}.\n\nGegevens beschikbaar: {period}."
    return {
        "Identifier": table_id,
        "ExplanatoryText": "",
        "Catalog": "CBS",
        "Period": period,
        "Source": "CBS.",
        "SearchPriority": "2",
        "Modified": modified,
        "ID": 0,
        "Summary": title,
        "ReasonDelivery": "Actualisering",
        "Frequency": frequency,
        "Title": title,
        "Language": "nl",
        "OutputStatus": "Regulier",
        "ShortTitle": title[:60],
        "Description": description,
        "MetaDataModified": modified,
        "Updated": modified,
        "GraphTypes": "Table,Bar,Line,Map",
        "ShortDescription": f"\n{description}\n",
        "DefaultPresentation": "",
        "DefaultSelection": "",
        "RecordCount": records,
        "ColumnCount": columns,
    }


def _write_all(folder: Path, table_id: str, entities: dict[str, list], dims: list[str]) -> None:
    feed = f"{CBS}/ODataFeed/OData/{table_id}/$metadata"
    for name, value in entities.items():
        _write(folder / f"{name}.json", f"{feed}#Cbs.OData.WebAPI.{name}", value)
    names = [
        "TableInfos",
        "UntypedDataSet",
        "TypedDataSet",
        "DataProperties",
        "CategoryGroups",
        *dims,
    ]
    urls = [{"name": n, "url": f"{CBS}/ODataFeed/odata/{table_id}/{n}"} for n in names]
    _write(folder / "root.json", feed, urls)


def _write(path: Path, metadata: str, value: list) -> None:
    text = json.dumps({"odata.metadata": metadata, "value": value}, indent=1)
    path.write_text(text + "\n", encoding="utf-8")
