"""The real type of an upload, from its bytes first; the declared type only picks among text formats.

Policy for a declared type (extension or content type) that contradicts the content: when the declaration
is generic (no extension, `application/octet-stream`) the detected type wins silently; when it names a
different family (a "PDF" that is text, a ".txt" that is a PDF) the upload is refused with
FileTypeMismatchError. Within the text family (txt, md, html, json, jsonl) the declaration picks the
parser, and the content is sniffed only when nothing specific was declared.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePath

from rag.loaders.types import DocumentKind, FileTypeMismatchError, UnsupportedFileTypeError

_BY_EXTENSION: dict[str, DocumentKind] = {
    ".txt": "text", ".text": "text", ".log": "text", ".csv": "text", ".rst": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".pdf": "pdf", ".docx": "docx",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
}  # fmt: skip
_BY_CONTENT_TYPE: dict[str, DocumentKind] = {
    "text/plain": "text", "text/csv": "text",
    "text/markdown": "markdown", "text/x-markdown": "markdown",
    "text/html": "html", "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/json": "json",
    "application/jsonl": "jsonl", "application/x-ndjson": "jsonl", "application/jsonlines": "jsonl",
}  # fmt: skip
_GENERIC_CONTENT_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/x-binary"}
# Formats we recognise but do not ingest, so the error can name them.
_UNSUPPORTED_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"), (b"\x7fELF", "an ELF executable"), (b"MZ", "a Windows executable"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"), (b"Rar!", "a RAR archive"), (b"%!PS", "a PostScript file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office (OLE) document; save it as DOCX"),
    (b"RIFF", "a RIFF media file"), (b"BZh", "a bzip2 archive"), (b"\xfd7zXZ\x00", "an xz archive"),
]  # fmt: skip
_TEXT_KINDS: frozenset[DocumentKind] = frozenset({"text", "markdown", "html", "json", "jsonl"})
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.IGNORECASE)
_MARKDOWN_HINT = re.compile(r"^(#{1,6}\s|```|\s*[-*+]\s|\s*\|.*\|\s*$)", re.MULTILINE)


def _family(kind: DocumentKind) -> str:
    return "text" if kind in _TEXT_KINDS else kind


def declared_kinds(filename: str, content_type: str | None) -> list[DocumentKind]:
    """The kinds the client claims, by extension then by content type (generic types claim nothing)."""
    kinds: list[DocumentKind] = []
    ext_kind = _BY_EXTENSION.get(PurePath(filename or "").suffix.lower())
    if ext_kind:
        kinds.append(ext_kind)
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in _GENERIC_CONTENT_TYPES:
        ct_kind = _BY_CONTENT_TYPE.get(media)
        if ct_kind:
            kinds.append(ct_kind)
        elif media.startswith("text/"):
            kinds.append("text")
    return kinds


def content_family(data: bytes) -> str:
    """'pdf', 'docx' (any zip; the loader checks its members) or 'text'; known binaries raise."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return "docx"
    for magic, what in _UNSUPPORTED_MAGIC:
        if data.startswith(magic):
            raise UnsupportedFileTypeError(f"the file is {what}, which cannot be indexed")
    return "text"


def detect_kind(data: bytes, *, filename: str, content_type: str | None) -> DocumentKind:
    """The kind to parse the upload as; raises on a declaration that contradicts the content."""
    family = content_family(data)
    declared = declared_kinds(filename, content_type)
    for kind in declared:
        if _family(kind) != family:
            raise FileTypeMismatchError(
                f"the file was declared as {kind} ({filename!r}, {content_type or 'no content type'}) "
                f"but its content is {family}"
            )
    if family != "text":
        return family  # type: ignore[return-value]
    if declared:
        return declared[0]
    return _sniff_text_kind(data)


def _sniff_text_kind(data: bytes) -> DocumentKind:
    if _HTML_START.match(data[:2048]):
        return "html"
    text = data.decode("utf-8", errors="replace")
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            json.loads(stripped)
            return "json"
        except (json.JSONDecodeError, RecursionError):
            lines = [line for line in stripped.split("\n") if line.strip()]
            if lines and all(_is_json(line) for line in lines[:50]):
                return "jsonl"
    if _MARKDOWN_HINT.search(text[:20_000]):
        return "markdown"
    return "text"


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
        return True
    except (json.JSONDecodeError, RecursionError):
        return False
