"""The dashboard's two halves and its distance from the network, as imports: ``dashboard.core``
imports neither Streamlit nor the CBS clients; the data layer of the UI reads snapshots without
``cbsodata`` or ``requests``; nothing outside ``dashboard/`` imports Streamlit. Each check runs in
a fresh interpreter, so what the test process imported before cannot hide an import."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys

import pytest

from tests.support.paths import REPO

NETWORK = ("cbsodata", "requests")

PROBE = """
import importlib, json, sys
forbidden, found = {forbidden!r}, {{}}
for name in {modules!r}:
    importlib.import_module(name)
    for f in forbidden:
        if f in sys.modules and f not in found:
            found[f] = name
print(json.dumps(found))
"""


def imported(modules: list[str], forbidden: tuple[str, ...]) -> dict[str, str]:
    """{forbidden module: the first of ``modules`` whose import brought it in}."""
    code = PROBE.format(forbidden=forbidden, modules=modules)
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def core_modules() -> list[str]:
    import dashboard.core

    mods = ["dashboard.core"]
    mods += [m.name for m in pkgutil.walk_packages(dashboard.core.__path__, "dashboard.core.")]
    return mods


def test_core_lists_its_modules():
    mods = core_modules()
    assert {"dashboard.core.dashdata", "dashboard.core.compute", "dashboard.core.briefing",
            "dashboard.core.charts.svg"} <= set(mods)


def test_dashboard_core_imports_neither_streamlit_nor_network_code():
    assert imported(core_modules(), ("streamlit", *NETWORK)) == {}


@pytest.mark.parametrize("module", ["dashboard.ui.data", "pipelines.snapshot", "pipelines.runs",
                                    "pipelines.fileio", "pipelines.odata"])
def test_the_read_side_imports_no_network_code(module):
    assert imported([module], NETWORK) == {}


def test_the_pipeline_is_what_imports_the_network_code():
    """The probe can see an import: the CBS client module does bring both in."""
    assert imported(["pipelines.cbs"], NETWORK) == {"cbsodata": "pipelines.cbs",
                                                    "requests": "pipelines.cbs"}


def streamlit_imports(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                 else [])
        if any(n == "streamlit" or n.startswith("streamlit.") for n in names):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("folder", ["pipelines", "standin"])
def test_nothing_outside_the_dashboard_imports_streamlit(folder):
    files = sorted((REPO / folder).rglob("*.py"))
    assert files
    found = {str(f.relative_to(REPO)): lines for f in files
             if (lines := streamlit_imports(ast.parse(f.read_text(encoding="utf-8"))))}
    assert found == {}


def test_the_scan_finds_a_streamlit_import():
    code = "import os\nfrom streamlit.testing.v1 import AppTest\nimport streamlit as st\n"
    assert streamlit_imports(ast.parse(code)) == [2, 3]
