"""Briefing benchmark: time to produce the wethoudersbriefing PDF for every current gemeente.

    python benchmarks/briefing.py --data-dir /tmp/real-data [--workers 2]

Make the real-data snapshot first (see benchmarks/dashboard.py or the README). Target: all 342
gemeenten in under 5 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.core import briefing  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        code = briefing.main(["--all", "--out", tmp, "--data-dir", args.data_dir,
                              "--workers", str(args.workers)])
        dt = time.perf_counter() - t0
        files = list(Path(tmp).glob("*.pdf"))
        size = sum(f.stat().st_size for f in files)
    if code:
        return code
    print(f"{len(files)} briefings in {dt:.1f} s with {args.workers} worker(s): "
          f"{dt / max(1, len(files)):.2f} s each, {size / max(1, len(files)) / 1e3:.0f} kB each "
          f"(target: all in under 300 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
