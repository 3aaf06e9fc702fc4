"""Linters over the deployment scripts and the Dockerfile, and the non-root user they agree on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.deploy.deploy_files import DEPLOY, K8S_BASE, REPO, need_binary, yaml_documents

SCRIPTS = sorted(DEPLOY.rglob("*.sh"))


def test_there_are_scripts_to_lint() -> None:
    assert {p.name for p in SCRIPTS} >= {"serve.sh", "healthcheck.sh"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_finds_nothing(script: Path) -> None:
    command = [need_binary("shellcheck"), "--severity=style", str(script)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_scripts_are_executable() -> None:
    for script in SCRIPTS:
        assert script.stat().st_mode & 0o111, f"chmod +x {script}"


def test_hadolint_finds_nothing() -> None:
    command = [need_binary("hadolint"), "--no-color", str(REPO / "Dockerfile")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_image_user_is_the_one_kubernetes_runs() -> None:
    users = [
        line.split()[1] for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("USER ")
    ]
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit()
    (deployment,) = [d for d in yaml_documents(K8S_BASE / "gateway.yaml") if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]["securityContext"]
    assert (pod["runAsUser"], pod["runAsGroup"]) == (int(uid), int(gid))
