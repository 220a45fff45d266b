#!/usr/bin/env bash
# Production layout on one machine, in the foreground (`make serve`): WORKERS Streamlit
# processes (ports BASE_PORT, BASE_PORT+1, ...; loopback only) behind nginx on HOST:PORT with
# sticky sessions (deploy/nginx/). Ctrl-C (or SIGTERM) stops nginx and every worker.
#
#   WORKERS=2          number of Streamlit workers; "auto" = one per core (nproc)
#   PORT=8080 HOST=127.0.0.1   where nginx listens; BASE_PORT=8501 first worker's port
#   REGIO_DATA_DIR=data        published snapshots (one is made first if there is none)
#   SERVE_USER=nobody          when started as root: the user nginx and the workers run as
#                              (the workers stay root, with a warning, if that user cannot read
#                              the code or the data)
#   STARTUP_TIMEOUT=120        seconds for the workers to become healthy
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
BIN=${VENV_BIN:-.venv/bin}  # VENV_BIN: another environment (the tests pass theirs)
WORKERS=${WORKERS:-2}
[ "$WORKERS" = auto ] && WORKERS=$(nproc)
BASE_PORT=${BASE_PORT:-8501}
PORT=${PORT:-8080}
HOST=${HOST:-127.0.0.1}
STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-120}
export REGIO_DATA_DIR="${REGIO_DATA_DIR:-data}"

die() { echo "serve: $*" >&2; exit 1; }
[[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be a positive number or 'auto', not '$WORKERS'"
NGINX=$(command -v nginx || true)
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
[ -n "$NGINX" ] || die "nginx is not installed (scripts/ensure-nginx.sh, or: apt-get install nginx)"
[ -x "$BIN/streamlit" ] || die "no $BIN/streamlit: run 'make setup' first"

scripts/ensure-snapshot.sh

# All Streamlit workers share one cookie secret (XSRF tokens stay valid on any worker).
if [ -z "${STREAMLIT_SERVER_COOKIE_SECRET:-}" ]; then
  STREAMLIT_SERVER_COOKIE_SECRET=$("$BIN/python" -c 'import secrets; print(secrets.token_hex(32))')
  export STREAMLIT_SERVER_COOKIE_SECRET
fi

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/regio-serve.XXXXXX")
mkdir -p "$RUN_DIR/tmp" "$RUN_DIR/cache" "$RUN_DIR/home"

# Never serve as root: nginx always runs as SERVE_USER, the workers too when it can read
# the code, the venv and the snapshot.
NGINX_AS=()
WORKER_AS=()
if [ "$(id -u)" = 0 ]; then
  SERVE_USER=${SERVE_USER:-nobody}
  uid=$(id -u "$SERVE_USER") || die "SERVE_USER=$SERVE_USER does not exist"
  gid=$(id -g "$SERVE_USER")
  chown -R "$uid:$gid" "$RUN_DIR"
  NGINX_AS=(setpriv "--reuid=$uid" "--regid=$gid" --clear-groups --)
  # absolute paths: the workers open $REPO/dashboard/serve.py, which needs every parent folder
  # to be searchable by that user too (a checkout under a 0700 home or mktemp folder is not)
  if "${NGINX_AS[@]}" test -r "$REPO/dashboard/serve.py" \
      && (cd / && "${NGINX_AS[@]}" "$BIN/python" -c "import sys; sys.path.insert(0, '$REPO'); import streamlit, dashboard") 2>/dev/null \
      && [ -z "$("${NGINX_AS[@]}" find -L "$REGIO_DATA_DIR/current/" ! -readable -print -quit \
                 2>&1)" ]; then
    WORKER_AS=("${NGINX_AS[@]}")
    echo "serve: nginx and the workers run as $SERVE_USER"
  else
    echo "serve: WARNING: $SERVE_USER cannot read $REPO or $REGIO_DATA_DIR: the workers run" \
         "as root (nginx as $SERVE_USER). Install as in deploy/systemd to avoid this." >&2
  fi
fi

WORKER_PIDS=()
NGINX_PID=""
cleanup() {
  trap - EXIT INT TERM
  local p alive
  [ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null
  for p in "${WORKER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 40); do
    alive=0
    for p in $NGINX_PID "${WORKER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.25
  done
  for p in $NGINX_PID "${WORKER_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$RUN_DIR"
  echo "serve: stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ports=()
for ((i = 0; i < WORKERS; i++)); do
  port=$((BASE_PORT + i))
  ports+=("$port")
  env HOME="$RUN_DIR/home" "${WORKER_AS[@]}" "$BIN/streamlit" run dashboard/serve.py \
    --server.address 127.0.0.1 --server.port "$port" --server.headless true \
    > >(sed -u "s/^/[worker $port] /") 2>&1 &
  WORKER_PIDS+=($!)
done

# Wait until every worker answers its health check (bounded), then put nginx in front.
"$BIN/python" - "$STARTUP_TIMEOUT" "${ports[@]}" <<'PY' || exit 1
import sys, time, urllib.request
deadline = time.monotonic() + float(sys.argv[1])
for port in sys.argv[2:]:
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"serve: worker on port {port} not healthy within {sys.argv[1]} s")
        time.sleep(0.3)
PY

"$BIN/python" deploy/nginx/render.py --mode standalone --workers "$WORKERS" \
  --base-port "$BASE_PORT" --listen "$HOST:$PORT" --run-dir "$RUN_DIR" > "$RUN_DIR/nginx.conf"
[ "$(id -u)" = 0 ] && chown "$uid:$gid" "$RUN_DIR/nginx.conf"
"${NGINX_AS[@]}" "$NGINX" -q -e stderr -p "$RUN_DIR/" -c "$RUN_DIR/nginx.conf" -t \
  || die "nginx rejected the rendered config ($RUN_DIR/nginx.conf)"
"${NGINX_AS[@]}" "$NGINX" -e stderr -p "$RUN_DIR/" -c "$RUN_DIR/nginx.conf" -g "daemon off;" &
NGINX_PID=$!

echo "serve: dashboard on http://$HOST:$PORT  ($WORKERS workers on 127.0.0.1:${ports[*]};" \
     "nginx access log $RUN_DIR/access.log names the worker of each request). Stop with Ctrl-C."
# Run until any of them stops: then stop the others too (systemd restarts single workers in
# production; here a dead worker is a fault to see).
set +e
wait -n "$NGINX_PID" "${WORKER_PIDS[@]}"
rc=$?
echo "serve: a process of the layout exited (status $rc); stopping the rest" >&2
exit 1
