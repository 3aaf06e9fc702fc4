"""A background task that runs one refresh every interval: how each replica follows shared state."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("gateway.poller")


class Poller:
    """Calls `refresh` every `interval_s` until stopped. A failing refresh is logged and retried at the next
    tick: a database hiccup must never end the loop."""

    def __init__(self, name: str, refresh: Callable[[], Awaitable[object]], *, interval_s: float) -> None:
        self.name = name
        self._refresh = refresh
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self._refresh()
            except Exception as exc:
                log.warning("%s failed: %s", self.name, type(exc).__name__)
