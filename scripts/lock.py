#!/usr/bin/env python3
"""The lock file for reproducible installs: ``requirements.lock`` pins every dependency of
``pyproject.toml`` (the ``dev`` extra included) to one version with its sha256 hashes.

    python scripts/lock.py compile   # `make lock`: re-resolve with uv (pinned), keeping the versions
                                     # already locked where they fit; --upgrade: newest of everything
    python scripts/lock.py check     # exit 1 when pyproject.toml's dependencies changed since

``make setup`` installs the lock with ``pip install --require-hashes`` (so a package that differs
from the one locked, even by one byte, is refused) and then the project itself with ``--no-deps``.
The lock records a hash of the dependency lists it was made from, so a dependency added to
pyproject.toml without ``make lock`` is noticed (by ``make setup`` and by a test).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
UV = "uv==0.13.9"  # the resolver, pinned too, so `make lock` is repeatable
MARK = "# pyproject-deps-sha256: "
HEADER = """\
# requirements.lock: every dependency of pyproject.toml, dev tools included, pinned with hashes.
# Made by `make lock` (scripts/lock.py: uv pip compile --universal --generate-hashes); do not edit
# by hand. `make setup` installs it with `pip install --require-hashes -r requirements.lock`.
"""


def deps_hash(pyproject: Path = PYPROJECT) -> str:
    """sha256 of what the lock is resolved from: dependencies, extras and requires-python."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    relevant = {
        "dependencies": sorted(project.get("dependencies", [])),
        "optional": {k: sorted(v) for k, v in project.get("optional-dependencies", {}).items()},
        "requires-python": project.get("requires-python"),
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def recorded_hash(lock: Path = LOCK) -> str | None:
    try:
        lines = lock.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return next((ln[len(MARK):].strip() for ln in lines if ln.startswith(MARK)), None)


def stale_reason(pyproject: Path = PYPROJECT, lock: Path = LOCK) -> str | None:
    """None when the lock matches pyproject.toml, else a one-line reason."""
    got = recorded_hash(lock)
    if got is None:
        return f"{lock.name} is missing or has no '{MARK.strip()}' line: run `make lock`"
    if got != deps_hash(pyproject):
        return (f"{lock.name} is out of date: the dependencies in {pyproject.name} changed since "
                "it was made; run `make lock` and commit requirements.lock")
    return None


def compile_lock(upgrade: bool = False) -> int:
    """Re-resolve pyproject.toml. The versions already locked are kept where they still fit (uv
    takes an existing output file as its preferences), so adding one dependency adds it and what
    it needs, nothing else moves; ``upgrade`` takes the newest versions of everything."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", UV], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "requirements.lock"
        if LOCK.exists() and not upgrade:
            out.write_text(LOCK.read_text(encoding="utf-8"), encoding="utf-8")
        subprocess.run([sys.executable, "-m", "uv", "pip", "compile", str(PYPROJECT),
                        "--extra", "dev", "--universal", "--python-version", "3.11",
                        "--generate-hashes", "--no-header", "--quiet", "-o", str(out)]
                       + (["--upgrade"] if upgrade else []),
                       check=True, cwd=ROOT)
        body = out.read_text(encoding="utf-8")
    LOCK.write_text(HEADER + MARK + deps_hash() + "\n" + body, encoding="utf-8")
    pins = sum(1 for ln in body.splitlines() if "==" in ln and not ln.startswith(" "))
    print(f"wrote {LOCK.name}: {pins} pinned packages with hashes")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["compile"]:
        return compile_lock(upgrade="--upgrade" in argv[1:])
    if argv[:1] == ["check"]:
        reason = stale_reason()
        if reason:
            print(f"WARNING: {reason}", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
