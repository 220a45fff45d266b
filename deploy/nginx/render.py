"""Render the nginx config for N dashboard workers from ``regio-dashboard.conf.in``.

Two outputs, one template:

* ``site`` (default): the http-context snippet for a system nginx (Debian:
  ``/etc/nginx/sites-available/regio-dashboard``), e.g. for four workers::

      python3 deploy/nginx/render.py --workers 4 > /etc/nginx/sites-available/regio-dashboard

  ``deploy/nginx/regio-dashboard.conf`` is this output for the defaults (2 workers, port 80);
  a test keeps it in step with the template.
* ``standalone``: a complete nginx.conf that runs as an ordinary user in the foreground with
  every path (pid, temp, cache, logs) under one runtime folder; ``scripts/serve.sh`` (``make
  serve``) uses it.

Standard library only: it runs with the system's python3 as well as the project's venv.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "regio-dashboard.conf.in"
# the error page for "no worker reachable" (deploy/nginx/pages) where the systemd units install
# the repository
PRODUCTION_PAGES = "/opt/regio-economie/deploy/nginx/pages"

PROXY_HEADERS = """\
proxy_set_header Host $host;
proxy_set_header X-Real-IP $remote_addr;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header Accept-Encoding "";"""

# X-Upstream names the worker that answered (operations, and the proxy test checks stickiness
# with it); Set-Cookie is empty (so not sent) once the browser has its affinity cookie.
COMMON_HEADERS = """\
add_header Set-Cookie $regio_affinity_cookie always;
add_header X-Upstream $upstream_addr always;
add_header X-Content-Type-Options nosniff always;
add_header Referrer-Policy strict-origin-when-cross-origin always;"""

STANDALONE = """\
# nginx for `make serve`: runs in the foreground as the invoking user; everything it writes is
# under {run_dir}. Rendered by deploy/nginx/render.py --mode standalone.
worker_processes 1;
worker_rlimit_nofile 8192;
# open websockets get 10 s to close when the layout stops
worker_shutdown_timeout 10s;
pid {run_dir}/nginx.pid;
error_log stderr warn;

events {{
    worker_connections 4096;
}}

http {{
    include {mime_types};
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65s;
    access_log {run_dir}/access.log;
    client_body_temp_path {run_dir}/tmp/client_body;
    proxy_temp_path {run_dir}/tmp/proxy;
    fastcgi_temp_path {run_dir}/tmp/fastcgi;
    uwsgi_temp_path {run_dir}/tmp/uwsgi;
    scgi_temp_path {run_dir}/tmp/scgi;

{site}
}}
"""


def indent(block: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in block.splitlines())


def render_site(workers: int, base_port: int = 8501, listen: list[str] | None = None,
                server_name: str = "_", cache_dir: str = "/var/cache/nginx/regio-dashboard",
                upstream_host: str = "127.0.0.1", pages_dir: str = PRODUCTION_PAGES) -> str:
    if workers < 1:
        raise ValueError("at least one worker")
    listen = listen or ["80", "[::]:80"]
    servers = "\n".join(f"    server {upstream_host}:{base_port + i} max_fails=3 fail_timeout=10s;"
                        for i in range(workers))
    out = []
    for line in TEMPLATE.read_text().splitlines():
        key = line.strip()
        if key == "@UPSTREAM_SERVERS@":
            out.append(servers)
        elif key == "@LISTEN@":
            out.append("\n".join(f"    listen {addr};" for addr in listen))
        elif key == "@PROXY_HEADERS@":
            out.append(indent(PROXY_HEADERS, 8))
        elif key == "@COMMON_HEADERS@":
            out.append(indent(COMMON_HEADERS, 8))
        else:
            out.append(line.replace("@WORKERS@", str(workers))
                       .replace("@CACHE_DIR@", cache_dir)
                       .replace("@SERVER_NAME@", server_name)
                       .replace("@PAGES_DIR@", pages_dir))
    text = "\n".join(out) + "\n"
    if re.search(r"@[A-Z_]+@", text):
        raise ValueError("unexpanded placeholder in the template")
    return text


def render_standalone(workers: int, base_port: int, listen: str, run_dir: str,
                      mime_types: str = "/etc/nginx/mime.types") -> str:
    site = render_site(workers, base_port, [listen], "_", f"{run_dir}/cache",
                       pages_dir=str(HERE / "pages"))
    return STANDALONE.format(run_dir=run_dir, mime_types=mime_types, site=indent(site, 4))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=["site", "standalone"], default="site")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--base-port", type=int, default=8501,
                    help="port of the first worker; worker i listens on base-port + i")
    ap.add_argument("--listen", action="append",
                    help="nginx listen address (repeatable); site default: 80 and [::]:80")
    ap.add_argument("--server-name", default="_")
    ap.add_argument("--cache-dir", default="/var/cache/nginx/regio-dashboard")
    ap.add_argument("--run-dir", help="standalone: folder for pid, temp files, cache and logs")
    ap.add_argument("--mime-types", default="/etc/nginx/mime.types")
    ap.add_argument("--pages-dir", default=PRODUCTION_PAGES,
                    help="site: folder of onderhoud.html (deploy/nginx/pages of the installation)")
    args = ap.parse_args(argv)
    if args.mode == "standalone":
        if not args.run_dir:
            ap.error("--mode standalone needs --run-dir")
        listen = (args.listen or ["127.0.0.1:8080"])[0]
        text = render_standalone(args.workers, args.base_port, listen, args.run_dir,
                                 args.mime_types)
    else:
        text = render_site(args.workers, args.base_port, args.listen, args.server_name,
                           args.cache_dir, pages_dir=args.pages_dir)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
