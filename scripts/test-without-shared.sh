#!/usr/bin/env bash
# The README's promise on a machine without ../shared: `make test` passes, the real-data tests
# skip with their reason. Runs the whole suite once in a fresh clone of what is committed (no
# ../shared beside it, no .venv inside it), with this checkout's environment. It cannot pass by
# accident: it fails unless tests were skipped *because* ../shared is absent.
#   Usage: scripts/test-without-shared.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV_BIN:-$PWD/.venv/bin}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/regio-noshared.XXXXXX")
chmod 755 "$tmp"  # like a normal checkout: readable for the unprivileged serving user
trap 'rm -rf "$tmp"' EXIT
git clone -q . "$tmp/repo"
[ -d node_modules ] && ln -s "$PWD/node_modules" "$tmp/repo/node_modules"
cd "$tmp/repo"
set +e
REGIO_SHARED_DIR="$tmp/shared" VENV_BIN="$BIN" "$BIN/python" -m pytest -q -p no:cacheprovider -rs \
  "$@" | tee "$tmp/pytest.log"
code=${PIPESTATUS[0]}
set -e
[ "$code" -eq 0 ] || { echo "without ../shared: the suite failed (exit $code)" >&2; exit "$code"; }
skipped=$(grep -c "(../shared is absent)" "$tmp/pytest.log" || true)
if [ "$skipped" -eq 0 ]; then
  echo "without ../shared: no test was skipped for the absent ../shared - the check proves nothing" >&2
  exit 1
fi
echo "without ../shared: suite passed; $skipped skip line(s) name the absent ../shared"
