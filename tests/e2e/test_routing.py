"""Routing through a real gateway: the default policy's choices, fallbacks, retries, the circuit breaker,
and that sensitive data never reaches an external provider, whatever the caller asks or whatever fails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Gateway, Simulator, gateway_env

SENSITIVE_PROMPTS = [
    "My card number is 4111 1111 1111 1111, can you check why it was declined?",
    "Please email john.smith@example.com the contract and call him at +1 415 555 0132.",
    "My SSN is 123-45-6789, fill in the tax form for me.",
    "Transfer to IBAN DE89 3704 0044 0532 0130 00 today.",
    "Here is our key sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD, why does it fail?",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAxyz\n-----END RSA PRIVATE KEY-----\nIs this valid?",
    "Connect with postgres://admin:S3cretPass@db.internal:5432/prod and list tables.",
    "Summarise the Project Bluebird roadmap for the board.",
    "Patient Maria Garcia, born 04/12/1975, lives at 42 Elm Street, Springfield. Draft a referral.",
    "Reference CONF-20931: prepare the merger memo.",
]


def chat(gateway: Gateway, key: str, content: str, model: str = "auto", **extra: Any) -> httpx.Response:
    return httpx.post(
        gateway.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": content}], **extra},
        timeout=60,
    )


def providers_called(sim: Simulator) -> list[str]:
    return [r["provider"] for r in sim.requests()]


def test_routed_replies_carry_target_rule_and_policy_version(
    gateway: Gateway, user_key: dict[str, Any]
) -> None:
    r = chat(gateway, user_key["key"], "What is the capital of France?")
    assert r.status_code == 200, r.text
    assert r.headers["x-gateway-target"] == "llama-3.1-8b"  # cheapest able to answer
    assert r.headers["x-gateway-rule"] == "everything-else"
    assert r.headers["x-gateway-policy-version"].isdigit()


def test_hard_code_goes_to_a_frontier_model(gateway: Gateway, user_key: dict[str, Any]) -> None:
    prompt = (
        "Implement a lock-free concurrent skip list in Rust with epoch-based memory reclamation, prove "
        "linearizability of insert and delete, and analyse the expected time complexity of each operation."
    )
    r = chat(gateway, user_key["key"], prompt)
    assert r.status_code == 200, r.text
    assert r.headers["x-gateway-target"] in {"gpt-4o", "claude-sonnet-4-5"}
    assert r.headers["x-gateway-rule"] == "hard-reasoning-and-code"


def test_explicit_model_is_honoured_when_nothing_is_sensitive(
    gateway: Gateway, user_key: dict[str, Any]
) -> None:
    r = chat(gateway, user_key["key"], "Say hi", model="claude-sonnet-4-5")
    assert (
        r.headers["x-gateway-target"] == "claude-sonnet-4-5"
        and r.headers["x-gateway-rule"] == "explicit-model"
    )


@pytest.mark.parametrize("model", ["auto", "gpt-4o", "claude-sonnet-4-5", "smart"])
def test_no_sensitive_prompt_ever_reaches_an_external_target(
    gateway: Gateway, user_key: dict[str, Any], clean_sim: Simulator, model: str
) -> None:
    for prompt in SENSITIVE_PROMPTS:
        r = chat(gateway, user_key["key"], prompt, model=model)
        assert r.status_code == 200, (prompt, r.text)
        assert r.headers["x-gateway-target"] == "llama-3.1-8b", prompt
        assert r.headers["x-gateway-rule"] == "sensitive-stays-internal", prompt
    assert set(providers_called(clean_sim)) == {"vllm"}


def test_sensitive_request_never_falls_back_outside_even_when_llama_is_down(
    gateway: Gateway, user_key: dict[str, Any], clean_sim: Simulator
) -> None:
    clean_sim.faults({"kind": "500", "provider": "vllm", "times": 4})
    r = chat(gateway, user_key["key"], SENSITIVE_PROMPTS[0], model="gpt-4o")
    assert r.status_code == 502, r.text
    assert set(providers_called(clean_sim)) == {"vllm"}


def test_fallback_to_next_target_when_the_first_keeps_failing(
    gateway: Gateway, user_key: dict[str, Any], clean_sim: Simulator
) -> None:
    clean_sim.faults({"kind": "500", "provider": "vllm", "times": 2})
    r = chat(gateway, user_key["key"], "What is the capital of Italy?")
    assert r.status_code == 200, r.text
    assert r.headers["x-gateway-target"] in {"gpt-4o", "claude-sonnet-4-5"}
    called = providers_called(clean_sim)
    assert called[:2] == ["vllm", "vllm"] and called[2] in {"openai", "anthropic"}


def test_retry_after_is_honoured_on_the_same_target(
    gateway: Gateway, user_key: dict[str, Any], clean_sim: Simulator
) -> None:
    clean_sim.faults({"kind": "429", "provider": "anthropic", "times": 1, "retry_after_s": 1})
    started = time.monotonic()
    r = chat(gateway, user_key["key"], "hello", model="claude-sonnet-4-5")
    assert r.status_code == 200 and r.headers["x-gateway-target"] == "claude-sonnet-4-5"
    assert time.monotonic() - started >= 0.95
    assert providers_called(clean_sim) == ["anthropic", "anthropic"]


def test_stream_falls_back_before_the_first_chunk_only(
    gateway: Gateway, user_key: dict[str, Any], clean_sim: Simulator
) -> None:
    clean_sim.faults({"kind": "503", "provider": "vllm", "times": 2})
    with httpx.stream(
        "POST",
        gateway.url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {user_key['key']}"},
        json={"model": "auto", "stream": True, "messages": [{"role": "user", "content": "Name a colour"}]},
    ) as r:
        body = r.read().decode()
        target = r.headers["x-gateway-target"]
    assert r.status_code == 200 and target in {"gpt-4o", "claude-sonnet-4-5"}
    assert body.rstrip().endswith("[DONE]")


@pytest.fixture(scope="module")
def breaker_gateway(pg_url: str, sim: Simulator, gateway: Gateway, workdir: Path) -> Iterator[Gateway]:
    """A gateway of its own: an open circuit must not leak into other tests' calls."""
    env = gateway_env(
        database_url=pg_url,
        master_key=gateway.admin_key,
        sim=sim,
        data_dir=workdir / "breaker",
        GATEWAY_BREAKER_FAILURES="4",
        GATEWAY_BREAKER_OPEN_S="2",
    )
    gw = Gateway(env, workdir)
    yield gw
    gw.stop()


def test_circuit_opens_after_repeated_failures_then_probes_and_closes(
    breaker_gateway: Gateway, clean_sim: Simulator
) -> None:
    gw = breaker_gateway
    key = gw.create_key(name="breaker")["key"]
    deadline = time.monotonic() + 3
    while chat(gw, key, "warm", model="llama-3.1-8b").status_code == 401:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    clean_sim.faults({"kind": "500", "provider": "openai", "times": 1000})
    for _ in range(2):  # 1 + 1 retry per call: the circuit opens after 4 consecutive failures
        assert chat(gw, key, "hi", model="gpt-4o").status_code == 502
    calls_before = providers_called(clean_sim).count("openai")
    started = time.monotonic()
    r = chat(gw, key, "hi", model="gpt-4o")
    assert r.status_code == 503 and r.json()["error"]["code"] == "upstream_unavailable"
    assert time.monotonic() - started < 0.5  # one fast failure
    assert providers_called(clean_sim).count("openai") == calls_before
    assert 'gateway_circuit_state{target="gpt-4o"} 2.0' in httpx.get(gw.url + "/metrics").text
    # After the open period one probe goes through; the upstream has recovered, so the circuit closes.
    clean_sim.clear()
    time.sleep(2.1)
    assert chat(gw, key, "hi", model="gpt-4o").status_code == 200
    assert 'gateway_circuit_state{target="gpt-4o"} 0.0' in httpx.get(gw.url + "/metrics").text


def test_explain_and_models_list_aliases(gateway: Gateway, user_key: dict[str, Any]) -> None:
    r = httpx.get(gateway.url + "/v1/models", headers={"Authorization": f"Bearer {user_key['key']}"})
    ids = {m["id"] for m in r.json()["data"]}
    assert {"auto", "smart", "cheap", "gpt-4o", "claude-sonnet-4-5", "llama-3.1-8b"} <= ids
