"""Errors the simulated providers return, rendered in each provider's own shape."""

from __future__ import annotations

import orjson

from gateway.errors import GatewayError
from gateway.simulate.config import Provider


class SimRequestError(GatewayError):
    """A request the simulated provider refuses; rendered per provider by `error_body`."""


def error_body(error: GatewayError, provider: Provider, request_id: str) -> bytes:
    """OpenAI's {"error": {...}} for OpenAI and vLLM; Anthropic's {"type": "error", ...} for Anthropic."""
    if provider == "anthropic":
        return orjson.dumps({**error.anthropic_body(), "request_id": request_id})
    return error.json_bytes()


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> SimRequestError:
    """A 400 invalid_request_error."""
    return SimRequestError(400, message, param=param, code=code, type="invalid_request_error")
