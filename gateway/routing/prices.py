"""Default token prices from litellm's bundled price map, read as JSON (importing litellm takes ~6 s)."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PRICE_MAP_FILE = "model_prices_and_context_window_backup.json"


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens."""

    input_per_million: float
    output_per_million: float


def price_map_path() -> Path | None:
    """Where the installed litellm keeps its bundled price map, found without importing litellm."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / PRICE_MAP_FILE
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _price_table() -> dict[str, ModelPrice]:
    # Cached once per process: the file is ~1 MB and never changes while we run.
    path = price_map_path()
    if path is None:
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    table: dict[str, ModelPrice] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            continue
        prompt_cost = entry.get("input_cost_per_token")
        completion_cost = entry.get("output_cost_per_token")
        if isinstance(prompt_cost, int | float) and isinstance(completion_cost, int | float):
            table[name] = ModelPrice(prompt_cost * 1_000_000, completion_cost * 1_000_000)
    return table


def default_price(model: str, provider: str | None = None) -> ModelPrice | None:
    """litellm's list price for `model` (tried bare, then as `provider/model`), or None if unknown."""
    table = _price_table()
    found = table.get(model)
    if found is None and provider:
        found = table.get(f"{provider}/{model}")
    return found
