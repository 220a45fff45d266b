#!/usr/bin/env bash
# Start the dashboard; publish a snapshot first if there is none.
#   CBS_ODATA_URL set      -> refresh from that CBS (or stand-in)
#   ../shared/cbs/mirror   -> development machine without internet: refresh from the local
#                             copy of real CBS data, served by the CBS stand-in (demo data)
#   otherwise              -> refresh from the real CBS (https://opendata.cbs.nl)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export REGIO_DATA_DIR="${REGIO_DATA_DIR:-data}"
MIRROR=../shared/cbs/mirror

if [ ! -e "$REGIO_DATA_DIR/current" ]; then
  if [ -z "${CBS_ODATA_URL:-}" ] && [ -d "$MIRROR" ]; then
    port=$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    echo "No snapshot yet: publishing one from the local CBS copy in $MIRROR (demo data)."
    $BIN/python -m pipelines.standin --mirror "$MIRROR" --geo ../shared/cbs/geo --port "$port" >/dev/null &
    standin=$!
    trap 'kill $standin 2>/dev/null || true' EXIT
    for _ in $(seq 50); do
      $BIN/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/_standin/stats')" 2>/dev/null && break
      sleep 0.1
    done
    CBS_ODATA_URL="http://127.0.0.1:$port" GEO_URL="http://127.0.0.1:$port/geo/gemeente_{year}.geojson" \
      $BIN/python -m pipelines refresh --log-format text
    kill $standin 2>/dev/null || true
    trap - EXIT
  else
    echo "No snapshot yet: publishing one from ${CBS_ODATA_URL:-the CBS open data service}."
    $BIN/python -m pipelines refresh --log-format text
  fi
fi

exec $BIN/streamlit run dashboard/app.py \
  --server.address "${HOST:-127.0.0.1}" --server.port "${PORT:-8501}"
