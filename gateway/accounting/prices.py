"""Prices from litellm's bundled price map, read as a file (importing litellm costs seconds and 200 MB)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import orjson

from gateway.accounting.litellm_data import litellm_package_dir

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
    """Where the installed litellm keeps its bundled price map."""
    root = litellm_package_dir()
    path = root / _MAP_FILE if root else None
    return path if path is not None and path.is_file() else None


class GpuHourPrice:
    """Self-hosted cost: GPU-hours converted to a price per token at the target's observed throughput.

    The throughput is this process's view: tokens served over the last `window_s` (or since the first call,
    if more recent), falling back to `assumed_tokens_per_second` before any traffic.
    """

    cached_input = None

    def __init__(
        self,
        *,
        usd_per_hour: float,
        assumed_tokens_per_second: float,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._usd_per_second = Decimal(str(usd_per_hour)) / 3600
        self._assumed = assumed_tokens_per_second
        self._window = window_s
        self._clock = clock
        self._served: deque[tuple[float, int]] = deque()
        self._total = 0
        self._first: float | None = None

    def observe(self, tokens: int) -> None:
        now = self._clock()
        if self._first is None:
            self._first = now
        self._served.append((now, tokens))
        self._total += tokens
        while self._served and self._served[0][0] < now - self._window:
            self._total -= self._served.popleft()[1]

    def tokens_per_second(self) -> float:
        if self._first is None or self._total <= 0:
            return self._assumed
        elapsed = max(1.0, min(self._window, self._clock() - self._first))
        return self._total / elapsed

    def per_token(self) -> Decimal:
        return (self._usd_per_second / Decimal(str(self.tokens_per_second()))).quantize(Decimal("1e-15"))

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> Decimal:
        return (prompt_tokens + completion_tokens) * self.per_token()

    @property
    def input(self) -> Decimal:  # the same interface as Price, for reports and reservations
        return self.per_token()

    @property
    def output(self) -> Decimal:
        return self.per_token()


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
