"""The nginx config of the multi-worker layout (deploy/nginx): rendered from one template, the
committed site file in step with it, accepted by a real nginx (`nginx -t`), and carrying the
choices docs/deploy.md promises (cookie affinity, websocket upgrade and timeouts, cached static
assets, lang="nl" safety net), the security headers (no worker address in any response, HSTS
only in the TLS variant, the app's Content-Security-Policy passed on) checked against a running
nginx in front of a stand-in upstream."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import http.server
import importlib.util
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NGINX_DIR = REPO / "deploy" / "nginx"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

spec = importlib.util.spec_from_file_location("nginx_render", NGINX_DIR / "render.py")
render = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render)


def location(conf: str, name: str) -> str:
    m = re.search(r"location " + re.escape(name) + r" \{(.*?)\n    \}", conf, re.S)
    assert m, f"no location {name}"
    return m.group(1)


def test_committed_site_file_is_the_rendered_template():
    committed = (NGINX_DIR / "regio-dashboard.conf").read_text()
    assert committed == render.render_site(2), (
        "deploy/nginx/regio-dashboard.conf is out of date: "
        "python3 deploy/nginx/render.py > deploy/nginx/regio-dashboard.conf")


def test_one_upstream_server_per_worker_with_cookie_hash():
    conf = render.render_site(4, base_port=9001)
    servers = re.findall(r"^\s*server (127\.0\.0\.1:\d+) ", conf, re.M)
    assert servers == [f"127.0.0.1:{p}" for p in range(9001, 9005)]
    assert "hash $regio_affinity_key consistent;" in conf
    assert not re.search(r"^\s*ip_hash", conf, re.M)  # NAT: a town hall shares one address
    # the affinity cookie is set by nginx itself, only while the browser has none
    assert re.search(r'""\s+"regio_worker=\$request_id; Path=/; HttpOnly; SameSite=Lax";', conf)
    with pytest.raises(ValueError):
        render.render_site(0)


PROXIED = ["/", "= /_stcore/stream", "= /_stcore/health", "/media/"]
HIDDEN = ("X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")
STATIC_HEADERS = ["add_header X-Frame-Options DENY always;",
                  "add_header X-Content-Type-Options nosniff always;",
                  "add_header Referrer-Policy strict-origin-when-cross-origin always;"]
HSTS = 'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'


def test_every_location_keeps_the_proxy_headers_and_the_security_headers():
    conf = render.render_site(2)
    for name in PROXIED:
        body = location(conf, name)
        assert "proxy_pass http://regio_dashboard;" in body, name
        assert "proxy_set_header X-Forwarded-For" in body, name
        assert "add_header Set-Cookie $regio_affinity_cookie always;" in body, name
        assert "add_header Content-Security-Policy $regio_csp_fallback always;" in body, name
    for name in PROXIED + ["/static/", "= /_regio/onderhoud.html"]:
        body = location(conf, name)
        for line in STATIC_HEADERS:  # add_header in a location drops the server's: all here
            assert line in body, (name, line)
        if name != "= /_regio/onderhoud.html":  # the app's copies are hidden: each sent once
            for header in HIDDEN:
                assert f"proxy_hide_header {header};" in body, (name, header)
    stream = location(conf, "= /_stcore/stream")
    assert "proxy_set_header Upgrade $http_upgrade;" in stream
    assert "proxy_set_header Connection $regio_connection_upgrade;" in stream
    assert "proxy_read_timeout 3600s;" in stream
    static = location(conf, "/static/")
    assert "proxy_cache regio_static;" in static and "proxy_cache_lock on;" in static
    root = location(conf, "/")
    assert "sub_filter '<html lang=\"en\">' '<html lang=\"nl\">';" in root
    assert "gzip on;" in conf


def test_no_response_names_a_worker_but_the_access_log_does():
    conf = render.render_site(2)
    assert "X-Upstream" not in conf
    assert not re.search(r"add_header\s+\S+\s+[^;]*\$upstream_addr", conf)
    assert "upstream=$upstream_addr" in conf and "affinity=$regio_affinity_source" in conf
    assert re.search(r"^    access_log /var/log/nginx/regio-dashboard\.access\.log regio_upstream;$",
                     conf, re.M)
    assert "add_header Strict-Transport-Security" not in conf  # plain http: HSTS is the TLS end's


def test_error_page_policy_allows_exactly_its_own_style():
    page = (NGINX_DIR / "pages" / "onderhoud.html").read_text()
    (style,) = re.findall(r"<style>(.*?)</style>", page, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    body = location(render.render_site(2), "= /_regio/onderhoud.html")
    (csp,) = re.findall(r'add_header Content-Security-Policy "([^"]*)" always;', body)
    assert csp == (f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; "
                   "form-action 'none'; frame-ancestors 'none'")
    assert "<script" not in page


def test_tls_variant_sends_hsts_everywhere_and_redirects_plain_http():
    conf = render.render_site(2, server_name="dashboard.example.org",
                              tls_certificate="/etc/ssl/regio.pem",
                              tls_certificate_key="/etc/ssl/private/regio.key")
    main, redirect = conf.split("\n# plain http: only a redirect")
    assert "listen 443 ssl;" in main and "listen [::]:443 ssl;" in main
    assert "ssl_certificate /etc/ssl/regio.pem;" in main
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in main
    for name in PROXIED + ["/static/", "= /_regio/onderhoud.html"]:
        assert HSTS in location(main, name), name
    assert "Strict-Transport-Security" not in redirect
    assert "listen 80;" in redirect and "return 301 https://$host$request_uri;" in redirect
    assert "SameSite=Lax; Secure" in main  # the affinity cookie only over https
    with pytest.raises(ValueError, match="key"):
        render.render_site(2, tls_certificate="/etc/ssl/regio.pem")
    with pytest.raises(SystemExit):
        render.main(["--tls-certificate", "/etc/ssl/regio.pem"])


@pytest.mark.skipif(NGINX is None, reason="nginx not installed (make nginx)")
@pytest.mark.parametrize("workers", [1, 2, 8])
def test_nginx_accepts_the_rendered_configs(tmp_path, workers):
    run = tmp_path / "run"
    (run / "tmp").mkdir(parents=True)
    conf = run / "nginx.conf"
    conf.write_text(render.render_standalone(workers, 8501, "127.0.0.1:8080", str(run)))
    out = subprocess.run([NGINX, "-e", "stderr", "-p", f"{run}/", "-c", str(conf), "-t"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    # the production site file inside a minimal http block (its cache dir moved to tmp)
    site = (NGINX_DIR / "regio-dashboard.conf").read_text().replace(
        "/var/cache/nginx/regio-dashboard", str(run / "cache")).replace(
        "/var/log/nginx/regio-dashboard.access.log", str(run / "access.log")).replace(
        "listen 80;", "listen 127.0.0.1:8080;").replace("listen [::]:80;", "")
    wrapper = render.STANDALONE.format(run_dir=run, mime_types="/etc/nginx/mime.types",
                                       site=site)
    conf.write_text(wrapper)
    out = subprocess.run([NGINX, "-e", "stderr", "-p", f"{run}/", "-c", str(conf), "-t"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


def test_rendered_config_fails_loudly_on_an_unknown_placeholder(monkeypatch, tmp_path):
    bad = tmp_path / "bad.conf.in"
    bad.write_text("upstream x {\n@UPSTREAM_SERVERS@\n}\n# @NOT_A_PLACEHOLDER@\n")
    monkeypatch.setattr(render, "TEMPLATE", bad)
    with pytest.raises(ValueError, match="placeholder"):
        render.render_site(2)


def test_systemd_template_unit_matches_the_nginx_upstreams():
    unit = (REPO / "deploy" / "systemd" / "regio-dashboard@.service").read_text()
    exec_start = next(ln for ln in unit.splitlines() if ln.startswith("ExecStart="))
    assert "--server.port %i" in exec_start and "--server.address 127.0.0.1" in exec_start
    user = next(ln.split("=", 1)[1] for ln in unit.splitlines() if ln.startswith("User="))
    assert user not in ("root", "0")
    assert "ReadOnlyPaths=/var/lib/regio-economie" in unit
    assert "WantedBy=regio-dashboards.target" in unit
    # the install line enables one instance per upstream server of the rendered site
    ports = re.findall(r"server 127\.0\.0\.1:(\d+)", (NGINX_DIR / "regio-dashboard.conf").read_text())
    enable = next(ln for ln in unit.splitlines() if "systemctl enable" in ln)
    assert re.findall(r"regio-dashboard@(\d+)", enable) == ports


@pytest.mark.skipif(NGINX is None or not Path("/etc/nginx/nginx.conf").exists(),
                    reason="Debian's nginx and its /etc/nginx not installed (make nginx)")
def test_site_file_drops_into_debians_nginx_conf(tmp_path):
    """The rendered site in sites-enabled of Debian's own nginx.conf (which already sets gzip and
    more in its http block): no clash of directives or variable names."""
    etc = tmp_path / "etc-nginx"
    shutil.copytree("/etc/nginx", etc, symlinks=False, ignore_dangling_symlinks=True)
    enabled = etc / "sites-enabled"
    shutil.rmtree(enabled, ignore_errors=True)
    enabled.mkdir()
    site = (NGINX_DIR / "regio-dashboard.conf").read_text().replace(
        "/var/cache/nginx/regio-dashboard", str(tmp_path / "cache")).replace(
        "/var/log/nginx/regio-dashboard.access.log", str(tmp_path / "access.log"))
    (enabled / "regio-dashboard").write_text(site)
    for f in etc.rglob("*"):
        if f.is_file() and not f.is_symlink():
            text = f.read_text(errors="replace")
            if "/etc/nginx" in text:
                f.write_text(text.replace("/etc/nginx", str(etc)))
    out = subprocess.run([NGINX, "-e", "stderr", "-t", "-c", str(etc / "nginx.conf")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


@pytest.mark.skipif(NGINX is None, reason="nginx not installed (make nginx)")
def test_no_worker_reachable_gives_the_dutch_retry_page(tmp_path):
    """nginx in front of a port where nothing listens: the page is a Dutch 502 with a retry link,
    the health endpoint a plain failure for monitoring."""
    port, dead = free_port(), free_port()
    run = tmp_path / "run"
    (run / "tmp").mkdir(parents=True)
    conf = run / "nginx.conf"
    conf.write_text(render.render_standalone(1, dead, f"127.0.0.1:{port}", str(run)))
    # as root, nginx's worker would be `nobody`, which cannot enter pytest's private tmp folder
    extra = "user root;" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    proc = subprocess.Popen([NGINX, "-e", "stderr", "-p", f"{run}/", "-c", str(conf),
                             "-g", f"daemon off; {extra}"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
                raise AssertionError("expected 502")
            except urllib.error.HTTPError as e:
                status, body, headers = e.code, e.read().decode(), e.headers
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.2)
        assert status == 502
        assert '<html lang="nl">' in body and "even niet bereikbaar" in body
        assert headers["Retry-After"] == "30" and headers["Cache-Control"] == "no-store"
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"].startswith("default-src 'none'; style-src 'sha256-")
        assert headers.get_all("Content-Security-Policy") == [headers["Content-Security-Policy"]]
        with pytest.raises(urllib.error.HTTPError) as health:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5)
        assert health.value.code == 502
        assert "even niet bereikbaar" not in health.value.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------- a running nginx

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_nginx(run: Path, site: str, port: int):
    """nginx in the foreground with ``site`` in the standalone wrapper; yields once ``port``
    accepts connections."""
    (run / "tmp").mkdir(parents=True, exist_ok=True)
    conf = run / "nginx.conf"
    conf.write_text(render.STANDALONE.format(run_dir=run, mime_types="/etc/nginx/mime.types",
                                             site=render.indent(site, 4)))
    # as root, nginx's worker would be `nobody`, which cannot enter pytest's private tmp folder
    extra = "user root;" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    proc = subprocess.Popen([NGINX, "-e", "stderr", "-p", f"{run}/", "-c", str(conf),
                             "-g", f"daemon off; {extra}"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


APP_CSP = "default-src 'self'; frame-ancestors 'none'"


class StandIn(http.server.BaseHTTPRequestHandler):
    """A worker: /with-csp answers like the app (its own policy and framing header), /plain like
    an app without them."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b"<html lang=\"en\"><body>ok</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        if self.path.startswith("/with-csp"):
            self.send_header("Content-Security-Policy", APP_CSP)
            self.send_header("X-Frame-Options", "SAMEORIGIN")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def stand_in_worker():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str, context: ssl.SSLContext | None = None):
    with urllib.request.urlopen(url, timeout=5, context=context) as r:
        return r.status, r.headers, r.read().decode()


def wait_for_log(log: Path, needle: str) -> str:
    """nginx writes the line once the response is sent: wait (briefly) for it."""
    deadline = time.monotonic() + 5
    while True:
        text = log.read_text() if log.exists() else ""
        if needle in text:
            return text
        assert time.monotonic() < deadline, text[-2000:]
        time.sleep(0.05)


@pytest.mark.skipif(NGINX is None, reason="nginx not installed (make nginx)")
def test_running_nginx_passes_the_apps_policy_adds_the_rest_and_names_no_worker(tmp_path):
    port = free_port()
    run = tmp_path / "run"
    with stand_in_worker() as worker:
        site = render.render_site(1, worker, [f"127.0.0.1:{port}"], cache_dir=str(run / "cache"),
                                  access_log=str(run / "access.log"),
                                  pages_dir=str(NGINX_DIR / "pages"))
        with running_nginx(run, site, port):
            status, headers, body = fetch(f"http://127.0.0.1:{port}/with-csp")
            assert status == 200 and '<html lang="nl">' in body
            # the app's policy, once and unchanged; nginx's framing header instead of the app's
            assert headers.get_all("Content-Security-Policy") == [APP_CSP]
            assert headers.get_all("X-Frame-Options") == ["DENY"]
            assert headers.get_all("X-Content-Type-Options") == ["nosniff"]
            assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
            assert "regio_worker=" in headers["Set-Cookie"]
            assert "Strict-Transport-Security" not in headers
            # no header value names the worker's address or port
            worker_addr = f"127.0.0.1:{worker}"
            for name, value in headers.items():
                assert f":{worker}" not in value and "X-Upstream" not in name, (name, value)
            # an app that sends no policy still may not be framed
            _, headers, _ = fetch(f"http://127.0.0.1:{port}/plain")
            assert headers.get_all("Content-Security-Policy") == [
                "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"]
            # operations: the access log names the worker, and whether the cookie was there
            req = urllib.request.Request(f"http://127.0.0.1:{port}/plain?marked",
                                         headers={"Cookie": "regio_worker=abc"})
            urllib.request.urlopen(req, timeout=5).close()
            log = wait_for_log(run / "access.log", "/plain?marked")
            line = next(ln for ln in log.splitlines() if "/plain?marked" in ln)
            assert f"upstream={worker_addr} affinity=cookie" in line
            assert f"upstream={worker_addr} affinity=address" in log.splitlines()[0]


@pytest.mark.skipif(NGINX is None or shutil.which("openssl") is None,
                    reason="nginx or openssl not installed")
def test_tls_variant_runs_with_a_self_signed_certificate(tmp_path):
    """The TLS site as rendered (certificate made here) passes `nginx -t`, answers over https
    with HSTS, and its plain-http server only redirects."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    port, plain = free_port(), free_port()
    run = tmp_path / "run"
    with stand_in_worker() as worker:
        site = render.render_site(1, worker, [f"127.0.0.1:{port}"], server_name="localhost",
                                  cache_dir=str(run / "cache"), access_log=str(run / "access.log"),
                                  pages_dir=str(NGINX_DIR / "pages"), tls_certificate=str(cert),
                                  tls_certificate_key=str(key),
                                  redirect_listen=[f"127.0.0.1:{plain}"])
        (run / "tmp").mkdir(parents=True)
        conf = run / "test.conf"
        conf.write_text(render.STANDALONE.format(run_dir=run, mime_types="/etc/nginx/mime.types",
                                                 site=site))
        out = subprocess.run([NGINX, "-e", "stderr", "-p", f"{run}/", "-c", str(conf), "-t"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        with running_nginx(run, site, port):
            context = ssl.create_default_context(cafile=str(cert))
            context.check_hostname = False
            status, headers, _ = fetch(f"https://127.0.0.1:{port}/with-csp", context)
            assert status == 200
            assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
            assert headers.get_all("Content-Security-Policy") == [APP_CSP]
            assert headers["Set-Cookie"].endswith("; Secure")
            conn = http.client.HTTPConnection("127.0.0.1", plain, timeout=5)
            conn.request("GET", "/human_capital?gemeente=GM0344", headers={"Host": "localhost"})
            resp = conn.getresponse()
            assert resp.status == 301
            assert resp.getheader("Location") == "https://localhost/human_capital?gemeente=GM0344"
            assert resp.getheader("Strict-Transport-Security") is None
            conn.close()
