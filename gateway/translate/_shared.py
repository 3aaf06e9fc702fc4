"""Small helpers shared by the translators: ids, JSON text, stop-reason maps."""

from __future__ import annotations

import os
from typing import Any

import orjson

from gateway.errors import GatewayError

# Anthropic stop_reason -> OpenAI finish_reason.
ANTHROPIC_TO_OPENAI_FINISH: dict[Any, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# OpenAI finish_reason -> Anthropic stop_reason.
OPENAI_TO_ANTHROPIC_STOP: dict[Any, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def new_id(prefix: str) -> str:
    """A random identifier such as ``msg_4f1c…`` (24 hex digits)."""
    return prefix + os.urandom(12).hex()


def json_text(value: Any) -> str:
    """Compact JSON text, as OpenAI sends tool-call arguments."""
    return orjson.dumps(value).decode()


def invalid(param: str, message: str, *, code: str = "invalid_request") -> GatewayError:
    """A 400 error naming the offending field."""
    return GatewayError(400, f"{param}: {message}", param=param, code=code)


def unsupported(param: str, message: str) -> GatewayError:
    """A 400 error for a field the target provider cannot honour."""
    return GatewayError(400, f"{param}: {message}", param=param, code="unsupported_parameter")


def openai_usage(
    input_tokens: int, output_tokens: int, cache_read: int, cache_creation: int
) -> dict[str, Any]:
    """OpenAI usage from Anthropic's counts: OpenAI's prompt_tokens include cached input."""
    prompt = input_tokens + cache_read + cache_creation
    return {
        "prompt_tokens": prompt,
        "completion_tokens": output_tokens,
        "total_tokens": prompt + output_tokens,
        "prompt_tokens_details": {"cached_tokens": cache_read},
    }


def count(value: Any) -> int:
    """A token count from a provider's usage field; null or junk counts as 0."""
    return value if type(value) is int and value > 0 else 0


def anthropic_usage(usage: dict[str, Any]) -> dict[str, int]:
    """Anthropic usage from OpenAI's: Anthropic's input_tokens exclude cache reads."""
    prompt = count(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details") or {}
    cached = min(count(details.get("cached_tokens")), prompt)
    return {
        "input_tokens": prompt - cached,
        "output_tokens": count(usage.get("completion_tokens")),
        "cache_read_input_tokens": cached,
    }
