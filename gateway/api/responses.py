"""Small response helpers shared by routers."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

from gateway.providers.registry import Target


def json_response(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def target_headers(target: Target) -> dict[str, str]:
    headers = {"x-gateway-target": target.name, "x-gateway-provider": target.provider.name}
    if target.simulated:
        headers["x-gateway-simulated"] = "true"
    return headers
