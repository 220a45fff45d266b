"""Check a published snapshot against the snapshot contract (``pipelines/snapshot.py``) twice:
through the models the code reads it with, and through the committed JSON Schema
(``pipelines/snapshot.schema.json``) with an independent validator, so the file reviewers read
says what the code enforces."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pandas as pd

from pipelines import snapshot


def committed_schema() -> dict:
    return json.loads(snapshot.SCHEMA_FILE.read_text(encoding="utf-8"))


def assert_fits_contract(root: Path, snapshot_id: str | None = None) -> snapshot.Snapshot:
    """Every check of the contract on one published snapshot (default: ``current``)."""
    sid = snapshot_id or snapshot.current_id(root)
    assert snapshot.verify_snapshot(root, sid) == []
    snap = snapshot.load_snapshot(root, sid)  # manifest model, observations and regions
    raw = json.loads((snap.path / snapshot.MANIFEST).read_text(encoding="utf-8"))
    jsonschema.validate(raw, committed_schema(), cls=jsonschema.Draft202012Validator)
    assert snap.manifest.schema_version == snapshot.SCHEMA_VERSION
    # written and read by the same code: the file is exactly the model's serialisation
    assert raw == snap.manifest.model_dump(mode="json")
    names = {p.name for p in snap.path.iterdir()}
    for contract in snapshot.FRAMES.values():
        if contract.file in names:
            assert contract.problems(pd.read_parquet(snap.path / contract.file)) == [], contract
        else:
            assert not contract.required, contract.file
    assert names - {snapshot.MANIFEST} == set(snap.manifest.files)
    return snap
