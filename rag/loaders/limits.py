"""Safety limits applied to every uploaded document before and while parsing it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoaderLimits:
    """Upper bounds that keep one hostile file from exhausting memory or CPU."""

    max_bytes: int = 25 * 1024 * 1024
    max_unzipped_bytes: int = 200 * 1024 * 1024  # DOCX: sum of the declared uncompressed member sizes
    max_zip_ratio: float = 100.0  # DOCX: uncompressed / compressed, whole archive and per member
    max_zip_members: int = 5_000
    max_pdf_pages: int = 2_000
    max_json_depth: int = 64
