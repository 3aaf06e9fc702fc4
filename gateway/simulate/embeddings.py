"""OpenAI embeddings: deterministic unit vectors seeded by a hash of each input."""

from __future__ import annotations

import base64
import functools
import hashlib
from typing import Any

import numpy as np
import orjson

from gateway.simulate.errors import invalid
from gateway.simulate.tokens import TokenCounter

_MAX_INPUTS = 2048


class Embedder:
    """Turns inputs into vectors; the same input and size always give the same vector."""

    def __init__(self, counter: TokenCounter) -> None:
        self._counter = counter
        self._vector = functools.lru_cache(maxsize=4096)(self._make_vector)

    def response(self, body: Any, *, default_dimensions: int) -> bytes:
        """The JSON body of POST /v1/embeddings, or a SimRequestError for invalid input."""
        if not isinstance(body, dict):
            raise invalid("The request body must be a JSON object.")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise invalid("you must provide a model parameter", param="model")
        inputs = _inputs(body.get("input"))
        dimensions = body.get("dimensions", default_dimensions)
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or not 1 <= dimensions <= 16_384:
            raise invalid("Invalid 'dimensions': expected a positive integer.", param="dimensions")
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            raise invalid("Invalid 'encoding_format': expected 'float' or 'base64'.", param="encoding_format")
        data = []
        tokens = 0
        for index, item in enumerate(inputs):
            if isinstance(item, str):
                key = b"t" + item.encode()
                tokens += self._counter.count(item)
            else:
                key = b"i" + orjson.dumps(item)
                tokens += len(item)
            vector = self._vector(key, dimensions)
            value: Any = base64.b64encode(vector.tobytes()).decode() if encoding == "base64" else vector
            data.append({"object": "embedding", "index": index, "embedding": value})
        body_out = {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return orjson.dumps(body_out, option=orjson.OPT_SERIALIZE_NUMPY)

    @staticmethod
    def _make_vector(key: bytes, dimensions: int) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
        vector = np.random.default_rng(seed).standard_normal(dimensions).astype(np.float32)
        vector /= np.linalg.norm(vector)
        vector.setflags(write=False)
        return vector


def _inputs(raw: Any) -> list[str | list[int]]:
    """Accept what OpenAI accepts: a string, strings, a token array, or token arrays."""
    if isinstance(raw, str):
        if not raw:
            raise invalid("'$.input' is invalid: an empty string is not allowed.", param="input")
        return [raw]
    if not isinstance(raw, list) or not raw:
        raise invalid("'$.input' is invalid: expected a string or a non-empty array.", param="input")
    if len(raw) > _MAX_INPUTS:
        raise invalid(f"'$.input' is invalid: at most {_MAX_INPUTS} inputs.", param="input")
    if all(isinstance(x, int) and not isinstance(x, bool) for x in raw):
        return [raw]
    out: list[str | list[int]] = []
    for item in raw:
        if isinstance(item, str) and item:
            out.append(item)
        elif (
            isinstance(item, list)
            and item
            and all(isinstance(x, int) and not isinstance(x, bool) for x in item)
        ):
            out.append(item)
        else:
            raise invalid(
                "'$.input' is invalid: items must be non-empty strings or token arrays.", param="input"
            )
    return out
