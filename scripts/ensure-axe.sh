#!/usr/bin/env bash
# axe-core (npm, pinned in package-lock.json) for the accessibility browser tests: `npm ci` when
# node_modules is missing or older than the lock file. Without npm the axe tests skip and say why.
set -u
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [ -f node_modules/axe-core/axe.min.js ] && [ "$stamp" -nt package-lock.json ]; then exit 0; fi
if ! command -v npm >/dev/null 2>&1; then
  echo "NOTE: npm missing: the axe-core accessibility tests will be skipped." >&2
  echo "      Install Node.js 18+ with npm, then run: npm ci" >&2
  exit 0
fi
echo "Installing axe-core for the accessibility tests (npm ci)..."
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
  || echo "WARNING: npm ci failed; the axe-core accessibility tests will be skipped." >&2
exit 0
