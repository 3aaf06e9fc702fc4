"""Raw JSON replies carry exactly the fields of the SDK's models (the SDK would not notice a missing one)."""

from __future__ import annotations

import uuid

import httpx
from openai.types import FileDeleted, FileObject, VectorStore, VectorStoreDeleted
from openai.types.vector_store_search_response import VectorStoreSearchResponse
from openai.types.vector_stores import VectorStoreFile, VectorStoreFileDeleted
from pydantic import BaseModel

from tests.rag_api.conftest import KEY_A, RunningServer


def fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def test_every_object_has_the_sdk_fields(server: RunningServer) -> None:
    auth = {"authorization": f"Bearer {KEY_A}"}
    with httpx.Client(base_url=server.base_url, headers=auth, timeout=60) as http:
        data = f"Wire shapes mention zebras. {uuid.uuid4().hex}".encode()
        file = http.post("/files", files={"file": ("w.txt", data)}, data={"purpose": "assistants"}).json()
        assert set(file) == fields(FileObject)
        store = http.post("/vector_stores", json={"name": "wire"}).json()
        assert set(store) == fields(VectorStore)
        attached = http.post(f"/vector_stores/{store['id']}/files", json={"file_id": file["id"]}).json()
        assert set(attached) == fields(VectorStoreFile)
        server.client().vector_stores.files.poll(file["id"], vector_store_id=store["id"], poll_interval_ms=50)
        page = http.post(f"/vector_stores/{store['id']}/search", json={"query": "zebras"}).json()
        assert set(page) == {"object", "search_query", "data", "has_more", "next_page"}
        assert page["object"] == "vector_store.search_results.page" and page["search_query"] == ["zebras"]
        assert set(page["data"][0]) == fields(VectorStoreSearchResponse)
        listing = http.get(f"/vector_stores/{store['id']}/files").json()
        assert set(listing) == {"object", "data", "first_id", "last_id", "has_more"}
        assert listing["first_id"] == listing["last_id"] == file["id"]
        detached = http.delete(f"/vector_stores/{store['id']}/files/{file['id']}").json()
        assert set(detached) == fields(VectorStoreFileDeleted)
        assert set(http.delete(f"/vector_stores/{store['id']}").json()) == fields(VectorStoreDeleted)
        assert set(http.delete(f"/files/{file['id']}").json()) == fields(FileDeleted)


def test_errors_use_the_openai_error_shape(server: RunningServer) -> None:
    reply = httpx.get(f"{server.base_url}/files/file-missing", headers={"authorization": f"Bearer {KEY_A}"})
    assert reply.status_code == 404
    assert reply.json() == {
        "error": {
            "message": "No file found with id 'file-missing'.",
            "type": "not_found_error",
            "code": "not_found",
            "param": None,
        }
    }
