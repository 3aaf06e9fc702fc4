"""The control API under /sim: change the config, queue faults, read the request history."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from gateway.simulate.config import Fault, SimConfig
from gateway.simulate.delivery import JSON_HEADERS
from gateway.simulate.history import REDACTED
from gateway.simulate.state import SIM_STATE

logger = logging.getLogger("gateway.simulate")

_KEY_FIELDS = ("openai_api_key", "anthropic_api_key", "vllm_api_key")


def add_control_routes(app: web.Application) -> None:
    app.router.add_get("/sim/config", _get_config)
    app.router.add_post("/sim/config", _merge_config)
    app.router.add_get("/sim/faults", _list_faults)
    app.router.add_post("/sim/faults", _add_faults)
    app.router.add_delete("/sim/faults", _clear_faults)
    app.router.add_get("/sim/requests", _list_requests)
    app.router.add_delete("/sim/requests", _clear_requests)


def public_config(config: SimConfig) -> dict[str, Any]:
    """The config as JSON, keys replaced by a marker (set) or None (unset); the API shows live faults."""
    data = config.model_dump(mode="json")
    for field in _KEY_FIELDS:
        if data[field] is not None:
            data[field] = REDACTED
    return data


async def _get_config(request: web.Request) -> web.Response:
    state = request.app[SIM_STATE]
    return _json({**public_config(state.config), "faults": state.faults.pending()})


async def _merge_config(request: web.Request) -> web.Response:
    patch = await _json_body(request)
    if not isinstance(patch, dict):
        return _json({"error": {"message": "expected a JSON object of SimConfig fields"}}, status=400)
    state = request.app[SIM_STATE]
    try:
        merged = state.merge_config(patch)
    except ValidationError as error:
        return _json({"error": {"message": _describe(error)}}, status=400)
    logger.info("SIMULATED upstream config changed: %s", sorted(patch))
    return _json({**public_config(merged), "faults": state.faults.pending()})


async def _list_faults(request: web.Request) -> web.Response:
    return _json({"faults": request.app[SIM_STATE].faults.pending()})


async def _add_faults(request: web.Request) -> web.Response:
    """Accepts one fault object, a list of them, or {"faults": [...]}."""
    payload = await _json_body(request)
    if isinstance(payload, dict) and "faults" in payload:
        payload = payload["faults"]
    items = payload if isinstance(payload, list) else [payload]
    try:
        faults = [Fault.model_validate(item) for item in items]
    except ValidationError as error:
        return _json({"error": {"message": _describe(error)}}, status=400)
    state = request.app[SIM_STATE]
    state.faults.extend(faults)
    logger.info("SIMULATED faults queued: %s", [f.kind for f in faults])
    return _json({"faults": state.faults.pending()})


async def _clear_faults(request: web.Request) -> web.Response:
    request.app[SIM_STATE].faults.clear()
    return _json({"faults": []})


async def _list_requests(request: web.Request) -> web.Response:
    items = [item.as_dict() for item in request.app[SIM_STATE].history.items()]
    limit = request.query.get("limit")
    if limit is not None and limit.isdigit():
        items = items[-int(limit) :] if int(limit) else []
    return _json({"requests": items})


async def _clear_requests(request: web.Request) -> web.Response:
    request.app[SIM_STATE].history.clear()
    return _json({"requests": []})


async def _json_body(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return None


def _describe(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())


def _json(data: Any, *, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data), headers=JSON_HEADERS)
