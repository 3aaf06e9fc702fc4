"""docker-compose.yml and .env.example, validated by Debian's `docker-compose config` (no engine needed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.deploy_files import ENV_EXAMPLE, REPO, compose, env_example, resolved

GATEWAYS = ("gateway-1", "gateway-2")
SECRET_NAME = re.compile(r"(KEY|PASSWORD|TOKEN|SECRET)$")


@pytest.fixture(scope="module")
def default_stack() -> dict[str, Any]:
    return resolved()


@pytest.fixture(scope="module")
def gpu_stack() -> dict[str, Any]:
    return resolved("gpu")


def mounts(stack: dict[str, Any], service: str) -> list[tuple[str, str, bool]]:
    """(source, target, is a named volume) for each of a service's mounts (1.29 prints the short syntax)."""
    found = []
    for entry in stack["services"][service].get("volumes", []):
        source, target = entry.split(":")[:2]
        found.append((source, target, source in stack["volumes"]))
    return found


def test_only_vllm_waits_for_the_gpu_profile(gpu_stack: dict[str, Any]) -> None:
    profiles = {name: service.get("profiles") for name, service in gpu_stack["services"].items()}
    assert profiles.pop("vllm") == ["gpu"]
    assert set(profiles) == {*GATEWAYS, "proxy", "postgres", "redis", "qdrant", "prometheus", "grafana"}
    assert all(p is None for p in profiles.values())
    for name, service in gpu_stack["services"].items():
        assert "vllm" not in service.get("depends_on", {}), f"{name} must start without the gpu profile"


def test_gpu_profile_adds_vllm_with_a_gpu_reservation(gpu_stack: dict[str, Any]) -> None:
    vllm = gpu_stack["services"]["vllm"]
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert "healthcheck" in vllm
    assert ("vllm-models", "/root/.cache/huggingface", True) in mounts(gpu_stack, "vllm")


def test_vllm_serves_the_name_the_gateway_asks_for(gpu_stack: dict[str, Any]) -> None:
    vllm = gpu_stack["services"]["vllm"]
    args = vllm["command"]
    served = args[args.index("--served-model-name") + 1]
    assert served == env_example()["GATEWAY_VLLM_MODEL"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert args[args.index("--model") + 1] == "meta-llama/Llama-3.1-8B-Instruct"
    for name in GATEWAYS:
        env = gpu_stack["services"][name]["environment"]
        assert env["VLLM_BASE_URL"] == "http://vllm:8000/v1"
        assert env["GATEWAY_VLLM_MODEL"] == served
        assert env["VLLM_API_KEY"] == vllm["environment"]["VLLM_API_KEY"]


def test_two_gateway_replicas_share_stores_and_sit_behind_the_proxy(default_stack: dict[str, Any]) -> None:
    services = default_stack["services"]
    first, second = (services[name]["environment"] for name in GATEWAYS)
    assert first == second
    assert first["GATEWAY_HOST"] == "0.0.0.0"
    assert re.fullmatch(r"postgresql://gateway:[^@]+@postgres:5432/gateway", first["DATABASE_URL"])
    assert first["REDIS_URL"].startswith("redis://:") and first["REDIS_URL"].endswith("@redis:6379/0")
    assert set(services["proxy"]["depends_on"]) == set(GATEWAYS)
    for name in GATEWAYS:
        assert "ports" not in services[name], "replicas are reached through the proxy only"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    nginx = (REPO / "deploy/proxy/nginx.conf").read_text()
    assert all(f"server {name}:8080" in nginx for name in GATEWAYS)


def test_replicas_stop_after_their_shutdown_grace(default_stack: dict[str, Any]) -> None:
    for name in GATEWAYS:
        service = default_stack["services"][name]
        grace = float(service["environment"]["GATEWAY_SHUTDOWN_GRACE_S"])
        assert service["stop_signal"] == "SIGTERM"
        assert _seconds(service["stop_grace_period"]) > grace


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", value)
    assert match and value, value
    return int(match.group(1) or 0) * 60 + float(match.group(2) or 0)


def test_every_service_has_a_health_check_and_named_volumes(gpu_stack: dict[str, Any]) -> None:
    for name, service in gpu_stack["services"].items():
        assert "healthcheck" in service, name
    for name in ("postgres", "redis", "qdrant", "prometheus", "grafana", "vllm"):
        assert any(named for _, _, named in mounts(gpu_stack, name)), name


def test_redis_persists_the_limiter_state(default_stack: dict[str, Any]) -> None:
    command = default_stack["services"]["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert ("redis-data", "/data", True) in mounts(default_stack, "redis")


def test_postgres_has_pgvector(default_stack: dict[str, Any]) -> None:
    assert default_stack["services"]["postgres"]["image"].startswith("pgvector/pgvector:")


def test_bind_mounts_point_at_committed_files(gpu_stack: dict[str, Any]) -> None:
    binds = [src for name in gpu_stack["services"] for src, _, named in mounts(gpu_stack, name) if not named]
    assert len(binds) == 5
    for source in binds:
        assert Path(source).is_relative_to(REPO / "deploy") and Path(source).exists(), source


def test_a_missing_secret_is_refused_by_name(tmp_path: Path) -> None:
    lines = [ln for ln in ENV_EXAMPLE.read_text().splitlines() if not ln.startswith("POSTGRES_PASSWORD=")]
    env_file = tmp_path / "env"
    env_file.write_text("\n".join(lines) + "\n")
    result = compose("config", env_file=env_file)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_an_empty_vllm_url_selects_the_simulated_vllm(tmp_path: Path) -> None:
    text = re.sub(r"^VLLM_BASE_URL=.*$", "VLLM_BASE_URL=", ENV_EXAMPLE.read_text(), flags=re.M)
    env_file = tmp_path / "env"
    env_file.write_text(text)
    result = compose("config", env_file=env_file)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["services"]["gateway-1"]["environment"]["VLLM_BASE_URL"] == ""


def test_env_example_holds_no_real_secret() -> None:
    values = env_example()
    secrets = {name: value for name, value in values.items() if SECRET_NAME.search(name)}
    assert {"GATEWAY_MASTER_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "VLLM_API_KEY"} <= set(secrets)
    for name, value in secrets.items():
        assert value == "" or "change-me" in value, f"{name} in .env.example must be empty or a change-me"
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()


def test_env_example_names_only_settings_something_reads() -> None:
    compose_text = (REPO / "docker-compose.yml").read_text()
    for name in env_example():
        assert "${" + name in compose_text, f"{name} is in .env.example but docker-compose.yml never reads it"


def test_proxy_is_stream_friendly() -> None:
    nginx = (REPO / "deploy/proxy/nginx.conf").read_text()
    assert nginx.count("{") == nginx.count("}")
    for directive in ("proxy_buffering off;", "proxy_request_buffering off;", "proxy_http_version 1.1;"):
        assert directive in nginx
    read_timeout = re.search(r"proxy_read_timeout (\d+)s;", nginx)
    assert read_timeout and int(read_timeout.group(1)) >= 300
