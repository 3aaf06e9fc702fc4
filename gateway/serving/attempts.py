"""Calling a chain of targets: retries with backoff and jitter (honouring Retry-After), then the next
fallback; a per-target circuit breaker; one ledger row per attempt."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gateway.errors import GatewayError
from gateway.observability.metrics import Metrics
from gateway.providers.base import StreamState, UpstreamError
from gateway.providers.registry import Target
from gateway.serving.calls import CallContext, CallRecorder, upstream_to_gateway_error
from gateway.serving.health import TargetHealth


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries_per_target: int = 1  # attempts on one target = 1 + retries
    backoff_base_s: float = 0.1
    backoff_max_s: float = 2.0
    max_retry_after_s: float = 5.0  # a longer Retry-After moves on to the next target instead of waiting

    def delay(self, retry: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number `retry` (0-based), or None to move on instead."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after_s else None
        cap = min(self.backoff_max_s, self.backoff_base_s * 2**retry)
        return random.uniform(cap / 2, cap)  # noqa: S311  (jitter, not security)


class Attempts:
    def __init__(
        self, *, recorder: CallRecorder, health: TargetHealth, metrics: Metrics, retry: RetryPolicy
    ) -> None:
        self._recorder = recorder
        self._health = health
        self._metrics = metrics
        self._retry = retry

    async def run(
        self, ctx: CallContext, chain: tuple[Target, ...], call: Callable[[Target], Awaitable[Any]]
    ) -> Any:
        """Call until one attempt succeeds; the returned value is `call`'s. Raises the last error mapped."""
        last: GatewayError | None = None
        for target in chain:
            # Asked only when the target is next: a half-open circuit admits exactly one probe.
            if not self._health.allow(target.name):
                self._metrics.child(self._metrics.attempts, target.name, "circuit_open").inc()
                continue
            retry = 0
            while True:
                ctx.target = target
                started = time.perf_counter()
                try:
                    result = await call(target)
                except UpstreamError as exc:
                    last = self._failed(ctx, target, exc)
                    if not _worth_another_try(exc):
                        raise last from None
                    delay = self._retry.delay(retry, exc.retry_after) if _retry_same(exc) else None
                    if delay is None or retry >= self._retry.retries_per_target:
                        break
                    retry += 1
                    await asyncio.sleep(delay)
                    continue
                except GatewayError as error:
                    # Refused on our side around the attempt (a request the target's wire format cannot
                    # carry, a reply that cannot be translated): recorded, with what it cost if anything.
                    self._health.release(target.name)
                    self._recorder.record(
                        ctx, status=error.status, usage=error.billed_usage, error_code=error.code
                    )
                    ctx.attempt += 1
                    raise
                except BaseException:
                    self._health.release(target.name)
                    raise
                self._health.success(target.name, (time.perf_counter() - started) * 1000)
                self._metrics.child(self._metrics.attempts, target.name, "ok").inc()
                return result
        if last is None:
            # Every circuit is open: one fast failure instead of waiting on upstreams known to be down.
            ctx.target = chain[0]
            self._recorder.record(ctx, status=503, usage=None, error_code="circuit_open")
            raise GatewayError(
                503,
                "every target for this request is failing right now (circuit open); retry shortly",
                code="upstream_unavailable",
                headers={"retry-after": "5"},
            )
        raise last

    async def open_stream(
        self,
        ctx: CallContext,
        chain: tuple[Target, ...],
        open_upstream: Callable[[Target, StreamState], AsyncIterator[Any]],
    ) -> tuple[AsyncIterator[Any], Any, StreamState]:
        """Open a stream on the first target that sends a first item; fallbacks apply until then only."""

        async def first_item(target: Target) -> tuple[AsyncIterator[Any], Any, StreamState]:
            state = StreamState()
            upstream = open_upstream(target, state)
            try:
                first = await anext(upstream, None)
            except BaseException:
                await _close(upstream)
                raise
            return upstream, first, state

        return await self.run(ctx, chain, first_item)  # type: ignore[no-any-return]

    def _failed(self, ctx: CallContext, target: Target, exc: UpstreamError) -> GatewayError:
        error = upstream_to_gateway_error(exc, target)
        if exc.kind in {"http_4xx", "rate_limited"}:
            # The upstream is up: it refused this request or asks us to slow down. Not a broken target.
            self._health.release(target.name)
        else:
            self._health.failure(target.name)
        self._metrics.child(self._metrics.attempts, target.name, exc.kind).inc()
        self._recorder.record(ctx, status=error.status, usage=None, error_code=exc.kind)
        ctx.attempt += 1
        return error


def _worth_another_try(exc: UpstreamError) -> bool:
    # A request the upstream rejected as invalid would be rejected anywhere: it is the caller's to fix.
    return exc.kind != "http_4xx"


def _retry_same(exc: UpstreamError) -> bool:
    # Refused credentials or a broken protocol will not improve on the same target: go to the next one.
    return exc.kind in {"rate_limited", "http_5xx", "timeout", "connect"}


async def _close(agen: AsyncIterator[Any]) -> None:
    aclose = getattr(agen, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # noqa: S110  (the original failure is what matters)
            pass
