"""The Vector Stores API through the official openai SDK: stores, attachments, ingestion, search, cascades."""

from __future__ import annotations

import uuid
from typing import Any

import openai
import pytest

from tests.rag_api.conftest import RunningServer
from tests.rag_api.documents import make_docx, make_pdf
from tests.rag_api.indexes import FAILURE_TRIGGER

TENANT_A = "team-a"


def unique(text: str) -> str:
    return f"{text} [{uuid.uuid4().hex}]"


def upload(client: openai.OpenAI, name: str, text: str) -> str:
    return client.files.create(file=(name, text.encode()), purpose="assistants").id


def test_store_lifecycle_create_list_retrieve_update_delete(server: RunningServer) -> None:
    client = server.client()
    store = client.vector_stores.create(name="handbook", metadata={"team": "docs"})
    assert store.id.startswith("vs_") and store.object == "vector_store"
    assert (store.name, store.metadata, store.status, store.usage_bytes) == (
        "handbook",
        {"team": "docs"},
        "completed",
        0,
    )
    assert store.file_counts.total == 0
    assert client.vector_stores.retrieve(store.id).id == store.id
    assert store.id in {s.id for s in client.vector_stores.list(limit=100)}
    updated = client.vector_stores.update(store.id, name="renamed", metadata={"team": "ops"})
    assert (updated.name, updated.metadata) == ("renamed", {"team": "ops"})
    deleted = client.vector_stores.delete(store.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (store.id, True, "vector_store.deleted")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(store.id)


def test_create_and_poll_then_search_returns_openai_shape(server: RunningServer) -> None:
    client = server.client()
    store = client.vector_stores.create(name="search")
    text = (
        "# Refunds\n\nCustomers may return a kettle within 30 days for a full refund.\n\n"
        "# Shipping\n\nParcels ship on Mondays."
    )
    file_id = upload(client, "policy.md", text)
    attached = client.vector_stores.files.create_and_poll(
        file_id=file_id,
        vector_store_id=store.id,
        attributes={"lang": "en", "year": 2024},
        poll_interval_ms=50,
    )
    assert attached.status == "completed" and attached.last_error is None
    assert attached.id == file_id and attached.vector_store_id == store.id and attached.usage_bytes > 0
    assert attached.chunking_strategy is not None and attached.chunking_strategy.type == "static"
    page = client.vector_stores.search(
        store.id, query="how long do I have to return a kettle?", max_num_results=3
    )
    assert page.data, "search found nothing"
    best = page.data[0]
    assert (best.file_id, best.filename) == (file_id, "policy.md")
    assert best.attributes == {"lang": "en", "year": 2024}
    assert best.content[0].type == "text" and "30 days" in best.content[0].text
    assert len(page.data) <= 3
    refreshed = client.vector_stores.retrieve(store.id)
    assert refreshed.file_counts.completed == 1 and refreshed.usage_bytes == attached.usage_bytes


def test_upload_and_poll_for_pdf_and_docx(server: RunningServer) -> None:
    client = server.client()
    store = client.vector_stores.create(name="binary formats")
    pdf = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("manual.pdf", make_pdf([unique("The pump needs oil every spring.")])),
        poll_interval_ms=50,
    )
    word = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=(
            "memo.docx",
            make_docx(title=unique("Memo"), sections=[("Budget", ["The budget is forty euros."])]),
        ),
        poll_interval_ms=50,
    )
    assert pdf.status == word.status == "completed"
    hits = client.vector_stores.search(store.id, query="budget euros").data
    assert hits and hits[0].file_id == word.id and hits[0].filename == "memo.docx"
    assert len(server.chunks(TENANT_A, store.id, pdf.id)) >= 1


async def test_async_sdk_upload_and_poll_and_search(server: RunningServer) -> None:
    client = server.async_client()
    store = await client.vector_stores.create(name="async")
    done = await client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("a.txt", unique("Otters hold hands while sleeping.").encode()),
        poll_interval_ms=50,
    )
    assert done.status == "completed"
    page = await client.vector_stores.search(store.id, query="sleeping otters")
    assert page.data and page.data[0].file_id == done.id
    await client.vector_stores.delete(store.id)
    await client.close()


def test_create_store_with_file_ids_and_list_files_by_status(server: RunningServer) -> None:
    client = server.client()
    ids = [upload(client, f"f{i}.txt", unique(f"document number {i}")) for i in range(3)]
    store = client.vector_stores.create(name="bulk", file_ids=ids)
    assert store.file_counts.total == 3
    for file_id in ids:
        assert (
            client.vector_stores.files.poll(file_id, vector_store_id=store.id, poll_interval_ms=50).status
            == "completed"
        )
    listed = [f.id for f in client.vector_stores.files.list(vector_store_id=store.id, limit=1)]
    assert sorted(listed) == sorted(ids)
    assert [f.id for f in client.vector_stores.files.list(vector_store_id=store.id, filter="failed")] == []
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.completed, counts.in_progress, counts.total) == (3, 0, 3)


def test_create_store_with_an_unknown_file_creates_nothing(server: RunningServer) -> None:
    client = server.client()
    before = {s.id for s in client.vector_stores.list(limit=100)}
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.create(name="broken", file_ids=["file-doesnotexist"])
    assert {s.id for s in client.vector_stores.list(limit=100)} == before


def test_attaching_the_same_content_twice_indexes_it_once(server: RunningServer) -> None:
    client = server.client()
    store = client.vector_stores.create(name="twice")
    text = unique("Lighthouses guide ships at night.")
    file_id = upload(client, "twice.txt", text)
    first = client.vector_stores.files.create_and_poll(
        file_id=file_id, vector_store_id=store.id, poll_interval_ms=50
    )
    chunk_ids = sorted(c.chunk_id for c in server.chunks(TENANT_A, store.id, file_id))
    # Re-uploading the same bytes gives the same file id, so attaching "it" again changes nothing.
    again_id = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("copy.txt", text.encode()), poll_interval_ms=50
    ).id
    again = client.vector_stores.files.retrieve(again_id, vector_store_id=store.id)
    assert again_id == file_id and again.created_at == first.created_at and again.status == "completed"
    assert sorted(c.chunk_id for c in server.chunks(TENANT_A, store.id, file_id)) == chunk_ids
    assert client.vector_stores.retrieve(store.id).file_counts.total == 1


def test_static_chunking_strategy_is_honoured_and_validated(server: RunningServer) -> None:
    client = server.client()
    store = client.vector_stores.create(name="chunking")
    long_text = "\n\n".join(
        unique(f"Paragraph {i} talks about topic {i} in some detail.") * 4 for i in range(40)
    )
    file_id = upload(client, "long.txt", long_text)
    strategy: Any = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 20}}
    done = client.vector_stores.files.create_and_poll(
        file_id=file_id,
        vector_store_id=store.id,
        chunking_strategy=strategy,
        poll_interval_ms=50,
    )
    assert done.chunking_strategy is not None and done.chunking_strategy.model_dump() == strategy
    small = len(server.chunks(TENANT_A, store.id, file_id))
    other = client.vector_stores.create(name="default chunking")
    client.vector_stores.files.create_and_poll(file_id=file_id, vector_store_id=other.id, poll_interval_ms=50)
    assert small > len(server.chunks(TENANT_A, other.id, file_id)) >= 1
    bad: Any
    for bad in (
        {"type": "static", "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0}},
        {"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 150}},
        {"type": "semantic"},
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            client.vector_stores.files.create(
                vector_store_id=store.id, file_id=file_id, chunking_strategy=bad
            )
        assert caught.value.response.json()["error"]["param"] == "chunking_strategy"


def test_failed_ingestion_reports_the_reason_and_leaves_no_chunk(server: RunningServer) -> None:
    client = server.client()
    store = client.vector_stores.create(name="failure")
    file_id = upload(client, "doomed.txt", unique(f"This text carries the {FAILURE_TRIGGER} marker."))
    result = client.vector_stores.files.create_and_poll(
        file_id=file_id, vector_store_id=store.id, poll_interval_ms=50
    )
    assert result.status == "failed"
    assert result.last_error is not None and result.last_error.code == "server_error"
    assert "simulated index failure" in result.last_error.message
    assert server.chunks(TENANT_A, store.id, file_id) == []
    assert client.vector_stores.search(store.id, query="marker").data == []
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.failed, counts.completed) == (1, 0)
    assert [f.id for f in client.vector_stores.files.list(vector_store_id=store.id, filter="failed")] == [
        file_id
    ]


def test_detaching_a_file_deletes_its_chunks(server: RunningServer) -> None:
    client = server.client()
    store = client.vector_stores.create(name="detach")
    keep = upload(client, "keep.txt", unique("Keep: apples are red."))
    drop = upload(client, "drop.txt", unique("Drop: bananas are yellow."))
    for file_id in (keep, drop):
        client.vector_stores.files.create_and_poll(
            file_id=file_id, vector_store_id=store.id, poll_interval_ms=50
        )
    deleted = client.vector_stores.files.delete(drop, vector_store_id=store.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (drop, True, "vector_store.file.deleted")
    assert server.chunks(TENANT_A, store.id, drop) == []
    assert server.chunks(TENANT_A, store.id, keep)
    assert {h.file_id for h in client.vector_stores.search(store.id, query="bananas yellow").data} == {keep}
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(drop, vector_store_id=store.id)
    assert client.files.retrieve(drop).id == drop  # detaching keeps the file itself


def test_deleting_a_file_cascades_to_every_store(server: RunningServer) -> None:
    client = server.client()
    stores = [client.vector_stores.create(name=f"cascade {i}").id for i in range(2)]
    file_id = upload(client, "shared.txt", unique("Shared between two stores."))
    for store_id in stores:
        client.vector_stores.files.create_and_poll(
            file_id=file_id, vector_store_id=store_id, poll_interval_ms=50
        )
        assert server.chunks(TENANT_A, store_id, file_id)
    client.files.delete(file_id)
    for store_id in stores:
        assert server.chunks(TENANT_A, store_id, file_id) == []
        assert client.vector_stores.retrieve(store_id).file_counts.total == 0
        assert list(client.vector_stores.files.list(vector_store_id=store_id)) == []


def test_deleting_a_store_deletes_its_chunks_and_not_others(server: RunningServer) -> None:
    client = server.client()
    doomed = client.vector_stores.create(name="doomed")
    survivor = client.vector_stores.create(name="survivor")
    file_id = upload(client, "both.txt", unique("Stored twice."))
    for store in (doomed, survivor):
        client.vector_stores.files.create_and_poll(
            file_id=file_id, vector_store_id=store.id, poll_interval_ms=50
        )
    client.vector_stores.delete(doomed.id)
    assert server.chunks(TENANT_A, doomed.id) == []
    assert server.chunks(TENANT_A, survivor.id, file_id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.search(doomed.id, query="stored")


def test_deleting_a_file_while_it_is_being_ingested_leaves_nothing(server: RunningServer) -> None:
    client = server.client()
    store = client.vector_stores.create(name="race")
    text = "\n\n".join(unique(f"Section {i} of a longer document.") for i in range(200))
    file_id = upload(client, "race.txt", text)
    client.vector_stores.files.create(vector_store_id=store.id, file_id=file_id)
    client.files.delete(file_id)  # most likely while the job is still chunking or embedding
    assert server.chunks(TENANT_A, store.id, file_id) == []
    assert client.vector_stores.retrieve(store.id).file_counts.total == 0


def test_search_filters_on_attributes(server: RunningServer) -> None:
    client = server.client()
    store = client.vector_stores.create(name="filters")
    red = upload(client, "red.txt", unique("The colour of this fruit is red."))
    green = upload(client, "green.txt", unique("The colour of this fruit is green."))
    for file_id, colour in ((red, "red"), (green, "green")):
        client.vector_stores.files.create_and_poll(
            file_id=file_id, vector_store_id=store.id, attributes={"colour": colour}, poll_interval_ms=50
        )
    page = client.vector_stores.search(
        store.id, query="fruit colour", filters={"type": "eq", "key": "colour", "value": "green"}
    )
    assert {hit.file_id for hit in page.data} == {green}
    unsupported: Any = {"type": "gt", "key": "colour", "value": "red"}  # a range needs a number
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.search(store.id, query="fruit", filters=unsupported)


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""},
        {"query": []},
        {"query": "ok", "max_num_results": 0},
        {"query": "ok", "max_num_results": 51},
        {"query": "ok", "max_num_results": "ten"},
    ],
)
def test_search_validates_its_input(server: RunningServer, body: dict[str, object]) -> None:
    client = server.client()
    store = client.vector_stores.create(name="validation")
    with pytest.raises(openai.BadRequestError):
        client.post(f"/vector_stores/{store.id}/search", body=body, cast_to=object)


def test_search_accepts_a_list_of_queries_and_rewrite_query(server: RunningServer) -> None:
    client = server.client()
    store = client.vector_stores.create(name="multi")
    file_id = upload(client, "moon.txt", unique("The moon orbits the earth every 27 days."))
    client.vector_stores.files.create_and_poll(file_id=file_id, vector_store_id=store.id, poll_interval_ms=50)
    page = client.vector_stores.search(store.id, query=["moon", "orbit period"], rewrite_query=True)
    assert page.data and page.data[0].file_id == file_id


@pytest.mark.parametrize(
    "metadata", [{f"k{i}": "v" for i in range(17)}, {"k": "v" * 513}, {"k" * 65: "v"}, {"k": 1}]
)
def test_store_metadata_limits(server: RunningServer, metadata: dict[str, object]) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        server.client().vector_stores.create(name="bad metadata", metadata=metadata)  # type: ignore[arg-type]
    assert caught.value.response.json()["error"]["param"] == "metadata"


def test_attribute_limits(server: RunningServer) -> None:
    client = server.client()
    store = client.vector_stores.create(name="bad attributes")
    file_id = upload(client, "attr.txt", unique("attributes"))
    attributes: Any
    for attributes in (
        {"nested": {"a": 1}},
        {"list": [1]},
        {f"k{i}": 1 for i in range(17)},
        {"has.dot": 1},
        {"k" * 65: 1},
        {"long": "v" * 513},
    ):
        with pytest.raises(openai.BadRequestError):
            client.vector_stores.files.create(
                vector_store_id=store.id, file_id=file_id, attributes=attributes
            )
