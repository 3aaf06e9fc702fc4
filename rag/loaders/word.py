"""DOCX: the archive is checked for bombs before python-docx opens it; then styles give the structure."""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from rag.loaders.limits import LoaderLimits
from rag.loaders.types import ArchiveBombError, Block, CorruptDocumentError, UnsupportedFileTypeError

_HEADING_STYLE = re.compile(r"^Heading (\d)$")


def check_docx_archive(data: bytes, limits: LoaderLimits) -> None:
    """Refuse a zip that is not a Word document or that would inflate too far, from its directory alone."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise CorruptDocumentError(f"the DOCX archive is damaged: {exc}") from None
    names = {m.filename for m in members}
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise UnsupportedFileTypeError("the zip archive is not a Word (DOCX) document")
    if len(members) > limits.max_zip_members:
        raise ArchiveBombError(f"the DOCX has {len(members)} members; the limit is {limits.max_zip_members}")
    total = sum(m.file_size for m in members)
    compressed = sum(m.compress_size for m in members)
    if total > limits.max_unzipped_bytes:
        raise ArchiveBombError(
            f"the DOCX would inflate to {total} bytes; the limit is {limits.max_unzipped_bytes}"
        )
    if compressed and total / compressed > limits.max_zip_ratio:
        raise ArchiveBombError(f"the DOCX compression ratio {total / compressed:.0f} is suspiciously high")
    for member in members:
        # Tiny members compress well legitimately; the ratio only matters for large ones.
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1_000_000 and ratio > limits.max_zip_ratio:
            raise ArchiveBombError(f"the DOCX member {member.filename!r} has a suspicious compression ratio")


def load_docx(data: bytes, limits: LoaderLimits) -> list[Block]:
    """Headings (Heading N / Title styles), list paragraphs, tables and paragraphs in body order."""
    check_docx_archive(data, limits)
    try:
        document = docx.Document(io.BytesIO(data))
        return list(_body_blocks(document))
    except (KeyError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise CorruptDocumentError(f"the DOCX could not be read: {exc}") from None
    except Exception as exc:  # lxml raises XMLSyntaxError (a SyntaxError subclass) on damaged XML parts
        if isinstance(exc, SyntaxError):
            raise CorruptDocumentError(f"the DOCX holds damaged XML: {exc}") from None
        raise


def _body_blocks(document: DocxDocument) -> list[Block]:
    blocks: list[Block] = []
    # python-docx resolves a paragraph's style by scanning every style each time (quadratic on big files);
    # one id -> name table makes it linear.
    names = {style.style_id: style.name or "" for style in document.styles}
    default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
    default_name = default.name or "" if default is not None else ""
    body = document.element.body
    for element in body.iterchildren():
        if element.tag == qn("w:p"):
            paragraph = Paragraph(element, document)
            style_id = (
                element.pPr.pStyle.val if element.pPr is not None and element.pPr.pStyle is not None else None
            )
            block = _paragraph_block(
                paragraph, names.get(style_id, default_name) if style_id else default_name
            )
            if block is not None:
                blocks.append(block)
        elif element.tag == qn("w:tbl"):
            text = _table_text(Table(element, document))
            if text:
                blocks.append(Block("table", text))
    return blocks


def _paragraph_block(paragraph: Paragraph, style: str) -> Block | None:
    text = paragraph.text.strip()
    if not text:
        return None
    if style == "Title":
        return Block("heading", text, level=1)
    if match := _HEADING_STYLE.match(style or ""):
        return Block("heading", text, level=int(match.group(1)))
    numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    if numbered or (style or "").startswith("List"):
        return Block("list_item", text)
    return Block("paragraph", text)


def _table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells = [" ".join(cell.text.split()) for cell in row.cells]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)
