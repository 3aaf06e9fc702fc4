"""deploy/vllm: the launch script's vLLM arguments, and the health check run against the simulated vLLM."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gateway.config import Settings
from tests.deploy.deploy_files import DEPLOY, K8S_BASE, REPO, resolved, yaml_documents
from tests.support import SIM_KEYS, Simulator

SERVE = DEPLOY / "vllm" / "serve.sh"
HEALTHCHECK = DEPLOY / "vllm" / "healthcheck.sh"


def run(script: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture()
def fake_python(tmp_path: Path) -> Path:
    """A `python` on PATH that prints the arguments vLLM would have been started with."""
    stub = tmp_path / "python"
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\nprintf "key=%s\\n" "$VLLM_API_KEY"\n')
    stub.chmod(0o755)
    return tmp_path


def test_serve_starts_the_openai_server_with_the_gateway_model(fake_python: Path) -> None:
    env = {"PATH": f"{fake_python}:/usr/bin:/bin", "VLLM_API_KEY": "k-123"}
    result = run(SERVE, "--enable-prefix-caching", env=env)
    assert result.returncode == 0, result.stderr
    args = result.stdout.splitlines()
    assert args[:2] == ["-m", "vllm.entrypoints.openai.api_server"]

    def flag(name: str) -> str:
        return args[args.index(name) + 1]

    assert flag("--model") == flag("--served-model-name") == "meta-llama/Llama-3.1-8B-Instruct"
    assert flag("--tensor-parallel-size") == "1" and flag("--max-model-len") == "32768"
    assert args[-2:] == ["--enable-prefix-caching", "key=k-123"]
    assert "k-123" not in args[:-1], "the key travels in the environment, never on the command line"


def test_serve_follows_the_gateway_settings(fake_python: Path) -> None:
    env = {
        "PATH": f"{fake_python}:/usr/bin:/bin",
        "VLLM_API_KEY": "k",
        "GATEWAY_VLLM_MODEL": "llama-8b-prod",
        "VLLM_TENSOR_PARALLEL_SIZE": "2",
        "VLLM_PORT": "9000",
    }
    args = run(SERVE, env=env).stdout.splitlines()
    assert args[args.index("--served-model-name") + 1] == "llama-8b-prod"
    assert args[args.index("--tensor-parallel-size") + 1] == "2"
    assert args[args.index("--port") + 1] == "9000"


def test_serve_refuses_to_start_without_a_key(fake_python: Path) -> None:
    result = run(SERVE, env={"PATH": f"{fake_python}:/usr/bin:/bin"})
    assert result.returncode != 0
    assert "VLLM_API_KEY" in result.stderr and result.stdout == ""


@pytest.fixture()
def curl() -> str:
    path = shutil.which("curl")
    if path is None:
        pytest.skip("curl not installed (Debian package: curl)")
    return path


def health(sim: Simulator, *, key: str, model: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "VLLM_API_KEY": key}
    if model is not None:
        env["GATEWAY_VLLM_MODEL"] = model
    return run(HEALTHCHECK, sim.url + "/vllm", env=env)


def test_healthcheck_passes_when_the_served_name_matches(curl: str, sim: Simulator) -> None:
    result = health(sim, key=SIM_KEYS["vllm"])
    assert result.returncode == 0, result.stderr
    assert "serves meta-llama/Llama-3.1-8B-Instruct" in result.stdout


def test_healthcheck_fails_on_a_served_name_mismatch(curl: str, sim: Simulator) -> None:
    result = health(sim, key=SIM_KEYS["vllm"], model="meta-llama/Llama-3.1-70B-Instruct")
    assert result.returncode == 1
    assert "--served-model-name" in result.stderr


def test_healthcheck_fails_on_a_wrong_key(curl: str, sim: Simulator) -> None:
    assert health(sim, key="not-the-key").returncode != 0


def test_healthcheck_fails_when_nothing_listens(curl: str) -> None:
    env = {"PATH": os.environ["PATH"], "VLLM_API_KEY": "k"}
    assert run(HEALTHCHECK, "http://127.0.0.1:9", env=env).returncode != 0


def flag_values(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_policy_compose_k8s_and_script_agree_on_the_llama_target(fake_python: Path) -> None:
    policy = yaml.safe_load((REPO / "router_policies" / "default.yaml").read_text())
    (llama,) = [t for t in policy["targets"].values() if t["provider"] == "vllm"]
    served = Settings(_env_file=None).vllm_model  # type: ignore[call-arg]
    assert llama["model"] == served
    script = run(SERVE, env={"PATH": f"{fake_python}:/usr/bin:/bin", "VLLM_API_KEY": "k"}).stdout.splitlines()
    compose = [str(a) for a in resolved("gpu")["services"]["vllm"]["command"]]
    (k8s,) = [d for d in yaml_documents(K8S_BASE / "vllm.yaml") if d["kind"] == "Deployment"]
    pod_args = k8s["spec"]["template"]["spec"]["containers"][0]["args"]
    for args in (script, compose, pod_args):
        assert flag_values(args, "--served-model-name") == served
        assert int(flag_values(args, "--max-model-len")) == llama["context_window"]
