"""`gateway ingest`'s body: walk folders, upload through the API, attach to a store, summarise."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

from gateway.cli_ingest import api_base, discover, ingest_paths
from tests.rag_api.conftest import KEY_A, RunningServer
from tests.rag_api.documents import binary_junk, make_pdf


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    tag = uuid.uuid4().hex
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.md").write_text(f"# Alpha {tag}\n\nThe alpha document mentions walruses.")
    (tmp_path / "sub" / "b.txt").write_text(f"Beta {tag} talks about penguins.")
    (tmp_path / "sub" / "c.pdf").write_bytes(make_pdf([f"Gamma {tag} is a PDF about puffins."]))
    (tmp_path / "junk.txt").write_bytes(binary_junk())
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / ".git" / "config.txt").write_text("hidden")
    return tmp_path


def test_discover_filters_by_suffix_and_skips_hidden(tree: Path) -> None:
    found, skipped = discover([tree])
    assert [p.relative_to(tree).as_posix() for p in found] == ["a.md", "junk.txt", "sub/b.txt", "sub/c.pdf"]
    assert {p.name for p in skipped} == {"photo.png", "config.txt"}


def test_ingest_uploads_attaches_and_summarises(server: RunningServer, tree: Path) -> None:
    out = io.StringIO()
    name = f"cli store {uuid.uuid4().hex}"
    summary = ingest_paths(
        [tree],
        base_url=server.base_url.removesuffix("/v1"),
        api_key=KEY_A,
        vector_store=name,
        out=out,
        poll_interval_ms=50,
    )
    assert sorted(p.name for p, _ in summary.uploaded) == ["a.md", "b.txt", "c.pdf"]
    assert [(p.name, reason.split(":")[0]) for p, reason in summary.failed] == [
        ("junk.txt", "415 unsupported_file")
    ]
    assert len(summary.indexed) == 3 and summary.index_failed == [] and not summary.ok
    assert "uploaded 3, refused 1, skipped 2" in out.getvalue()
    client = server.client(KEY_A)
    assert client.vector_stores.retrieve(summary.vector_store_id or "").name == name
    hits = client.vector_stores.search(summary.vector_store_id or "", query="puffins").data
    assert hits and hits[0].filename == "c.pdf"
    # Running it again reuses the store found by name and the files found by content.
    again = ingest_paths(
        [tree / "sub"],
        base_url=server.base_url,
        api_key=KEY_A,
        vector_store=name,
        progress=False,
        out=io.StringIO(),
    )
    assert again.vector_store_id == summary.vector_store_id
    assert {fid for _, fid in again.uploaded} <= {fid for _, fid in summary.uploaded}
    assert client.vector_stores.retrieve(again.vector_store_id or "").file_counts.total == 3


def test_ingest_without_a_store_only_uploads(server: RunningServer, tree: Path) -> None:
    summary = ingest_paths(
        [tree / "a.md"],
        base_url=server.base_url,
        api_key=KEY_A,
        vector_store=None,
        progress=False,
        out=io.StringIO(),
    )
    assert summary.vector_store_id is None and len(summary.uploaded) == 1 and summary.ok


def test_api_base() -> None:
    assert api_base("http://h:8080") == "http://h:8080/v1"
    assert api_base("http://h:8080/v1/") == "http://h:8080/v1"
