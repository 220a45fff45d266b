"""The deploy examples are sandboxed: systemd units carry the hardening directives (and, where
this machine's systemd can rate offline units, ``systemd-analyze security`` rates them low), and
the scheduled workflow runs with a least-privilege token."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SYSTEMD = REPO / "deploy" / "systemd"
SERVICES = ["regio-refresh.service", "regio-dashboard.service", "regio-dashboard@.service"]
# the alert unit may run a setuid/setgid sendmail: lighter sandbox (see its comment)
MAX_EXPOSURE = {"regio-refresh.service": 2.0, "regio-dashboard.service": 2.0,
                "regio-dashboard@.service": 2.0, "regio-refresh-alert@.service": 3.5}
REQUIRED = {
    "NoNewPrivileges": "true", "CapabilityBoundingSet": "", "ProtectSystem": "strict",
    "ProtectHome": "true", "PrivateTmp": "true", "PrivateDevices": "true",
    "PrivateUsers": "true", "ProtectKernelTunables": "true", "ProtectKernelModules": "true",
    "ProtectKernelLogs": "true", "ProtectControlGroups": "true", "ProtectProc": "invisible",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "RestrictNamespaces": "true",
    "RestrictSUIDSGID": "true", "LockPersonality": "true", "MemoryDenyWriteExecute": "true",
    "SystemCallArchitectures": "native", "SystemCallFilter": "@system-service",
    "UMask": "0027",
}


def directives(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2).strip())
    return out


@pytest.mark.parametrize("unit", SERVICES)
def test_services_are_sandboxed(unit):
    d = directives(SYSTEMD / unit)
    for key, value in REQUIRED.items():
        assert value in d.get(key, []), f"{unit}: {key}={value} missing"
    assert "MemoryMax" in d and d["User"] == ["regio"]
    assert "~@privileged @resources" in d["SystemCallFilter"]
    if "refresh" in unit:
        assert d["ReadWritePaths"] == ["/var/lib/regio-economie"]  # the only writable place
    else:  # the dashboard only reads, and only talks to the proxy on this machine
        assert d["ReadOnlyPaths"] == ["/var/lib/regio-economie"] and "ReadWritePaths" not in d
        assert d["IPAddressDeny"] == ["any"] and d["IPAddressAllow"] == ["localhost"]


def _offline_security_supported() -> bool:
    exe = shutil.which("systemd-analyze")
    if not exe:
        return False
    done = subprocess.run([exe, "security", "--help"], capture_output=True, text=True, timeout=30)
    return "--offline" in done.stdout


@pytest.mark.skipif(not _offline_security_supported(),
                    reason="systemd-analyze with `security --offline` (systemd >= 252) not installed")
@pytest.mark.parametrize("unit", list(MAX_EXPOSURE))
def test_systemd_analyze_rates_the_units_low(unit, tmp_path):
    shutil.copy(SYSTEMD / unit, tmp_path / unit)
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", unit],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert m, done.stdout + done.stderr
    assert float(m.group(1)) <= MAX_EXPOSURE[unit], done.stdout
    check = subprocess.run(["systemd-analyze", "verify", "--man=no", unit], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert "Unknown key" not in check.stderr and "Invalid" not in check.stderr, check.stderr


def test_workflow_token_is_least_privilege():
    wf = yaml.safe_load((REPO / "deploy" / "github" / "nightly-refresh.yml").read_text())
    assert wf["permissions"] == {"contents": "read"}
    for job in wf["jobs"].values():
        assert job.get("permissions", {}) in ({}, {"contents": "read"})
