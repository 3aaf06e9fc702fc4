"""A small FastAPI app with the Files and Vector Stores routers, served by uvicorn on a loopback port.

Real parts: PostgreSQL (pgserver, the session's `pg_url`), the ONNX embedder (loaded once), the loaders and
the ingestion runner. Two bearer tokens map to principals of two different teams (tenants).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import openai
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway.api import files, vector_stores
from gateway.auth.principal import Principal
from gateway.errors import GatewayError
from gateway.storage.db import Database
from rag.embedding import Embedder, build_embedder
from rag.service import RagService, RagSettings
from rag.stores import VectorIndex, build_index
from tests.rag_api.indexes import FailingIndex

KEY_A = "sk-test-team-a"
KEY_B = "sk-test-team-b"
KEY_NO_SCOPE = "sk-test-no-files-scope"
UPLOAD_LIMIT = 2 * 1024 * 1024
T = TypeVar("T")


def _principal(key_id: str, team: str, scopes: set[str]) -> Principal:
    return Principal(key_id=key_id, name=key_id, team=team, scopes=frozenset(scopes), allowed_models=None)


class TokenAuth:
    """The auth service's interface over a fixed table of bearer tokens."""

    def __init__(self, principals: Mapping[str, Principal]) -> None:
        self._principals = dict(principals)

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        raw = headers.get("authorization", "")
        token = raw[7:].strip() if raw.lower().startswith("bearer ") else headers.get("x-api-key", "")
        principal = self._principals.get(token)
        if principal is None:
            raise GatewayError(401, "invalid API key", code="invalid_api_key")
        return principal


def build_app(*, database_url: str, embedder: Embedder, index: Any, settings: RagSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(database_url, min_size=1, max_size=6)
        await database.open()
        await database.migrate()
        rag = RagService(database=database, embedder=embedder, index=index, settings=settings)
        await rag.start()
        app.state.rag = rag
        app.state.loop = asyncio.get_running_loop()
        try:
            yield
        finally:
            await rag.close()
            await database.close()

    app = FastAPI(lifespan=lifespan)
    app.state.auth = TokenAuth(
        {
            KEY_A: _principal("key-a", "team-a", {"files", "chat"}),
            KEY_B: _principal("key-b", "team-b", {"files"}),
            KEY_NO_SCOPE: _principal("key-c", "team-a", {"chat"}),
        }
    )
    app.include_router(files.router)
    app.include_router(vector_stores.router)

    @app.exception_handler(GatewayError)
    async def gateway_error(_request: Request, exc: GatewayError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    return app


@dataclass
class RunningServer:
    base_url: str
    app: FastAPI
    index: VectorIndex
    embedder: Embedder

    @property
    def rag(self) -> RagService:
        service: RagService = self.app.state.rag
        return service

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's event loop (where the service's pool and tasks live)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.app.state.loop).result(timeout=60)

    def client(self, key: str = KEY_A) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url, api_key=key, max_retries=0, timeout=60)

    def async_client(self, key: str = KEY_A) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=key, max_retries=0, timeout=60)

    def chunks(self, tenant: str, store_id: str, file_id: str | None = None) -> list[Any]:
        """Every chunk the index holds for the store (optionally one file), read straight from the index."""
        hits = self.index.search(
            tenant=tenant,
            store_ids=[store_id],
            query_text="anything",
            query_vector=self.embedder.embed_query("anything"),
            k=10_000,
            mode="dense",
        )
        return [h.chunk for h in hits if file_id is None or h.chunk.file_id == file_id]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return build_embedder("onnx")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session", params=["qdrant", "pgvector"])
def server(request: pytest.FixtureRequest, pg_url: str, embedder: Embedder) -> Iterator[RunningServer]:
    """The API over each index backend: Qdrant local mode (in memory) and pgvector in the test PostgreSQL."""
    index: VectorIndex
    if request.param == "qdrant":
        index = build_index("qdrant", dim=embedder.dim, qdrant_path=":memory:")
    else:
        index = build_index("pgvector", dim=embedder.dim, database_url=pg_url)
    settings = RagSettings(max_upload_bytes=UPLOAD_LIMIT, poll_after_ms=50)
    app = build_app(database_url=pg_url, embedder=embedder, index=FailingIndex(index), settings=settings)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="rag-api-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield RunningServer(base_url=f"http://127.0.0.1:{port}/v1", app=app, index=index, embedder=embedder)
    uv.should_exit = True
    thread.join(timeout=30)
    index.close()
