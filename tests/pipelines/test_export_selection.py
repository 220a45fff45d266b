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


def test_cli_export_of_a_demo_snapshot_carries_the_pages_notice_on_every_row(
        dash_snapshot, tmp_path, monkeypatch, caplog):
    """A snapshot made from the development mirror: the CLI file says so on every row, in the
    same words as the dashboard's downloads (pipelines/notices.py); a CBS snapshot does not."""
    import dataclasses  # noqa: PLC0415

    from pipelines import __main__ as cli  # noqa: PLC0415
    from pipelines import notices, snapshot  # noqa: PLC0415

    real = snapshot.load_snapshot(dash_snapshot)
    for source, expect in (("mirror", "Demo-gegevens, onvolledig"), ("cbs", None)):
        snap = dataclasses.replace(real, manifest=real.manifest.model_copy(
            update={"data_source": source}))
        monkeypatch.setattr(cli.snapshot, "load_snapshot", lambda _root, s=snap: s)
        out = tmp_path / f"{source}.csv"
        assert main(["export", "--data-dir", str(dash_snapshot), "--out", str(out),
                     "--gemeenten", "GM0355", "--indicatoren", "werkloosheid_pct"]) == 0
        rows = _rows(out)
        assert rows and {r["region_code"] for r in rows} == {"GM0355"}
        if expect is None:
            assert "let op" not in rows[0]
            continue
        assert list(rows[0])[0] == "let op"
        assert {r["let op"] for r in rows} == {notices.demo_notice(snap.manifest)}
        assert rows[0]["let op"].startswith(expect) and "**" not in rows[0]["let op"]
        assert expect in caplog.text
