"""The small v3 table the stand-in tests serve (``T1``, :func:`make_table`) and the ways they ask
the stand-in for it: raw over HTTP (:func:`get`, :func:`ids`, :func:`error_message`), through the
real ``cbsodata`` client (:func:`client`), and what it was asked (:func:`data_requests`)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from standin import StandIn
from tests.support.cbs_factory import write_table

REGIONS = [
    ("NL01  ", "Nederland"),
    ("PV20  ", "Groningen (PV)"),
    ("PV21  ", "Fryslân (PV)"),
    ("GM0014", "Groningen (gemeente)"),
]
# (StatusVanBewoning, RegioS, Perioden, Woningen_1, Aandeel_2); the list index is the row ID
ROWS = [
    ("T001235", "NL01  ", "2022JJ00", 100, 12.5),
    ("T001235", "NL01  ", "2023JJ00", 110, None),
    ("T001235", "PV20  ", "2022JJ00", 20, 3.5),
    ("T001235", "PV20  ", "2023JJ00", 21, 4.0),
    ("T001235", "PV21  ", "2023JJ00", 30, 100),  # an int in a Decimals=1 column
    ("T001235", "GM0014", "2023JJ00", 5, 0.5),
    ("A028725", "PV20  ", "2023JJ00", 19, None),
    ("A028725", "GM0014", "2023JJ00", None, 7.0),
]


def make_table(root: Path, table_id: str = "T1", rows=ROWS, **kw) -> Path:
    columns = ("StatusVanBewoning", "RegioS", "Perioden", "Woningen_1", "Aandeel_2")
    return write_table(
        root,
        table_id,
        title=kw.pop("title", "Woningen; bewoning, regio"),
        dimensions={"StatusVanBewoning": [("T001235", "Totaal"), ("A028725", "Bewoonde woningen")]},
        measures=[("Woningen_1", "Woningen", "aantal", 0), ("Aandeel_2", "Aandeel", "%", 1)],
        periods=[("2022JJ00", "Definitief"), ("2023JJ00", "Voorlopig")],
        rows=[dict(zip(columns, row, strict=True)) for row in rows],
        regions=kw.pop("regions", REGIONS),
        **kw,
    )


def client(s: StandIn) -> dict:
    """cbsodata keyword arguments for the stand-in."""
    return {"catalog_url": s.catalog_url, "proxies": {}}


def get(s: StandIn, entity: str, table: str = "T1", **params) -> requests.Response:
    query = {"$format": "json", **{f"${k}": v for k, v in params.items()}}
    return requests.get(f"{s.url}/ODataFeed/odata/{table}/{entity}", params=query, timeout=5)


def ids(s: StandIn, flt: str) -> list[int]:
    r = get(s, "TypedDataSet", filter=flt)
    assert r.status_code == 200, r.text
    return [row["ID"] for row in r.json()["value"]]


def error_message(r: requests.Response) -> str:
    return r.json()["odata.error"]["message"]["value"]


def data_requests(s: StandIn, entity: str = "TypedDataSet") -> list[dict[str, list[str]]]:
    """Query parameters of each logged request for ``entity``."""
    out = []
    for _, target, _ in s.stats.log:
        parts = urlsplit(target)
        if unquote(parts.path).rstrip("/").endswith("/" + entity):
            out.append(parse_qs(parts.query))
    return out
