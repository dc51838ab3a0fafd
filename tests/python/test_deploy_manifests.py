"""Offline checks of deploy/: the Kubernetes manifests hang together (kinds,
selectors and labels, probe ports, resources and the memory budget, the HPA
and PDB aim at the Deployment), and the nginx config and the Dockerfile
agree with them. No cluster and no server needed."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def bytes_of(quantity):
    """'4Gi' (Kubernetes) or '3GiB' (tensorwire) -> bytes; powers of 1024."""
    match = re.fullmatch(r"(\d+)\s*([KMGT]?)(i?B?)", str(quantity))
    assert match, f"unreadable size {quantity!r}"
    return int(match.group(1)) * UNITS[match.group(2)]


@pytest.fixture(scope="module")
def manifests():
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def one(manifests, kind, name=None):
    found = [
        d
        for d in manifests
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def deployment(manifests):
    return one(manifests, "Deployment")


@pytest.fixture(scope="module")
def container(deployment):
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(container):
    return {e["name"]: e["value"] for e in container.get("env", [])}


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def test_kinds_and_api_versions(manifests):
    kinds = sorted((d["apiVersion"], d["kind"]) for d in manifests)
    assert kinds == sorted(
        [
            ("apps/v1", "Deployment"),
            ("v1", "Service"),
            ("v1", "Service"),
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ("policy/v1", "PodDisruptionBudget"),
        ]
    )
    for d in manifests:
        assert d["metadata"]["name"].startswith("tensorwire")


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def test_deployment_selector_matches_its_pod_labels(deployment):
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert matches(deployment["spec"]["selector"]["matchLabels"], labels)


def test_services_select_the_pods_and_target_declared_ports(manifests, deployment, container):
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": 50051, "http": 8080}
    services = [d for d in manifests if d["kind"] == "Service"]
    for service in services:
        assert matches(service["spec"]["selector"], labels), service["metadata"]["name"]
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert target in ports or target in ports.values(), (
                service["metadata"]["name"],
                target,
            )
    headless = [s for s in services if s["spec"].get("clusterIP") == "None"]
    assert len(headless) == 1, "one headless Service for client-side balancing"
    assert [p["port"] for p in headless[0]["spec"]["ports"]] == [50051]


def test_probes_are_grpc_health_checks_on_the_grpc_port(container):
    ports = {p["containerPort"] for p in container["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert probe in container, probe
        grpc_probe = container[probe].get("grpc")
        assert grpc_probe, f"{probe} must use the grpc: probe type"
        assert grpc_probe["port"] == 50051 and grpc_probe["port"] in ports
    # The service name the server registers with grpc.health.v1.Health.
    assert container["readinessProbe"]["grpc"].get("service") in (
        None,
        "",
        "tensorwire.v1.TensorService",
    )


def test_resources_and_memory_budget_agree(container):
    resources = container["resources"]
    for part in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[part]), part
    limit = bytes_of(resources["limits"]["memory"])
    assert bytes_of(resources["requests"]["memory"]) == limit, "memory request = limit"
    env = env_of(container)
    budget = bytes_of(env["TENSORWIRE_MEMORY_BUDGET"])
    # The budget counts tensor bytes only; the rest of the process needs room.
    assert budget < limit and limit - budget >= 1 << 30, (budget, limit)
    # One request (input + result of the largest tensor) fits in the budget.
    assert 2 * bytes_of(env["TENSORWIRE_MAX_TENSOR_BYTES"]) <= budget
    # Image decoding is outside the budget: it must fit in the headroom.
    assert bytes_of(env["TENSORWIRE_MAX_IMAGE_DECODE_BYTES"]) < limit - budget
    assert int(env["TENSORWIRE_MAX_CONCURRENT"]) <= float(resources["limits"]["cpu"])


def test_shutdown_fits_in_the_termination_grace(deployment, container):
    spec = deployment["spec"]["template"]["spec"]
    grace = int(env_of(container)["TENSORWIRE_SHUTDOWN_GRACE_SECS"])
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    pause = int(pre_stop[-1]) if pre_stop[0] == "sleep" else 0
    assert spec["terminationGracePeriodSeconds"] > grace + pause


def test_runs_as_non_root(deployment, container):
    pod = deployment["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_hpa_targets_the_deployment(manifests, deployment):
    hpa = one(manifests, "HorizontalPodAutoscaler")["spec"]
    target = hpa["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        deployment["metadata"]["name"],
    )
    assert 2 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    assert hpa["metrics"], "the HPA needs a metric"
    # CPU utilisation is relative to the request, which must exist.
    for metric in hpa["metrics"]:
        if metric["type"] == "Resource":
            assert metric["resource"]["name"] in ("cpu", "memory")


def test_pdb_selects_the_pods_and_leaves_some_running(manifests, deployment):
    pdb = one(manifests, "PodDisruptionBudget")["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert matches(pdb["selector"]["matchLabels"], labels)
    hpa_min = one(manifests, "HorizontalPodAutoscaler")["spec"]["minReplicas"]
    if "maxUnavailable" in pdb:
        assert 0 < pdb["maxUnavailable"] < hpa_min
    else:
        assert 0 < pdb["minAvailable"] < hpa_min


def test_nginx_balances_grpc_per_request_over_http2():
    conf = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())
    assert re.search(r"listen\s+\S+\s+http2\s*;", code) or re.search(r"http2\s+on\s*;", code)
    upstream = re.search(r"upstream\s+(\w+)\s*\{([^}]*)\}", code)
    assert upstream, "an upstream block"
    assert len(re.findall(r"^\s*server\s", upstream.group(2), re.M)) >= 2
    assert re.search(r"^\s*keepalive\s+\d+\s*;", upstream.group(2), re.M)
    assert re.search(rf"grpc_pass\s+grpc://{upstream.group(1)}\s*;", code)
    assert (
        "# replicas begin" in conf and "# replicas end" in conf
    )  # deploy/loadtest.sh rewrites these


def test_dockerfile_matches_the_manifests(container):
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM rust:1-bookworm AS build", dockerfile, re.M)
    assert re.search(r"^FROM debian:bookworm-slim", dockerfile, re.M)
    assert "cargo build --release --locked" in dockerfile
    assert re.search(r"^EXPOSE 50051 8080$", dockerfile, re.M)
    assert re.search(r"^USER 10001", dockerfile, re.M)
    entrypoint = re.search(r"^ENTRYPOINT (.*)$", dockerfile, re.M).group(1)
    assert '"--grpc-addr", "0.0.0.0:50051"' in entrypoint
    assert '"--http-addr", "0.0.0.0:8080"' in entrypoint
    assert {p["containerPort"] for p in container["ports"]} == {50051, 8080}
