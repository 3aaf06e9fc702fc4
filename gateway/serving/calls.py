"""What every call shares once a target is chosen: target resolution, usage, cost, ledger row, metrics."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from gateway.accounting.ledger import Ledger, LedgerEntry
from gateway.accounting.tokens import count_prompt, count_text
from gateway.auth.principal import Principal
from gateway.errors import GatewayError
from gateway.observability.metrics import Distribution, Metrics, Value
from gateway.providers.base import StreamState, UpstreamError, Usage
from gateway.providers.registry import EmbeddingTarget, Target

log = logging.getLogger("gateway.calls")


@dataclass(slots=True)
class CallContext:
    request_id: str
    endpoint: str
    principal: Principal
    requested_model: str
    target: Target | EmbeddingTarget
    stream: bool
    messages: list[dict[str, Any]]
    started: float = field(default_factory=time.perf_counter)
    attempt: int = 0
    rule: str | None = None
    policy_version: int | None = None
    admission: Any = None  # a limits Admission to settle when the call ends
    reply_headers: dict[str, str] = field(default_factory=dict)
    spent_tokens: int = 0  # over every attempt, for settling the admission
    spent_cost: Decimal = Decimal(0)


def upstream_to_gateway_error(exc: UpstreamError, target: Target | EmbeddingTarget) -> GatewayError:
    """Map an upstream failure to the reply the client gets; never leaks upstream credentials or URLs."""
    if exc.kind == "rate_limited":
        headers = {"retry-after": str(max(1, round(exc.retry_after)))} if exc.retry_after is not None else {}
        return GatewayError(
            429,
            f"{target.name} is rate limited upstream: {exc.message}",
            code="upstream_rate_limited",
            headers=headers,
        )
    if exc.kind == "timeout":
        return GatewayError(504, f"{target.name} did not answer in time", code="upstream_timeout")
    if exc.kind == "connect":
        return GatewayError(503, f"{target.name} is unreachable", code="upstream_unavailable")
    if exc.kind == "http_4xx" and exc.status is not None:
        status = exc.status if exc.status in (400, 404, 413, 422) else 400
        return GatewayError(
            status, f"{target.name} rejected the request: {exc.message}", code="upstream_rejected"
        )
    if exc.kind == "auth":
        return GatewayError(
            502, f"{target.name} refused the gateway's credentials", code="upstream_auth_failed"
        )
    return GatewayError(502, f"{target.name} failed: {exc.message}", code="upstream_error")


def estimate_usage(ctx: CallContext, state: StreamState | None, completion_text: str | None = None) -> Usage:
    """Our count when the upstream reported none. It runs where the call is being recorded, so it never
    raises: a count that fails leaves the row without tokens, never without a row (or its lease held)."""
    model = ctx.target.upstream_model
    try:
        text = completion_text if completion_text is not None else "".join(state.text_parts if state else ())
        return Usage(
            prompt_tokens=count_prompt(ctx.messages, model),
            completion_tokens=count_text(text, model),
            source="estimated",
        )
    except Exception:
        log.exception("could not estimate the usage of %s; recorded without tokens", ctx.request_id)
        return Usage()


@dataclass(frozen=True, slots=True)
class _CallCounts:
    """What one kind of call (endpoint, target, rule, status) updates: one lookup per call, not five."""

    requests: Value
    latency: Distribution
    prompt_tokens: Value
    completion_tokens: Value
    cost: Value


INT4_MAX = 2**31 - 1  # the ledger's token columns are PostgreSQL integers
MAX_COST = Decimal("1e10")  # the ledger's cost_usd is numeric(20, 10): below ten billion dollars


def _storable(cost: Decimal, ctx: CallContext) -> Decimal:
    """A cost the ledger can hold: a row it cannot would fail its whole batch, every retry, for every
    call in it. Only a policy price far beyond any real one gets here (policy validation caps prices)."""
    stored = Decimal(0) if cost.is_nan() or cost < 0 else MAX_COST - Decimal("1e-10")
    log.error("cost %s of %s is out of the ledger's range; recorded as %s", cost, ctx.request_id, stored)
    return stored


def clamped(usage: Usage) -> Usage:
    """usage with each count within what the ledger can hold: an upstream that reports a negative or absurd
    count (a bug, a hostile server) must not make the row unwritable, nor wrap around in binary COPY."""
    return Usage(
        prompt_tokens=min(max(usage.prompt_tokens, 0), INT4_MAX),
        completion_tokens=min(max(usage.completion_tokens, 0), INT4_MAX),
        cached_tokens=min(max(usage.cached_tokens, 0), INT4_MAX),
        source=usage.source,
    )


class CallRecorder:
    """Turns a finished attempt into one ledger row and its metrics."""

    def __init__(self, *, ledger: Ledger, metrics: Metrics, admissions: Any = None) -> None:
        self._ledger = ledger
        self._metrics = metrics
        self._admissions = admissions
        self._counts: dict[tuple[str, str, str, int], _CallCounts] = {}

    def _counts_for(self, key: tuple[str, str, str, int]) -> _CallCounts:
        endpoint, target, rule, status = key
        m = self._metrics
        counts = self._counts[key] = _CallCounts(
            requests=m.requests.labels(endpoint, target, str(status)),
            latency=m.latency.labels(endpoint, target),
            prompt_tokens=m.tokens.labels(target, rule, "prompt"),
            completion_tokens=m.tokens.labels(target, rule, "completion"),
            cost=m.cost.labels(target, rule),
        )
        return counts

    def refused(
        self,
        principal: Principal,
        *,
        request_id: str,
        endpoint: str,
        requested_model: str,
        stream: bool,
        error: GatewayError,
        ctx: CallContext | None = None,
    ) -> None:
        """The row of a call refused before any attempt: by routing (unknown model, a key not allowed it,
        sensitive data with no internal target: no target) or, given its context, by a limit or budget
        (the target routing chose). No tokens, no cost, and none of an attempt's metrics."""
        target = ctx.target if ctx is not None else None
        provider = None
        if target is not None:
            provider = target.provider.name if target.provider is not None else "local"
        self._ledger.record(
            LedgerEntry(
                datetime.now(UTC),
                request_id,
                0,
                endpoint,
                principal.key_id,
                principal.team,
                requested_model,
                target.name if target else None,
                provider,
                target.upstream_model if target else None,
                ctx.rule if ctx else None,
                ctx.policy_version if ctx else None,
                0,
                0,
                0,
                "none",
                Decimal(0),
                None,
                None,
                error.status,
                error.code,
                stream,
                False,
                target.simulated if target else False,
            )  # fmt: skip
        )
        self._metrics.requests.labels(endpoint, target.name if target else "", str(error.status)).inc()

    async def finish(self, ctx: CallContext, **outcome: Any) -> None:
        """Record the last attempt, then settle the call."""
        self.record(ctx, **outcome)
        await self.settle(ctx)

    async def settle(self, ctx: CallContext) -> None:
        """Release what the call reserved against limits and budgets, at its real tokens and cost. Once."""
        if ctx.admission is not None and self._admissions is not None:
            admission, ctx.admission = ctx.admission, None
            await self._admissions.settle(admission, tokens=ctx.spent_tokens, cost=ctx.spent_cost)

    def record(
        self,
        ctx: CallContext,
        *,
        status: int,
        usage: Usage | None,
        error_code: str | None = None,
        ttft_at: float | None = None,
        client_disconnected: bool = False,
    ) -> Decimal:
        now = time.perf_counter()
        usage = usage or Usage()
        if not (
            0 <= usage.prompt_tokens <= INT4_MAX
            and 0 <= usage.completion_tokens <= INT4_MAX
            and 0 <= usage.cached_tokens <= INT4_MAX
        ):
            usage = clamped(usage)
        target = ctx.target
        cost = target.price.cost(usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)
        observe = getattr(target.price, "observe", None)
        if observe is not None:
            # GPU-hour pricing learns the target's throughput from every call, after costing it at what was
            # known before it: the first call at the assumed throughput, not at its own tokens per second.
            observe(usage.prompt_tokens + usage.completion_tokens)
        if not (cost.is_finite() and 0 <= cost < MAX_COST):
            cost = _storable(cost, ctx)
        latency_s = now - ctx.started
        ttft_s = (ttft_at - ctx.started) if ttft_at is not None else None
        principal = ctx.principal
        # Positional, in the column order of LedgerEntry: a NamedTuple built by keyword costs three
        # times as much (2.1 against 0.7 µs) on every call. tests/test_ledger_rows.py checks each column.
        self._ledger.record(
            LedgerEntry(
                datetime.now(UTC),  # ts
                ctx.request_id,
                ctx.attempt,
                ctx.endpoint,
                principal.key_id,
                principal.team,
                ctx.requested_model,
                target.name,  # target
                target.provider.name if target.provider is not None else "local",  # provider
                target.upstream_model,
                ctx.rule,
                ctx.policy_version,
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.cached_tokens,
                usage.source,  # usage_source
                cost,  # cost_usd
                latency_s * 1000,  # latency_ms
                ttft_s * 1000 if ttft_s is not None else None,  # ttft_ms
                status,
                error_code,
                ctx.stream,
                client_disconnected,
                target.simulated,
            )
        )
        rule = ctx.rule or ""
        key = (ctx.endpoint, target.name, rule, status)
        counts = self._counts.get(key) or self._counts_for(key)
        counts.requests.inc()
        counts.latency.observe(latency_s)
        if ttft_s is not None:
            m = self._metrics
            m.child(m.ttft, target.name).observe(ttft_s)
        if usage.prompt_tokens:
            counts.prompt_tokens.inc(usage.prompt_tokens)
        if usage.completion_tokens:
            counts.completion_tokens.inc(usage.completion_tokens)
        if cost:
            counts.cost.inc(float(cost))
        if error_code:
            m = self._metrics
            m.child(m.upstream_errors, target.name, error_code).inc()
        ctx.spent_tokens += usage.prompt_tokens + usage.completion_tokens
        ctx.spent_cost += cost
        return cost
