"""Anthropic Messages request body -> OpenAI Chat Completions request body (OpenAI, vLLM)."""

from __future__ import annotations

from typing import Any

from gateway.translate._shared import json_text, unsupported

Message = dict[str, Any]
Part = dict[str, Any]


def anthropic_to_openai_request(
    body: dict[str, Any], *, upstream_model: str, max_tokens_field: str = "max_completion_tokens"
) -> dict[str, Any]:
    """Translate a /v1/messages body that passed ``validate_anthropic_request``.

    ``max_tokens_field`` is "max_tokens" for OpenAI-compatible servers that predate
    ``max_completion_tokens``. ``top_k``, ``thinking`` and cache hints are dropped.
    """
    messages: list[Message] = []
    system = body.get("system")
    if system:
        text = system if isinstance(system, str) else "\n\n".join(b["text"] for b in system if b.get("text"))
        if text:
            messages.append({"role": "system", "content": text})
    for message in body["messages"]:
        if message["role"] == "user":
            messages.extend(_user_messages(message["content"]))
            continue
        converted = _assistant_message(message["content"])
        previous = messages[-1] if messages else None
        if previous is not None and previous["role"] == "assistant":
            # Anthropic merges consecutive assistant turns; OpenAI needs tool messages right after tool_calls.
            _merge_assistant(previous, converted)
        elif converted["content"] or converted.get("tool_calls"):
            messages.append(converted)
        # An empty final assistant turn (an empty prefill) means nothing to OpenAI: dropped.

    out: dict[str, Any] = {
        "model": upstream_model,
        "messages": messages,
        max_tokens_field: body["max_tokens"],
    }
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    if body.get("stop_sequences"):
        out["stop"] = list(body["stop_sequences"])
    tools = body.get("tools")
    if tools:
        out["tools"] = [_tool(tool, i) for i, tool in enumerate(tools)]
        _apply_tool_choice(out, body.get("tool_choice"))
    user_id = (body.get("metadata") or {}).get("user_id")
    if isinstance(user_id, str) and user_id:
        out["user"] = user_id
    if body.get("stream"):
        out["stream"] = True
        # Without this OpenAI never reports usage on a stream, and we meter every call.
        out["stream_options"] = {"include_usage": True}
    return out


def _user_messages(content: str | list[dict[str, Any]]) -> list[Message]:
    """One Anthropic user turn: tool results become ``tool`` messages, which must come first."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tool_messages: list[Message] = []
    parts: list[Part] = []
    for block in content:
        kind = block["type"]
        if kind == "tool_result":
            tool_messages.append(_tool_message(block, parts))
        elif kind == "text":
            parts.append({"type": "text", "text": block["text"]})
        elif kind == "image":
            parts.append(_image_part(block))
        elif kind == "document":
            parts.append(_document_part(block))
    out = tool_messages
    if parts:
        single_text = len(parts) == 1 and parts[0]["type"] == "text"
        out.append({"role": "user", "content": parts[0]["text"] if single_text else parts})
    return out


def _tool_message(block: dict[str, Any], user_parts: list[Part]) -> Message:
    content = block.get("content")
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        texts = []
        for item in content:
            if item["type"] == "text":
                texts.append(item["text"])
            elif item["type"] == "image":
                # OpenAI tool messages carry text only: the image goes to the user turn after them.
                user_parts.append(_image_part(item))
        text = "\n".join(texts)
    if block.get("is_error"):
        text = f"Error: {text}" if text else "Error"
    return {"role": "tool", "tool_call_id": block["tool_use_id"], "content": text}


def _image_part(block: dict[str, Any]) -> Part:
    source = block["source"]
    if source["type"] == "base64":
        url = f"data:{source['media_type']};base64,{source['data']}"
    else:
        url = source["url"]
    return {"type": "image_url", "image_url": {"url": url}}


def _document_part(block: dict[str, Any]) -> Part:
    source = block["source"]
    if source["type"] == "text":
        return {"type": "text", "text": source["data"]}
    if source["type"] == "base64":
        file_data = f"data:{source['media_type']};base64,{source['data']}"
        return {
            "type": "file",
            "file": {"filename": block.get("title") or "document.pdf", "file_data": file_data},
        }
    raise unsupported("messages.content.source", f"document source {source['type']!r} is not supported")


def _assistant_message(content: str | list[dict[str, Any]]) -> Message:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for block in content:
        if block["type"] == "text":
            texts.append(block["text"])
        elif block["type"] == "tool_use":
            tool_calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": json_text(block["input"])},
                }
            )
        # thinking blocks are the provider's own chain of thought: nothing to send to another model.
    message: Message = {"role": "assistant", "content": "".join(texts) or None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    elif message["content"] is None:
        message["content"] = ""
    return message


def _merge_assistant(into: Message, other: Message) -> None:
    text = (into["content"] or "") + (other["content"] or "")
    into["content"] = text or (None if into.get("tool_calls") or other.get("tool_calls") else "")
    if other.get("tool_calls"):
        into["tool_calls"] = into.get("tool_calls", []) + other["tool_calls"]


def _tool(tool: dict[str, Any], i: int) -> dict[str, Any]:
    if tool.get("type") not in (None, "custom"):
        raise unsupported(f"tools.{i}.type", f"server tool {tool['type']!r} is only available on Anthropic")
    function: dict[str, Any] = {"name": tool["name"], "parameters": tool["input_schema"]}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _apply_tool_choice(out: dict[str, Any], choice: dict[str, Any] | None) -> None:
    if not choice:
        return
    kind = choice["type"]
    if kind == "auto":
        out["tool_choice"] = "auto"
    elif kind == "any":
        out["tool_choice"] = "required"
    elif kind == "none":
        out["tool_choice"] = "none"
    elif kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    if choice.get("disable_parallel_tool_use") and kind != "none":
        out["parallel_tool_calls"] = False
