"""Background ingestion: blocks -> chunks -> vectors -> index, off the event loop, a bounded few at a time.

A job that fails or whose attachment disappears meanwhile removes every chunk it may have written, so a
file is either fully searchable in a store (status completed) or not at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.catalog import Catalog
from rag.chunking import ChunkingOptions, chunk_blocks
from rag.embedding import Embedder
from rag.loaders import Block
from rag.stores.base import VectorIndex
from rag.types import AttributeValue, ChunkRecord

log = logging.getLogger("rag.ingest")

JobKey = tuple[str, str, str]  # (tenant, store_id, file_id)
EMBED_BATCH = 64  # chunks per embedding call; a stop request is honoured between calls


@dataclass(frozen=True, slots=True)
class IngestJob:
    """One file to index into one store."""

    tenant: str
    store_id: str
    file_id: str
    chunking: ChunkingOptions
    attributes: dict[str, AttributeValue] = field(default_factory=dict)

    @property
    def key(self) -> JobKey:
        return (self.tenant, self.store_id, self.file_id)


def encode_blocks(blocks: Sequence[Block]) -> str:
    """Blocks as the JSON text the catalog stores (CPU-bound for big files: call it in a thread)."""
    return json.dumps([{"kind": b.kind, "text": b.text, "level": b.level, "page": b.page} for b in blocks])


def decode_blocks(text: str) -> list[Block]:
    """The catalog's JSON text back to blocks."""
    return [
        Block(kind=r["kind"], text=r["text"], level=r.get("level", 0), page=r.get("page"))
        for r in json.loads(text)
    ]


def build_records(job: IngestJob, blocks: Sequence[Block]) -> list[ChunkRecord]:
    """Chunk the blocks and wrap each chunk as a record of this store; chunk ids are unique per tenant."""
    chunks = chunk_blocks(blocks, source=job.file_id, options=job.chunking)
    return [
        ChunkRecord(
            chunk_id=f"{job.store_id}:{job.file_id}:{chunk.position}",
            tenant=job.tenant,
            store_id=job.store_id,
            file_id=job.file_id,
            position=chunk.position,
            text=chunk.text,
            heading_path=chunk.heading_path,
            attributes=dict(job.attributes),
        )
        for chunk in chunks
    ]


class JobStopped(Exception):
    """The job was told to stop (its attachment went away, or the server is shutting down)."""


class IngestionRunner:
    """Runs ingestion jobs as asyncio tasks; parsing-free CPU work (chunking, embedding) runs in threads."""

    def __init__(
        self, *, catalog: Catalog, embedder: Embedder, index: VectorIndex, max_concurrent: int = 2
    ) -> None:
        self._catalog = catalog
        self._embedder = embedder
        self._index = index
        # Bounds CPU use: extra jobs wait here, as cheap suspended coroutines, never in the thread pool.
        self._slots = asyncio.Semaphore(max_concurrent)
        self._tasks: dict[JobKey, asyncio.Task[None]] = {}
        # Checked by the worker thread between embedding batches: a thread cannot be cancelled from outside.
        self._stops: dict[JobKey, threading.Event] = {}

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def submit(self, job: IngestJob) -> None:
        """Start the job unless the same attachment is already being ingested."""
        if job.key in self._tasks:
            return
        stop = threading.Event()
        task = asyncio.create_task(self._run(job, stop), name=f"ingest:{job.store_id}:{job.file_id}")
        self._tasks[job.key] = task
        self._stops[job.key] = stop

        def forget(_task: asyncio.Task[None], key: JobKey = job.key) -> None:
            self._tasks.pop(key, None)
            self._stops.pop(key, None)

        task.add_done_callback(forget)

    async def stop(self, key: JobKey) -> None:
        """Stop a running job of this attachment at its next batch and wait for its cleanup."""
        await self._stop_and_wait([key])

    async def stop_store(self, tenant: str, store_id: str) -> None:
        await self._stop_and_wait([k for k in self._tasks if k[0] == tenant and k[1] == store_id])

    async def _stop_and_wait(self, keys: list[JobKey]) -> None:
        tasks = set()
        for key in keys:
            if key in self._stops:
                self._stops[key].set()
            if key in self._tasks:
                tasks.add(self._tasks[key])
        if tasks:
            await asyncio.shield(asyncio.wait(tasks))

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.wait(set(self._tasks.values()))

    async def close(self) -> None:
        """Cancel running jobs (each removes its partial chunks and stays in_progress) and wait for them."""
        tasks = list(self._tasks.values())
        for stop in self._stops.values():
            stop.set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _run(self, job: IngestJob, stop: threading.Event) -> None:
        async with self._slots:
            try:
                stored = await self._catalog.get_file_blocks(tenant=job.tenant, file_id=job.file_id)
                if stored is None:  # the file was deleted before its turn came
                    return
                records, vectors = await asyncio.to_thread(self._prepare, job, stored, stop)
                if records:
                    await asyncio.to_thread(self._index.upsert, records, vectors)
                usage = sum(len(r.text.encode()) for r in records) + int(vectors.nbytes)
                done = await self._catalog.mark_completed(
                    tenant=job.tenant,
                    store_id=job.store_id,
                    file_id=job.file_id,
                    chunk_count=len(records),
                    usage_bytes=usage,
                )
                if not done:  # detached, or the file deleted, while we worked: leave nothing behind
                    await self._delete_chunks(job)
                else:
                    log.info("indexed %s into %s: %d chunks", job.file_id, job.store_id, len(records))
            except JobStopped:  # detached or deleted meanwhile: nothing was written
                await self._delete_chunks(job)
            except asyncio.CancelledError:
                # A shutdown: drop the partial chunks but keep the status in_progress, so that the next
                # start (RagService.resume_interrupted) runs the job again.
                await asyncio.shield(self._delete_chunks(job))
                raise
            except Exception as exc:  # any failure ends as status failed with its reason, never a crash
                log.exception("ingestion of %s into %s failed", job.file_id, job.store_id)
                await self._fail(job, "server_error", f"ingestion failed: {type(exc).__name__}: {exc}")

    def _prepare(
        self, job: IngestJob, stored_blocks: str, stop: threading.Event
    ) -> tuple[list[ChunkRecord], np.ndarray]:
        records = build_records(job, decode_blocks(stored_blocks))
        batches = [np.empty((0, self._embedder.dim), dtype=np.float32)]
        for start in range(0, len(records), EMBED_BATCH):
            if stop.is_set():
                raise JobStopped
            texts = [r.text for r in records[start : start + EMBED_BATCH]]
            batches.append(np.asarray(self._embedder.embed_documents(texts), dtype=np.float32))
        if stop.is_set():
            raise JobStopped
        return records, np.concatenate(batches)

    async def _fail(self, job: IngestJob, code: str, message: str) -> None:
        try:
            await self._delete_chunks(job)
        finally:
            await self._catalog.mark_failed(
                tenant=job.tenant,
                store_id=job.store_id,
                file_id=job.file_id,
                code=code,
                message=message[:1000],
            )

    async def _delete_chunks(self, job: IngestJob) -> None:
        await asyncio.to_thread(
            self._index.delete_file, tenant=job.tenant, store_id=job.store_id, file_id=job.file_id
        )
