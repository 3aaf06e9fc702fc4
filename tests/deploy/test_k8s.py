"""Kubernetes manifests validated offline against the bundled JSON schemas (kubernetes-validate, strict)."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

from tests.deploy.deploy_files import K8S_BASE, K8S_PRODUCTION, need_binary, yaml_documents
from tests.support import Gateway

KUBERNETES_VERSION = "1.32"
Doc = dict[str, Any]


def validate(doc: Doc) -> None:
    """Strict schema validation: an unknown or misspelt field fails too."""
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def kustomization(folder: Path) -> Doc:
    return yaml.safe_load((folder / "kustomization.yaml").read_text())  # type: ignore[no-any-return]


def base_documents() -> list[Doc]:
    return [doc for name in kustomization(K8S_BASE)["resources"] for doc in yaml_documents(K8S_BASE / name)]


def merge(base: Any, patch: Any) -> Any:
    """A small strategic merge: maps merge, lists of named maps merge by name, anything else is replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    named = (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(item, dict) and "name" in item for item in [*base, *patch])
    )
    if named:
        by_name = {item["name"]: item for item in base}
        result = [merge(by_name[item["name"]], item) if item["name"] in by_name else item for item in patch]
        patched = {item["name"] for item in patch}
        return [item for item in base if item["name"] not in patched] + result
    return copy.deepcopy(patch)


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} matches"
    return matches[0]


def container(doc: Doc, name: str) -> Doc:
    return next(c for c in doc["spec"]["template"]["spec"]["containers"] if c["name"] == name)


@pytest.fixture(scope="module")
def base() -> list[Doc]:
    return base_documents()


@pytest.fixture(scope="module")
def production() -> list[Doc]:
    """The production overlay applied by the small merge above (no kustomize binary needed)."""
    docs = copy.deepcopy(base_documents())
    overlay = kustomization(K8S_PRODUCTION)
    for entry in overlay["patches"]:
        (patch,) = yaml_documents(K8S_PRODUCTION / entry["path"])
        target = find(docs, patch["kind"], patch["metadata"]["name"])
        docs[docs.index(target)] = merge(target, patch)
    for resource in overlay["resources"]:
        if not resource.startswith("../"):
            docs.extend(yaml_documents(K8S_PRODUCTION / resource))
    return docs


def test_the_merge_follows_strategic_merge_for_named_lists() -> None:
    base = {"spec": {"replicas": 2, "containers": [{"name": "a", "image": "x", "env": [1]}, {"name": "b"}]}}
    patch = {"spec": {"replicas": 3, "containers": [{"name": "a", "env": [2]}]}}
    assert merge(base, patch) == {
        "spec": {"replicas": 3, "containers": [{"name": "b"}, {"name": "a", "image": "x", "env": [2]}]}
    }


def test_every_base_document_is_valid(base: list[Doc]) -> None:
    assert len(base) >= 15
    for doc in base:
        validate(doc)


def test_every_production_document_is_valid(production: list[Doc]) -> None:
    for doc in production:
        validate(doc)
    assert find(production, "Deployment", "gateway")["spec"]["replicas"] == 3
    assert find(production, "ConfigMap", "gateway-config")["data"]["GATEWAY_SIMULATE"] == "never"


def test_the_validator_catches_a_misspelt_field(base: list[Doc]) -> None:
    broken = copy.deepcopy(find(base, "Deployment", "gateway"))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {"path": "/readyz"}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)
    wrong_type = copy.deepcopy(find(base, "Deployment", "gateway"))
    wrong_type["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(wrong_type)


def test_overlay_patches_each_target_one_base_document(base: list[Doc]) -> None:
    for entry in kustomization(K8S_PRODUCTION)["patches"]:
        (patch,) = yaml_documents(K8S_PRODUCTION / entry["path"])
        find(base, patch["kind"], patch["metadata"]["name"])


def test_kustomize_render_is_valid_when_kubectl_is_here() -> None:
    kubectl = need_binary("kubectl")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S_PRODUCTION)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    for doc in docs:
        validate(doc)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "llm-gateway"
    gateway = find(docs, "Deployment", "gateway")
    assert container(gateway, "gateway")["image"] == "registry.example.com/llm-gateway:0.1.0"
    assert gateway["spec"]["replicas"] == 3
    assert find(docs, "StatefulSet", "redis")["spec"]["volumeClaimTemplates"][0]["spec"]["resources"] == {
        "requests": {"storage": "20Gi"}
    }


def test_gateway_drains_before_it_stops(base: list[Doc]) -> None:
    deployment = find(base, "Deployment", "gateway")
    pod = deployment["spec"]["template"]["spec"]
    gateway = container(deployment, "gateway")
    assert deployment["spec"]["replicas"] >= 2
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    sleep_s = int(gateway["lifecycle"]["preStop"]["exec"]["command"][-1])
    grace_s = float(find(base, "ConfigMap", "gateway-config")["data"]["GATEWAY_SHUTDOWN_GRACE_S"])
    assert pod["terminationGracePeriodSeconds"] > sleep_s + grace_s
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_gateway_runs_locked_down(base: list[Doc]) -> None:
    deployment = find(base, "Deployment", "gateway")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    security = container(deployment, "gateway")["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]


def test_gateway_settings_come_from_config_and_secret(base: list[Doc]) -> None:
    gateway = container(find(base, "Deployment", "gateway"), "gateway")
    assert gateway["envFrom"] == [{"configMapRef": {"name": "gateway-config"}}]
    from_secret = {e["name"] for e in gateway["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert {"GATEWAY_MASTER_KEY", "DATABASE_URL", "REDIS_URL", "VLLM_API_KEY"} <= from_secret
    assert all("value" not in e for e in gateway["env"]), "secrets never inline"
    config = find(base, "ConfigMap", "gateway-config")["data"]
    assert config["VLLM_BASE_URL"] == "http://vllm:8000/v1"
    find(base, "Service", "vllm")


def test_autoscaler_and_disruption_budget_keep_two_up(base: list[Doc]) -> None:
    hpa = find(base, "HorizontalPodAutoscaler", "gateway")["spec"]
    assert hpa["scaleTargetRef"]["name"] == "gateway" and hpa["minReplicas"] >= 2
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    assert find(base, "PodDisruptionBudget", "gateway")["spec"]["minAvailable"] >= 1


def test_stateful_stores_keep_their_data(base: list[Doc]) -> None:
    redis = find(base, "StatefulSet", "redis")
    args = container(redis, "redis")["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    postgres = find(base, "StatefulSet", "postgres")
    assert container(postgres, "postgres")["image"].startswith("pgvector/pgvector:")
    for doc in (redis, postgres, find(base, "StatefulSet", "qdrant")):
        assert doc["spec"]["volumeClaimTemplates"], doc["metadata"]["name"]


def test_qdrant_is_a_three_peer_cluster(base: list[Doc]) -> None:
    qdrant = find(base, "StatefulSet", "qdrant")
    assert qdrant["spec"]["replicas"] == 3
    config = yaml.safe_load(find(base, "ConfigMap", "qdrant-config")["data"]["production.yaml"])
    assert config["cluster"]["enabled"] is True
    assert config["storage"]["collection"]["replication_factor"] == 2
    assert find(base, "Service", "qdrant-headless")["spec"]["publishNotReadyAddresses"] is True
    assert "--bootstrap" in container(qdrant, "qdrant")["args"][0]


def test_vllm_gets_a_gpu_and_a_model_cache(base: list[Doc]) -> None:
    vllm = find(base, "Deployment", "vllm")
    pod = vllm["spec"]["template"]["spec"]
    server = container(vllm, "vllm")
    assert server["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert pod["nodeSelector"] and pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    claim = next(v for v in pod["volumes"] if "persistentVolumeClaim" in v)["persistentVolumeClaim"]
    find(base, "PersistentVolumeClaim", claim["claimName"])
    args = server["args"]
    served = args[args.index("--served-model-name") + 1]
    assert served == find(base, "ConfigMap", "gateway-config")["data"]["GATEWAY_VLLM_MODEL"]
    assert {"--tensor-parallel-size", "--max-model-len"} <= set(args)


def test_probe_paths_answer_on_a_real_gateway(base: list[Doc], gateway: Gateway) -> None:
    probes = container(find(base, "Deployment", "gateway"), "gateway")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        path = probes[probe]["httpGet"]["path"]
        assert httpx.get(gateway.url + path, timeout=10).status_code == 200, probe
    assert httpx.get(gateway.url + "/metrics", timeout=10).status_code == 200
