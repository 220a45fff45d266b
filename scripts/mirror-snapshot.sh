#!/usr/bin/env bash
# Publish a snapshot from the local copy of real CBS data (../shared/cbs/mirror and, for v4 tables,
# ../shared/cbs/odata_v4, served by the CBS stand-in on a free loopback port) into DIR, unless DIR already has one. Used by `make run` on a
# machine without internet and by `make bench`.   Usage: scripts/mirror-snapshot.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/regio-bench-data}
[ -e "$out/current" ] && exit 0
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
v4=()  # real OData v4 responses (tables with `api: v4` in the catalogue)
[ -d ../shared/cbs/odata_v4 ] && v4=(--v4 ../shared/cbs/odata_v4)
.venv/bin/python -m standin --mirror ../shared/cbs/mirror --geo ../shared/cbs/geo "${v4[@]}" --port "$port" >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/_standin/stats')" 2>/dev/null && break
  sleep 0.1
done
.venv/bin/python -m pipelines refresh --data-dir "$out" --cbs-url "http://127.0.0.1:$port" \
  --cbs4-url "http://127.0.0.1:$port/odata/v1" \
  --geo-url "http://127.0.0.1:$port/geo/gemeente_{year}.geojson" --data-source mirror --log-format "${LOG_FORMAT:-json}"
