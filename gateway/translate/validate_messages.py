"""Validation of /v1/messages request bodies, following the Anthropic Messages API's own rules."""

from __future__ import annotations

import re
from typing import Any

from gateway.translate._shared import invalid

_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,128}")
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_USER_BLOCKS = frozenset({"text", "image", "document", "tool_result"})
_ASSISTANT_BLOCKS = frozenset({"text", "tool_use", "thinking", "redacted_thinking"})
_TOOL_CHOICE_TYPES = frozenset({"auto", "any", "tool", "none"})

# The same cap as for chat completions (gateway/protocol/openai.py).
MAX_MESSAGES = 10_000


def validate_anthropic_request(body: Any) -> None:
    """Raise GatewayError(400) naming the first offending field (``messages.1.content.0.source``)."""
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("model", "field required (a non-empty string)")
    if len(model) > 256 or not model.isprintable():
        raise invalid("model", "must be a printable name of at most 256 characters")
    if "max_tokens" not in body:
        raise invalid("max_tokens", "field required")
    max_tokens = body["max_tokens"]
    if type(max_tokens) is not int:
        raise invalid("max_tokens", "must be an integer")
    if max_tokens < 1:
        raise invalid("max_tokens", "must be greater than or equal to 1")
    _check_messages(body.get("messages"))
    _check_system(body.get("system"))
    for name in ("temperature", "top_p"):
        _check_unit_interval(body, name)
    top_k = body.get("top_k")
    if top_k is not None and (type(top_k) is not int or top_k < 0):
        raise invalid("top_k", "must be a non-negative integer")
    stop = body.get("stop_sequences")
    if stop is not None and (not isinstance(stop, list) or not all(isinstance(s, str) for s in stop)):
        raise invalid("stop_sequences", "must be an array of strings")
    if "stream" in body and body["stream"] is not None and not isinstance(body["stream"], bool):
        raise invalid("stream", "must be a boolean")
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise invalid("metadata", "must be an object")
        user_id = metadata.get("user_id")
        if user_id is not None and not isinstance(user_id, str):
            raise invalid("metadata.user_id", "must be a string")
    _check_tools(body.get("tools"))
    _check_tool_choice(body.get("tool_choice"))


def _check_unit_interval(body: dict[str, Any], name: str) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(name, "must be a number")
    if not 0 <= value <= 1:
        raise invalid(name, "must be between 0 and 1")


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise invalid("system", "must be a string or an array of text blocks")
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise invalid(f"system.{i}.type", "system blocks must be text blocks")
        if not isinstance(block.get("text"), str):
            raise invalid(f"system.{i}.text", "must be a string")


def _check_messages(messages: Any) -> None:
    if messages is None:
        raise invalid("messages", "field required")
    if not isinstance(messages, list):
        raise invalid("messages", "must be an array")
    if not messages:
        raise invalid("messages", "at least one message is required")
    if len(messages) > MAX_MESSAGES:
        raise invalid("messages", f"at most {MAX_MESSAGES} messages are accepted")
    pending: set[str] = set()  # tool_use ids of the current assistant turn
    answered: set[str] = set()  # tool_use ids answered by the user turn after it
    last = len(messages) - 1
    previous_role = None
    for i, message in enumerate(messages):
        param = f"messages.{i}"
        if not isinstance(message, dict):
            raise invalid(param, "must be an object")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise invalid(f"{param}.role", "must be 'user' or 'assistant'")
        if i == 0 and role != "user":
            raise invalid(f"{param}.role", "the first message must use the 'user' role")
        if role == "assistant" and previous_role == "user":
            # Consecutive same-role messages form one turn, so tool bookkeeping is per turn.
            _check_all_answered(pending, answered, i - 1)
            pending, answered = set(), set()
        previous_role = role
        blocks = _content_blocks(message, param, may_be_empty=role == "assistant" and i == last)
        allowed = _USER_BLOCKS if role == "user" else _ASSISTANT_BLOCKS
        other_content_seen = False
        for j, block in enumerate(blocks):
            where = f"{param}.content.{j}"
            kind = block.get("type") if isinstance(block, dict) else None
            if kind not in allowed:
                raise invalid(f"{where}.type", f"{kind!r} blocks are not allowed in {role} messages")
            _check_block(kind, block, where)
            if kind == "tool_use":
                pending.add(block["id"])
            elif kind == "tool_result":
                if other_content_seen:
                    raise invalid(where, "tool_result blocks must come before any other content")
                if block["tool_use_id"] not in pending:
                    raise invalid(
                        f"{where}.tool_use_id",
                        "must match a tool_use block of the previous assistant message",
                    )
                answered.add(block["tool_use_id"])
            else:
                other_content_seen = True
    if previous_role == "user":
        _check_all_answered(pending, answered, last)


def _content_blocks(message: dict[str, Any], param: str, *, may_be_empty: bool) -> list[Any]:
    """The message's blocks ([] for string content); only a final assistant prefill may be empty."""
    if "content" not in message:
        raise invalid(f"{param}.content", "field required")
    content = message["content"]
    if not isinstance(content, str | list):
        raise invalid(f"{param}.content", "must be a string or an array of content blocks")
    if not content and not may_be_empty:
        raise invalid(f"{param}.content", "must be non-empty")
    return content if isinstance(content, list) else []


def _check_all_answered(pending: set[str], answered: set[str], user_index: int) -> None:
    missing = pending - answered
    if missing:
        raise invalid(
            f"messages.{user_index}.content",
            f"tool_use ids without a tool_result in the next user message: {', '.join(sorted(missing))}",
        )


def _check_block(kind: str, block: dict[str, Any], where: str) -> None:
    if kind == "text":
        if not isinstance(block.get("text"), str):
            raise invalid(f"{where}.text", "must be a string")
    elif kind == "image":
        _check_image_source(block.get("source"), f"{where}.source")
    elif kind == "document":
        _check_document_source(block.get("source"), f"{where}.source")
    elif kind == "tool_use":
        if not isinstance(block.get("id"), str) or not block["id"]:
            raise invalid(f"{where}.id", "must be a non-empty string")
        if not isinstance(block.get("name"), str) or not block["name"]:
            raise invalid(f"{where}.name", "must be a non-empty string")
        if not isinstance(block.get("input"), dict):
            raise invalid(f"{where}.input", "must be an object")
    elif kind == "tool_result":
        if not isinstance(block.get("tool_use_id"), str) or not block["tool_use_id"]:
            raise invalid(f"{where}.tool_use_id", "must be a non-empty string")
        if "is_error" in block and not isinstance(block["is_error"], bool):
            raise invalid(f"{where}.is_error", "must be a boolean")
        _check_tool_result_content(block.get("content"), f"{where}.content")
    elif kind == "thinking":
        if not isinstance(block.get("thinking"), str):
            raise invalid(f"{where}.thinking", "must be a string")


def _check_tool_result_content(content: Any, where: str) -> None:
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise invalid(where, "must be a string or an array of text and image blocks")
    for k, item in enumerate(content):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "text":
            if not isinstance(item.get("text"), str):
                raise invalid(f"{where}.{k}.text", "must be a string")
        elif kind == "image":
            _check_image_source(item.get("source"), f"{where}.{k}.source")
        else:
            raise invalid(f"{where}.{k}.type", "tool results may hold only text and image blocks")


def _check_image_source(source: Any, where: str) -> None:
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64":
        if source.get("media_type") not in _IMAGE_TYPES:
            raise invalid(
                f"{where}.media_type", "must be one of image/jpeg, image/png, image/gif, image/webp"
            )
        if not isinstance(source.get("data"), str) or not source["data"]:
            raise invalid(f"{where}.data", "must be a non-empty base64 string")
    elif kind == "url":
        url = source.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise invalid(f"{where}.url", "must be an http(s) URL")
    else:
        raise invalid(f"{where}.type", "must be 'base64' or 'url'")


def _check_document_source(source: Any, where: str) -> None:
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64":
        if source.get("media_type") != "application/pdf":
            raise invalid(f"{where}.media_type", "must be application/pdf")
        if not isinstance(source.get("data"), str) or not source["data"]:
            raise invalid(f"{where}.data", "must be a non-empty base64 string")
    elif kind == "text":
        if not isinstance(source.get("data"), str):
            raise invalid(f"{where}.data", "must be a string")
    else:
        raise invalid(f"{where}.type", "must be 'base64' or 'text'")


def _check_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise invalid("tools", "must be an array")
    names: set[str] = set()
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise invalid(f"tools.{i}", "must be an object")
        if tool.get("type") not in (None, "custom"):
            continue  # server tools (web search, code execution…) have their own shapes
        name = tool.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
            raise invalid(f"tools.{i}.name", "must match ^[a-zA-Z0-9_-]{1,128}$")
        if name in names:
            raise invalid(f"tools.{i}.name", f"tool names must be unique; {name!r} repeats")
        names.add(name)
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            raise invalid(f"tools.{i}.input_schema", "field required (a JSON Schema object)")
        if schema.get("type") != "object":
            raise invalid(f"tools.{i}.input_schema.type", "must be 'object'")
        if "description" in tool and not isinstance(tool["description"], str):
            raise invalid(f"tools.{i}.description", "must be a string")


def _check_tool_choice(choice: Any) -> None:
    if choice is None:
        return
    if not isinstance(choice, dict) or choice.get("type") not in _TOOL_CHOICE_TYPES:
        raise invalid("tool_choice.type", "must be one of 'auto', 'any', 'tool', 'none'")
    if choice["type"] == "tool" and (not isinstance(choice.get("name"), str) or not choice["name"]):
        raise invalid("tool_choice.name", "field required when type is 'tool'")
    dpt = choice.get("disable_parallel_tool_use")
    if dpt is not None and not isinstance(dpt, bool):
        raise invalid("tool_choice.disable_parallel_tool_use", "must be a boolean")
