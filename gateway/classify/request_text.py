"""What a chat request says, as plain text: every message (OpenAI or Anthropic shape), tool calls and
results, plus what the request asks of the model (tools, JSON, images)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

# isinstance(x, Mapping) on a dict goes through the ABC machinery (about 0.3 µs); a parsed JSON body's
# mappings are dicts, which `dict` first answers at C speed.
MAPPING = (dict, Mapping)
IMAGE_PART_TYPES = frozenset({"image_url", "image", "input_image"})
TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


class RequestText(NamedTuple):
    """Built on every call: a NamedTuple (immutable, and built in half the time of a frozen dataclass)."""

    texts: tuple[str, ...]  # every piece of text, in order (system, messages, tool calls/results)
    last_user_text: str  # the newest user turn: what is being asked now
    user_text: str  # all user turns joined (the domain is judged on it)
    tool_schema_text: str  # tool definitions as JSON (they cost prompt tokens)
    message_count: int
    images: bool
    tools: bool
    json_mode: bool
    max_tokens: int | None
    full_text: str  # the texts joined by newlines: what is scanned and counted


def _content_text(content: Any, *, found_image: list[bool]) -> str:
    """Text of a message content: a string, a list of parts, or nested tool results."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, MAPPING):
        content = [content]
    if not isinstance(content, list):
        return ""
    pieces: list[str] = []
    for part in content:
        if isinstance(part, str):
            pieces.append(part)
            continue
        if not isinstance(part, MAPPING):
            continue
        kind = part.get("type")
        if kind in IMAGE_PART_TYPES or "image_url" in part:
            found_image[0] = True
        text = part.get("text")
        if isinstance(text, str) and (kind in TEXT_PART_TYPES or kind is None):
            pieces.append(text)
        elif kind == "tool_use":  # Anthropic: the model's tool call
            pieces.append(_json(part.get("input")))
        elif kind == "tool_result":
            pieces.append(_content_text(part.get("content"), found_image=found_image))
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            pieces.append(part["refusal"])
    return "\n".join(p for p in pieces if p)


def _json(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # not JSON-serialisable, or nested past orjson's 254 levels
        try:
            return str(value)
        except RecursionError:  # nested deeper than Python's recursion limit: no text worth reading
            return ""


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    for key in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _json_mode(body: Mapping[str, Any]) -> bool:
    response_format = body.get("response_format")
    if response_format is not None and isinstance(response_format, MAPPING):
        return response_format.get("type") in ("json_object", "json_schema")
    text_format = body.get("text")  # the Responses API puts it under text.format
    if (
        text_format is not None
        and isinstance(text_format, MAPPING)
        and isinstance(text_format.get("format"), MAPPING)
    ):
        return text_format["format"].get("type") in ("json_object", "json_schema")
    return False


def read_request(body: Mapping[str, Any]) -> RequestText:
    """Collect the text of a chat (or legacy completion) request; unknown shapes yield empty text."""
    texts: list[str] = []
    user_texts: list[str] = []
    found_image = [False]
    system = body.get("system")  # Anthropic puts the system prompt beside the messages
    if system is not None:
        texts.append(_content_text(system, found_image=found_image))
    messages = body.get("messages")
    message_list = messages if isinstance(messages, list) else []
    for message in message_list:
        if not isinstance(message, MAPPING):
            continue
        text = _content_text(message.get("content"), found_image=found_image)
        for call in message.get("tool_calls") or ():
            if isinstance(call, MAPPING) and isinstance(call.get("function"), MAPPING):
                text += "\n" + _json(call["function"].get("arguments"))
        if text:
            texts.append(text)
            if message.get("role") == "user":
                user_texts.append(text)
    for key in ("prompt", "input"):  # legacy completions and the Responses API
        value = body.get(key)
        if isinstance(value, str):
            texts.append(value)
            user_texts.append(value)
        elif isinstance(value, list):
            joined = _content_text(
                [v for v in value if isinstance(v, str | dict | Mapping)], found_image=found_image
            )
            for item in value:
                if isinstance(item, MAPPING) and "content" in item:
                    joined += "\n" + _content_text(item.get("content"), found_image=found_image)
            if joined.strip():
                texts.append(joined)
                user_texts.append(joined)
    tools = body.get("tools") or body.get("functions")
    tool_list = tools if isinstance(tools, list) else []
    pieces = tuple(t for t in texts if t)
    return RequestText(
        texts=pieces,
        last_user_text=user_texts[-1] if user_texts else (texts[-1] if texts else ""),
        user_text="\n".join(user_texts),
        tool_schema_text=_json(tool_list) if tool_list else "",
        message_count=len(message_list),
        images=found_image[0],
        tools=bool(tool_list),
        json_mode=_json_mode(body),
        max_tokens=_max_tokens(body),
        full_text="\n".join(pieces),
    )
