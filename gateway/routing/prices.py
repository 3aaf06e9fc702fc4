"""Default token prices for routing strategies, from litellm's bundled price map (see accounting.prices)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.accounting.prices import litellm_price, price_map_path

__all__ = ["ModelPrice", "default_price", "price_map_path"]


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens."""

    input_per_million: float
    output_per_million: float


def default_price(model: str, provider: str | None = None) -> ModelPrice | None:
    """litellm's list price for `model` (as `provider/model`, then bare), or None if unknown."""
    price = litellm_price(model, provider)
    if price is None:
        return None
    return ModelPrice(float(price.input * 1_000_000), float(price.output * 1_000_000))
