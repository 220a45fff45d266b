"""How the stand-in's modules depend on each other: one way, without an import cycle (issue #19:
``standin/v3.py`` and ``standin/v4.py`` used to import each other), and nothing in the product
depends on the stand-in at all.

Imports are read with :mod:`ast`, so an import inside a function (how the old loop was hidden) or
under ``TYPE_CHECKING`` counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support.paths import REPO

PACKAGE = REPO / "standin"
# Each module may import only modules of an earlier layer; a new module must be given its place.
LAYERS = [
    {"grammar", "documents"},  # the query language; parsed files and JSON out
    {"faults"},
    {"v3", "v4", "web"},  # the dialects and the web area: never each other, never the server
    {"server"},
    {"cli"},
    {"__init__", "__main__"},  # the package's public names; python -m standin
]


def _submodule(name: str, package: Path) -> str:
    """What ``from standin import <name>`` imports: a submodule, or else the package itself."""
    return name if (package / f"{name}.py").is_file() else "__init__"


def standin_imports(path: Path, package: Path = PACKAGE) -> set[str]:
    """The modules of the package (by file stem; ``__init__`` for the package) that ``path``
    imports anywhere in its code."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top, _, rest = alias.name.partition(".")
                if top == package.name:
                    found.add(rest.split(".")[0] if rest else "__init__")
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                top, _, rest = (node.module or "").partition(".")
                if top != package.name:
                    continue
            else:
                rest = node.module or ""
            if rest:
                found.add(rest.split(".")[0])
            else:
                found.update(_submodule(alias.name, package) for alias in node.names)
    found.discard(path.stem)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    return {f.stem: standin_imports(f, package) for f in sorted(package.glob("*.py"))}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that returns to its start, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            if (cycle := visit(nxt, [*path, node])) is not None:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        if (cycle := visit(start, [])) is not None:
            return cycle
    return None


def test_no_import_cycle_inside_the_stand_in():
    graph = import_graph()
    assert set(graph) >= {"grammar", "faults", "v3", "v4", "server", "cli"}
    assert find_cycle(graph) is None


def test_dependencies_point_one_way():
    layer_of = {name: i for i, layer in enumerate(LAYERS) for name in layer}
    graph = import_graph()
    assert set(graph) - set(layer_of) == set(), "place the new module in LAYERS"
    upward = {f"{module} -> {dep}" for module, deps in graph.items() for dep in deps
              if layer_of[dep] >= layer_of[module]}
    assert upward == set()


def test_the_scan_sees_every_kind_of_import(tmp_path):
    """The probes can fail: they see lazy, absolute and package imports, and find a cycle."""
    pkg = tmp_path / "standin"
    pkg.mkdir()
    for name in ("__init__", "v3", "v4", "grammar"):
        (pkg / f"{name}.py").write_text("")
    (pkg / "v3.py").write_text(
        "import json\nfrom .grammar import parse_filter\n"
        "def is_v4(path):\n    from .v4 import is_v4\n    return is_v4(path)\n")
    (pkg / "v4.py").write_text(
        "from standin import StandIn\nfrom standin.v3 import ODataError\nfrom . import grammar\n"
        "import standin.grammar\n")
    graph = import_graph(pkg)
    assert graph == {"__init__": set(), "grammar": set(), "v3": {"grammar", "v4"},
                     "v4": {"__init__", "v3", "grammar"}}
    assert find_cycle(graph) == ["v3", "v4", "v3"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"b"}}) == ["b", "c", "b"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_standin_lives_outside_the_product():
    """The stand-in is a test double: no product module imports it, and it is not packaged."""
    import tomllib

    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert "standin" not in packages and not (REPO / "pipelines" / "standin.py").exists()
    offenders = [str(p.relative_to(REPO)) for pkg in ("pipelines", "dashboard")
                 for p in (REPO / pkg).rglob("*.py")
                 if re.search(r"^\s*(from|import)\s+standin\b", p.read_text(), re.M)]
    assert offenders == []

