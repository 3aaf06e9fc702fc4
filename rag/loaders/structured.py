"""JSON and JSON Lines: one block per record, rendered as readable `path: value` lines."""

from __future__ import annotations

import json
from typing import Any

from rag.loaders.limits import LoaderLimits
from rag.loaders.text import decode_text
from rag.loaders.types import Block, CorruptDocumentError


def load_json(data: bytes, limits: LoaderLimits) -> list[Block]:
    """A top-level array gives one block per element; an object one block per top-level key."""
    value = _parse(decode_text(data), limits, where="the JSON document")
    if isinstance(value, list):
        items = [_render(item) for item in value]
    elif isinstance(value, dict):
        items = [_render({key: item}) for key, item in value.items()]
    else:
        items = [_render(value)]
    return [Block("paragraph", text) for text in items if text.strip()]


def load_jsonl(data: bytes, limits: LoaderLimits) -> list[Block]:
    """One block per non-empty line; every line must be valid JSON."""
    blocks = []
    for number, line in enumerate(decode_text(data).split("\n"), start=1):
        if line.strip():
            text = _render(_parse(line, limits, where=f"line {number}"))
            if text.strip():
                blocks.append(Block("paragraph", text))
    return blocks


def _parse(text: str, limits: LoaderLimits, *, where: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptDocumentError(f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise CorruptDocumentError(f"{where} is nested too deeply") from None
    if _depth(value, limits.max_json_depth) > limits.max_json_depth:
        raise CorruptDocumentError(f"{where} is nested deeper than {limits.max_json_depth} levels")
    return value


def _depth(value: Any, limit: int) -> int:
    depth, level = 0, [value]
    while level and depth <= limit:
        depth += 1
        nxt: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                nxt.extend(item.values())
            elif isinstance(item, list):
                nxt.extend(item)
        level = nxt
    return depth


def _render(value: Any, path: str = "") -> str:
    if isinstance(value, dict):
        return "\n".join(_render(v, f"{path}.{k}" if path else str(k)) for k, v in value.items())
    if isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            scalars = ", ".join(_scalar(v) for v in value)
            return f"{path}: {scalars}" if path else scalars
        return "\n".join(_render(v, f"{path}[{i}]") for i, v in enumerate(value))
    return f"{path}: {_scalar(value)}" if path else _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
