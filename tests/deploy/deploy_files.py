"""Paths of the deployment files and small readers shared by the deployment tests."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from gateway.observability.metrics import Metrics

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S_BASE = DEPLOY / "k8s" / "base"
K8S_PRODUCTION = DEPLOY / "k8s" / "overlays" / "production"
PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"

# Metrics the dashboard and alerts already use that the gateway does not export yet (named in the report).
COMING_METRICS = frozenset({"gateway_drift_psi", "gateway_circuit_state", "gateway_routed_requests_total"})

# A gateway_* name that is not part of a recording rule's level:metric:operation name.
_GATEWAY_METRIC = re.compile(r"(?<![\w:])gateway_[a-z0-9_]+(?![\w:])")
_RECORDED = re.compile(r"(?<![\w:])[a-z_]+:[a-z0-9_:]+(?![\w:])")
_SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
    "gauge": ("",),
}


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    """Every non-empty YAML document in a file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def exported_metric_names() -> set[str]:
    """Sample names a fresh gateway registry exports (counters as `_total`, histograms as `_bucket`...)."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.update(family.name + suffix for suffix in _SAMPLE_SUFFIXES[family.type])
    return names


def gateway_metric_names(expr: str) -> set[str]:
    """The gateway_* metric names a PromQL expression reads."""
    return set(_GATEWAY_METRIC.findall(expr))


def recorded_names(expr: str) -> set[str]:
    """The recording-rule names (level:metric:operation) a PromQL expression reads."""
    return set(_RECORDED.findall(expr))


def need_binary(name: str) -> str:
    """The binary's path, or skip the test with the Debian package that provides it."""
    import pytest

    packages = {"docker-compose": "docker-compose", "promtool": "prometheus", "kubectl": "kubectl"}
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"`{name}` not installed (Debian package: apt-get install {packages.get(name, name)})")
    return path
