"""Tenant B sees none of tenant A's files, stores or chunks: every foreign id is a 404, never a 403."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import openai
import psycopg
import pytest

from rag.chunking import ChunkingOptions
from tests.rag_api.conftest import KEY_A, KEY_B, RunningServer


@pytest.fixture(scope="module")
def tenant_a_objects(server: RunningServer) -> dict[str, str]:
    client = server.client(KEY_A)
    file_id = client.files.create(
        file=("secret.txt", f"Team A's secret recipe uses saffron. {uuid.uuid4().hex}".encode()),
        purpose="assistants",
    ).id
    store_id = client.vector_stores.create(name="team a store").id
    client.vector_stores.files.create_and_poll(file_id=file_id, vector_store_id=store_id, poll_interval_ms=50)
    return {"file": file_id, "store": store_id}


def _b_store(server: RunningServer) -> str:
    return server.client(KEY_B).vector_stores.create(name="team b store").id


FOREIGN_CALLS: dict[str, Callable[[openai.OpenAI, dict[str, str], RunningServer], Any]] = {
    "files.retrieve": lambda c, a, s: c.files.retrieve(a["file"]),
    "files.content": lambda c, a, s: c.files.content(a["file"]),
    "files.delete": lambda c, a, s: c.files.delete(a["file"]),
    "vector_stores.retrieve": lambda c, a, s: c.vector_stores.retrieve(a["store"]),
    "vector_stores.update": lambda c, a, s: c.vector_stores.update(a["store"], name="hijacked"),
    "vector_stores.delete": lambda c, a, s: c.vector_stores.delete(a["store"]),
    "vector_stores.search": lambda c, a, s: c.vector_stores.search(a["store"], query="secret recipe"),
    "vector_stores.files.list": lambda c, a, s: list(c.vector_stores.files.list(vector_store_id=a["store"])),
    "vector_stores.files.retrieve": lambda c, a, s: c.vector_stores.files.retrieve(
        a["file"], vector_store_id=a["store"]
    ),
    "vector_stores.files.delete": lambda c, a, s: c.vector_stores.files.delete(
        a["file"], vector_store_id=a["store"]
    ),
    "attach A's file to A's store": lambda c, a, s: c.vector_stores.files.create(
        vector_store_id=a["store"], file_id=a["file"]
    ),
    "attach A's file to B's store": lambda c, a, s: c.vector_stores.files.create(
        vector_store_id=_b_store(s), file_id=a["file"]
    ),
    "create B's store with A's file": lambda c, a, s: c.vector_stores.create(name="x", file_ids=[a["file"]]),
}


@pytest.mark.parametrize("call", list(FOREIGN_CALLS), ids=list(FOREIGN_CALLS))
def test_foreign_ids_are_not_found(
    server: RunningServer, tenant_a_objects: dict[str, str], call: str
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        FOREIGN_CALLS[call](server.client(KEY_B), tenant_a_objects, server)
    assert caught.value.response.json()["error"]["type"] == "not_found_error"


def test_tenant_a_objects_survive_tenant_b_attempts(
    server: RunningServer, tenant_a_objects: dict[str, str]
) -> None:
    for call in FOREIGN_CALLS.values():  # deletes and updates included
        with pytest.raises(openai.NotFoundError):
            call(server.client(KEY_B), tenant_a_objects, server)
    client = server.client(KEY_A)
    assert client.files.retrieve(tenant_a_objects["file"]).id == tenant_a_objects["file"]
    store = client.vector_stores.retrieve(tenant_a_objects["store"])
    assert store.name == "team a store" and store.file_counts.completed == 1
    assert server.chunks("team-a", tenant_a_objects["store"], tenant_a_objects["file"])


def test_lists_never_show_another_tenants_objects(
    server: RunningServer, tenant_a_objects: dict[str, str]
) -> None:
    b = server.client(KEY_B)
    assert tenant_a_objects["file"] not in {f.id for f in b.files.list()}
    assert tenant_a_objects["store"] not in {s.id for s in b.vector_stores.list(limit=100)}


def test_same_content_in_two_tenants_stays_separate(server: RunningServer) -> None:
    text = f"Both teams uploaded this sentence about granite. {uuid.uuid4().hex}".encode()
    a, b = server.client(KEY_A), server.client(KEY_B)
    store_a, store_b = (
        a.vector_stores.create(name="granite a").id,
        b.vector_stores.create(name="granite b").id,
    )
    file_a = a.vector_stores.files.upload_and_poll(
        vector_store_id=store_a, file=("g.txt", text), poll_interval_ms=50
    )
    file_b = b.vector_stores.files.upload_and_poll(
        vector_store_id=store_b, file=("g.txt", text), poll_interval_ms=50
    )
    assert file_a.id != file_b.id
    assert {h.file_id for h in b.vector_stores.search(store_b, query="granite").data} == {file_b.id}
    b.files.delete(file_b.id)
    assert [h.file_id for h in a.vector_stores.search(store_a, query="granite").data] == [file_a.id]


def test_pagination_cursor_from_another_tenant_yields_nothing(
    server: RunningServer, tenant_a_objects: dict[str, str]
) -> None:
    page = server.client(KEY_B).files.list(after=tenant_a_objects["file"])
    assert page.data == [] and not page.has_more


def test_the_database_refuses_a_cross_tenant_attachment(
    server: RunningServer, tenant_a_objects: dict[str, str]
) -> None:
    # Below the service's checks: the tenant-carrying foreign keys themselves refuse the row.
    b_store = _b_store(server)
    for tenant in ("team-b", "team-a"):
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            server.call(
                server.rag.catalog.attach(
                    tenant=tenant,
                    store_id=b_store,
                    file_id=tenant_a_objects["file"],
                    attributes={},
                    chunking=ChunkingOptions().to_openai(),
                )
            )
