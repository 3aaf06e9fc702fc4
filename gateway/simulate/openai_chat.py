"""OpenAI (and vLLM) chat completions: request validation and the response / SSE chunk shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gateway.simulate.config import Provider
from gateway.simulate.errors import SimRequestError, invalid
from gateway.simulate.replies import Completion, ReplyRequest, ToolMode, ToolSpec
from gateway.simulate.tokens import TokenCounter
from gateway.simulate.tool_pairing import check_openai_tool_pairing

_ROLES = frozenset(("system", "developer", "user", "assistant", "tool", "function"))
_FINISH = {"stop": "stop", "stop_sequence": "stop", "length": "length", "tool": "tool_calls"}
_IMAGE_TOKENS = 85  # a low-detail image, the least OpenAI bills for one
_MAX_N = 128


@dataclass(frozen=True, slots=True)
class ChatCall:
    """A validated chat completion request."""

    model: str
    stream: bool
    include_usage: bool
    reply: ReplyRequest
    prompt_tokens: int
    marker_text: str


def parse_chat(body: Any, *, counter: TokenCounter) -> ChatCall:
    """Validate like OpenAI does (the common 400s) and extract what decides the reply."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("Invalid 'messages': empty array or missing.", param="messages", code="invalid_value")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise invalid(f"Invalid value for 'messages[{i}].role'.", param=f"messages[{i}].role")
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise invalid(f"Invalid type for 'messages[{i}].content'.", param=f"messages[{i}].content")
    check_openai_tool_pairing(messages)
    stream = _bool(body, "stream")
    stream_options = body.get("stream_options")
    if stream_options is not None and not stream:
        raise invalid(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options"
        )
    include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True
    n = _int(body, "n", low=1, high=_MAX_N) or 1
    max_tokens = _int(body, "max_completion_tokens", low=1)
    if max_tokens is None:
        max_tokens = _int(body, "max_tokens", low=1)
    _number(body, "temperature", 0.0, 2.0)
    _number(body, "top_p", 0.0, 1.0)
    tools, tool_mode, forced = _tools(body)
    json_mode, json_schema = _response_format(body, messages)
    marker_text = _last_user_text(messages)
    last_is_tool = messages[-1].get("role") in ("tool", "function")
    prompt_text = _content_text(messages[-1].get("content")) if last_is_tool else marker_text
    reply = ReplyRequest(
        prompt_text=prompt_text,
        tools=tools,
        tool_mode=tool_mode,
        forced_tool=forced,
        last_is_tool_result=last_is_tool,
        json_mode=json_mode,
        json_schema=json_schema,
        max_tokens=max_tokens,
        stop=_stop(body),
        n=n,
    )
    return ChatCall(
        model=model,
        stream=stream,
        include_usage=include_usage,
        reply=reply,
        prompt_tokens=count_prompt_tokens(messages, body.get("tools"), counter),
        marker_text=marker_text,
    )


def count_prompt_tokens(messages: list, tools: Any, counter: TokenCounter) -> int:
    """tiktoken-style count of a chat prompt: 3 tokens per message and 3 to prime the reply."""
    total = 3
    for message in messages:
        total += 3 + counter.count(message.get("role", ""))
        content = message.get("content")
        total += counter.count(_content_text(content))
        if isinstance(content, list):
            total += _IMAGE_TOKENS * sum(
                1 for p in content if isinstance(p, dict) and p.get("type") == "image_url"
            )
        if message.get("name"):
            total += 1 + counter.count(str(message["name"]))
        if message.get("tool_calls"):
            total += counter.count(orjson.dumps(message["tool_calls"]).decode())
    if tools:
        total += counter.count(orjson.dumps(tools).decode())
    return total


def usage_block(prompt_tokens: int, completions: list[Completion], provider: Provider) -> dict:
    completion_tokens = sum(c.tokens for c in completions)
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if provider == "vllm":
        usage["prompt_tokens_details"] = None
    else:
        usage["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        usage["completion_tokens_details"] = {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        }
    return usage


def chat_completion_body(
    call: ChatCall, completions: list[Completion], *, provider: Provider, completion_id: str, created: int
) -> bytes:
    """The non-streamed chat.completion object."""
    choices = []
    for index, completion in enumerate(completions):
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
        if completion.tool_name is not None:
            message["tool_calls"] = [_tool_call(completion, with_arguments=True)]
        else:
            message["content"] = completion.text
        choice: dict[str, Any] = {
            "index": index,
            "message": message,
            "logprobs": None,
            "finish_reason": _finish_reason(call, completion),
        }
        if provider == "vllm":
            choice["stop_reason"] = completion.stop_sequence
        choices.append(choice)
    body = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": call.model,
        "choices": choices,
        "usage": usage_block(call.prompt_tokens, completions, provider),
        "system_fingerprint": None if provider == "vllm" else "fp_simulated",
        "service_tier": None if provider == "vllm" else "default",
    }
    return orjson.dumps(body)


def chat_completion_events(
    call: ChatCall, completions: list[Completion], *, provider: Provider, completion_id: str, created: int
) -> list[bytes]:
    """The SSE events of a streamed completion, one token per chunk, choices interleaved."""
    head: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": call.model,
        "system_fingerprint": None if provider == "vllm" else "fp_simulated",
    }
    if call.include_usage:
        head["usage"] = None

    def chunk(index: int, delta: dict, finish: str | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return b"data: " + orjson.dumps({**head, "choices": [choice]}) + b"\n\n"

    events = []
    for index, completion in enumerate(completions):
        first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
        if completion.tool_name is not None:
            first["content"] = None
            first["tool_calls"] = [{"index": 0, **_tool_call(completion, with_arguments=False)}]
        events.append(chunk(index, first))
    longest = max((c.tokens for c in completions), default=0)
    for position in range(longest):
        for index, completion in enumerate(completions):
            if position >= completion.tokens:
                continue
            piece = completion.pieces[position]
            if completion.tool_name is not None:
                events.append(chunk(index, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
            else:
                events.append(chunk(index, {"content": piece}))
    for index, completion in enumerate(completions):
        events.append(chunk(index, {}, _finish_reason(call, completion)))
    if call.include_usage:
        usage = usage_block(call.prompt_tokens, completions, provider)
        events.append(b"data: " + orjson.dumps({**head, "choices": [], "usage": usage}) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def _finish_reason(call: ChatCall, completion: Completion) -> str:
    if completion.finish == "tool" and call.reply.forced_tool is not None:
        # A tool named in tool_choice ends with "stop" at OpenAI, tool calls and all (vLLM does the same).
        return "stop"
    return _FINISH[completion.finish]


def _tool_call(completion: Completion, *, with_arguments: bool) -> dict:
    return {
        "id": f"call_{completion.tool_id}",
        "type": "function",
        "function": {"name": completion.tool_name, "arguments": completion.text if with_arguments else ""},
    }


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") in ("text", None)
        )
    return ""


def _last_user_text(messages: list) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _bool(body: dict, name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(f"Invalid type for '{name}': expected a boolean.", param=name, code="invalid_type")
    return value


def _int(
    body: dict, name: str, *, low: int, high: int | None = None, default: int | None = None
) -> int | None:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"Invalid type for '{name}': expected an integer.", param=name, code="invalid_type")
    if value < low or (high is not None and value > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise invalid(f"Invalid '{name}': must be {bound}, got {value}.", param=name, code="invalid_value")
    return value


def _number(body: dict, name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"Invalid type for '{name}': expected a number.", param=name, code="invalid_type")
    if not low <= value <= high:
        raise invalid(
            f"Invalid '{name}': must be between {low:g} and {high:g}, got {value}.",
            param=name,
            code="invalid_value",
        )


def _stop(body: dict) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    if isinstance(stop, str):
        return (stop,) if stop else ()
    if isinstance(stop, list) and len(stop) <= 4 and all(isinstance(s, str) for s in stop):
        return tuple(s for s in stop if s)
    raise invalid("Invalid 'stop': expected a string or an array of at most 4 strings.", param="stop")


def _tools(body: dict) -> tuple[tuple[ToolSpec, ...], ToolMode, str | None]:
    raw_tools = body.get("tools")
    choice = body.get("tool_choice")
    if raw_tools is None:
        if choice is not None and choice != "none":
            raise invalid(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                param="tool_choice",
            )
        return (), "auto", None
    if not isinstance(raw_tools, list):
        raise invalid("Invalid type for 'tools': expected an array.", param="tools", code="invalid_type")
    tools = []
    for i, tool in enumerate(raw_tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if (
            not isinstance(tool, dict)
            or tool.get("type") != "function"
            or not isinstance(name, str)
            or not name
        ):
            raise invalid(f"Missing required parameter: 'tools[{i}].function.name'.", param=f"tools[{i}]")
        assert isinstance(function, dict)
        parameters = function.get("parameters")
        tools.append(ToolSpec(name, parameters if isinstance(parameters, dict) else {"type": "object"}))
    names = {t.name for t in tools}
    if choice is None or choice in ("auto", "none", "required"):
        return tuple(tools), (choice or "auto"), None
    forced = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    if not isinstance(forced, str) or forced not in names:
        raise invalid("Invalid value for 'tool_choice': no tool with that name.", param="tool_choice")
    return tuple(tools), "required", forced


def _response_format(body: dict, messages: list) -> tuple[bool, dict | None]:
    response_format = body.get("response_format")
    if response_format is None:
        return False, None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return False, None
    if kind == "json_object":
        if not any("json" in _content_text(m.get("content")).lower() for m in messages):
            raise invalid(
                "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
                "'json_object'.",
                param="messages",
            )
        return True, None
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise invalid(
                "Missing required parameter: 'response_format.json_schema.name'.", param="response_format"
            )
        schema = spec.get("schema")
        return True, schema if isinstance(schema, dict) else {"type": "object"}
    raise invalid("Invalid value for 'response_format.type'.", param="response_format.type")


def ensure_served_model(call: ChatCall, served_model: str) -> None:
    """vLLM answers 404 for any model but the one it serves."""
    if call.model != served_model:
        raise SimRequestError(
            404, f"The model `{call.model}` does not exist.", param="model", type="NotFoundError"
        )
