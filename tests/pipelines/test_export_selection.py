"""`python -m pipelines export --gemeenten/--indicatoren/--regio/...`: exactly the selection,
with the same meaning as the dashboard's Vergelijken selection; unknown parts are an error."""

import csv

from pipelines.__main__ import main


def _rows(path):
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_cli_export_of_a_selection(dash_snapshot, tmp_path):
    out = tmp_path / "sel.csv"
    base = ["export", "--data-dir", str(dash_snapshot), "--boundaries", "historical",
            "--out", str(out)]
    assert main([*base, "--gemeenten", "GM0355,amsterdam",
                 "--indicatoren", "werkloosheid_pct,vestigingen"]) == 0
    rows = _rows(out)
    assert {r["region_code"] for r in rows} == {"GM0355", "GM0363"}
    assert {r["indicator"] for r in rows} == {"werkloosheid_pct", "vestigingen"}
    assert len({r["period"] for r in rows}) > 1  # all periods
    # a region filter: all gemeenten of provincie Utrecht (PV26) in the test snapshot
    assert main([*base, "--regio", "PV26", "--indicatoren", "werkloosheid_pct"]) == 0
    codes = {r["region_code"] for r in _rows(out)}
    assert "GM0355" in codes and "GM0363" not in codes and all(c.startswith("GM") for c in codes)
    # the hand-picked gemeente is added to the filtered ones
    assert main([*base, "--regio", "PV26", "--gemeenten", "GM0363",
                 "--indicatoren", "werkloosheid_pct"]) == 0
    assert {r["region_code"] for r in _rows(out)} == codes | {"GM0363"}


def test_cli_export_refuses_unknown_parts(dash_snapshot, tmp_path, caplog):
    out = tmp_path / "sel.csv"
    assert main(["export", "--data-dir", str(dash_snapshot), "--out", str(out),
                 "--gemeenten", "GM9999", "--indicatoren", "nope"]) == 1
    assert "GM9999" in caplog.text and "nope" in caplog.text and not out.exists()
