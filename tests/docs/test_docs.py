"""The documentation against the code: README.md and docs/*.md may only name what exists.

The README was 779 lines and partly out of date about file locations after a reorganisation;
nothing noticed. Here every claim that can be checked mechanically is:

- the README stays a front door (at most :data:`README_MAX_LINES` lines), and its test command is
  the one CI runs (``.ci/run``);
- every relative link, and its ``#anchor``, points to a file and heading that exist;
- every repository path in code formatting (``pipelines/precision.py``, ``deploy/k8s/``) exists;
- every ``make <target>`` is a Makefile target, every ``python -m <module>`` a module;
- every option given to one of our commands (``python -m pipelines refresh --accept``,
  ``python -m dashboard briefing --all``, ``deploy/nginx/render.py --workers``, ...) is in that
  command's ``--help``, and every other ``--option`` in code formatting belongs to one of our
  commands or to a named external tool (:data:`EXTERNAL_OPTIONS`);
- every UPPER_CASE name in code formatting (an environment variable such as ``REGIO_DATA_DIR`` or a
  constant such as ``PLAUSIBILITY_DEFAULTS``) occurs in the code.

Only text in code formatting (inline code and fenced blocks) is checked: that is where the docs
name things exactly. The checks are plain functions over text, each shown to find a planted error.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.paths import REPO

README_MAX_LINES = 150
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "data" / "README.md"]

# Our commands: a pattern that finds the command in a line of code, and how to ask it for --help.
# A pattern's group 1, when it has one, is part of the argv (a subcommand or a script name).
COMMANDS: dict[str, tuple[str, ...]] = {
    r"python3? -m pipelines\.snapshot\b": ("-m", "pipelines.snapshot"),
    r"python3? -m pipelines (refresh|status|catalog|export|rollback)\b": ("-m", "pipelines", "{}"),
    r"python3? -m dashboard briefing\b": ("-m", "dashboard", "briefing"),
    r"python3? -m standin\b": ("-m", "standin"),
    r"\bdeploy/nginx/render\.py\b": ("deploy/nginx/render.py",),
    r"\bscripts/build_dev_mirror\.py\b": ("scripts/build_dev_mirror.py",),
    r"\bbenchmarks/(\w+)\.py\b": ("benchmarks/{}.py",),
    # a pipelines subcommand named on its own at the start of a code span: `refresh --force`
    r"^(refresh|status|catalog|export|rollback)(?= --)": ("-m", "pipelines", "{}"),
}
# options of tools that are not ours, as the docs use them (pip, systemd, useradd, kubectl, ...)
EXTERNAL_OPTIONS = {
    "--require-hashes", "--no-deps",  # pip
    "--offline", "--now", "--failed",  # systemd-analyze, systemctl
    "--system", "--no-create-home", "--shell",  # useradd
    "--from-literal", "--from",  # kubectl
    "--server",  # streamlit run --server.address ...
}
# top-level folders whose paths are checked (data/ is written at run time; .venv, node_modules are
# installed)
NOT_IN_GIT = {".git", ".venv", "node_modules", "data", "__pycache__", ".pytest_cache", ".ruff_cache"}
# where UPPER_CASE names must occur: the code, scripts and configuration, not the docs themselves
CODE_DIRS = ("pipelines", "dashboard", "standin", "scripts", "deploy", "benchmarks", "tests", ".ci",
             ".streamlit")
CODE_FILES = ("Makefile", "pyproject.toml")


# --------------------------------------------------------------------------- reading markdown

@dataclass
class Doc:
    """A markdown file cut into what the checks read: code (inline spans and fenced lines, with
    backslash continuations joined), links and headings (outside code)."""

    name: str
    text: str
    spans: list[str] = field(default_factory=list)
    block_lines: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)

    @property
    def code(self) -> list[str]:
        return self.spans + self.block_lines


def parse(text: str, name: str = "<text>") -> Doc:
    doc = Doc(name, text)
    in_fence = False
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            doc.block_lines.append(pending + line)
            pending = ""
            continue
        if m := re.match(r"^(#{1,6})\s+(.*)$", line):
            doc.headings.append(m.group(2))
        doc.spans += re.findall(r"`([^`\n]+)`", line)
        prose = re.sub(r"`[^`\n]+`", "", line)
        doc.links += re.findall(r"\]\(([^)\s]+)\)", prose)
    return doc


@functools.cache
def load(path: Path) -> Doc:
    return parse(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(doc: Doc) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for h in doc.headings:
        a = anchor(h)
        out.add(f"{a}-{seen[a]}" if a in seen else a)
        seen[a] = seen.get(a, 0) + 1
    return out


# --------------------------------------------------------------------------- the checks

def broken_links(doc: Doc, folder: Path) -> list[str]:
    problems = []
    for link in doc.links:
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # https:, mailto:
            continue
        target, _, frag = link.partition("#")
        path = (folder / target).resolve() if target else folder / Path(doc.name).name
        if not path.exists():
            problems.append(f"{link}: no such file")
        elif frag and path.suffix == ".md":
            if frag not in anchors(parse(path.read_text(encoding="utf-8"), path.name)):
                problems.append(f"{link}: no heading with anchor #{frag}")
    return problems


def expand(token: str) -> list[str]:
    """``a.{service,timer}`` -> ``a.service``, ``a.timer`` (shell brace expansion, one level)."""
    m = re.search(r"\{([^{}]*,[^{}]*)\}", token)
    if not m:
        return [token]
    return [token[:m.start()] + alt + token[m.end():] for alt in m.group(1).split(",")]


def repo_paths(doc: Doc, roots: set[str]) -> Iterator[str]:
    """Tokens in code that are paths inside one of the repository's top-level folders."""
    for code in doc.code:
        for raw in code.split():
            token = raw.strip("'\"(),;:").removeprefix("./").rstrip(".")
            if "/" not in token or token.split("/", 1)[0] not in roots:
                continue
            if any(c in token for c in "<>$…[]=") or "{year}" in token:
                continue  # a placeholder, a variable or an option value
            yield from expand(token)


def missing_paths(doc: Doc, repo: Path) -> list[str]:
    roots = {p.name for p in repo.iterdir() if p.is_dir()} - NOT_IN_GIT
    out = []
    for token in repo_paths(doc, roots):
        found = list(repo.glob(token.rstrip("/"))) if "*" in token else [repo / token]
        if not any(p.exists() for p in found):
            out.append(token)
    return sorted(set(out))


def makefile_targets(makefile: str) -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", makefile, re.M))


def unknown_make_targets(doc: Doc, targets: set[str]) -> list[str]:
    named = {t for code in doc.code for t in re.findall(r"(?:^|[\s;&(])make ([a-z][\w-]*)", code)}
    return sorted(named - targets)


def command_parts(code: str) -> list[str]:
    """One line of code cut at shell separators (a `|` inside `[--only A|B]` is not one)."""
    return re.split(r"\s(?:\|\|?|&&|;|#|>|&)(?:\s|$)", code)


def invocations(doc: Doc) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """(argv of the command's --help, the --options given to it) for each of our commands named."""
    for code in doc.code:
        for part in command_parts(code):
            for pattern, argv in COMMANDS.items():
                for m in re.finditer(pattern, part):
                    args = tuple(a.format(*m.groups()) for a in argv)
                    yield args, re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", part[m.end():])


@functools.cache
def help_options(argv: tuple[str, ...]) -> frozenset[str]:
    """The options a command's --help lists (runs it; fails if the command does not exist)."""
    done = subprocess.run([sys.executable, *argv, "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(argv)} --help: {done.stderr[-1500:]}"
    return frozenset(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", done.stdout))


def unknown_command_options(doc: Doc) -> list[str]:
    found = list(invocations(doc))
    with ThreadPoolExecutor(4) as pool:  # start the --help runs in parallel, then read the cache
        list(pool.map(help_options, {argv for argv, _ in found}))
    return sorted({f"{' '.join(argv)} {opt}" for argv, opts in found for opt in opts
                   if opt not in help_options(argv)})


def all_our_options(docs: list[Doc]) -> frozenset[str]:
    argvs = {argv for d in docs for argv, _ in invocations(d)}
    return frozenset().union(*(help_options(a) for a in argvs)) if argvs else frozenset()


def unknown_options(doc: Doc, ours: frozenset[str]) -> list[str]:
    named = {o for code in doc.code for o in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", code)}
    return sorted(named - ours - EXTERNAL_OPTIONS)


def missing_modules(doc: Doc) -> list[str]:
    """``python -m X``: X must be a module this environment can run."""
    named = {m for c in doc.code for m in re.findall(r"python3? -m ([\w.]+)", c)}
    return sorted(m for m in named if importlib.util.find_spec(m) is None)


UPPER_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


@functools.cache
def code_text() -> str:
    files = [REPO / f for f in CODE_FILES]
    for d in CODE_DIRS:
        files += [p for p in (REPO / d).rglob("*") if p.is_file() and p.suffix != ".pyc"
                  and "docs" not in p.relative_to(REPO).parts]
    parts = []
    for p in files:
        try:
            parts.append(p.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, OSError):
            continue
    return "\n".join(parts)


def unknown_names(doc: Doc, code: str) -> list[str]:
    named = {n for c in doc.code for n in UPPER_NAME.findall(c)}
    return sorted(n for n in named if not re.search(rf"\b{n}\b", code))


# --------------------------------------------------------------------------- the docs

def ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths]


def test_there_is_documentation_to_check():
    names = {p.name for p in DOCS}
    assert {"README.md", "operations.md", "data.md", "design.md", "deploy.md",
            "testing.md"} <= names


def test_readme_is_a_front_door():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): move detail to docs/")


def test_readme_names_the_two_commands_and_ci_runs_its_test_command():
    readme = load(REPO / "README.md").text
    rows = dict(re.findall(r"^\|\s*set up and (run the dashboard, with data|run all tests)\s*\|"
                           r"\s*`([^`]+)`\s*\|", readme, re.M))
    assert rows == {"run the dashboard, with data": "make run", "run all tests": "make test"}
    targets = makefile_targets((REPO / "Makefile").read_text())
    assert {"run", "test"} <= targets
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert rows["run all tests"] in (line.strip() for line in ci), (
        ".ci/run must run the README's test command")


@pytest.mark.parametrize("path", DOCS, ids=ids(DOCS))
def test_relative_links_point_to_what_exists(path):
    assert broken_links(load(path), path.parent) == []


@pytest.mark.parametrize("path", DOCS, ids=ids(DOCS))
def test_repository_paths_exist(path):
    assert missing_paths(load(path), REPO) == []


@pytest.mark.parametrize("path", DOCS, ids=ids(DOCS))
def test_make_targets_exist(path):
    assert unknown_make_targets(load(path), makefile_targets((REPO / "Makefile").read_text())) == []


@pytest.mark.parametrize("path", DOCS, ids=ids(DOCS))
def test_python_modules_exist(path):
    assert missing_modules(load(path)) == []


@pytest.mark.parametrize("path", DOCS, ids=ids(DOCS))
def test_options_of_our_commands_exist(path):
    assert unknown_command_options(load(path)) == []


def test_every_option_is_ours_or_a_named_external_tools():
    docs = [load(p) for p in DOCS]
    ours = all_our_options(docs)
    found = {d.name: bad for d in docs if (bad := unknown_options(d, ours))}
    assert found == {}, ("options no documented command of ours has; if one belongs to an "
                         "external tool, add it to EXTERNAL_OPTIONS")


@pytest.mark.parametrize("path", DOCS, ids=ids(DOCS))
def test_upper_case_names_occur_in_the_code(path):
    assert unknown_names(load(path), code_text()) == []


# --------------------------------------------------------------------------- the checks can fail

SAMPLE = """\
# Title

## Exit codes of `refresh`

See [ops](#exit-codes-of-refresh), [gone](#no-such-heading), [file](nowhere.md).
Run `make run`, `make deploy-everything`, `pipelines/cbs.py` and `pipelines/nope.py`.
Set `REGIO_DATA_DIR` or `REGIO_NO_SUCH_SETTING`; `refresh --force --no-such-flag`.
`python -m dashboard.briefing GM0758` and `python -m pipelines.snapshot --schema`.

```
python -m pipelines export --out x.csv --dialect nl --colour | head   # --later is a comment
python3 deploy/nginx/render.py --workers 2 \\
    --no-such-option > /etc/nginx/site
cp deploy/systemd/regio-refresh.{service,timer} deploy/systemd/regio-{nope,refresh}.timer /etc/
```
"""


def test_the_reader_finds_code_links_and_headings():
    doc = parse(SAMPLE)
    assert doc.headings == ["Title", "Exit codes of `refresh`"]
    assert doc.links == ["#exit-codes-of-refresh", "#no-such-heading", "nowhere.md"]
    assert "python3 deploy/nginx/render.py --workers 2      --no-such-option > /etc/nginx/site" \
        in doc.block_lines
    assert anchor("Presentation rules (\"fit to read\")") == "presentation-rules-fit-to-read"
    assert anchor("Ruimtelijke economie & vitale kernen") == "ruimtelijke-economie--vitale-kernen"


def test_checks_find_planted_errors(tmp_path):
    doc = parse(SAMPLE, "sample.md")
    (tmp_path / "sample.md").write_text(SAMPLE)
    assert broken_links(doc, tmp_path) == ["#no-such-heading: no heading with anchor "
                                           "#no-such-heading", "nowhere.md: no such file"]
    assert missing_paths(doc, REPO) == ["deploy/systemd/regio-nope.timer", "pipelines/nope.py"]
    assert unknown_make_targets(doc, makefile_targets((REPO / "Makefile").read_text())) == [
        "deploy-everything"]
    assert unknown_command_options(doc) == [
        "-m pipelines export --colour", "-m pipelines refresh --no-such-flag",
        "deploy/nginx/render.py --no-such-option"]
    assert unknown_names(doc, code_text()) == ["REGIO_NO_SUCH_SETTING"]
    assert missing_modules(doc) == ["dashboard.briefing"]
    assert unknown_options(doc, all_our_options([doc])) == [
        "--colour", "--later", "--no-such-flag", "--no-such-option"]
