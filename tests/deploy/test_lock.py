"""requirements.lock (reproducible installs) is in step with pyproject.toml and fully hashed."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("lock", REPO / "scripts" / "lock.py")
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)


def _name(req: str) -> str:
    return re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_lock_matches_pyproject():
    assert lock.stale_reason() is None, lock.stale_reason()


def test_every_dependency_is_pinned_with_hashes():
    text = (REPO / "requirements.lock").read_text(encoding="utf-8")
    pin = r"^([A-Za-z0-9_.\-]+)==(\S+)(?: ;[^\\\n]*)? \\\n"
    hashes = r"((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)"
    blocks = re.findall(pin + hashes, text, re.M)
    pinned = {name.lower() for name, _v, _h in blocks}
    starts = re.findall(r"^[A-Za-z0-9_.\-]+==", text, re.M)
    assert len(blocks) == len(starts) > 20  # every pin carries at least one hash
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for extra in project["optional-dependencies"].values() for r in extra}
    assert wanted <= pinned, f"not in the lock: {sorted(wanted - pinned)}"


def test_a_changed_dependency_list_is_noticed(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    text = (REPO / "pyproject.toml").read_text()
    pyproject.write_text(text)
    assert lock.stale_reason(pyproject) is None
    pyproject.write_text(text.replace('"pytest>=8",', '"pytest>=8",\n    "tenacity>=8",'))
    assert "make lock" in lock.stale_reason(pyproject)
    pyproject.write_text(text.replace('version = "0.1.0"', 'version = "0.2.0"'))
    assert lock.stale_reason(pyproject) is None  # only the dependency lists count
    assert "missing" in lock.stale_reason(pyproject, tmp_path / "nothing.lock")
