"""PDF: text per page with pypdf; encrypted, corrupt and page-bomb files are refused."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from rag.loaders.limits import LoaderLimits
from rag.loaders.types import Block, CorruptDocumentError, EncryptedDocumentError


def load_pdf(data: bytes, limits: LoaderLimits) -> list[Block]:
    """One paragraph block per blank-line-separated run of text, with its page number."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise EncryptedDocumentError("encrypted PDFs are not supported; upload an unprotected copy")
        pages = reader.pages
        if len(pages) > limits.max_pdf_pages:
            raise CorruptDocumentError(f"the PDF has {len(pages)} pages; the limit is {limits.max_pdf_pages}")
        blocks: list[Block] = []
        for number, page in enumerate(pages, start=1):
            text = page.extract_text() or ""
            for para in re.split(r"\n\s*\n", text):
                para = " ".join(para.split())
                if para:
                    blocks.append(Block("paragraph", para, page=number))
        return blocks
    except (EncryptedDocumentError, CorruptDocumentError):
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        # pypdf signals damaged structure with a spread of exception types.
        raise CorruptDocumentError(f"the PDF could not be read: {exc}") from None
