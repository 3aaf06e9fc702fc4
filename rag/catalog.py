"""The RAG catalog in PostgreSQL: files (with their bytes), vector stores and their attached files.

Every statement filters by tenant, so another tenant's id reads as "not found", never as "forbidden".
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

T = TypeVar("T")
FileStatus = Literal["in_progress", "completed", "failed", "cancelled"]
Order = Literal["asc", "desc"]
_STATUSES: tuple[FileStatus, ...] = ("in_progress", "completed", "failed", "cancelled")


def new_file_id() -> str:
    return f"file-{secrets.token_hex(12)}"


def new_store_id() -> str:
    return f"vs_{secrets.token_hex(12)}"


@dataclass(frozen=True, slots=True)
class FileRow:
    id: str
    tenant: str
    filename: str
    bytes: int
    purpose: str
    kind: str
    sha256: str
    status: str
    created_at: int

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": self.status,
            "expires_at": None,
            "status_details": None,
        }


@dataclass(frozen=True, slots=True)
class StoreRow:
    id: str
    tenant: str
    name: str
    metadata: dict[str, str]
    expires_after: dict[str, Any] | None
    created_at: int
    last_active_at: int
    usage_bytes: int = 0
    file_counts: dict[str, int] = field(default_factory=dict)

    def to_openai(self) -> dict[str, Any]:
        counts = {status: self.file_counts.get(status, 0) for status in _STATUSES}
        return {
            "id": self.id,
            "object": "vector_store",
            "created_at": self.created_at,
            "name": self.name,
            "usage_bytes": self.usage_bytes,
            "file_counts": {**counts, "total": sum(counts.values())},
            "status": "in_progress" if counts["in_progress"] else "completed",
            "last_active_at": self.last_active_at,
            "metadata": self.metadata,
            "expires_after": self.expires_after,
            "expires_at": None,
        }


@dataclass(frozen=True, slots=True)
class StoreFileRow:
    store_id: str
    file_id: str
    tenant: str
    status: FileStatus
    last_error: dict[str, str] | None
    chunk_count: int
    usage_bytes: int
    attributes: dict[str, Any]
    chunking: dict[str, Any]
    created_at: int

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.file_id,
            "object": "vector_store.file",
            "created_at": self.created_at,
            "vector_store_id": self.store_id,
            "status": self.status,
            "last_error": self.last_error,
            "usage_bytes": self.usage_bytes,
            "attributes": self.attributes,
            "chunking_strategy": self.chunking,
        }


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a cursor-paginated list."""

    items: list[T]
    has_more: bool


_FILE_COLUMNS = (
    "id, tenant, filename, bytes, purpose, kind, encode(sha256, 'hex') AS sha256, status,"
    " extract(epoch FROM created_at)::bigint AS created_at"
)
_STORE_FILE_COLUMNS = (
    "store_id, file_id, tenant, status, last_error, chunk_count, usage_bytes, attributes, chunking,"
    " extract(epoch FROM created_at)::bigint AS created_at"
)
_STORE_SELECT = """
SELECT s.id, s.tenant, s.name, s.metadata, s.expires_after,
       extract(epoch FROM s.created_at)::bigint AS created_at,
       extract(epoch FROM s.last_active_at)::bigint AS last_active_at,
       coalesce(sum(f.usage_bytes) FILTER (WHERE f.status = 'completed'), 0)::bigint AS usage_bytes,
       count(f.file_id) FILTER (WHERE f.status = 'in_progress') AS in_progress,
       count(f.file_id) FILTER (WHERE f.status = 'completed') AS completed,
       count(f.file_id) FILTER (WHERE f.status = 'failed') AS failed,
       count(f.file_id) FILTER (WHERE f.status = 'cancelled') AS cancelled
FROM rag_vector_stores s LEFT JOIN rag_vector_store_files f ON f.store_id = s.id
"""


def _store_row(row: dict[str, Any]) -> StoreRow:
    return StoreRow(
        id=row["id"],
        tenant=row["tenant"],
        name=row["name"],
        metadata=row["metadata"],
        expires_after=row["expires_after"],
        created_at=row["created_at"],
        last_active_at=row["last_active_at"],
        usage_bytes=row["usage_bytes"],
        file_counts={status: row[status] for status in _STATUSES},
    )


def _cursor_clause(table: str, key: str, order: Order, after: str | None, before: str | None) -> str:
    """Keyset pagination on (created_at, key); an unknown cursor compares with NULL and yields no rows."""
    clauses = []
    if after:
        op = "<" if order == "desc" else ">"
        clauses.append(
            f" AND (t.created_at, t.{key}) {op} (SELECT c.created_at, c.{key} FROM {table} c"
            f" WHERE c.{key} = %(after)s AND c.tenant = %(tenant)s LIMIT 1)"
        )
    if before:
        op = ">" if order == "desc" else "<"
        clauses.append(
            f" AND (t.created_at, t.{key}) {op} (SELECT c.created_at, c.{key} FROM {table} c"
            f" WHERE c.{key} = %(before)s AND c.tenant = %(tenant)s LIMIT 1)"
        )
    return "".join(clauses)


class Catalog:
    """Data access for files, vector stores and attachments; every method takes the tenant."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    # Files -------------------------------------------------------------------------------------------

    async def insert_file(
        self,
        *,
        tenant: str,
        filename: str,
        purpose: str,
        kind: str,
        data: bytes,
        sha256: bytes,
        blocks_json: str,
    ) -> tuple[FileRow, bool]:
        """Store a new file, or return the tenant's existing file with the same content and purpose."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"INSERT INTO rag_files (id, tenant, filename, bytes, purpose, kind, sha256, content, blocks)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
                f" ON CONFLICT (tenant, sha256, purpose) DO NOTHING RETURNING {_FILE_COLUMNS}",
                (new_file_id(), tenant, filename, len(data), purpose, kind, sha256, data, blocks_json),
            )
            row = await cur.fetchone()
            if row is not None:
                return FileRow(**row), True
            await cur.execute(
                f"SELECT {_FILE_COLUMNS} FROM rag_files WHERE tenant = %s AND sha256 = %s AND purpose = %s",
                (tenant, sha256, purpose),
            )
            existing = await cur.fetchone()
        if existing is None:  # deleted between the two statements; the caller may retry
            raise LookupError("a file with the same content was deleted concurrently")
        return FileRow(**existing), False

    async def get_file(self, *, tenant: str, file_id: str) -> FileRow | None:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT {_FILE_COLUMNS} FROM rag_files WHERE tenant = %s AND id = %s", (tenant, file_id)
            )
            row = await cur.fetchone()
        return FileRow(**row) if row else None

    async def get_file_content(self, *, tenant: str, file_id: str) -> bytes | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT content FROM rag_files WHERE tenant = %s AND id = %s", (tenant, file_id)
            )
            row = await cur.fetchone()
        return bytes(row[0]) if row else None

    async def get_file_blocks(self, *, tenant: str, file_id: str) -> str | None:
        """The parsed blocks as JSON text; the caller decodes it off the event loop."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT blocks::text FROM rag_files WHERE tenant = %s AND id = %s", (tenant, file_id)
            )
            row = await cur.fetchone()
        return row[0] if row else None

    async def list_files(
        self, *, tenant: str, purpose: str | None, after: str | None, limit: int, order: Order
    ) -> Page[FileRow]:
        direction = "DESC" if order == "desc" else "ASC"
        purpose_clause = " AND t.purpose = %(purpose)s" if purpose else ""
        query = (
            f"SELECT {_FILE_COLUMNS.replace('created_at)', 't.created_at)')} FROM rag_files t"
            f" WHERE t.tenant = %(tenant)s{purpose_clause}"
            f"{_cursor_clause('rag_files', 'id', order, after, None)}"
            f" ORDER BY t.created_at {direction}, t.id {direction} LIMIT %(limit)s"
        )
        params = {"tenant": tenant, "purpose": purpose, "after": after, "limit": limit + 1}
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)  # type: ignore[arg-type]
            rows = await cur.fetchall()
        return Page([FileRow(**r) for r in rows[:limit]], has_more=len(rows) > limit)

    async def delete_file(self, *, tenant: str, file_id: str) -> list[str] | None:
        """Delete the file and its attachments; return the store ids it was attached to (None: not found)."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT store_id FROM rag_vector_store_files WHERE tenant = %s AND file_id = %s",
                (tenant, file_id),
            )
            stores = [r[0] for r in await cur.fetchall()]
            cur = await conn.execute(
                "DELETE FROM rag_files WHERE tenant = %s AND id = %s RETURNING id", (tenant, file_id)
            )
            if await cur.fetchone() is None:
                return None
        return stores

    async def filenames(self, *, tenant: str, file_ids: Sequence[str]) -> dict[str, str]:
        if not file_ids:
            return {}
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, filename FROM rag_files WHERE tenant = %s AND id = ANY(%s)",
                (tenant, list(file_ids)),
            )
            return {r[0]: r[1] for r in await cur.fetchall()}

    # Vector stores -----------------------------------------------------------------------------------

    async def create_store(
        self, *, tenant: str, name: str, metadata: dict[str, str], expires_after: dict[str, Any] | None
    ) -> str:
        store_id = new_store_id()
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO rag_vector_stores (id, tenant, name, metadata, expires_after)"
                " VALUES (%s, %s, %s, %s, %s)",
                (store_id, tenant, name, Jsonb(metadata), Jsonb(expires_after) if expires_after else None),
            )
        return store_id

    async def get_store(self, *, tenant: str, store_id: str) -> StoreRow | None:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"{_STORE_SELECT} WHERE s.tenant = %s AND s.id = %s GROUP BY s.id", (tenant, store_id)
            )
            row = await cur.fetchone()
        return _store_row(row) if row else None

    async def list_stores(
        self, *, tenant: str, after: str | None, before: str | None, limit: int, order: Order
    ) -> Page[StoreRow]:
        direction = "DESC" if order == "desc" else "ASC"
        cursor = _cursor_clause("rag_vector_stores", "id", order, after, before).replace("t.", "s.")
        query = (
            f"{_STORE_SELECT} WHERE s.tenant = %(tenant)s{cursor}"
            f" GROUP BY s.id ORDER BY s.created_at {direction}, s.id {direction} LIMIT %(limit)s"
        )
        params = {"tenant": tenant, "after": after, "before": before, "limit": limit + 1}
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)  # type: ignore[arg-type]
            rows = await cur.fetchall()
        return Page([_store_row(r) for r in rows[:limit]], has_more=len(rows) > limit)

    async def update_store(
        self,
        *,
        tenant: str,
        store_id: str,
        name: str | None,
        metadata: dict[str, str] | None,
        expires_after: dict[str, Any] | None,
    ) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE rag_vector_stores SET name = coalesce(%s, name), metadata = coalesce(%s, metadata),"
                " expires_after = coalesce(%s, expires_after), last_active_at = clock_timestamp()"
                " WHERE tenant = %s AND id = %s RETURNING id",
                (
                    name,
                    Jsonb(metadata) if metadata is not None else None,
                    Jsonb(expires_after) if expires_after is not None else None,
                    tenant,
                    store_id,
                ),
            )
            return await cur.fetchone() is not None

    async def touch_store(self, *, tenant: str, store_id: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE rag_vector_stores SET last_active_at = clock_timestamp()"
                " WHERE tenant = %s AND id = %s",
                (tenant, store_id),
            )

    async def delete_store(self, *, tenant: str, store_id: str) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM rag_vector_stores WHERE tenant = %s AND id = %s RETURNING id", (tenant, store_id)
            )
            return await cur.fetchone() is not None

    # Attachments -------------------------------------------------------------------------------------

    async def attach(
        self,
        *,
        tenant: str,
        store_id: str,
        file_id: str,
        attributes: dict[str, Any],
        chunking: dict[str, Any],
    ) -> tuple[StoreFileRow, bool]:
        """Attach a file; an existing attachment is returned as is unless it failed or was cancelled,
        in which case it is reset to in_progress. The flag says whether an ingestion job must start."""
        async with (
            self._pool.connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=dict_row) as cur,
        ):
            await cur.execute(
                f"INSERT INTO rag_vector_store_files"
                f" (store_id, file_id, tenant, status, attributes, chunking)"
                f" VALUES (%s, %s, %s, 'in_progress', %s, %s) ON CONFLICT (store_id, file_id) DO NOTHING"
                f" RETURNING {_STORE_FILE_COLUMNS}",
                (store_id, file_id, tenant, Jsonb(attributes), Jsonb(chunking)),
            )
            row = await cur.fetchone()
            if row is not None:
                return StoreFileRow(**row), True
            await cur.execute(
                f"UPDATE rag_vector_store_files SET status = 'in_progress', last_error = NULL,"
                f" chunk_count = 0,"
                f" usage_bytes = 0, attributes = %s, chunking = %s, updated_at = clock_timestamp()"
                f" WHERE store_id = %s AND file_id = %s AND tenant = %s AND status IN ('failed', 'cancelled')"
                f" RETURNING {_STORE_FILE_COLUMNS}",
                (Jsonb(attributes), Jsonb(chunking), store_id, file_id, tenant),
            )
            row = await cur.fetchone()
            if row is not None:
                return StoreFileRow(**row), True
            await cur.execute(
                f"SELECT {_STORE_FILE_COLUMNS} FROM rag_vector_store_files"
                f" WHERE store_id = %s AND file_id = %s AND tenant = %s",
                (store_id, file_id, tenant),
            )
            existing = await cur.fetchone()
        if existing is None:
            raise LookupError("the attachment vanished concurrently")
        return StoreFileRow(**existing), False

    async def get_store_file(self, *, tenant: str, store_id: str, file_id: str) -> StoreFileRow | None:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT {_STORE_FILE_COLUMNS} FROM rag_vector_store_files"
                f" WHERE tenant = %s AND store_id = %s AND file_id = %s",
                (tenant, store_id, file_id),
            )
            row = await cur.fetchone()
        return StoreFileRow(**row) if row else None

    async def list_store_files(
        self,
        *,
        tenant: str,
        store_id: str,
        status: FileStatus | None,
        after: str | None,
        before: str | None,
        limit: int,
        order: Order,
    ) -> Page[StoreFileRow]:
        direction = "DESC" if order == "desc" else "ASC"
        cursor = _cursor_clause("rag_vector_store_files", "file_id", order, after, before)
        cursor = cursor.replace("c.tenant = %(tenant)s", "c.tenant = %(tenant)s AND c.store_id = %(store)s")
        status_clause = " AND t.status = %(status)s" if status else ""
        columns = _STORE_FILE_COLUMNS.replace("created_at)", "t.created_at)")
        query = (
            f"SELECT {columns} FROM rag_vector_store_files t"
            f" WHERE t.tenant = %(tenant)s AND t.store_id = %(store)s{status_clause}{cursor}"
            f" ORDER BY t.created_at {direction}, t.file_id {direction} LIMIT %(limit)s"
        )
        params = {
            "tenant": tenant,
            "store": store_id,
            "status": status,
            "after": after,
            "before": before,
            "limit": limit + 1,
        }
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)  # type: ignore[arg-type]
            rows = await cur.fetchall()
        return Page([StoreFileRow(**r) for r in rows[:limit]], has_more=len(rows) > limit)

    async def detach(self, *, tenant: str, store_id: str, file_id: str) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM rag_vector_store_files WHERE tenant = %s AND store_id = %s AND file_id = %s"
                " RETURNING file_id",
                (tenant, store_id, file_id),
            )
            return await cur.fetchone() is not None

    async def mark_completed(
        self, *, tenant: str, store_id: str, file_id: str, chunk_count: int, usage_bytes: int
    ) -> bool:
        """Complete an in-progress attachment; False when it was detached or cancelled meanwhile."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE rag_vector_store_files SET status = 'completed', chunk_count = %s, usage_bytes = %s,"
                " updated_at = clock_timestamp()"
                " WHERE tenant = %s AND store_id = %s AND file_id = %s AND status = 'in_progress'"
                " RETURNING file_id",
                (chunk_count, usage_bytes, tenant, store_id, file_id),
            )
            return await cur.fetchone() is not None

    async def mark_failed(self, *, tenant: str, store_id: str, file_id: str, code: str, message: str) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE rag_vector_store_files SET status = 'failed', chunk_count = 0, usage_bytes = 0,"
                " last_error = %s, updated_at = clock_timestamp()"
                " WHERE tenant = %s AND store_id = %s AND file_id = %s AND status = 'in_progress'"
                " RETURNING file_id",
                (Jsonb({"code": code, "message": message}), tenant, store_id, file_id),
            )
            return await cur.fetchone() is not None

    async def in_progress(self, *, limit: int = 10_000) -> list[StoreFileRow]:
        """Attachments left in_progress (e.g. by a restart), oldest first, across tenants."""
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT {_STORE_FILE_COLUMNS} FROM rag_vector_store_files WHERE status = 'in_progress'"
                f" ORDER BY created_at LIMIT %s",
                (limit,),
            )
            rows = await cur.fetchall()
        return [StoreFileRow(**r) for r in rows]

    async def store_ids_existing(self, *, tenant: str, store_ids: Sequence[str]) -> set[str]:
        """The subset of store ids that exist for the tenant."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id FROM rag_vector_stores WHERE tenant = %s AND id = ANY(%s)",
                (tenant, list(store_ids)),
            )
            return {r[0] for r in await cur.fetchall()}
