"""Prices from litellm's bundled price map, read as a file (importing litellm costs seconds and 200 MB)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import orjson

_MAP_FILE = "model_prices_and_context_window_backup.json"
_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Price:
    """USD per token."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None

    @classmethod
    def per_million(cls, input: float, output: float, cached_input: float | None = None) -> Price:
        return cls(
            Decimal(str(input)) / _MILLION,
            Decimal(str(output)) / _MILLION,
            Decimal(str(cached_input)) / _MILLION if cached_input is not None else None,
        )

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> Decimal:
        cached = min(max(cached_tokens, 0), prompt_tokens) if self.cached_input is not None else 0
        total = (prompt_tokens - cached) * self.input + completion_tokens * self.output
        if cached:
            assert self.cached_input is not None
            total += cached * self.cached_input
        return total


def price_map_path() -> Path | None:
    """Where the installed litellm keeps its bundled price map, found without importing litellm."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / _MAP_FILE
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _price_map() -> dict[str, dict[str, object]]:
    # Read once per process: the file is ~1 MB and never changes while we run.
    path = price_map_path()
    return orjson.loads(path.read_bytes()) if path is not None else {}


def litellm_price(model: str, provider: str | None = None) -> Price | None:
    """The bundled list price for a model, trying `provider/model` and the bare name."""
    table = _price_map()
    for name in ((f"{provider}/{model}",) if provider else ()) + (model,):
        entry = table.get(name)
        if isinstance(entry, dict) and "input_cost_per_token" in entry:
            cached = entry.get("cache_read_input_token_cost")
            return Price(
                Decimal(str(entry["input_cost_per_token"])),
                Decimal(str(entry.get("output_cost_per_token", 0))),
                Decimal(str(cached)) if cached is not None else None,
            )
    return None
