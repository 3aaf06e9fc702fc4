"""Relaying an upstream stream to a client: one loop, and an encoder per wire format.

The loop owns what every stream needs: the in-band error when the upstream breaks after the headers were
sent (and no terminator, so clients know the answer is incomplete), closing the upstream when the client
goes away, and exactly one ledger row however the stream ends.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import asdict
from typing import Any, Protocol

import orjson

from gateway import translate as tr
from gateway.errors import GatewayError
from gateway.providers.base import StreamState, UpstreamError, Usage
from gateway.serving.calls import CallContext, CallRecorder, estimate_usage

log = logging.getLogger("gateway.streaming")


class StreamEncoder(Protocol):
    def item(self, item: Any) -> bytes: ...
    def done(self) -> bytes: ...
    def error(self, message: str) -> bytes: ...


def sse(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


class OpenAIEncoder:
    """OpenAI chunks as they come, hiding the usage chunk from clients that did not ask for it."""

    def __init__(self, *, include_usage: bool, citations: list[Any] | None = None) -> None:
        self._include_usage = include_usage
        self._citations = citations or None

    def item(self, chunk: dict[str, Any]) -> bytes:
        if self._citations is not None and chunk.get("choices"):
            # RAG answers carry their sources on the first chunk (a gateway extension, ignored by SDKs).
            chunk["citations"] = [asdict(c) for c in self._citations]
            self._citations = None
        if not self._include_usage:
            if not chunk.get("choices") and chunk.get("usage"):
                return b""
            chunk.pop("usage", None)
        return sse(chunk)

    def done(self) -> bytes:
        return b"data: [DONE]\n\n"

    def error(self, message: str) -> bytes:
        return sse(
            {"error": {"message": message, "type": "upstream_error", "code": "upstream_error", "param": None}}
        )


class AnthropicEventEncoder:
    """Anthropic (event, data) pairs relayed as they come (the native path)."""

    def item(self, pair: tuple[str, dict[str, Any]]) -> bytes:
        return tr.format_sse(pair[0], pair[1])

    def done(self) -> bytes:
        return b""  # message_stop was relayed already

    def error(self, message: str) -> bytes:
        return tr.format_sse("error", {"type": "error", "error": {"type": "api_error", "message": message}})


class OpenAIToAnthropicEncoder(AnthropicEventEncoder):
    """OpenAI chunks from an OpenAI-compatible target, re-told as Anthropic events."""

    def __init__(self, *, model: str) -> None:
        self._stream = tr.OpenAIToAnthropicStream(model=model)

    def item(self, chunk: dict[str, Any]) -> bytes:  # type: ignore[override]
        return b"".join(tr.format_sse(event, data) for event, data in self._stream.feed(chunk))

    def done(self) -> bytes:
        return b"".join(tr.format_sse(event, data) for event, data in self._stream.finish())


class Relay:
    """The client's stream: the upstream's items encoded, then the call recorded and settled when it ends,
    however it ends. Closing it before its first item was asked for (the client left while the reply was
    being prepared) records and settles the call too: an async generator closed before it started would
    run none of its body."""

    def __init__(
        self,
        *,
        ctx: CallContext,
        recorder: CallRecorder,
        upstream: AsyncIterator[Any],
        first: Any,
        state: StreamState,
        encoder: StreamEncoder,
    ) -> None:
        self._ctx, self._recorder, self._upstream = ctx, recorder, upstream
        self._first, self._state, self._encoder = first, state, encoder
        self._body = self._run()
        self._started = False
        self._closed = False

    def __aiter__(self) -> Relay:
        return self

    async def __anext__(self) -> bytes:
        if self._closed and not self._started:
            raise StopAsyncIteration  # closed before it began: recorded already
        self._started = True
        return await self._body.__anext__()

    async def aclose(self) -> None:
        if self._started:
            await self._body.aclose()  # its finally records the call (a second aclose does nothing)
        elif not self._closed:
            self._closed = True
            await self._settle(delivered=False, error_code=None)

    async def _run(self) -> AsyncGenerator[bytes, None]:
        encoder, state = self._encoder, self._state
        error_code: str | None = None
        delivered = False
        try:
            if self._first is not None:
                out = encoder.item(self._first)
                if out:
                    yield out
                async for item in self._upstream:
                    out = encoder.item(item)
                    if out:
                        yield out
            if state.finished:
                tail = encoder.done()
                if tail:
                    yield tail
                delivered = True
            else:
                error_code = "stream_incomplete"
                yield encoder.error("the upstream stream ended before it finished")
        except UpstreamError as exc:
            error_code = exc.kind
            yield encoder.error(f"{self._ctx.target.name} failed mid-stream: {exc.message}")
        except GatewayError as exc:  # an error event in the upstream's stream, met while translating it
            error_code = exc.code or "upstream_error"
            yield encoder.error(f"{self._ctx.target.name} failed mid-stream: {exc.message}")
        except Exception:  # a bug: the client is told, and the row says so (not a client that left)
            log.exception("relaying %s failed", self._ctx.request_id)
            error_code = "internal_error"
            yield encoder.error("the gateway failed while relaying the stream")
        finally:
            await self._settle(delivered=delivered, error_code=error_code)

    async def _settle(self, *, delivered: bool, error_code: str | None) -> None:
        ctx, state = self._ctx, self._state
        await close_quietly(self._upstream)
        usage = state.usage
        if not state.finished:
            # Cut short: what was delivered, counted by us. Anthropic's message_start already carried the
            # input count (kept) and a placeholder output count of 1 (not a count of what was sent).
            estimate = estimate_usage(ctx, state)
            if usage is not None:
                estimate = Usage(
                    prompt_tokens=usage.prompt_tokens or estimate.prompt_tokens,
                    completion_tokens=max(usage.completion_tokens, estimate.completion_tokens),
                    cached_tokens=usage.cached_tokens,
                    source="estimated",
                )
            usage = estimate
        elif usage is None:
            usage = estimate_usage(ctx, state)
        disconnected = not delivered and error_code is None
        await self._recorder.finish(
            ctx,
            status=499 if disconnected else (200 if delivered else 502),
            usage=usage,
            error_code=error_code,
            ttft_at=state.first_chunk_at,
            client_disconnected=disconnected,
        )


async def close_quietly(agen: AsyncIterator[Any]) -> None:
    aclose = getattr(agen, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception as exc:  # closing a broken upstream must not mask the outcome
            log.debug("closing upstream stream failed: %s", type(exc).__name__)
