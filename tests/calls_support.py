"""Stand-ins for unit tests of call recording: a provider that is never called, a ledger that keeps rows
in a list, a call context on one target, and a ledger row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from gateway.accounting.ledger import LedgerEntry
from gateway.auth.principal import Principal
from gateway.providers.base import Provider
from gateway.providers.registry import Target
from gateway.serving.calls import CallContext


class NoProvider(Provider):
    kind = "openai"

    async def chat(self, body: dict[str, Any], *, upstream_model: str) -> dict[str, Any]:
        raise AssertionError("not called")

    def chat_stream(self, body: dict[str, Any], *, upstream_model: str, state: Any) -> Any:
        raise AssertionError("not called")


class RowQueue:
    """What CallRecorder needs of a Ledger: record(row)."""

    def __init__(self) -> None:
        self.rows: list[LedgerEntry] = []

    def record(self, entry: LedgerEntry) -> None:
        self.rows.append(entry)


def call_context(
    request_id: str,
    *,
    price: Any,
    name: str = "gpt-4o",
    upstream_model: str = "gpt-4o-2024-08-06",
    internal: bool = False,
    messages: Sequence[Any] = (),
    stream: bool = False,
) -> CallContext:
    target = Target(
        name=name,
        provider=NoProvider(name="openai", simulated=True),
        upstream_model=upstream_model,
        price=price,
        internal=internal,
    )
    principal = Principal(key_id="k", name="n", team="t", scopes=frozenset(), allowed_models=None)
    return CallContext(
        request_id=request_id,
        endpoint="chat",
        principal=principal,
        requested_model=name,
        target=target,
        stream=stream,
        messages=list(messages),
    )


def ledger_entry(request_id: str, cost: str = "0.000001") -> LedgerEntry:
    return LedgerEntry(
        ts=datetime.now(UTC), request_id=request_id, attempt=0, endpoint="chat", key_id="k", team="t",
        requested_model="gpt-4o", target="gpt-4o", provider="openai", upstream_model="gpt-4o", rule=None,
        policy_version=None, prompt_tokens=1, completion_tokens=1, cached_tokens=0,
        usage_source="provider", cost_usd=Decimal(cost), latency_ms=1.0, ttft_ms=None,
        status=200, error_code=None, stream=False, client_disconnected=False, simulated=True,
    )  # fmt: skip
