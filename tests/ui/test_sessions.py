"""SessionStore against a real PostgreSQL: creation, lookup, sliding and absolute expiry, sign-out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.storage.db import Database
from gateway.ui.sessions import SessionStore, csrf_token_for, hash_session_id


@pytest.fixture()
async def db(pg_url: str) -> AsyncIterator[Database]:
    database = Database(pg_url, min_size=1, max_size=2)
    await database.open()
    await database.migrate()
    yield database
    await database.close()


async def test_create_and_look_up(db: Database) -> None:
    store = SessionStore(db, idle_timeout_s=60, absolute_timeout_s=600)
    session = await store.create(key_id="key_1", key_name="ops", key_hash=b"h")
    found = await store.lookup(session.id)
    assert found is not None
    assert (found.key_id, found.key_name) == ("key_1", "ops")
    assert found.csrf_token == session.csrf_token == csrf_token_for(session.id)
    other = await store.create(key_id="key_1", key_name="ops", key_hash=b"h")
    assert other.id != session.id and other.csrf_token != session.csrf_token


@pytest.mark.parametrize("bad", ["", "x", "a" * 129, "' OR 1=1 --", "\x00"])
async def test_unknown_or_malformed_ids_find_nothing(db: Database, bad: str) -> None:
    store = SessionStore(db, idle_timeout_s=60, absolute_timeout_s=600)
    assert await store.lookup(bad) is None


async def test_idle_timeout_slides_with_use(db: Database) -> None:
    store = SessionStore(db, idle_timeout_s=1.0, absolute_timeout_s=60)
    session = await store.create(key_id="key_2", key_name="ops", key_hash=b"h")
    for _ in range(4):  # 2.4 s in all, each gap under the 1 s idle timeout
        await asyncio.sleep(0.6)
        assert await store.lookup(session.id) is not None
    await asyncio.sleep(1.2)
    assert await store.lookup(session.id) is None


async def test_absolute_timeout_ends_a_busy_session(db: Database) -> None:
    store = SessionStore(db, idle_timeout_s=10, absolute_timeout_s=1.0)
    session = await store.create(key_id="key_3", key_name="ops", key_hash=b"h")
    await asyncio.sleep(0.5)
    assert await store.lookup(session.id) is not None
    await asyncio.sleep(0.7)
    assert await store.lookup(session.id) is None


async def test_end_and_end_all_for_key(db: Database) -> None:
    store = SessionStore(db, idle_timeout_s=60, absolute_timeout_s=600)
    one = await store.create(key_id="key_4", key_name="ops", key_hash=b"h")
    two = await store.create(key_id="key_4", key_name="ops", key_hash=b"h")
    assert await store.end(one.id) is True
    assert await store.end(one.id) is False
    assert await store.lookup(one.id) is None
    assert await store.end_all_for_key("key_4") == 1
    assert await store.lookup(two.id) is None


async def test_expired_rows_are_swept_on_sign_in(db: Database) -> None:
    short = SessionStore(db, idle_timeout_s=0.2, absolute_timeout_s=600)
    stale = await short.create(key_id="key_5", key_name="ops", key_hash=b"h")
    await asyncio.sleep(0.4)
    await short.create(key_id="key_5", key_name="ops", key_hash=b"h")
    async with db.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM ui_sessions WHERE id_hash = %s", (hash_session_id(stale.id),)
        )
        row = await cur.fetchone()
    assert row is not None and row[0] == 0
