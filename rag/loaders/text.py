"""Plain text and Markdown: strict decoding, then blocks from blank lines and Markdown syntax."""

from __future__ import annotations

import codecs
import re

from rag.loaders.types import (
    Block,
    EmptyDocumentError,
    TextEncodingError,
    UnsupportedFileTypeError,
)

_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f"}
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,9}[.)])\s+(.*)$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (or BOM-marked UTF-16) strictly; binary content and bad bytes raise typed errors."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        encoding = "utf-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
        if b"\x00" in data:
            raise UnsupportedFileTypeError("the file holds binary content, not text")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if _looks_binary(data):
            raise UnsupportedFileTypeError("the file holds binary content, not text") from None
        message = f"the file is not valid UTF-8 text (bad byte at offset {exc.start})"
        raise TextEncodingError(message) from None
    if _control_ratio(text) > 0.05:
        raise UnsupportedFileTypeError("the file holds binary content, not text")
    if not text.strip():
        raise EmptyDocumentError("the file has no text")
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _looks_binary(data: bytes) -> bool:
    # Text in a legacy encoding has a few high bytes; junk has controls and high bytes everywhere.
    sample = data[:4096]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    high = sum(1 for b in sample if b >= 128)
    return controls / len(sample) > 0.05 or high / len(sample) > 0.3


def _control_ratio(text: str) -> float:
    sample = text[:8192]
    if not sample:
        return 0.0
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in _ALLOWED_CONTROLS)
    return controls / len(sample)


def load_plain_text(data: bytes) -> list[Block]:
    """Paragraphs separated by blank lines."""
    text = decode_text(data)
    return [Block("paragraph", para) for para in _paragraphs(text)]


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def load_markdown(data: bytes) -> list[Block]:
    """Headings, fenced code, list items, pipe tables and paragraphs from Markdown source."""
    return markdown_blocks(decode_text(data))


def markdown_blocks(text: str) -> list[Block]:
    """Split Markdown into structural blocks (a small line-based reader, not a CommonMark parser)."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    lines = text.split("\n")

    def flush_paragraph() -> None:
        if paragraph:
            blocks.append(Block("paragraph", " ".join(s.strip() for s in paragraph)))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if fence := _FENCE.match(line):
            flush_paragraph()
            marker, body = fence.group(1), []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith(marker):
                body.append(lines[i])
                i += 1
            if "\n".join(body).strip():
                blocks.append(Block("code", "\n".join(body).rstrip()))
        elif heading := _HEADING.match(line):
            flush_paragraph()
            if heading.group(2):
                blocks.append(Block("heading", heading.group(2), level=len(heading.group(1))))
        elif _TABLE_ROW.match(line):
            flush_paragraph()
            rows = []
            while i < len(lines) and _TABLE_ROW.match(lines[i]):
                if not _TABLE_RULE.match(lines[i]):
                    cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                    rows.append(" | ".join(cells))
                i += 1
            blocks.append(Block("table", "\n".join(rows)))
            continue
        elif item := _LIST_ITEM.match(line):
            flush_paragraph()
            parts = [item.group(1).strip()]
            # Indented continuation lines belong to the item.
            while i + 1 < len(lines) and lines[i + 1].startswith(("  ", "\t")) and lines[i + 1].strip():
                if _LIST_ITEM.match(lines[i + 1]):
                    break
                i += 1
                parts.append(lines[i].strip())
            blocks.append(Block("list_item", " ".join(parts)))
        elif not line.strip():
            flush_paragraph()
        else:
            paragraph.append(line)
        i += 1
    flush_paragraph()
    return blocks
