"""RagService calls the routers do not cover: resuming interrupted ingestion, and chat augmentation."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from gateway.errors import GatewayError
from rag.chunking import ChunkingOptions
from tests.rag_api.conftest import KEY_A, RunningServer


def test_interrupted_attachments_are_resumed(server: RunningServer) -> None:
    client = server.client(KEY_A)
    store = client.vector_stores.create(name="resume")
    file_id = client.files.create(
        file=("r.txt", f"Resumed ingestion about glaciers. {uuid.uuid4().hex}".encode()), purpose="assistants"
    ).id
    # An attachment row as a crashed process would leave it: in_progress, with no job running.
    row, _ = server.call(
        server.rag.catalog.attach(
            tenant="team-a",
            store_id=store.id,
            file_id=file_id,
            attributes={"src": "crash"},
            chunking=ChunkingOptions().to_openai(),
        )
    )
    assert row.status == "in_progress"
    assert server.call(server.rag.resume_interrupted()) >= 1
    done = client.vector_stores.files.poll(file_id, vector_store_id=store.id, poll_interval_ms=50)
    assert done.status == "completed"
    hits = client.vector_stores.search(store.id, query="glaciers").data
    assert hits and hits[0].file_id == file_id and hits[0].attributes == {"src": "crash"}


def test_augment_quotes_the_tenants_chunks_and_cites_them(server: RunningServer) -> None:
    client = server.client(KEY_A)
    store = client.vector_stores.create(name="augment")
    client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("volcano.md", f"# Volcanoes\n\nEtna erupted in 2021. {uuid.uuid4().hex}".encode()),
        poll_interval_ms=50,
    )
    messages = [{"role": "user", "content": "When did Etna erupt?"}]
    augmented, citations = server.call(server.rag.augment("team-a", [store.id], messages, k=3))
    assert augmented[1:] == messages and "Etna erupted in 2021" in augmented[0]["content"]
    assert citations and citations[0].filename == "volcano.md" and citations[0].index == 1
    with pytest.raises(GatewayError) as caught:
        server.call(server.rag.augment("team-b", [store.id], messages))
    assert caught.value.status == 404


def test_a_shutdown_leaves_the_job_in_progress_without_chunks(server: RunningServer) -> None:
    client = server.client(KEY_A)
    store = client.vector_stores.create(name="shutdown")
    text = "\n\n".join(f"Paragraph {i} about lighthouses. {uuid.uuid4().hex}" for i in range(300))
    file_id = client.files.create(file=("s.txt", text.encode()), purpose="assistants").id

    async def attach_then_shut_down() -> int:
        rag = server.rag
        await rag.attach_file("team-a", store.id, file_id=file_id, attributes=None, chunking_strategy=None)
        running = rag.ingestion.pending
        await rag.ingestion.close()  # what the app's shutdown does
        return running

    assert server.call(attach_then_shut_down()) == 1
    assert client.vector_stores.files.retrieve(file_id, vector_store_id=store.id).status == "in_progress"
    assert server.chunks("team-a", store.id, file_id) == []
    server.call(server.rag.resume_interrupted())  # the next start
    done = client.vector_stores.files.poll(file_id, vector_store_id=store.id, poll_interval_ms=50)
    assert done.status == "completed" and server.chunks("team-a", store.id, file_id)


def test_attaching_again_while_a_detach_is_sweeping_indexes_the_file(server: RunningServer) -> None:
    """A detach stops the running job and sweeps the chunks; an attach of the same file meanwhile must get
    its own job and keep its chunks (it was refused a job, the old one still running: in_progress forever)."""
    client = server.client(KEY_A)
    store = client.vector_stores.create(name="reattach")
    text = "\n\n".join(f"Paragraph {i} about tidal mills. {uuid.uuid4().hex}" for i in range(300))
    file_id = client.files.create(file=("t.txt", text.encode()), purpose="assistants").id

    async def attach_detach_attach() -> None:
        rag = server.rag
        await rag.attach_file("team-a", store.id, file_id=file_id, attributes=None, chunking_strategy=None)
        assert rag.ingestion.pending == 1  # its job is running
        detach = asyncio.create_task(rag.detach_file("team-a", store.id, file_id))
        await asyncio.sleep(0)  # the detach has begun
        await rag.attach_file("team-a", store.id, file_id=file_id, attributes=None, chunking_strategy=None)
        await detach
        await rag.ingestion.wait_idle()

    server.call(attach_detach_attach())
    attached = client.vector_stores.files.retrieve(file_id, vector_store_id=store.id)
    assert attached.status == "completed", attached
    assert len(server.chunks("team-a", store.id, file_id)) > 10
    hits = client.vector_stores.search(store.id, query="tidal mills").data
    assert hits and hits[0].file_id == file_id
