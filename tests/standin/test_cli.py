"""The command line (``standin/cli.py``): ``python -m standin`` serves, refuses a non-loopback
host, and keeps its options."""

from __future__ import annotations

import re
import subprocess
import sys

import requests

from tests.support.paths import REPO
from tests.support.standin_feed import ROWS, make_table


def test_cli_refuses_non_loopback_host(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "standin", "--mirror", str(tmp_path), "--host", "0.0.0.0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert "non-loopback host '0.0.0.0'" in done.stderr


def test_cli_serves(tmp_path):
    make_table(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "standin", "--mirror", str(tmp_path), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group()
        r = requests.get(f"{url}/ODataFeed/odata/T1/TypedDataSet?$format=json", timeout=5)
        assert len(r.json()["value"]) == len(ROWS)
    finally:
        proc.terminate()
        proc.wait(10)



def test_cli_options():
    done = subprocess.run([sys.executable, "-m", "standin", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    assert set(re.findall(r"--[a-z0-9-]+", done.stdout)) == {
        "--help", "--mirror", "--host", "--port", "--page-size", "--verbose", "--geo", "--v4",
        "--v4-page-size", "--latency", "--bandwidth", "--web", "--lml-fixture"}


def test_cli_serves_the_lml_fixture_marked_as_such(tmp_path):
    make_table(tmp_path / "mirror")
    proc = subprocess.Popen(
        [sys.executable, "-m", "standin", "--mirror", str(tmp_path / "mirror"), "--port", "0",
         "--web", str(tmp_path / "web"), "--lml-fixture", "2025"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        fixture = proc.stdout.readline()
        assert fixture.startswith("TEST FIXTURE (not CBS figures)")
        page = fixture.split("landing page ", 1)[1].strip()
        url = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline()).group()
        html = requests.get(url + page, timeout=5).text
        assert "TESTFIXTUUR" in html and "Leegstandsmonitor_2015_2025_tabel5.xlsx" in html
        head = requests.head(url + "/-/media/_excel/2025/49/Leegstandsmonitor_2015_2025_tabel5"
                             ".xlsx", timeout=5)
        assert head.status_code == 200 and head.headers["ETag"]
        assert requests.get(url + "/nl-nl/maatwerk/2025/50/nothing", timeout=5).status_code == 404
    finally:
        proc.terminate()
        proc.wait(10)
