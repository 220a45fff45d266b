"""Shared pieces of the real-browser tests: a bounded `streamlit run` on 127.0.0.1, Debian's headless
Chromium through Playwright, waiting for Streamlit to go idle, and axe-core (npm) injection.

Used as a plain module (``from browser_support import ...``); the fixtures live in the test modules.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# WCAG 2.0 and 2.1, levels A and AA (the Dutch legal bar: EN 301 549 / WCAG 2.1 AA)
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(data_dir: Path, port: int, log: Path, timeout: float = 60,
                    script: str = "dashboard/serve.py") -> subprocess.Popen:
    """`streamlit run dashboard/serve.py` (as served: Dutch page shell) on loopback; returns once
    /_stcore/health answers."""
    env = {**os.environ, "REGIO_DATA_DIR": str(data_dir)}
    cmd = [sys.executable, "-m", "streamlit", "run", script,
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"streamlit did not become healthy within {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def wait_idle(page, timeout: float = 60_000) -> None:
    page.wait_for_selector(IDLE, timeout=timeout)


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("h1", timeout=60_000)
    wait_idle(page)


def run_axe(page, tags: list[str] | None = None) -> list[dict]:
    """Inject axe-core (once per document) and return its violations for the WCAG A+AA rules.
    Injected by evaluation (DevTools protocol), not as a <script> element: the dashboard's
    Content-Security-Policy refuses inline scripts it does not know."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    options = {"runOnly": {"type": "tag", "values": tags or WCAG_TAGS},
               "resultTypes": ["violations"]}
    result = page.evaluate("async (o) => { const r = await axe.run(document, o); "
                           "return r.violations.map(v => ({id: v.id, impact: v.impact, "
                           "help: v.help, nodes: v.nodes.map(n => ({target: n.target, "
                           "html: n.html, summary: n.failureSummary}))})); }", options)
    return result


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(where: str, violations: list[dict], max_nodes: int = 2) -> str:
    """A readable list: one line per rule, then a few offending elements."""
    lines = []
    for v in violations:
        lines.append(f"{where}: [{v['impact']}] {v['id']} — {v['help']} ({len(v['nodes'])}×)")
        for n in v["nodes"][:max_nodes]:
            last = n["target"][-1]  # the element itself (its ancestors are in the html)
            target = last if isinstance(last, str) else json.dumps(last)
            lines.append(f"      {target.split(' > ')[-1][:80]}: {n['html'][:160]}")
    return "\n".join(lines)
