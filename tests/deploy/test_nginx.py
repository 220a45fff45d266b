"""The nginx config of the multi-worker layout (deploy/nginx): rendered from one template, the
committed site file in step with it, accepted by a real nginx (`nginx -t`), and carrying the
choices the README promises (cookie affinity, websocket upgrade and timeouts, cached static
assets, lang="nl" safety net)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
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


def test_every_location_keeps_the_proxy_headers_and_names_its_worker():
    conf = render.render_site(2)
    for name in ["/", "= /_stcore/stream", "= /_stcore/health", "/media/"]:
        body = location(conf, name)
        assert "proxy_pass http://regio_dashboard;" in body, name
        assert "proxy_set_header X-Forwarded-For" in body, name
        assert "add_header X-Upstream $upstream_addr always;" in body, name
        assert "add_header Set-Cookie $regio_affinity_cookie always;" in body, name
    stream = location(conf, "= /_stcore/stream")
    assert "proxy_set_header Upgrade $http_upgrade;" in stream
    assert "proxy_set_header Connection $regio_connection_upgrade;" in stream
    assert "proxy_read_timeout 3600s;" in stream
    static = location(conf, "/static/")
    assert "proxy_cache regio_static;" in static and "proxy_cache_lock on;" in static
    root = location(conf, "/")
    assert "sub_filter '<html lang=\"en\">' '<html lang=\"nl\">';" in root
    assert "gzip on;" in conf


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
        "/var/cache/nginx/regio-dashboard", str(tmp_path / "cache"))
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
    import socket
    import time
    import urllib.error
    import urllib.request

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

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
        with pytest.raises(urllib.error.HTTPError) as health:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5)
        assert health.value.code == 502
        assert "even niet bereikbaar" not in health.value.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
