"""`gateway ingest`: upload a tree of documents through the HTTP API (openai SDK), optionally into a store."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

SUPPORTED_SUFFIXES = frozenset(
    {
        ".txt",
        ".text",
        ".md",
        ".markdown",
        ".html",
        ".htm",
        ".xhtml",
        ".pdf",
        ".docx",
        ".json",
        ".jsonl",
        ".ndjson",
    }
    | {".csv", ".rst", ".log"}
)


@dataclass
class IngestSummary:
    """What happened to every path: uploaded (and indexed), refused, or skipped."""

    vector_store_id: str | None = None
    uploaded: list[tuple[Path, str]] = field(default_factory=list)  # (path, file id)
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (path, reason)
    skipped: list[Path] = field(default_factory=list)  # unsupported type, hidden or not a file
    indexed: list[tuple[Path, str]] = field(default_factory=list)  # (path, file id) completed in the store
    index_failed: list[tuple[Path, str]] = field(default_factory=list)  # (path, last_error message)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.index_failed

    def lines(self) -> list[str]:
        out = [f"uploaded {len(self.uploaded)}, refused {len(self.failed)}, skipped {len(self.skipped)}"]
        if self.vector_store_id:
            indexed, failed = len(self.indexed), len(self.index_failed)
            out.append(f"vector store {self.vector_store_id}: indexed {indexed}, failed {failed}")
        out += [f"  refused {path}: {reason}" for path, reason in self.failed]
        out += [f"  not indexed {path}: {reason}" for path, reason in self.index_failed]
        return out


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """Files to upload (supported suffix, not hidden), in a stable order, and the paths skipped."""
    found: list[Path] = []
    skipped: list[Path] = []
    for raw in paths:
        path = Path(raw)
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            hidden = (
                any(part.startswith(".") for part in candidate.relative_to(path).parts)
                if path.is_dir()
                else False
            )
            if candidate.is_file() and not hidden and candidate.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(candidate)
            else:
                skipped.append(candidate)
    return list(dict.fromkeys(found)), skipped


def api_base(base_url: str) -> str:
    """The SDK's base URL: the gateway address with /v1 appended when missing."""
    base = base_url.rstrip("/")
    return base if base.endswith("/v1") else f"{base}/v1"


def ingest_paths(
    paths: Sequence[str | Path],
    *,
    base_url: str,
    api_key: str,
    vector_store: str | None,
    progress: bool = True,
    out: TextIO | None = None,
    poll_interval_ms: int = 250,
) -> IngestSummary:
    """Upload every supported file under `paths`; with `vector_store` (an id "vs_..." or a name, created if
    missing) attach each upload and wait until it is indexed. Prints a summary and returns it."""
    import openai
    from tqdm import tqdm

    stream = out or sys.stderr
    client = openai.OpenAI(base_url=api_base(base_url), api_key=api_key, max_retries=2)
    summary = IngestSummary()
    files, summary.skipped = discover(paths)
    if vector_store:
        summary.vector_store_id = _resolve_store(client, vector_store)
    attached: list[tuple[Path, str]] = []
    with tqdm(total=len(files), desc="uploading", unit="file", disable=not progress, file=stream) as bar:
        for path in files:
            bar.set_postfix_str(path.name[:40])
            try:
                with path.open("rb") as handle:
                    created = client.files.create(file=(path.name, handle), purpose="assistants")
                summary.uploaded.append((path, created.id))
                if summary.vector_store_id:
                    client.vector_stores.files.create(
                        vector_store_id=summary.vector_store_id, file_id=created.id
                    )
                    attached.append((path, created.id))
            except openai.APIStatusError as exc:
                summary.failed.append((path, _reason(exc)))
            except (openai.APIConnectionError, OSError) as exc:
                summary.failed.append((path, str(exc)))
            bar.update(1)
    if summary.vector_store_id and attached:
        with tqdm(
            total=len(attached), desc="indexing", unit="file", disable=not progress, file=stream
        ) as bar:
            for path, file_id in attached:
                result = client.vector_stores.files.poll(
                    file_id, vector_store_id=summary.vector_store_id, poll_interval_ms=poll_interval_ms
                )
                if result.status == "completed":
                    summary.indexed.append((path, file_id))
                else:
                    reason = result.last_error.message if result.last_error else result.status
                    summary.index_failed.append((path, reason))
                bar.update(1)
    for line in summary.lines():
        print(line, file=stream)
    return summary


def _resolve_store(client: object, vector_store: str) -> str:
    import openai

    assert isinstance(client, openai.OpenAI)
    if vector_store.startswith("vs_"):
        return client.vector_stores.retrieve(vector_store).id
    for store in client.vector_stores.list(limit=100):
        if store.name == vector_store:
            return store.id
    return client.vector_stores.create(name=vector_store).id


def _reason(exc: object) -> str:
    import openai

    assert isinstance(exc, openai.APIStatusError)
    try:
        error = exc.response.json().get("error", {})
        return f"{exc.status_code} {error.get('code') or ''}: {error.get('message') or exc.message}".strip()
    except ValueError:
        return f"{exc.status_code}: {exc.message}"
