"""Document loaders: bytes of an upload in, structural blocks out, or a typed DocumentError."""

from __future__ import annotations

from rag.loaders.detect import detect_kind
from rag.loaders.html import load_html
from rag.loaders.limits import LoaderLimits
from rag.loaders.pdf import load_pdf
from rag.loaders.structured import load_json, load_jsonl
from rag.loaders.text import load_markdown, load_plain_text
from rag.loaders.types import (
    ArchiveBombError,
    Block,
    BlockKind,
    CorruptDocumentError,
    DocumentError,
    DocumentKind,
    EmptyDocumentError,
    EncryptedDocumentError,
    FileTooLargeError,
    FileTypeMismatchError,
    LoadedDocument,
    TextEncodingError,
    UnsupportedFileTypeError,
)
from rag.loaders.word import load_docx

__all__ = [
    "ArchiveBombError",
    "Block",
    "BlockKind",
    "CorruptDocumentError",
    "DocumentError",
    "DocumentKind",
    "EmptyDocumentError",
    "EncryptedDocumentError",
    "FileTooLargeError",
    "FileTypeMismatchError",
    "LoadedDocument",
    "LoaderLimits",
    "TextEncodingError",
    "UnsupportedFileTypeError",
    "detect_kind",
    "load_document",
]


def load_document(
    data: bytes, *, filename: str, content_type: str | None = None, limits: LoaderLimits | None = None
) -> LoadedDocument:
    """Detect the real type of `data`, parse it, and return its blocks; CPU-bound, call it in a thread."""
    limits = limits or LoaderLimits()
    if len(data) > limits.max_bytes:
        raise FileTooLargeError(f"the file has {len(data)} bytes; the limit is {limits.max_bytes}")
    if not data.strip():
        raise EmptyDocumentError("the file is empty")
    kind = detect_kind(data, filename=filename, content_type=content_type)
    if kind == "pdf":
        blocks = load_pdf(data, limits)
    elif kind == "docx":
        blocks = load_docx(data, limits)
    elif kind == "html":
        blocks = load_html(data)
    elif kind == "markdown":
        blocks = load_markdown(data)
    elif kind == "json":
        blocks = load_json(data, limits)
    elif kind == "jsonl":
        blocks = load_jsonl(data, limits)
    else:
        blocks = load_plain_text(data)
    if not blocks:
        raise EmptyDocumentError(f"no text could be extracted from the {kind} file")
    return LoadedDocument(kind=kind, blocks=blocks)
