"""Mirror files as parsed documents (``standin/documents.py``): cached, re-read when they change on
disk, and derived documents rebuilt when their sources change."""

from __future__ import annotations

import json
import os

import cbsodata

from standin.documents import Doc, DocCache, columns, dump
from tests.support.standin_feed import client, make_table


def test_changed_files_are_reread(tmp_path, standin):
    make_table(tmp_path)
    s = standin(tmp_path)
    assert cbsodata.get_info("T1", **client(s))["Title"] == "Woningen; bewoning, regio"
    make_table(tmp_path, title="Nieuwe titel", modified="2025-06-01T02:00:00")
    info = cbsodata.get_info("T1", **client(s))
    assert (info["Title"], info["Modified"]) == ("Nieuwe titel", "2025-06-01T02:00:00")


def test_cache_parses_once_and_rebuilds_on_a_new_signature(tmp_path):
    path = tmp_path / "X.json"
    path.write_text(json.dumps({"odata.metadata": "m", "value": [{"A": 1}, {"B": 2, "A": 3}]}))
    cache = DocCache()
    doc = cache.load(path)
    assert (doc.metadata, doc.columns) == ("m", ["A", "B"])
    assert cache.load(path) is doc  # unchanged on disk: the same parsed document
    path.write_text(json.dumps({"value": [{"C": 1}]}))
    os.utime(path, ns=(doc.signature[0] + 10**9, doc.signature[0] + 10**9))
    assert cache.load(path).columns == ["C"]
    built = []

    def build(signature):
        built.append(signature)
        return Doc(signature, "", [], [])

    first = cache.derived("key", 1, lambda: build(1))
    assert cache.derived("key", 1, lambda: build(1)) is first
    cache.derived("key", 2, lambda: build(2))
    assert built == [1, 2]


def test_columns_and_dump():
    assert columns([{"B": 1}, {"A": 2, "B": 3}, {"C": None}]) == ["B", "A", "C"]
    assert dump({"Naam": "Fryslân", "n": [1, None]}) == '{"Naam":"Fryslân","n":[1,null]}'.encode()
