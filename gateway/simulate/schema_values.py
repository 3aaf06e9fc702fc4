"""Deterministic JSON values that satisfy a JSON Schema's types, required properties and simple bounds."""

from __future__ import annotations

from typing import Any

_MAX_DEPTH = 8
_FORMATTED_STRINGS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "email": "simulated@example.com",
    "uri": "https://example.com/simulated",
    "url": "https://example.com/simulated",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "simulated.example.com",
}


def value_for_schema(schema: Any, *, name: str = "value") -> Any:
    """A value valid for `schema` (types, enum/const, required, min/max bounds); `name` seeds strings."""
    root = schema if isinstance(schema, dict) else {}
    return _value(root, root, name, 0)


def _resolve(schema: dict, root: dict, depth: int) -> dict:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/") or depth > _MAX_DEPTH:
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
    if not isinstance(target, dict):
        return {}
    merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return _resolve(merged, root, depth + 1)


def _first_type(schema: dict) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        return non_null[0] if non_null else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return None


def _value(schema: dict, root: dict, name: str, depth: int) -> Any:
    schema = _resolve(schema, root, depth)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for combinator in ("anyOf", "oneOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            usable = [o for o in options if isinstance(o, dict) and o.get("type") != "null"] or options
            return _value({**_strip(schema, combinator), **usable[0]}, root, name, depth + 1)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        return _value(_merge_all_of(schema, all_of, root, depth), root, name, depth + 1)
    kind = _first_type(schema)
    if kind == "object":
        return _object(schema, root, depth)
    if kind == "array":
        return _array(schema, root, name, depth)
    if kind == "integer":
        return int(_number(schema, integer=True))
    if kind == "number":
        return _number(schema, integer=False)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, name)


def _strip(schema: dict, key: str) -> dict:
    return {k: v for k, v in schema.items() if k != key}


def _merge_all_of(schema: dict, parts: list, root: dict, depth: int) -> dict:
    merged: dict = _strip(schema, "allOf")
    properties: dict = dict(merged.get("properties") or {})
    required: list = list(merged.get("required") or [])
    for part in parts:
        if not isinstance(part, dict):
            continue
        part = _resolve(part, root, depth + 1)
        properties.update(part.get("properties") or {})
        required.extend(r for r in part.get("required") or [] if r not in required)
        merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
    if properties:
        merged["properties"] = properties
    if required:
        merged["required"] = required
    return merged


def _object(schema: dict, root: dict, depth: int) -> dict:
    properties = schema.get("properties") or {}
    required = [r for r in schema.get("required") or [] if isinstance(r, str)]
    if depth >= _MAX_DEPTH:
        names = required  # stop growing optional branches of recursive schemas
    else:
        names = list(properties) + [r for r in required if r not in properties]
    out: dict[str, Any] = {}
    for key in names:
        sub = properties.get(key)
        out[key] = _value(sub if isinstance(sub, dict) else {}, root, key, depth + 1)
    return out


def _array(schema: dict, root: dict, name: str, depth: int) -> list:
    prefix = schema.get("prefixItems")
    if isinstance(prefix, list) and prefix:
        return [_value(p if isinstance(p, dict) else {}, root, name, depth + 1) for p in prefix]
    items = schema.get("items")
    minimum = schema.get("minItems")
    count = max(1, minimum if isinstance(minimum, int) else 0)
    maximum = schema.get("maxItems")
    if isinstance(maximum, int):
        count = min(count, maximum)
    if depth >= _MAX_DEPTH:
        count = minimum if isinstance(minimum, int) else 0
    item_schema = items if isinstance(items, dict) else {}
    return [_value(item_schema, root, name, depth + 1) for _ in range(count)]


def _number(schema: dict, *, integer: bool) -> float:
    low = schema.get("minimum")
    high = schema.get("maximum")
    ex_low = schema.get("exclusiveMinimum")
    ex_high = schema.get("exclusiveMaximum")
    value: float = 1
    if isinstance(low, int | float):
        value = max(value, low)
    if isinstance(ex_low, int | float) and value <= ex_low:
        value = ex_low + 1 if integer else ex_low + 0.5
    if isinstance(high, int | float) and value > high:
        value = high
    if isinstance(ex_high, int | float) and value >= ex_high:
        value = ex_high - 1 if integer else ex_high - 0.5
    if integer:
        return int(value)
    return float(value)


def _string(schema: dict, name: str) -> str:
    fmt = schema.get("format")
    text = _FORMATTED_STRINGS.get(fmt, f"simulated {name}") if isinstance(fmt, str) else f"simulated {name}"
    low = schema.get("minLength")
    high = schema.get("maxLength")
    if isinstance(low, int) and len(text) < low:
        text = text + "x" * (low - len(text))
    if isinstance(high, int) and len(text) > high:
        text = text[:high]
    return text
