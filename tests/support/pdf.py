"""Reading a briefing PDF: its text and its structure tree (tags, language, alt texts)."""

from __future__ import annotations

import io

import pypdf


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), " ".join(p.extract_text() for p in reader.pages)


def structure(data: bytes) -> tuple[dict, list[tuple[str, object]]]:
    """(the document catalog, [(structure type, /Alt)] for every structure element in order)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    root = reader.trailer["/Root"]
    out: list[tuple[str, object]] = []

    def walk(node) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, pypdf.generic.ArrayObject):
            for kid in node:
                walk(kid)
        elif isinstance(node, pypdf.generic.DictionaryObject):
            if "/S" in node:
                out.append((str(node["/S"]), node.get("/Alt")))
            if "/K" in node:
                walk(node["/K"])

    if "/StructTreeRoot" in root:
        walk(root["/StructTreeRoot"])
    return root, out


def assert_tagged(data: bytes, title: str) -> None:
    """PDF/UA-style: marked content with a structure tree, language nl, the title shown,
    headings, tables with header cells, every figure with a Dutch alt text."""
    root, elems = structure(data)
    assert bool(root["/MarkInfo"]["/Marked"]) is True
    assert str(root["/Lang"]).lower().startswith("nl")
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"]) is True
    assert pypdf.PdfReader(io.BytesIO(data)).metadata.title == title
    kinds = [k for k, _ in elems]
    assert kinds.count("/H1") == 1 and "/H2" in kinds
    assert kinds.index("/H1") < kinds.index("/H2") < kinds.index("/Table")
    assert "/TH" in kinds and "/TD" in kinds
    figures = [alt for k, alt in elems if k == "/Figure"]
    assert figures, "no figure in the structure tree"
    assert all(alt and str(alt).startswith("Lijngrafiek ") for alt in figures), figures
