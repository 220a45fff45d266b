"""Command line of the dashboard package:

    python -m dashboard briefing GM0758 --out briefing.pdf     # one gemeente
    python -m dashboard briefing --all --out briefings/        # every current gemeente

(The web dashboard itself runs with ``streamlit run dashboard/serve.py``: ``make run``.)
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "briefing":
        print(__doc__.strip(), file=sys.stderr)
        return 2
    from dashboard.core import briefing

    return briefing.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
