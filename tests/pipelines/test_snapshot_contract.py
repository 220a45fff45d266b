"""The snapshot contract (pipelines/snapshot.py): the committed JSON Schema is the models'; what
the pipeline publishes fits it; snapshots published before the contract still load; whatever
does not fit (a renamed key, a missing column, a duplicate row, a newer version) is refused when
written and when read, with a message that names it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from pydantic import ValidationError

from pipelines import snapshot
from tests.support.contract import assert_fits_contract, committed_schema
from tests.support.snapshot_factory import (
    build_snapshot,
    manifest,
    observations_frame,
    regions_frame,
)
from tests.support.world import VEST, cli_world

FIXTURES = Path(__file__).resolve().parents[1] / "support" / "fixtures"
V1 = FIXTURES / "manifest_v1.json"  # published by the pipeline before the contract (test world)


# --------------------------------------------------------------------------- the schema file

def test_committed_schema_is_generated_from_the_models():
    assert snapshot.SCHEMA_FILE.read_text(encoding="utf-8") == snapshot.schema_text(), (
        "the snapshot contract changed: run `python -m pipelines.snapshot --schema` and commit "
        "pipelines/snapshot.schema.json with the change")


def test_committed_schema_is_a_json_schema_with_every_table():
    schema = committed_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["x-schema-version"] == snapshot.SCHEMA_VERSION
    assert set(schema["x-frames"]) == set(snapshot.FRAMES)
    obs = schema["x-frames"]["observations"]
    assert obs["required"] and obs["unique"] == ["indicator", "region_code", "period"]
    assert obs["columns"]["value"] == "float" and obs["columns"]["year"] == "int"


def test_the_schema_and_the_models_refuse_the_same_renamed_key():
    man = json.loads(V1.read_text())
    man["tables"][VEST]["row_count"] = man["tables"][VEST].pop("rows")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(man, committed_schema())
    with pytest.raises(snapshot.ContractError) as err:
        snapshot.parse_manifest(man)
    assert f"tables.{VEST}.rows: Field required" in str(err.value)
    assert f"tables.{VEST}.row_count: Extra inputs are not permitted" in str(err.value)


# --------------------------------------------------------------------------- what is published

def test_the_pipeline_publishes_what_the_contract_says(tmp_path, standin):
    world = cli_world(tmp_path, standin)
    assert world("refresh", "--data-source", "test") == 0
    first = snapshot.current_id(world.data)
    # a revision at CBS: the second snapshot carries changes (with examples) as well
    td = tmp_path / "mirror" / VEST / "TypedDataSet.json"
    body = json.loads(td.read_text())
    for r in body["value"]:
        if r["Vestigingen_1"] is not None:
            r["Vestigingen_1"] += 3
    td.write_text(json.dumps(body))
    info = tmp_path / "mirror" / VEST / "TableInfos.json"
    body = json.loads(info.read_text())
    body["value"][0]["Modified"] = "2026-05-01T02:00:00"
    info.write_text(json.dumps(body))
    assert world("refresh") == 0
    snap = assert_fits_contract(world.data)
    assert_fits_contract(world.data, first)
    man = snap.manifest
    assert man.changes.previous_snapshot == first
    assert man.changes.indicators["vestigingen"].revised_examples
    assert man.tables[VEST].raw_folder.startswith(f"raw/{VEST}/") and man.boundaries.features == 4
    assert {"observations_current", "peers", "peer_features", "region_history",
            "harmonisation_gaps", "missing_values"} <= {
        n for n, f in snapshot.FRAMES.items() if snap.frame(n) is not None}


def test_the_real_data_snapshot_fits_the_contract(real_data):
    snap = assert_fits_contract(real_data)
    assert len(snap.manifest.indicators) > 40 and snap.manifest.data_source == "mirror"


def test_the_test_factory_snapshot_fits_the_contract(tmp_path):
    assert_fits_contract(build_snapshot(tmp_path / "new"))
    assert_fits_contract(build_snapshot(tmp_path / "old", extended=False, geo=None))


# --------------------------------------------------------------------------- older snapshots

def test_a_manifest_published_before_the_contract_still_loads():
    """The pipeline's own output before this contract (no schema_version): version 1."""
    raw = json.loads(V1.read_text())
    assert "schema_version" not in raw
    man = snapshot.parse_manifest(raw)
    assert man.schema_version == 1 and man.tables[VEST].rows == 30
    assert [i.id for i in man.indicators] == ["vestigingen", "onbewoond_pct",
                                              "vestigingen_per_1000_woningen"]
    jsonschema.validate(raw, committed_schema())


def test_a_minimal_first_generation_manifest_loads_with_defaults(tmp_path):
    """The keys of the very first snapshots only: every later addition has its default."""
    build_snapshot(tmp_path, extended=False, geo=None)
    path = tmp_path / "current" / snapshot.MANIFEST
    raw = json.loads(path.read_text())
    later = ["schema_version", "files", "dwarsverbanden", "new_editions", "cbs_url",
             "data_source", "harmonisation", "changes", "peers", "boundaries",
             "boundaries_by_year", "plausibility"]
    for key in later:
        raw.pop(key)
    for t in raw["tables"].values():
        for key in ("api", "output_status", "frequency"):
            t.pop(key)
    for i in raw["indicators"]:
        for key in ("series", "brede_welvaart", "kind", "rankable", "disabled_reason"):
            i.pop(key)
    path.write_text(json.dumps(raw))
    assert snapshot.verify_snapshot(tmp_path, snapshot.current_id(tmp_path)) == []
    man = snapshot.load_snapshot(tmp_path).manifest
    assert man.schema_version == 1 and man.files is None and man.changes is None
    assert man.boundaries_by_year == {} and man.indicators[0].kind is None


def test_a_newer_schema_version_is_refused_with_that_reason():
    raw = {**json.loads(V1.read_text()), "schema_version": snapshot.SCHEMA_VERSION + 1}
    with pytest.raises(snapshot.ContractError, match="newer than this code reads"):
        snapshot.parse_manifest(raw)


# --------------------------------------------------------------------------- refused when read

@pytest.fixture
def published(tmp_path) -> Path:
    return build_snapshot(tmp_path)


def _rewrite(root: Path, name: str, write) -> None:
    """Change one file of the current snapshot and record its new hash (not damage: a file
    that is intact but does not fit the contract)."""
    path = root / "current" / name
    write(path)
    man = json.loads((root / "current" / snapshot.MANIFEST).read_text())
    man["files"][name] = snapshot.file_digest(path)
    (root / "current" / snapshot.MANIFEST).write_text(json.dumps(man))


def test_a_renamed_manifest_key_is_refused_when_read(published):
    path = published / "current" / snapshot.MANIFEST
    raw = json.loads(path.read_text())
    raw["published"] = raw.pop("published_at")
    path.write_text(json.dumps(raw))
    sid = snapshot.current_id(published)
    problems = snapshot.verify_snapshot(published, sid)
    assert len(problems) == 1 and "does not fit the snapshot contract" in problems[0]
    assert "published_at: Field required" in problems[0] and "published: Extra inputs" in problems[0]
    with pytest.raises(snapshot.ContractError, match="published_at: Field required"):
        snapshot.read_manifest(published)
    with pytest.raises(snapshot.NoSnapshot):
        snapshot.load_snapshot(published, verify=False)


@pytest.mark.parametrize("change,needle", [
    (lambda df: df.rename(columns={"value": "waarde"}),
     "missing column(s) value; unknown column(s) waarde"),
    (lambda df: df.assign(year=df["year"].astype(str)), "column year is str"),
    (lambda df: pd.concat([df, df.head(1)]), "more than one row for (indicator, region_code, "
                                               "period)"),
])
def test_observations_that_do_not_fit_are_refused_when_read(published, change, needle):
    _rewrite(published, "observations.parquet",
             lambda p: change(pd.read_parquet(p)).to_parquet(p, index=False))
    assert snapshot.verify_snapshot(published, snapshot.current_id(published)) == []
    with pytest.raises(snapshot.ContractError) as err:
        snapshot.load_snapshot(published)
    assert "observations.parquet does not fit the snapshot contract" in str(err.value)
    assert needle in str(err.value)


def test_an_optional_table_that_does_not_fit_is_refused_when_read(published):
    _rewrite(published, "peers.parquet",
             lambda p: pd.read_parquet(p).drop(columns="similar_on").to_parquet(p, index=False))
    snap = snapshot.load_snapshot(published)
    with pytest.raises(snapshot.ContractError, match="peers.parquet .*missing column.*similar_on"):
        snap.frame("peers")
    assert snap.frame("region_history") is not None and snap.frame("peer_features") is None


# --------------------------------------------------------------------------- refused when written

@pytest.mark.parametrize("what,change,needle", [
    ("observations", lambda o, r: (o.drop(columns="measure"), r), "missing column(s) measure"),
    ("observations", lambda o, r: (pd.concat([o, o.tail(1)]), r), "more than one row"),
    ("regions", lambda o, r: (o, r.assign(is_current="ja")), "column is_current is str"),
    ("regions", lambda o, r: (o, pd.concat([r, r.head(1)])), "more than one row for (code)"),
])
def test_tables_that_do_not_fit_are_not_published(tmp_path, what, change, needle):
    build_snapshot(tmp_path)
    before = sorted(p.name for p in (tmp_path / "snapshots").iterdir())
    obs, regions = change(observations_frame(), regions_frame())
    with pytest.raises(snapshot.ContractError) as err:
        snapshot.publish(tmp_path, obs, regions, manifest(obs))
    assert f"{what}.parquet does not fit the snapshot contract" in str(err.value)
    assert needle in str(err.value)
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == before


def test_unknown_tables_and_files_are_not_published(tmp_path):
    obs, regions = observations_frame(), regions_frame()
    with pytest.raises(snapshot.ContractError, match="'extra' is not an optional table"):
        snapshot.publish(tmp_path, obs, regions, manifest(obs), frames={"extra": obs})
    with pytest.raises(snapshot.ContractError, match="notes.txt: not a file of the snapshot"):
        snapshot.publish(tmp_path, obs, regions, manifest(obs), files={"notes.txt": b"x"})
    assert not (tmp_path / "snapshots").exists()


def test_a_misspelt_field_fails_where_the_manifest_is_built():
    with pytest.raises(ValidationError, match="titel"):
        snapshot.TableEntry(titel="x", catalogue_title=None, modified=None, fetched_at=None,
                            url=None, filter=None, select=None, rows=None, sha256=None,
                            raw_folder=None, stale=False, error=None, boundaries=None)
    man = manifest(observations_frame())
    with pytest.raises(ValidationError, match="frozen"):
        man.rows = 1
    assert man.indicators[0].levels == ("NL", "PV", "CR", "GM")  # tuples: shared, never changed


def test_a_published_manifest_can_be_published_again(tmp_path, published):
    """``publish`` takes a loaded manifest (its body): the publication fields are new."""
    snap = snapshot.load_snapshot(published)
    sid = snapshot.publish(tmp_path / "again", snap.observations, snap.regions, snap.manifest,
                           frames={"peers": snap.frame("peers")})
    again = assert_fits_contract(tmp_path / "again")
    assert again.id == sid != snap.id and again.manifest.tables == snap.manifest.tables


def test_check_command(published, capsys, tmp_path):
    assert snapshot.main(["--check", str(published)]) == 0
    assert "fits the contract" in capsys.readouterr().out
    shutil.rmtree(published / "snapshots")
    assert snapshot.main(["--check", str(published)]) == 1
    assert snapshot.main([]) == 2
