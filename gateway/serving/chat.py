"""POST /v1/chat/completions: validate, route, admit, call the chain, relay, record."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.api.common import validate
from gateway.auth.principal import Principal
from gateway.errors import GatewayError
from gateway.protocol.openai import CHAT_REQUEST, FORWARDED_CHAT_FIELDS
from gateway.providers.base import StreamState, Usage
from gateway.providers.registry import EmbeddingTarget, Target
from gateway.serving.admission import Admissions
from gateway.serving.attempts import Attempts
from gateway.serving.calls import CallContext, CallRecorder, estimate_usage
from gateway.serving.routes import Route, Router
from gateway.serving.streaming import OpenAIEncoder, Relay, StreamEncoder
from rag.answer import attach_citations


@dataclass(slots=True)
class StreamReply:
    """A stream whose first upstream chunk has arrived: the HTTP status is settled as 200."""

    body: AsyncIterator[bytes]
    target: Target
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class JsonReply:
    body: dict[str, Any]
    target: Target | EmbeddingTarget
    headers: dict[str, str] = field(default_factory=dict)


class ChatService:
    def __init__(
        self,
        *,
        router: Router,
        attempts: Attempts,
        recorder: CallRecorder,
        admissions: Admissions,
        max_n: int,
        rag: Any = None,
        rag_top_k: int = 5,
    ) -> None:
        self.router = router
        self.attempts = attempts
        self.recorder = recorder
        self.admissions = admissions
        self._max_n = max_n
        self._rag = rag
        self._rag_top_k = rag_top_k

    def start_call(
        self,
        principal: Principal,
        body: dict[str, Any],
        *,
        requested_model: str,
        request_id: str,
        endpoint: str,
        stream: bool,
    ) -> tuple[CallContext, Route]:
        """Route the request and open its call context (the ledger's view of it). A refusal is recorded."""
        try:
            route = self.router.route(principal, body, requested_model)
        except GatewayError as error:
            self.recorder.refused(
                principal,
                request_id=request_id,
                endpoint=endpoint,
                requested_model=requested_model,
                stream=stream,
                error=error,
            )
            raise
        ctx = CallContext(
            request_id=request_id,
            endpoint=endpoint,
            principal=principal,
            requested_model=requested_model,
            target=route.chain[0],
            stream=stream,
            messages=body.get("messages") or [],
            rule=route.decision.rule,
            policy_version=_version(route.decision.policy_version),
        )
        ctx.reply_headers.update(route.headers)
        return ctx, route

    async def complete(
        self, principal: Principal, body: dict[str, Any], *, request_id: str
    ) -> JsonReply | StreamReply:
        req = validate(CHAT_REQUEST, body)
        n = req.get("n")
        if n is not None and n > self._max_n:
            raise GatewayError(400, f"'n' must be at most {self._max_n}", param="n", code="invalid_value")
        if "functions" in body or "function_call" in body:
            # OpenAI's deprecated spelling of tools; dropping it would answer without the call.
            name = "functions" if "functions" in body else "function_call"
            raise GatewayError(
                400,
                f"'{name}' (deprecated by OpenAI) is not supported: use 'tools' and 'tool_choice'",
                param=name,
                code="unsupported_parameter",
            )
        stream_options = req.get("stream_options")
        if stream_options is not None and not req.get("stream"):
            raise GatewayError(
                400, "'stream_options' is only allowed with stream: true", param="stream_options"
            )
        forwarded = {k: v for k, v in body.items() if k in FORWARDED_CHAT_FIELDS}
        citations: list[Any] = []
        store_ids = req.get("vector_store_ids")
        if store_ids:
            # Retrieval comes before routing: the excerpts are classified with the prompt, so a
            # confidential document's text only ever goes to an internal target.
            body, citations = await self._augment(principal, body, store_ids)
            forwarded["messages"] = body["messages"]
        ctx, route = self.start_call(
            principal,
            body,
            requested_model=req["model"],
            request_id=request_id,
            endpoint="chat",
            stream=bool(req.get("stream")),
        )
        max_output = req.get("max_completion_tokens") or req.get("max_tokens")
        await self.admit(ctx, route, max_output_tokens=max_output, choices=n or 1)
        if ctx.stream:
            include_usage = bool(stream_options and stream_options.get("include_usage"))

            def open_chat(target: Target, state: StreamState) -> AsyncIterator[Any]:
                return target.provider.chat_stream(
                    forwarded, upstream_model=target.upstream_model, state=state
                )

            return await self.stream(
                ctx,
                route,
                open_chat,
                lambda _: OpenAIEncoder(include_usage=include_usage, citations=citations),
            )

        def call(target: Target) -> Awaitable[dict[str, Any]]:  # the provider's coroutine, not one around it
            return target.provider.chat(forwarded, upstream_model=target.upstream_model)

        response = await self.call(ctx, route, call)
        self.recorder.record(ctx, status=200, usage=usage_of(ctx, response))
        await self.recorder.settle(ctx)
        if citations:
            response = attach_citations(response, citations)
        return JsonReply(response, chat_target(ctx), ctx.reply_headers)

    async def _augment(
        self, principal: Principal, body: dict[str, Any], store_ids: list[str]
    ) -> tuple[dict[str, Any], list[Any]]:
        if self._rag is None:
            raise GatewayError(400, "retrieval is not enabled on this gateway", param="vector_store_ids")
        if not principal.is_admin and "files" not in principal.scopes:
            raise GatewayError(403, "this key lacks the 'files' scope", code="missing_scope")
        messages, citations = await self._rag.augment(
            principal.team, store_ids, body["messages"], k=self._rag_top_k
        )
        return {**body, "messages": messages}, citations

    async def admit(
        self, ctx: CallContext, route: Route, *, max_output_tokens: int | None, choices: int = 1
    ) -> None:
        classification = route.classification  # its tokens are counted only if a limit needs them
        try:
            await self.admissions.admit(
                ctx,
                prompt_tokens=lambda: classification.needs_bound().prompt_tokens,
                max_output_tokens=max_output_tokens,
                choices=choices,
                priced_on=route.chain,  # a fallback may serve it: the dearest target's worst case
            )
        except GatewayError as error:  # a limit or budget refused it (all or nothing: nothing to settle)
            self.recorder.refused(
                ctx.principal,
                request_id=ctx.request_id,
                endpoint=ctx.endpoint,
                requested_model=ctx.requested_model,
                stream=ctx.stream,
                error=error,
                ctx=ctx,
            )
            raise

    async def call(self, ctx: CallContext, route: Route, call: Callable[[Target], Any]) -> Any:
        """Run the chain for a non-streamed call; on failure the call is settled before the error leaves."""
        try:
            return await self.attempts.run(ctx, route.chain, call)
        except BaseException as exc:
            await self._settle_failed(ctx, exc)
            raise

    async def _settle_failed(self, ctx: CallContext, exc: BaseException) -> None:
        """A call that failed before its reply: settled, and its attempt recorded as what the client got."""
        if isinstance(exc, GatewayError):
            await self.recorder.settle(ctx)  # Attempts recorded the attempt it ended
        elif isinstance(exc, Exception):  # a bug: the client gets a 500, and so does the ledger
            await self.recorder.finish(ctx, status=500, usage=None, error_code="internal_error")
        else:  # cancelled: the client left
            await self.recorder.finish(ctx, status=499, usage=None, client_disconnected=True)

    async def stream(
        self,
        ctx: CallContext,
        route: Route,
        open_upstream: Callable[[Target, StreamState], AsyncIterator[Any]],
        encoder_for: Callable[[Target], StreamEncoder],
    ) -> StreamReply:
        """Open the stream on the chain (fallbacks apply until the first item), then relay it."""
        try:
            upstream, first, state = await self.attempts.open_stream(ctx, route.chain, open_upstream)
        except BaseException as exc:
            await self._settle_failed(ctx, exc)
            raise
        body = Relay(
            ctx=ctx,
            recorder=self.recorder,
            upstream=upstream,
            first=first,
            state=state,
            encoder=encoder_for(chat_target(ctx)),
        )
        return StreamReply(body, chat_target(ctx), ctx.reply_headers)


def chat_target(ctx: CallContext) -> Target:
    """The context's target, which on the chat path is always a chat target (embeddings have their own)."""
    assert isinstance(ctx.target, Target)
    return ctx.target


def usage_of(ctx: CallContext, response: dict[str, Any]) -> Usage:
    usage = Usage.from_openai(response.get("usage"))
    if usage is not None:
        return usage
    text = "".join(str((c.get("message") or {}).get("content") or "") for c in response.get("choices") or ())
    return estimate_usage(ctx, None, text)


def _version(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
