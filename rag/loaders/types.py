"""What every loader returns (structural blocks) and the typed errors a bad file raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BlockKind = Literal["heading", "paragraph", "list_item", "table", "code"]
DocumentKind = Literal["text", "markdown", "html", "pdf", "docx", "json", "jsonl"]


@dataclass(frozen=True, slots=True)
class Block:
    """One structural unit of a document, in reading order."""

    kind: BlockKind
    text: str
    level: int = 0  # heading level (1 = top); 0 for every other kind
    page: int | None = None  # 1-based page number where the format has pages


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """A parsed document: its detected kind and its blocks."""

    kind: DocumentKind
    blocks: list[Block]


class DocumentError(ValueError):
    """A file that cannot be ingested; `status` and `code` say how the API reports it."""

    status = 400
    code = "invalid_file"


class EmptyDocumentError(DocumentError):
    code = "empty_file"


class FileTooLargeError(DocumentError):
    status = 413
    code = "file_too_large"


class UnsupportedFileTypeError(DocumentError):
    status = 415
    code = "unsupported_file"


class FileTypeMismatchError(DocumentError):
    status = 415
    code = "file_type_mismatch"


class CorruptDocumentError(DocumentError):
    code = "corrupt_file"


class EncryptedDocumentError(DocumentError):
    code = "encrypted_file"


class ArchiveBombError(DocumentError):
    code = "archive_bomb"


class TextEncodingError(DocumentError):
    code = "invalid_encoding"
