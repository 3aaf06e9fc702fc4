"""The three simulated providers' HTTP endpoints: auth, validation, faults, then the answer."""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from gateway.simulate import anthropic_messages, model_lists, openai_chat
from gateway.simulate.config import Provider, SimConfig
from gateway.simulate.delivery import JSON_HEADERS, PlannedAnswer, deliver, error_response, request_id_header
from gateway.simulate.errors import SimRequestError, invalid
from gateway.simulate.faults import InBandDirectives
from gateway.simulate.known_params import (
    ANTHROPIC_MESSAGES_PARAMS,
    OPENAI_CHAT_PARAMS,
    OPENAI_EMBEDDING_PARAMS,
    reject_unknown,
)
from gateway.simulate.replies import plan_replies
from gateway.simulate.state import SIM_STATE, SimState

logger = logging.getLogger("gateway.simulate")

# Validates the body, reads its in-band markers once, and plans the answer.
Planner = Callable[[SimState, Any, Provider, str], tuple[PlannedAnswer, InBandDirectives]]


def add_provider_routes(app: web.Application) -> None:
    """Mount /openai/v1, /anthropic/v1 and /vllm/v1 (+ /vllm/health)."""
    app.router.add_post("/openai/v1/chat/completions", _generation("openai", _plan_chat))
    app.router.add_post("/openai/v1/embeddings", _generation("openai", _plan_embeddings))
    app.router.add_get("/openai/v1/models", _listing("openai", model_lists.openai_models))
    app.router.add_post("/vllm/v1/chat/completions", _generation("vllm", _plan_chat))
    app.router.add_get("/vllm/v1/models", _listing("vllm", model_lists.vllm_models))
    app.router.add_get("/vllm/health", _vllm_health)
    app.router.add_post("/anthropic/v1/messages", _generation("anthropic", _plan_messages))
    app.router.add_post("/anthropic/v1/messages/count_tokens", _count_tokens)
    app.router.add_get("/anthropic/v1/models", _listing("anthropic", model_lists.anthropic_models))


def _generation(provider: Provider, planner: Planner) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.StreamResponse:
        state = request.app[SIM_STATE]
        config = state.config
        request_id = _new_id(provider)
        raw = await request.read()
        try:
            body: Any = orjson.loads(raw)
            parse_error = False
        except orjson.JSONDecodeError:
            body, parse_error = raw.decode("utf-8", errors="replace"), True
        refusal = _gatekeep(request, provider, config, state, body)
        if refusal is None and parse_error:
            refusal = invalid("We could not parse the JSON body of your request.")
        if refusal is None:
            try:
                answer, directives = planner(state, body, provider, request_id)
            except SimRequestError as error:
                refusal = error
        if refusal is not None:
            logger.debug("SIMULATED %s %s -> %d", provider, request.path, refusal.status)
            return error_response(refusal, provider, request_id)
        fault = directives.fault or state.faults.take(provider)
        latency = directives.latency_ms if directives.latency_ms is not None else config.latency_ms
        pace = directives.tokens_per_second
        logger.debug("SIMULATED %s %s -> answer (fault=%s)", provider, request.path, fault and fault.kind)
        return await deliver(
            request,
            answer,
            provider=provider,
            request_id=request_id,
            fault=fault,
            latency_ms=latency,
            tokens_per_second=config.tokens_per_second if pace is None else pace,
            timeout_hold_s=config.timeout_fault_s,
            closing=state.closing,
        )

    return handle


def _listing(provider: Provider, render: Callable[[SimConfig], bytes]) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.StreamResponse:
        state = request.app[SIM_STATE]
        request_id = _new_id(provider)
        refusal = _gatekeep(request, provider, state.config, state, None)
        if refusal is not None:
            return error_response(refusal, provider, request_id)
        headers = {**JSON_HEADERS, request_id_header(provider): request_id}
        return web.Response(body=render(state.config), headers=headers)

    return handle


async def _vllm_health(request: web.Request) -> web.StreamResponse:
    return web.Response(status=200)


async def _count_tokens(request: web.Request) -> web.StreamResponse:
    state = request.app[SIM_STATE]
    request_id = _new_id("anthropic")
    try:
        body: Any = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        body = None
    refusal = _gatekeep(request, "anthropic", state.config, state, body)
    if refusal is None:
        try:
            call = anthropic_messages.parse_messages(body, counter=state.counter, for_count_only=True)
        except SimRequestError as error:
            refusal = error
    if refusal is not None:
        return error_response(refusal, "anthropic", request_id)
    payload = orjson.dumps({"input_tokens": call.input_tokens})
    return web.Response(body=payload, headers={**JSON_HEADERS, "request-id": request_id})


def _gatekeep(
    request: web.Request, provider: Provider, config: SimConfig, state: SimState, body: Any
) -> SimRequestError | None:
    """Record the request, then check its credentials (and Anthropic's version header)."""
    expected = config.api_key_for(provider)
    if provider == "anthropic":
        presented = request.headers.get("x-api-key")
        if presented is None and request.headers.get("Authorization", "").startswith("Bearer "):
            presented = request.headers["Authorization"][7:]
    else:
        authorization = request.headers.get("Authorization")
        presented = authorization[7:] if authorization and authorization.startswith("Bearer ") else None
    matched = None if expected is None else _same(presented, expected)
    state.history.record(
        method=request.method,
        path=request.path,
        provider=provider,
        headers=request.headers,
        auth_matched=matched,
        body=body,
    )
    if matched is False:
        return _unauthorized(provider, missing=presented is None)
    if provider == "anthropic" and "anthropic-version" not in request.headers:
        return invalid("anthropic-version: header is required")
    return None


def _same(presented: str | None, expected: str) -> bool:
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def _unauthorized(provider: Provider, *, missing: bool) -> SimRequestError:
    if provider == "anthropic":
        message = "x-api-key header is required" if missing else "invalid x-api-key"
        return SimRequestError(401, message, type="authentication_error")
    if missing:
        message = (
            "You didn't provide an API key. You need to provide your API key in an Authorization header."
        )
        return SimRequestError(401, message, type="invalid_request_error")
    return SimRequestError(
        401, "Incorrect API key provided.", type="invalid_request_error", code="invalid_api_key"
    )


def _plan_chat(
    state: SimState, body: Any, provider: Provider, request_id: str
) -> tuple[PlannedAnswer, InBandDirectives]:
    config = state.config
    if provider == "openai" and config.reject_unknown_params and isinstance(body, dict):
        reject_unknown(body, OPENAI_CHAT_PARAMS)
    call = openai_chat.parse_chat(body, counter=state.counter)
    if provider == "vllm":
        openai_chat.ensure_served_model(call, config.served_model)
    directives = state.markers.read(call.marker_text, provider)
    length = directives.completion_tokens or config.completion_tokens
    completions = plan_replies(call.reply, counter=state.counter, default_tokens=length)
    created = int(time.time())
    tokens = max(c.tokens for c in completions)
    if call.stream:
        events = openai_chat.chat_completion_events(
            call, completions, provider=provider, completion_id=request_id, created=created
        )
        return PlannedAnswer(None, events, tokens), directives
    payload = openai_chat.chat_completion_body(
        call, completions, provider=provider, completion_id=request_id, created=created
    )
    return PlannedAnswer(payload, None, tokens), directives


def _plan_embeddings(
    state: SimState, body: Any, provider: Provider, request_id: str
) -> tuple[PlannedAnswer, InBandDirectives]:
    if state.config.reject_unknown_params and isinstance(body, dict):
        reject_unknown(body, OPENAI_EMBEDDING_PARAMS)
    payload = state.embedder.response(body, default_dimensions=state.config.embedding_dimensions)
    return PlannedAnswer(payload, None, 0), state.markers.read(_last_text_input(body.get("input")), provider)


def _last_text_input(raw: Any) -> str:
    """Embeddings have no messages: markers are read from the (last) string input."""
    if isinstance(raw, str):
        return raw
    texts = [item for item in raw if isinstance(item, str)] if isinstance(raw, list) else []
    return texts[-1] if texts else ""


def _plan_messages(
    state: SimState, body: Any, provider: Provider, request_id: str
) -> tuple[PlannedAnswer, InBandDirectives]:
    config = state.config
    if config.reject_unknown_params and isinstance(body, dict):
        reject_unknown(body, ANTHROPIC_MESSAGES_PARAMS, anthropic_style=True)
    call = anthropic_messages.parse_messages(body, counter=state.counter)
    directives = state.markers.read(call.marker_text, provider)
    length = directives.completion_tokens or config.completion_tokens
    [completion] = plan_replies(call.reply, counter=state.counter, default_tokens=length)
    if call.stream:
        events = anthropic_messages.message_events(call, completion, message_id=request_id)
        return PlannedAnswer(None, events, completion.tokens), directives
    payload = anthropic_messages.message_body(call, completion, message_id=request_id)
    return PlannedAnswer(payload, None, completion.tokens), directives


def _new_id(provider: Provider) -> str:
    """Ids in each provider's style; vLLM's chat ids start with "cmpl-", OpenAI's with "chatcmpl-"."""
    token = os.urandom(12).hex()
    if provider == "anthropic":
        return f"msg_sim{token}"
    if provider == "vllm":
        return f"cmpl-sim{token}"
    return f"chatcmpl-sim{token}"
