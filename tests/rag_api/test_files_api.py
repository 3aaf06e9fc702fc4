"""The Files API through the official openai SDK: uploads of each type, dedup, bad files, auth."""

from __future__ import annotations

import select
import socket
import uuid

import httpx
import openai
import pytest

from rag.service import clean_filename
from tests.rag_api.conftest import KEY_A, KEY_NO_SCOPE, UPLOAD_LIMIT, RunningServer
from tests.rag_api.documents import (
    binary_junk,
    make_docx,
    make_docx_bomb,
    make_encrypted_pdf,
    make_pdf,
    make_plain_zip,
)


def unique(text: str) -> str:
    return f"{text} [{uuid.uuid4().hex}]"


def good_documents() -> list[tuple[str, bytes, str]]:
    tag = uuid.uuid4().hex
    return [
        ("notes.txt", f"Plain notes {tag}.\n\nSecond paragraph.".encode(), "text/plain"),
        ("guide.md", f"# Guide {tag}\n\n- step one\n- step two\n".encode(), "text/markdown"),
        ("page.html", f"<html><body><h1>Page {tag}</h1><p>Body</p></body></html>".encode(), "text/html"),
        ("report.pdf", make_pdf([f"Report {tag}", "Page two"]), "application/pdf"),
        (
            "memo.docx",
            make_docx(title=f"Memo {tag}", sections=[("Intro", ["Hello"])]),
            "application/octet-stream",
        ),
        ("rows.json", f'[{{"id": 1, "tag": "{tag}"}}]'.encode(), "application/json"),
        ("rows.jsonl", f'{{"id": 1}}\n{{"tag": "{tag}"}}\n'.encode(), "application/octet-stream"),
    ]


@pytest.mark.parametrize("index", range(7))
def test_upload_retrieve_content_delete_round_trip(server: RunningServer, index: int) -> None:
    name, data, content_type = good_documents()[index]
    client = server.client()
    created = client.files.create(file=(name, data, content_type), purpose="assistants")
    assert created.id.startswith("file-")
    assert (created.filename, created.bytes, created.purpose, created.object) == (
        name,
        len(data),
        "assistants",
        "file",
    )
    assert client.files.retrieve(created.id) == created
    assert client.files.content(created.id).content == data
    assert created.id in {f.id for f in client.files.list()}
    deleted = client.files.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)


def test_same_content_same_tenant_returns_the_existing_file(server: RunningServer) -> None:
    client = server.client()
    data = unique("dedup me").encode()
    first = client.files.create(file=("a.txt", data), purpose="assistants")
    second = client.files.create(file=("b.txt", data), purpose="assistants")
    assert second.id == first.id and second.filename == "a.txt"
    other_purpose = client.files.create(file=("a.txt", data), purpose="user_data")
    assert other_purpose.id != first.id
    other_tenant = server.client(key="sk-test-team-b").files.create(
        file=("a.txt", data), purpose="assistants"
    )
    assert other_tenant.id != first.id


async def test_async_client_upload_and_list(server: RunningServer) -> None:
    client = server.async_client()
    created = await client.files.create(
        file=("async.txt", unique("async upload").encode()), purpose="assistants"
    )
    ids = [f.id async for f in client.files.list(purpose="assistants")]
    assert created.id in ids
    await client.files.delete(created.id)
    await client.close()


BAD_FILES = [
    ("empty.txt", b"", "text/plain", 400, "empty_file"),
    ("blank.txt", b" \n\t\n", "text/plain", 400, "empty_file"),
    (
        "corrupt.pdf",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage",
        "application/pdf",
        400,
        "corrupt_file",
    ),
    ("truncated.pdf", make_pdf(["cut short"])[:120], "application/pdf", 400, "corrupt_file"),
    ("locked.pdf", make_encrypted_pdf("secret plans"), "application/pdf", 400, "encrypted_file"),
    ("bomb.docx", make_docx_bomb(), "application/octet-stream", 400, "archive_bomb"),
    ("archive.docx", make_plain_zip(), "application/octet-stream", 415, "unsupported_file"),
    ("junk.bin", binary_junk(), "application/octet-stream", 415, "unsupported_file"),
    ("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(64), "text/plain", 415, "unsupported_file"),
    (
        "latin1.txt",
        "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e".encode("latin-1"),
        "text/plain",
        400,
        "invalid_encoding",
    ),
    ("liar.pdf", b"this is only text pretending to be a PDF", "application/pdf", 415, "file_type_mismatch"),
    ("liar.txt", make_pdf(["a pdf in disguise"]), "text/plain", 415, "file_type_mismatch"),
    ("broken.json", b'{"a": [1, 2', "application/json", 400, "corrupt_file"),
    ("broken.jsonl", b'{"ok": 1}\n{"bad": \n', "application/octet-stream", 400, "corrupt_file"),
    ("deep.json", b"[" * 100 + b"]" * 100, "application/json", 400, "corrupt_file"),
    ("blank.pdf", make_pdf([""]), "application/pdf", 400, "empty_file"),
    ("huge.txt", b"a" * (UPLOAD_LIMIT + 1), "text/plain", 413, "file_too_large"),
]


@pytest.mark.parametrize(
    ("name", "data", "content_type", "status", "code"), BAD_FILES, ids=[b[0] for b in BAD_FILES]
)
def test_bad_file_is_refused_with_a_clear_error_and_leaves_nothing(
    server: RunningServer, name: str, data: bytes, content_type: str, status: int, code: str
) -> None:
    client = server.client()
    before = {f.id for f in client.files.list()}
    with pytest.raises(openai.APIStatusError) as caught:
        client.files.create(file=(name, data, content_type), purpose="assistants")
    error = caught.value
    assert error.status_code == status
    body = error.response.json()["error"]
    assert body["code"] == code and body["param"] == "file" or status == 413
    assert body["message"] and body["type"]
    assert {f.id for f in client.files.list()} == before


def test_oversized_upload_is_refused_from_its_content_length(server: RunningServer) -> None:
    # Refused before the body is parsed: the 413 comes from the declared length alone.
    body = b"x" * (UPLOAD_LIMIT + 200 * 1024)
    response = httpx.post(
        f"{server.base_url}/files",
        headers={"authorization": f"Bearer {KEY_A}"},
        files={"file": ("big.txt", body, "text/plain")},
        data={"purpose": "assistants"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"


def test_oversized_chunked_upload_is_cut_off_as_it_passes_the_limit(server: RunningServer) -> None:
    """Without a Content-Length the body is counted as it arrives: the 413 comes once the limit is passed,
    not after the whole body has been spooled to disk."""
    url = httpx.URL(server.base_url)
    boundary = "BOUNDARY"
    head = (
        f"POST {url.raw_path.decode()}/files HTTP/1.1\r\nHost: {url.host}\r\n"
        f"Authorization: Bearer {KEY_A}\r\nTransfer-Encoding: chunked\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
    ).encode()
    preamble = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    piece = b"hello world\n" * 5461  # ~64 KiB
    attempted = 20 * UPLOAD_LIMIT
    sent = 0
    reply = b""
    with socket.create_connection((url.host, url.port), timeout=30) as sock:
        sock.sendall(head + b"%x\r\n%b\r\n" % (len(preamble), preamble))
        sock.setblocking(False)
        while sent < attempted and not reply:
            try:
                sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece))
                sent += len(piece)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                pass  # the server is not reading (any more): look for its answer
            try:
                reply = sock.recv(65536)
            except BlockingIOError:
                select.select([sock], [], [], 0.01)
        sock.setblocking(True)
        while b"\r\n\r\n" in reply and b"file_too_large" not in reply:
            more = sock.recv(65536)
            if not more:
                break
            reply += more
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"file_too_large" in reply
    assert sent < attempted / 2, f"{sent} bytes were taken before the 413"


def test_generic_content_type_is_corrected_from_the_content(server: RunningServer) -> None:
    client = server.client()
    pdf = make_pdf([unique("a pdf sent as octet-stream without extension")])
    created = client.files.create(file=("scan", pdf, "application/octet-stream"), purpose="assistants")
    assert created.bytes == len(pdf)
    client.files.delete(created.id)


def test_filename_is_reduced_to_its_base_name(server: RunningServer) -> None:
    client = server.client()
    created = client.files.create(file=("../../etc/passwd.txt", unique("x").encode()), purpose="assistants")
    assert created.filename == "passwd.txt"
    client.files.delete(created.id)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("..\\win\\a.txt", "a.txt"),
        ("a\x00b\x07.md", "ab.md"),
        ("", "upload"),
        ("/", "upload"),
        ("x" * 300, "x" * 255),
    ],
)
def test_clean_filename(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


@pytest.mark.parametrize("purpose", ["", "vision", "nonsense"])
def test_unsupported_purpose_is_a_400(server: RunningServer, purpose: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        server.client().files.create(file=("a.txt", unique("p").encode()), purpose=purpose)  # type: ignore[arg-type]
    assert caught.value.response.json()["error"]["param"] == "purpose"


def test_missing_file_part_is_a_400(server: RunningServer) -> None:
    response = httpx.post(
        f"{server.base_url}/files",
        headers={"authorization": f"Bearer {KEY_A}"},
        data={"purpose": "assistants"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "file"


def test_unknown_key_is_401_and_missing_scope_is_403(server: RunningServer) -> None:
    with pytest.raises(openai.AuthenticationError):
        server.client(key="sk-nobody").files.list()
    with pytest.raises(openai.PermissionDeniedError) as caught:
        server.client(key=KEY_NO_SCOPE).files.list()
    assert caught.value.response.json()["error"]["code"] == "missing_scope"


def test_list_paginates_with_after(server: RunningServer) -> None:
    client = server.client(key="sk-test-team-b")
    made = [
        client.files.create(file=(f"p{i}.txt", unique(f"page {i}").encode()), purpose="user_data").id
        for i in range(3)
    ]
    first = client.files.list(limit=2, purpose="user_data", order="desc")
    assert len(first.data) == 2 and first.has_more
    seen = [f.id for f in client.files.list(limit=1, purpose="user_data")]  # auto-pagination follows `after`
    assert set(made) <= set(seen) and len(seen) == len(set(seen))
    for file_id in made:
        client.files.delete(file_id)
