"""GET /v1/models bodies for each simulated provider; every entry says it is simulated."""

from __future__ import annotations

import orjson

from gateway.simulate.config import SimConfig

# A fixed creation time keeps the listings byte-for-byte stable.
_CREATED = 1_700_000_000
_VLLM_MAX_MODEL_LEN = 8192


def openai_models(config: SimConfig) -> bytes:
    data = [
        {"id": name, "object": "model", "created": _CREATED, "owned_by": "openai", "simulated": True}
        for name in config.openai_models
    ]
    return orjson.dumps({"object": "list", "data": data})


def vllm_models(config: SimConfig) -> bytes:
    name = config.served_model
    entry = {
        "id": name,
        "object": "model",
        "created": _CREATED,
        "owned_by": "vllm",
        "root": name,
        "parent": None,
        "max_model_len": _VLLM_MAX_MODEL_LEN,
        "permission": [],
        "simulated": True,
    }
    return orjson.dumps({"object": "list", "data": [entry]})


def anthropic_models(config: SimConfig) -> bytes:
    data = [
        {
            "type": "model",
            "id": name,
            "display_name": f"{name} (simulated)",
            "created_at": "2025-01-01T00:00:00Z",
            "simulated": True,
        }
        for name in config.anthropic_models
    ]
    first = data[0]["id"] if data else None
    last = data[-1]["id"] if data else None
    return orjson.dumps({"data": data, "has_more": False, "first_id": first, "last_id": last})
