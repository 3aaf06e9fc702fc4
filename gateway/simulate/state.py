"""Everything one simulator instance holds, created once and kept on the aiohttp app."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from gateway.simulate.config import SimConfig
from gateway.simulate.embeddings import Embedder
from gateway.simulate.faults import FaultQueue, MarkerReader
from gateway.simulate.history import RequestHistory
from gateway.simulate.tokens import TokenCounter


class SimState:
    """Config, fault queue, marker memory, tokenizer, embedder and request history of one simulator."""

    def __init__(self, config: SimConfig, counter: TokenCounter | None = None) -> None:
        self.config = config
        self.counter = counter or TokenCounter.load()
        self.embedder = Embedder(self.counter)
        self.faults = FaultQueue(config.faults)
        self.markers = MarkerReader()
        self.history = RequestHistory(config.history_size)
        # Set on shutdown so requests held by a "timeout" fault end at once.
        self.closing = asyncio.Event()

    def merge_config(self, patch: dict[str, Any]) -> SimConfig:
        """Apply a JSON merge of SimConfig fields; `faults` in the patch replaces the queue."""
        merged = SimConfig.model_validate({**self.config.model_dump(), **patch})
        self.config = merged
        self.history.resize(merged.history_size)
        if "faults" in patch:
            self.faults = FaultQueue(merged.faults)
        return merged


SIM_STATE: web.AppKey[SimState] = web.AppKey("sim_state", SimState)
