#!/usr/bin/env bash
# Publish a snapshot into $REGIO_DATA_DIR (default data/) when there is none yet
# (used by `make run` and `make serve`):
#   CBS_ODATA_URL set      -> refresh from that CBS (or stand-in)
#   ../shared/cbs/mirror   -> development machine without internet: refresh from the local
#                             copy of real CBS data, served by the CBS stand-in (demo data)
#   otherwise              -> refresh from the real CBS (https://opendata.cbs.nl)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV_BIN:-.venv/bin}  # VENV_BIN: another environment (the tests pass theirs)
export REGIO_DATA_DIR="${REGIO_DATA_DIR:-data}"
MIRROR=${REGIO_SHARED_DIR:-../shared}/cbs/mirror

if [ ! -e "$REGIO_DATA_DIR/current" ]; then
  if [ -z "${CBS_ODATA_URL:-}" ] && [ -d "$MIRROR" ]; then
    echo "No snapshot yet: publishing one from the local CBS copy in $MIRROR (demo data)."
    LOG_FORMAT=text scripts/mirror-snapshot.sh "$REGIO_DATA_DIR"
  else
    echo "No snapshot yet: publishing one from ${CBS_ODATA_URL:-the CBS open data service}."
    $BIN/python -m pipelines refresh --log-format text
  fi
fi
