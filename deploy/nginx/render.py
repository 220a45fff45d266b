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

Where nginx itself ends TLS, give the certificate: the site then listens on 443 with HSTS and a
port-80 server only redirects to https::

    python3 deploy/nginx/render.py --workers 4 --server-name dashboard.gemeente.nl \
        --tls-certificate /etc/ssl/regio/fullchain.pem \
        --tls-certificate-key /etc/ssl/private/regio.key > /etc/nginx/sites-available/regio-dashboard

Standard library only: it runs with the system's python3 as well as the project's venv.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
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
proxy_set_header Accept-Encoding "";
proxy_hide_header X-Frame-Options;
proxy_hide_header X-Content-Type-Options;
proxy_hide_header Referrer-Policy;"""

# On every response, nginx's own included (the app's copies are hidden above, so each header is
# sent once). The Content-Security-Policy comes from the app (see the template's header).
SECURITY_HEADERS = """\
add_header X-Frame-Options DENY always;
add_header X-Content-Type-Options nosniff always;
add_header Referrer-Policy strict-origin-when-cross-origin always;"""
# only on the TLS server: browsers ignore it over plain http. One year; includeSubDomains covers
# hosts below the dashboard's own name only (e.g. not the gemeente's main site).
HSTS = 'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'

# Set-Cookie is empty (so not sent) once the browser has its affinity cookie; the CSP fallback
# is empty (not sent) when the app sent its own policy.
COMMON_HEADERS = """\
add_header Set-Cookie $regio_affinity_cookie always;
@SECURITY_HEADERS@
add_header Content-Security-Policy $regio_csp_fallback always;"""

# Mozilla's "intermediate" TLS settings (TLS 1.2 with forward-secret AEAD ciphers, and 1.3)
CIPHERS = ":".join(f"ECDHE-{k}-{c}" for c in ("AES128-GCM-SHA256", "AES256-GCM-SHA384",
                                             "CHACHA20-POLY1305") for k in ("ECDSA", "RSA"))
TLS = """\
ssl_certificate {certificate};
ssl_certificate_key {key};
ssl_protocols TLSv1.2 TLSv1.3;
ssl_ciphers """ + CIPHERS + """;
ssl_prefer_server_ciphers off;
ssl_session_cache shared:regio_tls:10m;
ssl_session_timeout 1d;
ssl_session_tickets off;"""

REDIRECT_SERVER = """
# plain http: only a redirect to https (no HSTS here: browsers ignore it over http)
server {{
{listen}
    server_name {server_name};
    server_tokens off;
    return 301 https://$host$request_uri;
}}"""

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


def page_csp(page: Path) -> str:
    """The Content-Security-Policy of nginx's own error page: nothing but its one inline <style>
    (allowed by its sha256 hash, so a changed page needs a new render)."""
    styles = re.findall(r"<style>(.*?)</style>", page.read_text(encoding="utf-8"), re.S)
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
                      + "'" for s in styles)
    return (f"default-src 'none'; style-src {hashes}; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")


def render_site(workers: int, base_port: int = 8501, listen: list[str] | None = None,
                server_name: str = "_", cache_dir: str = "/var/cache/nginx/regio-dashboard",
                upstream_host: str = "127.0.0.1", pages_dir: str = PRODUCTION_PAGES,
                access_log: str = "/var/log/nginx/regio-dashboard.access.log",
                tls_certificate: str | None = None, tls_certificate_key: str | None = None,
                redirect_listen: list[str] | None = None) -> str:
    """The site for ``workers`` workers. With ``tls_certificate`` (and its key) the server listens
    with TLS (default 443 and [::]:443), sends HSTS, and a second server on ``redirect_listen``
    (default 80 and [::]:80) redirects to https."""
    if workers < 1:
        raise ValueError("at least one worker")
    tls = tls_certificate is not None
    if tls != (tls_certificate_key is not None):
        raise ValueError("TLS needs both the certificate and its key")
    listen = listen or (["443", "[::]:443"] if tls else ["80", "[::]:80"])
    servers = "\n".join(f"    server {upstream_host}:{base_port + i} max_fails=3 fail_timeout=10s;"
                        for i in range(workers))
    security = SECURITY_HEADERS + ("\n" + HSTS if tls else "")
    blocks = {
        "@UPSTREAM_SERVERS@": servers,
        "@LISTEN@": "\n".join(f"    listen {addr}{' ssl' if tls else ''};" for addr in listen),
        "@TLS@": indent(TLS.format(certificate=tls_certificate, key=tls_certificate_key), 4)
                 if tls else "",
        "@PROXY_HEADERS@": indent(PROXY_HEADERS, 8),
        "@COMMON_HEADERS@": indent(COMMON_HEADERS.replace("@SECURITY_HEADERS@", security), 8),
        "@SECURITY_HEADERS@": indent(security, 8),
        "@REDIRECT_SERVER@": REDIRECT_SERVER.format(
            listen="\n".join(f"    listen {a};" for a in redirect_listen or ["80", "[::]:80"]),
            server_name=server_name) if tls else "",
    }
    out = []
    for line in TEMPLATE.read_text().splitlines():
        key = line.strip()
        if key in blocks:
            if blocks[key]:  # an empty block leaves no line behind
                out.append(blocks[key])
        else:
            out.append(line.replace("@WORKERS@", str(workers))
                       .replace("@CACHE_DIR@", cache_dir)
                       .replace("@SERVER_NAME@", server_name)
                       .replace("@PAGES_DIR@", pages_dir)
                       .replace("@ACCESS_LOG@", access_log)
                       .replace("@COOKIE_SECURE@", "; Secure" if tls else "")
                       .replace("@PAGE_CSP@", page_csp(HERE / "pages" / "onderhoud.html")))
    text = "\n".join(out) + "\n"
    if re.search(r"@[A-Z_]+@", text):
        raise ValueError("unexpanded placeholder in the template")
    return text


def render_standalone(workers: int, base_port: int, listen: str, run_dir: str,
                      mime_types: str = "/etc/nginx/mime.types") -> str:
    site = render_site(workers, base_port, [listen], "_", f"{run_dir}/cache",
                       pages_dir=str(HERE / "pages"), access_log=f"{run_dir}/access.log")
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
    ap.add_argument("--access-log", default="/var/log/nginx/regio-dashboard.access.log",
                    help="site: access log (format regio_upstream: names the worker)")
    ap.add_argument("--tls-certificate",
                    help="site: nginx ends TLS with this certificate (chain): listens on 443 "
                         "with HSTS, port 80 redirects")
    ap.add_argument("--tls-certificate-key", help="site: the certificate's private key")
    args = ap.parse_args(argv)
    if (args.tls_certificate is None) != (args.tls_certificate_key is None):
        ap.error("--tls-certificate and --tls-certificate-key go together")
    if args.mode == "standalone":
        if not args.run_dir:
            ap.error("--mode standalone needs --run-dir")
        listen = (args.listen or ["127.0.0.1:8080"])[0]
        text = render_standalone(args.workers, args.base_port, listen, args.run_dir,
                                 args.mime_types)
    else:
        text = render_site(args.workers, args.base_port, args.listen, args.server_name,
                           args.cache_dir, pages_dir=args.pages_dir, access_log=args.access_log,
                           tls_certificate=args.tls_certificate,
                           tls_certificate_key=args.tls_certificate_key)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
