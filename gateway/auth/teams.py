"""Team limits: rows in PostgreSQL, read by every replica from a cache refreshed in the background."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from gateway.limits import LimitSpec
from gateway.storage.db import Database
from gateway.storage.poller import Poller

log = logging.getLogger("gateway.teams")


class TeamStore:
    def __init__(self, db: Database, *, refresh_interval_s: float = 0.5) -> None:
        self._db = db
        self._poller = Poller("team-refresh", self.refresh, interval_s=refresh_interval_s)
        self._specs: dict[str, LimitSpec] = {}
        self._rows: dict[str, dict[str, Any]] = {}
        self._since: datetime | None = None

    def limits(self, team: str) -> LimitSpec | None:
        """The team's limits (hot path: a dict read)."""
        return self._specs.get(team)

    async def start(self) -> None:
        await self.refresh()
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

    async def refresh(self) -> None:
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            if self._since is None:
                await cur.execute("SELECT *, clock_timestamp() AS now FROM teams")
            else:
                await cur.execute(
                    "SELECT *, clock_timestamp() AS now FROM teams"
                    " WHERE updated_at > %s - interval '5 seconds'",
                    (self._since,),
                )
            rows = await cur.fetchall()
            if not rows:
                await cur.execute("SELECT clock_timestamp() AS now")
                rows_now = await cur.fetchone()
                self._since = rows_now["now"] if rows_now else self._since
                return
        for row in rows:
            self._remember(row)
        self._since = rows[0]["now"]

    def _remember(self, row: dict[str, Any]) -> None:
        self._rows[row["id"]] = row
        limits = row["limits"] or {}
        try:
            self._specs[row["id"]] = LimitSpec.model_validate(limits) if limits else LimitSpec()
        except ValueError:
            log.error("team %s has invalid stored limits; ignoring them", row["id"])
        if not limits:
            self._specs.pop(row["id"], None)

    async def put(self, team: str, limits: dict[str, Any]) -> dict[str, Any]:
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "INSERT INTO teams (id, limits) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE"
                " SET limits = EXCLUDED.limits, updated_at = clock_timestamp() RETURNING *",
                (team, Jsonb(limits)),
            )
            row = await cur.fetchone()
        assert row is not None
        self._remember(row)
        return row

    async def get(self, team: str) -> dict[str, Any] | None:
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SELECT * FROM teams WHERE id = %s", (team,))
            return await cur.fetchone()
