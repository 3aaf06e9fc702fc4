"""Structure-aware chunking: headings open sections, blocks stay whole where they fit, sizes in tokens."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import tiktoken

from gateway.classify.tokens import get_encoding
from rag.loaders import Block

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_SEPARATOR_TOKENS = 2  # "\n\n" between parts, with a margin for BPE merges at the seams


class ChunkingStrategyError(ValueError):
    """A chunking_strategy the API refuses (OpenAI's bounds: 100..4096 tokens, overlap <= half)."""


@dataclass(frozen=True, slots=True)
class ChunkingOptions:
    """OpenAI's static strategy; the defaults are ours (smaller chunks suit a 384-dim MiniLM)."""

    max_tokens: int = 400
    overlap_tokens: int = 60

    @classmethod
    def from_openai(cls, strategy: Mapping[str, Any] | None, *, default: ChunkingOptions) -> ChunkingOptions:
        """Read `{"type": "auto"}` or `{"type": "static", "static": {...}}`; raise on anything else."""
        if not strategy or strategy.get("type") == "auto":
            return default
        if strategy.get("type") != "static" or not isinstance(strategy.get("static"), Mapping):
            raise ChunkingStrategyError(
                "chunking_strategy must be {'type': 'auto'} or {'type': 'static', ...}"
            )
        static = strategy["static"]
        size, overlap = static.get("max_chunk_size_tokens"), static.get("chunk_overlap_tokens")
        if not isinstance(size, int) or isinstance(size, bool) or not 100 <= size <= 4096:
            raise ChunkingStrategyError("max_chunk_size_tokens must be an integer between 100 and 4096")
        if not isinstance(overlap, int) or isinstance(overlap, bool) or not 0 <= overlap <= size // 2:
            raise ChunkingStrategyError(
                "chunk_overlap_tokens must be an integer between 0 and half the chunk size"
            )
        return cls(max_tokens=size, overlap_tokens=overlap)

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "static",
            "static": {"max_chunk_size_tokens": self.max_tokens, "chunk_overlap_tokens": self.overlap_tokens},
        }


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of one file ready to embed: its text, place in the file and heading path."""

    source: str  # the file it came from (file id)
    position: int  # 0-based order within the file
    text: str
    heading_path: tuple[str, ...]
    token_count: int
    page: int | None = None  # page of its first block, where the format has pages


class _Builder:
    """Accumulates parts of the current chunk and emits chunks with overlap inside a section."""

    def __init__(self, source: str, options: ChunkingOptions, encoding: tiktoken.Encoding) -> None:
        self.source, self.options, self.encoding = source, options, encoding
        self.chunks: list[Chunk] = []
        self.parts: list[str] = []
        self.tokens = 0
        self.page: int | None = None
        self.headings: list[tuple[int, str]] = []
        self.only_overlap = False  # the parts hold nothing but the tail of the previous chunk

    def count(self, text: str) -> int:
        return len(self.encoding.encode(text, disallowed_special=()))

    def open_section(self, block: Block) -> None:
        self.emit(carry_overlap=False)
        while self.headings and self.headings[-1][0] >= block.level:
            self.headings.pop()
        self.headings.append((block.level, block.text))
        # The heading text opens the section's first chunk, so a search for it finds the section.
        self.parts, self.tokens, self.page = [block.text], self.count(block.text), block.page

    def add(self, piece: str, page: int | None) -> None:
        size = self.count(piece)
        if self.parts and self.tokens + _SEPARATOR_TOKENS + size > self.options.max_tokens:
            self.emit(carry_overlap=True)
        if self.page is None or self.only_overlap:
            self.page = page
        self.parts.append(piece)
        self.tokens += size + (_SEPARATOR_TOKENS if len(self.parts) > 1 else 0)
        self.only_overlap = False

    def emit(self, *, carry_overlap: bool) -> None:
        if not self.parts or self.only_overlap:
            self.parts, self.tokens, self.only_overlap = [], 0, False
            return
        text = "\n\n".join(self.parts)
        self.chunks.append(
            Chunk(
                source=self.source,
                position=len(self.chunks),
                text=text,
                heading_path=tuple(h for _, h in self.headings),
                token_count=self.count(text),
                page=self.page,
            )
        )
        self.parts, self.tokens, self.page = [], 0, None
        if carry_overlap and self.options.overlap_tokens:
            tail = self.tail(text)
            if tail:
                self.parts, self.tokens, self.only_overlap = [tail], self.count(tail), True

    def tail(self, text: str) -> str:
        ids = self.encoding.encode(text, disallowed_special=())
        if len(ids) <= self.options.overlap_tokens:
            return text
        tail = self.encoding.decode(ids[-self.options.overlap_tokens :])
        # Start the overlap at a word boundary rather than inside a word.
        if not tail[:1].isspace() and " " in tail:
            tail = tail.split(" ", 1)[1]
        return tail.strip()


def chunk_blocks(
    blocks: Sequence[Block],
    *,
    source: str,
    options: ChunkingOptions | None = None,
    encoding: tiktoken.Encoding | None = None,
) -> list[Chunk]:
    """Pack blocks into chunks of at most `options.max_tokens` tokens, with overlap inside a section."""
    options = options or ChunkingOptions()
    builder = _Builder(source, options, encoding or get_encoding())
    # A piece must leave room for the overlap tail carried into the chunk it opens.
    piece_limit = max(options.max_tokens - options.overlap_tokens - _SEPARATOR_TOKENS, 1)
    for block in blocks:
        if block.kind == "heading":
            builder.open_section(block)
            continue
        for piece in _split(block, piece_limit, builder):
            builder.add(piece, block.page)
    builder.emit(carry_overlap=False)
    return builder.chunks


def _split(block: Block, limit: int, builder: _Builder) -> list[str]:
    """The block itself when it fits; else runs of its lines (tables, code) or sentences (prose)."""
    if builder.count(block.text) <= limit:
        return [block.text]
    units = block.text.split("\n") if block.kind in ("table", "code") else _SENTENCE_END.split(block.text)
    joiner = "\n" if block.kind in ("table", "code") else " "
    pieces: list[str] = []
    current: list[str] = []
    current_tokens = 0
    for unit in units:
        size = builder.count(unit)
        if size > limit:  # one unit longer than a chunk: cut it by tokens
            if current:
                pieces.append(joiner.join(current))
                current, current_tokens = [], 0
            pieces.extend(_hard_split(unit, limit, builder.encoding))
            continue
        if current and current_tokens + size + 1 > limit:
            pieces.append(joiner.join(current))
            current, current_tokens = [], 0
        current.append(unit)
        current_tokens += size + 1
    if current:
        pieces.append(joiner.join(current))
    return [p for p in pieces if p.strip()]


def _hard_split(text: str, limit: int, encoding: tiktoken.Encoding) -> list[str]:
    ids = encoding.encode(text, disallowed_special=())
    step = max(limit - 4, 1)  # re-encoding a decoded slice can cost a few tokens more
    return [encoding.decode(ids[i : i + step]) for i in range(0, len(ids), step)]
