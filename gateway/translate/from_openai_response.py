"""OpenAI chat.completion object -> Anthropic Messages ``message`` object."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.errors import GatewayError
from gateway.translate._shared import OPENAI_TO_ANTHROPIC_STOP, anthropic_usage, new_id


def openai_to_anthropic_response(resp: dict[str, Any], *, model: str) -> dict[str, Any]:
    """Translate a non-streamed ``chat.completion`` (first choice) into an Anthropic message."""
    choices = resp.get("choices") or []
    if not choices:
        raise GatewayError(502, "upstream returned no choices", code="upstream_invalid_response")
    choice = choices[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    text = _text_of(message.get("content"))
    if text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or new_id("toolu_"),
                "name": function.get("name", ""),
                "input": parse_tool_arguments(function.get("arguments")),
            }
        )
    stop_reason, stop_sequence = stop_reason_of(choice)
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": anthropic_usage(resp.get("usage") or {}),
    }


def parse_tool_arguments(arguments: Any) -> dict[str, Any]:
    """Tool-call arguments as the object Anthropic's ``input`` must be; 502 if the model broke them."""
    if not arguments:
        return {}
    try:
        parsed = orjson.loads(arguments) if isinstance(arguments, str | bytes) else arguments
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise GatewayError(
            502,
            "upstream model returned tool arguments that are not a JSON object",
            code="upstream_bad_tool_call",
        )
    return parsed


def stop_reason_of(choice: dict[str, Any]) -> tuple[str, str | None]:
    """(stop_reason, stop_sequence); vLLM names the matched stop string in ``stop_reason``."""
    finish = choice.get("finish_reason")
    matched = choice.get("stop_reason")
    if finish == "stop" and isinstance(matched, str):
        return "stop_sequence", matched
    if finish == "stop" and (choice.get("message") or {}).get("tool_calls"):
        # A named tool_choice ends with "stop" at OpenAI (vLLM does the same), tool calls and all;
        # an Anthropic client's agent loop looks for "tool_use".
        return "tool_use", None
    return OPENAI_TO_ANTHROPIC_STOP.get(finish, "end_turn"), None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some OpenAI-compatible servers answer with parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""
