"""Token counting with tiktoken, offline: the encodings ship inside the litellm package."""

from __future__ import annotations

from typing import Any

import tiktoken

from gateway.classify.tokens import get_encoding


def encoding_for_model(model: str) -> tiktoken.Encoding:
    m = model.lower()
    if m.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4")):
        return get_encoding("o200k_base")
    return get_encoding("cl100k_base")


def count_text(text: str, model: str = "") -> int:
    if not text:
        return 0
    return len(encoding_for_model(model).encode(text, disallowed_special=()))


def message_text(content: Any) -> str:
    """The text of an OpenAI message content: a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = (p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text")
        return "\n".join(text for text in texts if isinstance(text, str))
    return ""


def count_prompt(messages: list[dict[str, Any]], model: str = "", tools: Any = None) -> int:
    """Prompt tokens the way OpenAI counts a chat request (3 per message + 3 for the reply priming)."""
    enc = encoding_for_model(model)
    total = 3
    for m in messages:
        total += 3
        total += len(enc.encode(message_text(m.get("content")), disallowed_special=()))
        if m.get("name"):
            total += 1
        for call in m.get("tool_calls") or ():
            fn = call.get("function") or {}
            total += len(enc.encode(f"{fn.get('name', '')}{fn.get('arguments', '')}", disallowed_special=()))
    if tools:
        import orjson

        total += len(enc.encode(orjson.dumps(tools).decode(), disallowed_special=()))
    return total
