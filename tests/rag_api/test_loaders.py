"""Loaders: structure out of each format, and the typed errors bad files raise."""

from __future__ import annotations

import io
import zipfile

import pytest

from rag.loaders import (
    ArchiveBombError,
    EmptyDocumentError,
    FileTooLargeError,
    FileTypeMismatchError,
    LoaderLimits,
    UnsupportedFileTypeError,
    detect_kind,
    load_document,
)
from rag.loaders.word import check_docx_archive
from tests.rag_api.documents import make_docx, make_docx_bomb, make_pdf


def kinds(data: bytes, filename: str, content_type: str | None = None) -> list[tuple[str, str, int]]:
    doc = load_document(data, filename=filename, content_type=content_type)
    return [(b.kind, b.text, b.level) for b in doc.blocks]


def test_markdown_structure() -> None:
    md = (
        b"# Title\n\nIntro line one\nline two.\n\n## Part\n\n- first\n- second\n  continued\n\n"
        b"| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('x')\n```\n"
    )
    assert kinds(md, "x.md") == [
        ("heading", "Title", 1),
        ("paragraph", "Intro line one line two.", 0),
        ("heading", "Part", 2),
        ("list_item", "first", 0),
        ("list_item", "second continued", 0),
        ("table", "a | b\n1 | 2", 0),
        ("code", "print('x')", 0),
    ]


def test_html_drops_scripts_and_keeps_structure() -> None:
    html = (
        b"<!DOCTYPE html><html><head><title>t</title><style>p{}</style></head><body>"
        b"<h2>Menu</h2><p>Soup of <em>the</em> day</p><script>steal()</script><!-- hidden -->"
        b"<ol><li>bread</li></ol><table><tr><th>x</th><th>y</th></tr><tr><td>1</td><td>2</td></tr></table>"
        b"<pre>  code  block</pre><div>loose text</div></body></html>"
    )
    assert kinds(html, "page") == [
        ("heading", "Menu", 2),
        ("paragraph", "Soup of the day", 0),
        ("list_item", "bread", 0),
        ("table", "x | y\n1 | 2", 0),
        ("code", "  code  block", 0),
        ("paragraph", "loose text", 0),
    ]


def test_pdf_keeps_page_numbers() -> None:
    doc = load_document(make_pdf(["first page", "second page"]), filename="a.pdf")
    assert [(b.text, b.page) for b in doc.blocks] == [("first page", 1), ("second page", 2)]


def test_docx_headings_lists_and_tables() -> None:
    data = make_docx(
        title="Report", sections=[("Costs", ["We spent little."])], table=[["k", "v"], ["a", "1"]]
    )
    assert kinds(data, "r.docx") == [
        ("heading", "Report", 1),
        ("heading", "Costs", 2),
        ("paragraph", "We spent little.", 0),
        ("list_item", "first bullet", 0),
        ("table", "k | v\na | 1", 0),
    ]


def test_json_and_jsonl_render_records() -> None:
    assert kinds(b'{"name": "kettle", "tags": ["a", "b"], "size": {"l": 1.5}}', "x.json") == [
        ("paragraph", "name: kettle", 0),
        ("paragraph", "tags: a, b", 0),
        ("paragraph", "size.l: 1.5", 0),
    ]
    assert kinds(b'{"q": "hi", "ok": true}\n\n{"q": null}\n', "x.jsonl") == [
        ("paragraph", "q: hi\nok: true", 0),
        ("paragraph", "q: null", 0),
    ]


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "kind"),
    [
        (b"<!doctype html><p>x</p>", "noext", None, "html"),
        (b'{"a": 1}', "noext", "application/octet-stream", "json"),
        (b'{"a": 1}\n{"a": 2}\n', "noext", None, "jsonl"),
        (b"# Heading\n\ntext", "noext", None, "markdown"),
        (b"just words", "noext", None, "text"),
        (b"# not markdown, declared plain", "a.txt", None, "text"),
        (b"%PDF-1.4 ...", "scan", "application/octet-stream", "pdf"),
        (b"PK\x03\x04...", "file", None, "docx"),
    ],
)
def test_detect_kind_sniffs_content(data: bytes, filename: str, content_type: str | None, kind: str) -> None:
    assert detect_kind(data, filename=filename, content_type=content_type) == kind


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [
        (b"plain words", "a.docx", None),
        (b"plain words", "a", "application/pdf"),
        (b"%PDF-1.4", "a.html", None),
        (b"PK\x03\x04", "a.md", "text/markdown"),
    ],
)
def test_declared_type_contradicting_the_content_is_refused(
    data: bytes, filename: str, content_type: str | None
) -> None:
    with pytest.raises(FileTypeMismatchError):
        detect_kind(data, filename=filename, content_type=content_type)


def test_size_limit_and_empty() -> None:
    with pytest.raises(FileTooLargeError):
        load_document(b"a" * 11, filename="a.txt", limits=LoaderLimits(max_bytes=10))
    with pytest.raises(EmptyDocumentError):
        load_document(b"<html><script>only()</script></html>", filename="a.html")


def test_docx_archive_limits_are_checked_from_the_directory() -> None:
    with pytest.raises(ArchiveBombError, match="inflate"):
        check_docx_archive(make_docx_bomb(2_000_000), LoaderLimits(max_unzipped_bytes=1_000_000))
    with pytest.raises(ArchiveBombError, match="ratio"):
        check_docx_archive(make_docx_bomb(5_000_000), LoaderLimits())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for i in range(20):
            archive.writestr(f"word/media/{i}.bin", "x")
    with pytest.raises(ArchiveBombError, match="members"):
        check_docx_archive(buffer.getvalue(), LoaderLimits(max_zip_members=10))


def test_utf8_bom_and_utf16_are_decoded() -> None:
    assert kinds(b"\xef\xbb\xbfhello", "a.txt") == [("paragraph", "hello", 0)]
    assert kinds("hej d\u00e5".encode("utf-16"), "a.txt") == [("paragraph", "hej d\u00e5", 0)]


def test_text_with_control_characters_is_binary() -> None:
    with pytest.raises(UnsupportedFileTypeError):
        load_document(bytes(range(1, 32)) * 20, filename="a.txt")
