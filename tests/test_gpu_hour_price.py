"""Self-hosted targets priced by the GPU-hour: a per-token price at the observed throughput."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.accounting.prices import GpuHourPrice
from gateway.observability.metrics import Metrics
from gateway.providers.base import Usage
from gateway.routing import load_policy
from gateway.serving.calls import CallRecorder
from tests.calls_support import RowQueue, call_context


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


@pytest.mark.parametrize(
    "price",
    [
        "{input_per_million: 1e15, output_per_million: 1}",
        "{input_per_million: .inf, output_per_million: 1}",
        "{input_per_million: 1, output_per_million: .nan}",
        "{gpu_hours: {usd_per_gpu_hour: 2.0, assumed_tokens_per_second: 0.000001}}",
    ],
)
def test_prices_no_ledger_row_could_hold_are_refused(price: str) -> None:
    """Above $1 a token, or not a number: the ledger's cost column could not hold what such a call costs."""
    errors = load_policy(
        POLICY.replace("{gpu_hours: {usd_per_gpu_hour: 2.0, gpus: 2, assumed_tokens_per_second: 800}}", price)
    )
    assert isinstance(errors, list) and any("price" in e.path for e in errors), errors


def test_the_first_call_on_a_gpu_target_is_costed_at_the_assumed_throughput() -> None:
    """The recorder costs a call, then lets the price learn from it: the first call of 1,100 tokens at an
    assumed 1,000 tokens/s costs 1.1 GPU-seconds, not the one second of its own throughput."""
    price = GpuHourPrice(usd_per_hour=3.6, assumed_tokens_per_second=1000, window_s=60, clock=Clock())
    ctx = call_context("req-gpu", price=price, name="llama", upstream_model="m", internal=True)
    recorder = CallRecorder(ledger=RowQueue(), metrics=Metrics())  # type: ignore[arg-type]
    cost = recorder.record(ctx, status=200, usage=Usage(prompt_tokens=1000, completion_tokens=100))
    assert cost == Decimal("0.0011")
