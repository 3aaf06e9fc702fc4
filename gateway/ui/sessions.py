"""Console sessions in PostgreSQL: a random id in the cookie, only its SHA-256 in the table.

Every replica reads the same table, so a browser can be served by any of them. A session slides forward
with use (idle timeout) and ends at an absolute deadline; the CSRF token is derived from the session id
(HMAC), so it needs no storage and cannot be computed without the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.storage.db import Database

_ID_BYTES = 32
# Write last_seen_at at most this often per session: a page polling every few seconds stays cheap.
_TOUCH_EVERY = timedelta(seconds=30)


def hash_session_id(session_id: str) -> bytes:
    return hashlib.sha256(b"ui-session:" + session_id.encode()).digest()


def key_check_for(key_hash: bytes) -> bytes:
    """What a session remembers of the key it signed in with: enough to notice a new key, nothing more."""
    return hashlib.sha256(b"ui-key:" + key_hash).digest()


def csrf_token_for(session_id: str) -> str:
    """The session's synchronizer token: an HMAC of a fixed label keyed by the secret session id."""
    return hmac.new(session_id.encode(), b"ui-csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    key_id: str
    key_name: str
    key_check: bytes
    created_at: datetime
    expires_at: datetime  # the absolute deadline

    @property
    def csrf_token(self) -> str:
        return csrf_token_for(self.id)


class SessionStore:
    """Create, look up (sliding the idle timeout) and end console sessions."""

    def __init__(self, db: Database, *, idle_timeout_s: float, absolute_timeout_s: float) -> None:
        self._db = db
        self._idle = timedelta(seconds=idle_timeout_s)
        self._absolute = timedelta(seconds=absolute_timeout_s)
        self._touch_every = min(_TOUCH_EVERY, self._idle / 4)

    async def create(self, *, key_id: str, key_name: str, key_hash: bytes) -> Session:
        session_id = secrets.token_urlsafe(_ID_BYTES)
        now = datetime.now(UTC)
        expires_at = now + self._absolute
        key_check = key_check_for(key_hash)
        async with self._db.pool.connection() as conn:
            # Sweeping here keeps the table small without a background task.
            await conn.execute(
                "DELETE FROM ui_sessions WHERE expires_at < %s OR last_seen_at < %s", (now, now - self._idle)
            )
            await conn.execute(
                "INSERT INTO ui_sessions"
                " (id_hash, key_id, key_name, key_check, created_at, last_seen_at, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (hash_session_id(session_id), key_id, key_name, key_check, now, now, expires_at),
            )
        return Session(session_id, key_id, key_name, key_check, now, expires_at)

    async def lookup(self, session_id: str) -> Session | None:
        """The live session with this id (its idle timer restarted), or None if unknown or expired."""
        if not session_id or len(session_id) > 128:
            return None
        id_hash = hash_session_id(session_id)
        now = datetime.now(UTC)
        async with self._db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT key_id, key_name, key_check, created_at, last_seen_at, expires_at FROM ui_sessions"
                " WHERE id_hash = %s",
                (id_hash,),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            key_id, key_name, key_check, created_at, last_seen_at, expires_at = row
            if expires_at <= now or last_seen_at + self._idle <= now:
                await conn.execute("DELETE FROM ui_sessions WHERE id_hash = %s", (id_hash,))
                return None
            if now - last_seen_at >= self._touch_every:
                await conn.execute(
                    "UPDATE ui_sessions SET last_seen_at = %s WHERE id_hash = %s", (now, id_hash)
                )
        return Session(session_id, key_id, key_name, bytes(key_check), created_at, expires_at)

    async def end(self, session_id: str) -> bool:
        async with self._db.pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM ui_sessions WHERE id_hash = %s", (hash_session_id(session_id),)
            )
            return cur.rowcount > 0

    async def end_all_for_key(self, key_id: str) -> int:
        """End every session signed in with a key (it was revoked or lost its admin rights)."""
        async with self._db.pool.connection() as conn:
            cur = await conn.execute("DELETE FROM ui_sessions WHERE key_id = %s", (key_id,))
            return cur.rowcount
