"""Errors as data, in the OpenAI error shape: {"error": {"message", "type", "code", "param"}}."""

from __future__ import annotations

from typing import Any

import orjson

# HTTP status -> OpenAI error "type".
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    412: "precondition_failed_error",
    413: "request_too_large",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "upstream_error",
    503: "service_unavailable_error",
    504: "timeout_error",
}


class GatewayError(Exception):
    """An error that maps to one HTTP reply in the OpenAI error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type or _TYPES.get(status, "api_error")
        self.headers = headers or {}
        # What the upstream billed for the attempt that ended in this error, when it answered (the ledger
        # records the attempt with it; gateway/serving/attempts.py).
        self.billed_usage: Any = None

    @classmethod
    def internal(cls) -> GatewayError:
        """What a client is told of a failure of ours: no detail (the log has it)."""
        return cls(500, "internal error", code="internal_error")

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "code": self.code, "param": self.param}}

    def body_for(self, path: str) -> dict[str, Any]:
        """The shape the route's clients expect: Anthropic's on /v1/messages, OpenAI's everywhere else."""
        return self.anthropic_body() if path.startswith("/v1/messages") else self.body()

    def json_bytes(self) -> bytes:
        return orjson.dumps(self.body())

    def anthropic_body(self) -> dict[str, Any]:
        """The same error in the Anthropic Messages API's shape."""
        kind = {
            400: "invalid_request_error",
            401: "authentication_error",
            403: "permission_error",
            404: "not_found_error",
            413: "request_too_large",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(self.status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": self.message}}
