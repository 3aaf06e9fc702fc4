"""Self-hosted targets priced by the GPU-hour: a per-token price at the observed throughput."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.accounting.prices import GpuHourPrice
from gateway.routing import load_policy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_assumed_throughput_until_traffic_then_observed() -> None:
    clock = Clock()
    price = GpuHourPrice(usd_per_hour=3.6, assumed_tokens_per_second=1000, window_s=60, clock=clock)
    # $3.60/h = $0.001/s; at 1,000 tokens/s a token costs $0.000001.
    assert price.per_token() == Decimal("0.000001")
    assert price.cost(600, 400) == Decimal("0.001")
    for _ in range(60):  # 100 tokens/s observed over a minute: each token is ten times dearer
        price.observe(100)
        clock.now += 1
    assert price.tokens_per_second() == pytest.approx(100, rel=0.02)
    assert price.per_token() == pytest.approx(Decimal("0.00001"), rel=Decimal("0.02"))


def test_old_traffic_leaves_the_window() -> None:
    clock = Clock()
    price = GpuHourPrice(usd_per_hour=1, assumed_tokens_per_second=50, window_s=10, clock=clock)
    price.observe(10_000)
    clock.now += 60
    price.observe(10)
    assert price.tokens_per_second() == pytest.approx(1.0)  # only the recent 10 tokens, over 10 s


POLICY = """
name: gpu
targets:
  llama:
    provider: vllm
    model: meta-llama/Llama-3.1-8B-Instruct
    context_window: 32768
    internal: true
    price: {gpu_hours: {usd_per_gpu_hour: 2.0, gpus: 2, assumed_tokens_per_second: 800}}
rules:
  - name: all
    route: llama
"""


def test_policy_accepts_gpu_hours_and_refuses_mixed_prices() -> None:
    policy = load_policy(POLICY)
    assert not isinstance(policy, list), policy
    equivalent = policy.targets["llama"].effective_price()
    assert equivalent is not None and equivalent.input_per_million == pytest.approx(
        2.0 * 2 / 3600 / 800 * 1e6
    )
    mixed = POLICY.replace("{gpu_hours:", "{input_per_million: 1, gpu_hours:")
    errors = load_policy(mixed)
    assert isinstance(errors, list) and any("gpu_hours" in e.message for e in errors)
