#!/usr/bin/env bash
# Start the dashboard (one worker); publish a snapshot first if there is none
# (scripts/ensure-snapshot.sh). More than one worker behind nginx: scripts/serve.sh (make serve).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV_BIN:-.venv/bin}  # VENV_BIN: another environment (the tests pass theirs)
export REGIO_DATA_DIR="${REGIO_DATA_DIR:-data}"
scripts/ensure-snapshot.sh

exec $BIN/streamlit run dashboard/serve.py \
  --server.address "${HOST:-127.0.0.1}" --server.port "${PORT:-8501}"
