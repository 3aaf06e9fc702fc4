"""API keys: generation, hashing and their rows in PostgreSQL. The secret is shown once and never stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from gateway.auth.principal import Principal
from gateway.storage.db import Database

SECRET_PREFIX = "sk-gw-"  # noqa: S105  (a prefix, not a secret)
DEFAULT_SCOPES = ("chat", "embeddings", "files")
ALL_SCOPES = frozenset({"chat", "embeddings", "files", "admin"})


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> bytes:
    # The secret carries 256 random bits, so a fast hash is the right tool (no password stretching needed).
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).digest()


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    name: str
    team: str
    owner: str | None
    key_hash: bytes
    key_prefix: str
    scopes: tuple[str, ...]
    allowed_models: tuple[str, ...] | None
    is_admin: bool
    limits: dict[str, Any]
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def principal(self) -> Principal:
        from gateway.limits import LimitSpec

        return Principal(
            key_id=self.id,
            name=self.name,
            team=self.team,
            scopes=frozenset(self.scopes),
            allowed_models=frozenset(self.allowed_models) if self.allowed_models is not None else None,
            is_admin=self.is_admin,
            limits=self.limits,
            metadata=self.metadata,
            limit_spec=LimitSpec.model_validate(self.limits) if self.limits else None,
        )

    def public(self) -> dict[str, Any]:
        """The key as the admin API shows it: never the secret, never the hash."""
        return {
            "id": self.id,
            "object": "api_key",
            "name": self.name,
            "team": self.team,
            "owner": self.owner,
            "key_prefix": self.key_prefix,
            "scopes": list(self.scopes),
            "allowed_models": list(self.allowed_models) if self.allowed_models is not None else None,
            "is_admin": self.is_admin,
            "limits": self.limits,
            "metadata": self.metadata,
            "created_at": int(self.created_at.timestamp()),
            "revoked_at": int(self.revoked_at.timestamp()) if self.revoked_at else None,
            "expires_at": int(self.expires_at.timestamp()) if self.expires_at else None,
        }


_COLUMNS = (
    "id, name, team, owner, key_hash, key_prefix, scopes, allowed_models, is_admin, limits, metadata,"
    " created_at, updated_at, revoked_at, expires_at"
)


def _record(row: dict[str, Any]) -> KeyRecord:
    return KeyRecord(
        id=row["id"],
        name=row["name"],
        team=row["team"],
        owner=row["owner"],
        key_hash=bytes(row["key_hash"]),
        key_prefix=row["key_prefix"],
        scopes=tuple(row["scopes"]),
        allowed_models=tuple(row["allowed_models"]) if row["allowed_models"] is not None else None,
        is_admin=row["is_admin"],
        limits=row["limits"] or {},
        metadata=row["metadata"] or {},
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        revoked_at=row["revoked_at"],
        expires_at=row["expires_at"],
    )


class KeyRepository:
    """Data access for api_keys; plain methods with keyword-only arguments."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        name: str,
        team: str,
        owner: str | None,
        scopes: list[str],
        allowed_models: list[str] | None,
        is_admin: bool,
        limits: dict[str, Any],
        metadata: dict[str, Any],
        expires_at: datetime | None,
        created_by: str | None,
    ) -> tuple[KeyRecord, str]:
        """A new key; is_admin adds the admin scope, which is what makes an admin key (see update)."""
        if is_admin and "admin" not in scopes:
            scopes = [*scopes, "admin"]
        is_admin = "admin" in scopes
        secret = generate_secret()
        key_id = "key_" + secrets.token_hex(8)
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"INSERT INTO api_keys (id, name, team, owner, key_hash, key_prefix, scopes, allowed_models,"
                f" is_admin, limits, metadata, expires_at, created_by)"
                f" VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING {_COLUMNS}",
                (
                    key_id,
                    name,
                    team,
                    owner,
                    hash_secret(secret),
                    secret[: len(SECRET_PREFIX) + 4],
                    scopes,
                    allowed_models,
                    is_admin,
                    Jsonb(limits),
                    Jsonb(metadata),
                    expires_at,
                    created_by,
                ),
            )
            row = await cur.fetchone()
        assert row is not None
        return _record(row), secret

    async def get(self, key_id: str) -> KeyRecord | None:
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE id = %s", (key_id,))
            row = await cur.fetchone()
        return _record(row) if row else None

    async def list_keys(self, *, include_revoked: bool = False) -> list[KeyRecord]:
        where = "" if include_revoked else "WHERE revoked_at IS NULL"
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(f"SELECT {_COLUMNS} FROM api_keys {where} ORDER BY created_at")
            return [_record(r) for r in await cur.fetchall()]

    async def changed_since(self, since: datetime | None) -> tuple[list[KeyRecord], datetime | None]:
        """Rows changed after `since` (all rows when None), and the database clock for the next call."""
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            if since is None:
                await cur.execute(f"SELECT {_COLUMNS}, clock_timestamp() AS now FROM api_keys")
            else:
                # Overlap by a few seconds: a transaction that committed late can carry an older timestamp.
                await cur.execute(
                    f"SELECT {_COLUMNS}, clock_timestamp() AS now FROM api_keys"
                    f" WHERE updated_at > %s - interval '5 seconds'",
                    (since,),
                )
            rows = await cur.fetchall()
            if rows:
                return [_record(r) for r in rows], rows[0]["now"]
            await cur.execute("SELECT clock_timestamp() AS now")
            now_row = await cur.fetchone()
        return [], now_row["now"] if now_row else since

    async def revoke(self, key_id: str) -> KeyRecord | None:
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()),"
                f" updated_at = clock_timestamp() WHERE id = %s RETURNING {_COLUMNS}",
                (key_id,),
            )
            row = await cur.fetchone()
        return _record(row) if row else None

    async def update(self, key_id: str, fields: dict[str, Any]) -> KeyRecord | None:
        """Update admin-editable fields (already validated by the caller). New scopes decide admin rights:
        granting or dropping the admin scope grants or takes them away (console sessions included)."""
        allowed = {"name", "team", "owner", "scopes", "allowed_models", "limits", "metadata", "expires_at"}
        if isinstance(fields.get("scopes"), list):
            fields = {**fields, "is_admin": "admin" in fields["scopes"]}
            allowed.add("is_admin")
        sets, values = [], []
        for name, value in fields.items():
            if name not in allowed:
                raise ValueError(f"field {name} is not editable")
            sets.append(f"{name} = %s")
            values.append(Jsonb(value) if name in {"limits", "metadata"} else value)
        if not sets:
            return await self.get(key_id)
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"UPDATE api_keys SET {', '.join(sets)}, updated_at = clock_timestamp()"
                f" WHERE id = %s AND revoked_at IS NULL RETURNING {_COLUMNS}",
                (*values, key_id),
            )
            row = await cur.fetchone()
        return _record(row) if row else None
