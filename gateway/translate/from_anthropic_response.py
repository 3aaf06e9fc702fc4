"""Anthropic Messages response -> OpenAI chat.completion object."""

from __future__ import annotations

import time
from typing import Any

from gateway.translate._shared import ANTHROPIC_TO_OPENAI_FINISH, count, json_text, new_id, openai_usage


def anthropic_to_openai_response(
    msg: dict[str, Any], *, model: str, request_id: str | None = None
) -> dict[str, Any]:
    """Translate a non-streamed Anthropic ``message`` into a ``chat.completion``."""
    texts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in msg.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": json_text(block.get("input") or {})},
                }
            )
        # thinking / redacted_thinking / server-tool blocks have no Chat Completions equivalent.
    text = "".join(texts)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not tool_calls else None,
        "refusal": None,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    stop_reason = msg.get("stop_reason")
    usage = msg.get("usage") or {}
    return {
        "id": request_id or new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": ANTHROPIC_TO_OPENAI_FINISH.get(stop_reason, "stop"),
            }
        ],
        "usage": openai_usage(
            count(usage.get("input_tokens")),
            count(usage.get("output_tokens")),
            count(usage.get("cache_read_input_tokens")),
            count(usage.get("cache_creation_input_tokens")),
        ),
    }
