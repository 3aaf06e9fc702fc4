"""Request parsing shared by the routers: bounded body reads, strict JSON, validation errors with a path."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.types import Receive

from gateway.errors import GatewayError
from gateway.protocol.openai import FORBIDDEN_FIELDS

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


def too_large(max_bytes: int) -> GatewayError:
    return GatewayError(413, f"request body over the {max_bytes} byte limit", code="request_too_large")


async def read_asgi_body(receive: Receive, declared_length: str | None, max_bytes: int) -> bytes:
    """The whole request body, refused as soon as it (or its declared length) passes max_bytes."""
    if declared_length is not None:
        try:
            declared = int(declared_length)
        except ValueError:
            raise GatewayError(400, "invalid Content-Length header", code="invalid_request") from None
        if declared > max_bytes:
            raise too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > max_bytes:
                raise too_large(max_bytes)
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object; refuses fields that would pick where the gateway connects."""
    if not raw.strip():
        raise GatewayError(400, "request body is empty; a JSON object is expected", code="invalid_json")
    try:
        data = orjson.loads(raw)  # rejects invalid UTF-8 and lone surrogates too
    except orjson.JSONDecodeError as exc:
        raise GatewayError(400, f"request body is not valid JSON: {exc.msg}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise GatewayError(400, "request body must be a JSON object", code="invalid_json")
    forbidden = FORBIDDEN_FIELDS.intersection(data)
    if forbidden:
        name = sorted(forbidden)[0]
        raise GatewayError(
            400,
            f"'{name}' is not accepted: the gateway's settings decide where and how it connects upstream",
            param=name,
            code="forbidden_parameter",
        )
    return data


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    raw = await read_asgi_body(request.receive, request.headers.get("content-length"), max_bytes)
    return parse_json_object(raw)


_FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none"})


def _param_path(loc: tuple[Any, ...]) -> str:
    """The parameter's path, cut before pydantic's union-member tags ("constrained-str", "list[...]")."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(str(item))
        elif isinstance(item, str) and _FIELD.match(item) and item not in _TYPE_TAGS:
            parts.append(item)
        else:
            break
    return ".".join(parts)


def validation_error(exc: ValidationError) -> GatewayError:
    errors = exc.errors(include_url=False)
    path = _param_path(tuple(errors[0].get("loc", ())))
    if errors[0].get("type") == "missing":
        message = f"'{path}' is required"
    else:
        reasons = list(
            dict.fromkeys(
                e.get("msg", "invalid value") for e in errors if _param_path(tuple(e.get("loc", ()))) == path
            )
        )
        message = f"invalid value for '{path}': " + " or ".join(reasons[:3]) if path else reasons[0]
    return GatewayError(400, message, param=path or None, code="invalid_value")


def validate(model: type[M] | TypeAdapter[T], data: dict[str, Any]) -> M | T:
    """data checked against a model (built) or a TypedDict's adapter (checked as a dict); 400 if invalid."""
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(data)
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None
