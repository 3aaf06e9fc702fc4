"""Chunking: token bounds, overlap, whole blocks, heading paths, OpenAI's strategy object."""

from __future__ import annotations

import pytest

from gateway.classify.tokens import get_encoding
from rag.chunking import ChunkingOptions, ChunkingStrategyError, chunk_blocks
from rag.loaders import Block


def prose(n: int, word: str = "alpha") -> str:
    return " ".join(f"{word} sentence number {i} ends here." for i in range(n))


def test_chunks_respect_the_token_limit_and_keep_heading_paths() -> None:
    blocks = [
        Block("heading", "Guide", level=1),
        Block("paragraph", "Short intro."),
        Block("heading", "Install", level=2),
        Block("paragraph", prose(200)),
        Block("heading", "Usage", level=2),
        Block("list_item", "run it"),
    ]
    options = ChunkingOptions(max_tokens=120, overlap_tokens=20)
    chunks = chunk_blocks(blocks, source="file-x", options=options)
    encoding = get_encoding()
    assert all(len(encoding.encode(c.text)) <= 120 for c in chunks)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert chunks[0].heading_path == ("Guide",) and chunks[0].text == "Guide\n\nShort intro."
    assert chunks[-1].heading_path == ("Guide", "Usage") and chunks[-1].text == "Usage\n\nrun it"
    install = [c for c in chunks if c.heading_path == ("Guide", "Install")]
    assert len(install) > 3 and install[0].text.startswith("Install\n\n")
    assert all(c.source == "file-x" for c in chunks)


def test_overlap_carries_the_tail_of_the_previous_chunk() -> None:
    chunks = chunk_blocks(
        [Block("paragraph", prose(100))],
        source="f",
        options=ChunkingOptions(max_tokens=100, overlap_tokens=30),
    )
    assert len(chunks) > 2
    for previous, current in zip(chunks, chunks[1:], strict=False):
        head = current.text[:40]
        assert head in previous.text, "the next chunk should start with text from the previous one"


def test_blocks_that_fit_are_never_split() -> None:
    items = [Block("list_item", f"item {i} " + "word " * 20) for i in range(30)]
    chunks = chunk_blocks(items, source="f", options=ChunkingOptions(max_tokens=100, overlap_tokens=0))
    for item in items:
        assert sum(item.text in c.text for c in chunks) == 1


def test_long_tables_split_on_row_boundaries() -> None:
    table = "\n".join(f"row {i} | value {i} | note {i}" for i in range(200))
    chunks = chunk_blocks(
        [Block("table", table)], source="f", options=ChunkingOptions(max_tokens=100, overlap_tokens=0)
    )
    rows = [row for c in chunks for row in c.text.split("\n")]
    assert rows == table.split("\n")


def test_a_single_huge_word_is_cut_by_tokens() -> None:
    chunks = chunk_blocks(
        [Block("paragraph", "x" * 20_000)],
        source="f",
        options=ChunkingOptions(max_tokens=100, overlap_tokens=0),
    )
    assert len(chunks) > 1 and all(c.token_count <= 100 for c in chunks)
    assert "".join(c.text for c in chunks) == "x" * 20_000


def test_pages_follow_the_first_block() -> None:
    blocks = [Block("paragraph", prose(30), page=1), Block("paragraph", prose(30, "beta"), page=2)]
    chunks = chunk_blocks(blocks, source="f", options=ChunkingOptions(max_tokens=100, overlap_tokens=0))
    assert chunks[0].page == 1 and chunks[-1].page == 2


def test_special_token_text_is_plain_text() -> None:
    chunks = chunk_blocks([Block("paragraph", "before <|endoftext|> after")], source="f")
    assert chunks[0].text == "before <|endoftext|> after"


def test_openai_strategy_object() -> None:
    default = ChunkingOptions()
    assert ChunkingOptions.from_openai(None, default=default) is default
    assert ChunkingOptions.from_openai({"type": "auto"}, default=default) is default
    static = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}
    parsed = ChunkingOptions.from_openai(static, default=default)
    assert (parsed.max_tokens, parsed.overlap_tokens) == (800, 400)
    assert parsed.to_openai() == static


@pytest.mark.parametrize(
    "strategy",
    [
        {"type": "static"},
        {"type": "static", "static": {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}},
        {"type": "static", "static": {"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0}},
        {"type": "static", "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 201}},
        {"type": "static", "static": {"max_chunk_size_tokens": "400", "chunk_overlap_tokens": 0}},
        {"type": "static", "static": {"max_chunk_size_tokens": True, "chunk_overlap_tokens": 0}},
        {"type": "other"},
    ],
)
def test_invalid_strategies_are_refused(strategy: dict[str, object]) -> None:
    with pytest.raises(ChunkingStrategyError):
        ChunkingOptions.from_openai(strategy, default=ChunkingOptions())
