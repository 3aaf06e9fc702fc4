"""OpenAI Chat Completions request body -> Anthropic Messages request body."""

from __future__ import annotations

import re
from typing import Any

import orjson

from gateway.translate._shared import invalid, json_text, unsupported

_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)((?:;[^,;]*)*?);base64,(.*)", re.DOTALL)
# Anthropic accepts only these characters in tool ids; OpenAI-compatible servers are less strict.
_BAD_TOOL_ID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_TOOL_CHOICES: dict[str, dict[str, Any]] = {
    "auto": {"type": "auto"},
    "none": {"type": "none"},
    "required": {"type": "any"},
}

Block = dict[str, Any]


def openai_to_anthropic_request(
    body: dict[str, Any], *, upstream_model: str, default_max_tokens: int = 4096
) -> dict[str, Any]:
    """Translate a /v1/chat/completions body for Anthropic; fields Anthropic lacks are dropped."""
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    n = body.get("n")
    if n is not None and n != 1:
        raise unsupported("n", "Anthropic models return one choice per request; n must be 1")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages", "must be a non-empty array")

    system, turns = _convert_messages(messages)
    if not turns:
        raise invalid("messages", "at least one user or assistant message is required")
    instruction = _json_instruction(body.get("response_format"))
    if instruction:
        system.append({"type": "text", "text": instruction})

    out: dict[str, Any] = {
        "model": upstream_model,
        "max_tokens": _max_tokens(body, default_max_tokens),
        "messages": turns,
    }
    if system:
        out["system"] = system
    temperature = body.get("temperature")
    if temperature is not None:
        _require_number("temperature", temperature)
        # OpenAI allows 0..2, Anthropic 0..1: a valid OpenAI request must not fail because of routing.
        out["temperature"] = min(float(temperature), 1.0)
    top_p = body.get("top_p")
    if top_p is not None:
        _require_number("top_p", top_p)
        # top_p = 1 is a no-op, and recent Claude models refuse temperature and top_p together (400
        # "temperature and top_p cannot both be specified"), which OpenAI accepts: temperature is kept.
        if top_p < 1 and "temperature" not in out:
            out["top_p"] = top_p
    stop = _stop_sequences(body.get("stop"))
    if stop:
        out["stop_sequences"] = stop
    tools = body.get("tools")
    if tools:
        out["tools"] = _convert_tools(tools)
        choice = _convert_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    if body.get("stream"):
        out["stream"] = True
    return out


def _max_tokens(body: dict[str, Any], default: int) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if type(value) is not int or value < 1:
            raise invalid(name, "must be an integer >= 1")
        return value
    return default


def _require_number(param: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise invalid(param, "must be a non-negative number")


def _stop_sequences(stop: Any) -> list[str]:
    if stop is None:
        return []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise invalid("stop", "must be a string or an array of strings")
    # Anthropic rejects whitespace-only stop sequences; they cannot match anything useful anyway.
    return [s for s in stop if s.strip()]


def _convert_messages(messages: list[Any]) -> tuple[list[Block], list[dict[str, Any]]]:
    """Split system text from the turns and merge consecutive same-role turns."""
    system: list[Block] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        if not isinstance(message, dict):
            raise invalid(param, "must be an object")
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system.extend(_text_blocks(content, f"{param}.content"))
            continue
        if role == "user":
            blocks = _user_blocks(content, f"{param}.content")
            anthropic_role = "user"
        elif role == "assistant":
            blocks = _assistant_blocks(message, param)
            anthropic_role = "assistant"
        elif role == "tool":
            blocks = [_tool_result_block(message, param)]
            anthropic_role = "user"
        else:
            raise invalid(f"{param}.role", f"unsupported role {role!r}")
        if not blocks:
            continue
        if turns and turns[-1]["role"] == anthropic_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": anthropic_role, "content": blocks})
    return system, turns


def _text_blocks(content: Any, param: str) -> list[Block]:
    """Text-only content (system, developer, tool) as Anthropic text blocks."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise invalid(param, "must be a string or an array of text parts")
    blocks = []
    for j, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise invalid(f"{param}[{j}]", "only text parts are allowed here")
        if part["text"]:
            blocks.append(_text_block(part))
    return blocks


def _text_block(part: dict[str, Any]) -> Block:
    block: Block = {"type": "text", "text": part["text"]}
    # Prompt caching hints pass through: some OpenAI clients already send them for Claude.
    if isinstance(part.get("cache_control"), dict):
        block["cache_control"] = part["cache_control"]
    return block


def _user_blocks(content: Any, param: str) -> list[Block]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise invalid(param, "must be a string or an array of content parts")
    blocks: list[Block] = []
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if not isinstance(part.get("text"), str):
                raise invalid(f"{where}.text", "must be a string")
            if part["text"]:
                blocks.append(_text_block(part))
        elif kind == "image_url":
            blocks.append(_image_block(part.get("image_url"), f"{where}.image_url"))
        elif kind == "file":
            blocks.append(_document_block(part.get("file"), f"{where}.file"))
        elif kind is None:
            raise invalid(where, "must be an object with a type")
        else:
            raise unsupported(f"{where}.type", f"content part {kind!r} is not supported by Anthropic models")
    return blocks


def _image_block(image: Any, param: str) -> Block:
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str) or not url:
        raise invalid(f"{param}.url", "must be a non-empty string")
    if url.startswith("data:"):
        media_type, data = _parse_data_url(url, f"{param}.url")
        if media_type not in _IMAGE_TYPES:
            raise unsupported(
                f"{param}.url", f"image type {media_type} is not supported (jpeg, png, gif, webp)"
            )
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise invalid(f"{param}.url", "must be an http(s) URL or a base64 data URL")


def _document_block(file: Any, param: str) -> Block:
    data_url = file.get("file_data") if isinstance(file, dict) else None
    if not isinstance(data_url, str):
        raise unsupported(param, "only inline file_data (a base64 PDF data URL) is supported")
    media_type, data = _parse_data_url(data_url, f"{param}.file_data")
    if media_type != "application/pdf":
        raise unsupported(f"{param}.file_data", f"file type {media_type} is not supported (PDF only)")
    return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _parse_data_url(url: str, param: str) -> tuple[str, str]:
    match = _DATA_URL.fullmatch(url)
    if match is None or not match.group(3):
        raise invalid(param, "must be a base64 data URL (data:<type>;base64,<data>)")
    return match.group(1).lower(), match.group(3)


def _assistant_blocks(message: dict[str, Any], param: str) -> list[Block]:
    content = message.get("content")
    blocks: list[Block] = []
    if isinstance(content, str):
        if content:
            blocks.append({"type": "text", "text": content})
    elif isinstance(content, list):
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            text = part.get("text") if kind == "text" else part.get("refusal") if kind == "refusal" else None
            if not isinstance(text, str):
                raise invalid(f"{param}.content[{j}]", "assistant content parts must be text or refusal")
            if text:
                blocks.append({"type": "text", "text": text})
    elif content is not None:
        raise invalid(f"{param}.content", "must be a string, an array of parts or null")
    tool_calls = message.get("tool_calls")
    if tool_calls is None:
        return blocks
    if not isinstance(tool_calls, list):
        raise invalid(f"{param}.tool_calls", "must be an array")
    for j, call in enumerate(tool_calls):
        blocks.append(_tool_use_block(call, f"{param}.tool_calls[{j}]"))
    return blocks


def _tool_use_block(call: Any, param: str) -> Block:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(call.get("id"), str):
        raise invalid(param, "must have an id and a function")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise invalid(f"{param}.function.name", "must be a non-empty string")
    arguments = function.get("arguments") or "{}"
    try:
        parsed = orjson.loads(arguments) if isinstance(arguments, str) else arguments
    except orjson.JSONDecodeError as exc:
        raise invalid(f"{param}.function.arguments", "must be a JSON object") from exc
    if not isinstance(parsed, dict):
        raise invalid(f"{param}.function.arguments", "must be a JSON object")
    return {"type": "tool_use", "id": _tool_id(call["id"]), "name": name, "input": parsed}


def _tool_result_block(message: dict[str, Any], param: str) -> Block:
    tool_call_id = message.get("tool_call_id")
    if not isinstance(tool_call_id, str) or not tool_call_id:
        raise invalid(f"{param}.tool_call_id", "must be a non-empty string")
    content = message.get("content")
    if content is None:
        content = ""
    blocks = _text_blocks(content, f"{param}.content")
    result: Block = {"type": "tool_result", "tool_use_id": _tool_id(tool_call_id)}
    if blocks:
        result["content"] = blocks if len(blocks) > 1 else blocks[0]["text"]
    return result


def _tool_id(tool_id: str) -> str:
    return _BAD_TOOL_ID_CHARS.sub("_", tool_id) if _BAD_TOOL_ID_CHARS.search(tool_id) else tool_id


def _convert_tools(tools: Any) -> list[Block]:
    if not isinstance(tools, list):
        raise invalid("tools", "must be an array")
    out = []
    for i, tool in enumerate(tools):
        param = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise unsupported(f"{param}.type", "only function tools are supported by Anthropic models")
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise invalid(f"{param}.function.name", "must be a string")
        schema = function.get("parameters")
        if schema is None:
            schema = {"type": "object", "properties": {}}
        elif not isinstance(schema, dict):
            raise invalid(f"{param}.function.parameters", "must be a JSON Schema object")
        converted: Block = {"name": function["name"], "input_schema": schema}
        description = function.get("description")
        if isinstance(description, str) and description:
            converted["description"] = description
        out.append(converted)
    return out


def _convert_tool_choice(choice: Any, parallel_tool_calls: Any) -> dict[str, Any] | None:
    converted: dict[str, Any] | None
    if choice is None:
        converted = None
    elif isinstance(choice, str) and choice in _TOOL_CHOICES:
        converted = dict(_TOOL_CHOICES[choice])
    elif isinstance(choice, dict) and choice.get("type") == "function":
        name = choice.get("function", {}).get("name") if isinstance(choice.get("function"), dict) else None
        if not isinstance(name, str) or not name:
            raise invalid("tool_choice.function.name", "must be a non-empty string")
        converted = {"type": "tool", "name": name}
    else:
        raise invalid("tool_choice", "must be 'auto', 'none', 'required' or a function choice")
    if parallel_tool_calls is False:
        converted = converted or {"type": "auto"}
        if converted["type"] != "none":
            converted["disable_parallel_tool_use"] = True
    return converted


def _json_instruction(response_format: Any) -> str | None:
    """Anthropic has no JSON mode: say it in the system prompt instead."""
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return (
            "Respond only with a single valid JSON object. Do not add any text, explanation or "
            "markdown code fences before or after the JSON."
        )
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise invalid("response_format.json_schema.schema", "must be a JSON Schema object")
        return (
            "Respond only with a single valid JSON value that conforms to this JSON Schema. Do not add "
            "any text, explanation or markdown code fences before or after the JSON.\n"
            f"JSON Schema: {json_text(spec['schema'])}"
        )
    raise invalid("response_format.type", "must be 'text', 'json_object' or 'json_schema'")
