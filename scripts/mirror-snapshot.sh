#!/usr/bin/env bash
# Publish a snapshot from the local copy of real CBS data into DIR, unless DIR already has one.
# Used by `make run` on a machine without internet and by `make bench`.
#   Usage: scripts/mirror-snapshot.sh DIR
# scripts/build_dev_mirror.py first assembles DIR/dev-mirror (outside git): "$SHARED/cbs"/mirror
# (v3) and "$SHARED/cbs"/odata_v4 (v4) as they are, plus mirror folders it builds from the other
# real files in ../shared (CSV dumps, Kerncijfers wijken en buurten 2024) with their provenance,
# and the catalogue for that mirror (indicators without real values there are left out, with the
# reason). The CBS stand-in serves it on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/regio-bench-data}
[ -e "$out/current" ] && exit 0
dev="$out/dev-mirror"
# the interpreter: VENV_BIN (the tests pass theirs), else .venv (make setup), else python3
BIN=${VENV_BIN:-.venv/bin}
[ -x "$BIN/python" ] || BIN=$(dirname "$(command -v python3)")
SHARED=${REGIO_SHARED_DIR:-../shared}
"$BIN/python" scripts/build_dev_mirror.py --out "$dev" --shared "$SHARED/cbs" >&2
port=$("$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN/python" -m standin --mirror "$dev/v3" --geo "$dev/geo" --v4 "$dev/v4" \
  --port "$port" >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  "$BIN/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/_standin/stats')" 2>/dev/null && break
  sleep 0.1
done
"$BIN/python" -m pipelines refresh --data-dir "$out" --catalog "$dev/catalog.yaml" \
  --cbs-url "http://127.0.0.1:$port" --cbs4-url "http://127.0.0.1:$port/odata/v1" \
  --geo-url "http://127.0.0.1:$port/geo/gemeente_{year}.geojson" --data-source mirror --log-format "${LOG_FORMAT:-json}"
