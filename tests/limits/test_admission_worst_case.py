"""What Admissions reserves for a call: every choice's output, priced on the dearest target it may reach."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from gateway.accounting.prices import Price
from gateway.auth.principal import Principal
from gateway.limits import LimitSpec
from gateway.observability.metrics import Metrics
from gateway.serving.admission import Admissions


class _Limiter:
    def __init__(self) -> None:
        self.asked: dict[str, Any] = {}

    async def admit(self, **asked: Any) -> Any:
        self.asked = asked
        return SimpleNamespace(states=[])


class _Teams:
    def limits(self, team: str) -> None:
        return None


def _reserved(max_output_tokens: int, choices: int, chain: tuple[Any, ...]) -> dict[str, Any]:
    limiter = _Limiter()
    admissions = Admissions(
        limiter=limiter,
        teams=_Teams(),
        target_limits={},
        metrics=Metrics(),
        default_output_tokens=256,  # type: ignore[arg-type]
    )
    spec = LimitSpec.model_validate({"tpm": 100_000, "budgets": [{"period": "day", "usd": 10}]})
    principal = Principal(
        key_id="k", name="n", team="t", scopes=frozenset(), allowed_models=None, limit_spec=spec
    )
    ctx = SimpleNamespace(principal=principal, target=chain[0], reply_headers={}, admission=None)
    asyncio.run(
        admissions.admit(
            ctx,
            prompt_tokens=lambda: 100,
            max_output_tokens=max_output_tokens,
            choices=choices,
            priced_on=chain,
        )
    )
    return limiter.asked


def test_the_worst_case_is_every_choice_at_the_dearest_target_of_the_chain() -> None:
    cheap = SimpleNamespace(name="cheap", price=Price.per_million(1, 1))
    dear = SimpleNamespace(name="dear", price=Price.per_million(10, 100))
    asked = _reserved(50, 4, (cheap, dear))
    assert asked["tokens"] == 100 + 4 * 50
    assert asked["max_cost_usd"] == dear.price.cost(100, 200) == Decimal("0.021")
    assert asked["target"] == "cheap"  # its limits are the first target's (the one routing chose)
    assert _reserved(50, 1, (cheap,))["max_cost_usd"] == cheap.price.cost(100, 50)
