"""Where the tests find the repository and the real CBS data of ``../shared``.

Nothing here reads a file: a test module may import these names on any machine. ``../shared`` is
looked up beside the repository; ``REGIO_SHARED_DIR`` points elsewhere (an empty or missing folder
makes every real-data test skip, as on a fresh clone).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("REGIO_SHARED_DIR") or REPO.parent / "shared")
SHARED_CBS = SHARED / "cbs"
MIRROR = SHARED_CBS / "mirror"
GEO = SHARED_CBS / "geo"
APP = REPO / "dashboard" / "app.py"


def shared_reason(what: Path = MIRROR / "85755NED") -> str | None:
    """Why real-data tests cannot run here (None when ``what`` exists)."""
    if what.exists():
        return None
    return f"real CBS data not found at {what} (../shared is absent)"


def require_shared(what: Path = MIRROR / "85755NED") -> None:
    """Skip the calling test or fixture, with the reason, when ``what`` is absent."""
    reason = shared_reason(what)
    if reason:
        pytest.skip(reason)


# a marker for whole modules or tests: evaluated when collected, reads nothing
needs_shared = pytest.mark.skipif(shared_reason() is not None,
                                  reason=shared_reason() or "real CBS data available")
