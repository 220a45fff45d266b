"""Spreadsheet-safe exports (formula / CSV injection) and a robust ``export --out``."""

from __future__ import annotations

import csv
import errno
import io
import logging

import openpyxl
import pandas as pd
import pytest

from dashboard.core import exports
from pipelines import snapshot, spreadsheet
from pipelines.__main__ import main

EVIL = ["=HYPERLINK(\"http://x\",\"klik\")", "+SUM(1,2)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)",
        "\t=1+1", "\r=1+1"]
SAFE = ["Utrecht", "-5", "-3,5", "+1.5e3", "a=b", "", None]


def frame() -> pd.DataFrame:
    n = len(EVIL) + len(SAFE)
    return pd.DataFrame({"tekst": EVIL + SAFE, "waarde": [-1.5 * i for i in range(n)],
                         "aantal": pd.Series(range(-3, n - 3), dtype="Int64")})


def test_formula_like_text_is_neutralised_and_numbers_stay_numbers():
    df = frame()
    out = spreadsheet.csv_safe(df)
    assert list(out["tekst"][: len(EVIL)]) == ["'" + v for v in EVIL]
    assert list(out["tekst"][len(EVIL):].fillna("NA")) == [v if v is not None else "NA"
                                                           for v in SAFE]
    pd.testing.assert_series_equal(out["waarde"], df["waarde"])  # negative numbers untouched
    pd.testing.assert_series_equal(out["aantal"], df["aantal"])
    assert list(df["tekst"][:1]) == EVIL[:1]  # the input is not modified
    assert spreadsheet.csv_safe(df[["waarde"]]) is not None
    assert list(spreadsheet.csv_safe(pd.DataFrame({"=x": [1]})).columns) == ["'=x"]
    cat = pd.DataFrame({"c": pd.Series(["@x", "y"], dtype="category")})
    assert list(spreadsheet.csv_safe(cat)["c"]) == ["'@x", "y"]


def test_dashboard_csv_download_is_neutralised():
    body = exports.to_csv(frame()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body, newline=""), delimiter=";"))
    assert rows[1][0] == "'" + EVIL[0] and rows[3][0] == "'" + EVIL[2]
    assert rows[2][1] == "-1,5"  # a negative number, Dutch decimal comma, not quoted
    assert rows[1 + len(EVIL) + 1][0] == "-5"  # text that is just a number stays as it is
    assert rows[len(EVIL)][0] == "'\r=1+1" and len(rows) == len(frame()) + 1  # CR quoted


def test_dashboard_excel_download_has_no_live_formulas():
    df = frame()
    sources = pd.DataFrame({"indicator": ["x"], "titel": ["=WEBSERVICE(\"http://x\")"]})
    wb = openpyxl.load_workbook(io.BytesIO(exports.to_excel({"Cijfers": df}, sources)))
    ws = wb["Cijfers"]
    cells = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=1)
             for r in range(2, len(df) + 2)}
    for v in EVIL:
        cell = cells.get(v) or cells[v.replace("\r", "\n")]  # XML stores a lone CR as LF
        assert cell.data_type == "s" and cell.quotePrefix, v  # text, shown unchanged
    assert cells["Utrecht"].quotePrefix is False
    nums = [ws.cell(row=r, column=2) for r in range(2, len(df) + 2)]
    assert [c.value for c in nums] == list(df["waarde"]) and {c.data_type for c in nums} == {"n"}
    src = wb["Bronnen"]["B2"]
    assert src.value.startswith("=WEBSERVICE") and src.data_type == "s" and src.quotePrefix
    for sheet in wb.worksheets:
        assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]


# --------------------------------------------------------------------------- CLI export

@pytest.fixture
def evil_snapshot(tmp_path):
    """A published snapshot whose region name is a formula (data we do not control)."""
    from tests.support.snapshot_factory import (
        current_observations,
        extended_manifest,
        manifest,
        observations_frame,
        regions_frame,
    )

    obs = observations_frame()
    obs.loc[obs.index[0], "value"] = -12.5
    regions = regions_frame()
    regions.loc[regions["code"] == "GM0355", "name"] = EVIL[0]
    snapshot.publish(tmp_path / "data", obs, regions, extended_manifest(manifest(obs)),
                     frames={"observations_current": current_observations(obs)})
    return tmp_path / "data"


def export(data, *args) -> int:
    return main(["export", "--data-dir", str(data), "--log-format", "json", *args])


def test_cli_export_neutralises_text_and_keeps_negative_numbers(evil_snapshot, tmp_path):
    out = tmp_path / "x" / "export.csv"
    assert export(evil_snapshot, "--out", str(out), "--boundaries", "historical") == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    names = {r["region_code"]: r["region_name"] for r in rows}
    assert names["GM0355"] == "'" + EVIL[0] and names["NL01"] == "Nederland"
    assert "-12.5" in {r["value"] for r in rows}
    assert [p.name for p in out.parent.iterdir()] == ["export.csv"]  # no temp file left


def test_cli_export_to_an_existing_folder_is_a_clear_error(evil_snapshot, tmp_path, caplog):
    folder = tmp_path / "out"
    folder.mkdir()
    caplog.set_level(logging.INFO)
    assert export(evil_snapshot, "--out", str(folder)) == 1
    msg = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(msg) == 1 and f"--out {folder} is a folder" in msg[0]
    assert list(folder.iterdir()) == [] and not list(tmp_path.glob(".*tmp*"))


def test_cli_export_disk_full_leaves_no_temp_file(evil_snapshot, tmp_path, monkeypatch, caplog):
    out = tmp_path / "out" / "export.csv"
    out.parent.mkdir()
    out.write_text("previous export\n")

    def full(self, *a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    caplog.set_level(logging.INFO)
    assert export(evil_snapshot, "--out", str(out)) == 1
    msg = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert msg == [f"cannot write {out}: No space left on device"]
    assert [p.name for p in out.parent.iterdir()] == ["export.csv"]
    assert out.read_text() == "previous export\n"  # the old file is kept whole


def test_rounded_takes_one_number_or_one_per_row_and_keeps_gaps():
    df = pd.DataFrame({"naam": ["a", "b", "c"], "waarde": [1.23456, 2.5e-9, None],
                       "mediaan": [10.0 / 3, 200.0 / 3, 7.0]})
    out = exports.rounded(df, ["waarde", "mediaan", "ontbreekt"], pd.Series([1, 0, 2]))
    assert out["waarde"].tolist()[:2] == [1.2, 0.0] and pd.isna(out["waarde"][2])
    assert out["mediaan"].tolist() == [3.3, 67.0, 7.0]
    assert exports.rounded(df, ["mediaan"], 2)["mediaan"].tolist() == [3.33, 66.67, 7.0]
    assert df["mediaan"][0] == 10.0 / 3  # the input is not modified


def test_a_demo_snapshots_downloads_say_so_on_every_row_and_in_the_sources():
    from tests.support.snapshot_factory import published_manifest  # noqa: PLC0415

    demo = published_manifest(data_source="mirror")
    notice = exports.demo_notice(demo)
    assert notice and notice.startswith("Demo-gegevens, onvolledig") and "**" not in notice
    out = exports.with_notice(pd.DataFrame({"waarde": [1.0, 2.0]}), notice)
    assert list(out.columns) == [exports.DEMO_COLUMN, "waarde"]
    assert (out[exports.DEMO_COLUMN] == notice).all()
    body = exports.to_csv(out).decode("utf-8-sig")
    assert body.splitlines()[1].startswith("Demo-gegevens, onvolledig")
    assert notice in exports.sources_frame(demo, [])["titel"].tolist()
    real = published_manifest(data_source="cbs")
    assert exports.demo_notice(real) is None
    assert exports.with_notice(pd.DataFrame({"waarde": [1.0]}), None).columns.tolist() == ["waarde"]
    assert notice not in exports.sources_frame(real, [])["titel"].tolist()
