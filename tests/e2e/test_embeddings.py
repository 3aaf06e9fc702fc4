"""/v1/embeddings: the local all-MiniLM-L6-v2 (offline) and a provider's embeddings, via the openai SDK."""

from __future__ import annotations

from typing import Any

import numpy as np
import openai
import pytest

from tests.support import Gateway


def client(gateway: Gateway, key: dict[str, Any]) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key["key"], max_retries=0, timeout=120)


def test_local_model_embeds_and_similar_texts_are_close(gateway: Gateway, user_key: dict[str, Any]) -> None:
    # The SDK asks for base64 by default and decodes it; float lists are checked below.
    result = client(gateway, user_key).embeddings.create(
        model="all-MiniLM-L6-v2",
        input=["A cat sits on the mat.", "A kitten is sitting on a rug.", "Quarterly revenue grew 8%."],
    )
    vectors = np.array([d.embedding for d in result.data])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert result.usage.prompt_tokens > 0


def test_local_model_agrees_with_the_sentence_transformers_reference(
    gateway: Gateway, user_key: dict[str, Any]
) -> None:
    # The default path is the fused int8 graph: fast, and still the model's vectors (cosine ~0.99).
    from rag.embedding import build_embedder

    texts = ["A cat sits on the mat.", "Oxidative phosphorylation happens in the mitochondria. " * 6]
    served = client(gateway, user_key).embeddings.create(model="all-MiniLM-L6-v2", input=texts)
    vectors = np.array([d.embedding for d in served.data])
    reference = build_embedder("torch").embed_documents(texts)
    assert np.min(np.sum(vectors * reference, axis=1)) >= 0.98


def test_local_model_float_format_and_single_string(gateway: Gateway, user_key: dict[str, Any]) -> None:
    result = client(gateway, user_key).embeddings.create(
        model="all-MiniLM-L6-v2", input="hello", encoding_format="float"
    )
    assert len(result.data) == 1 and len(result.data[0].embedding) == 384


def test_provider_embeddings_pass_through(gateway: Gateway, user_key: dict[str, Any]) -> None:
    result = client(gateway, user_key).embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(result.data) == 2 and len(result.data[0].embedding) > 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"model": "all-MiniLM-L6-v2", "input": [1, 2, 3]},
        {"model": "all-MiniLM-L6-v2", "input": ""},
        {"model": "all-MiniLM-L6-v2", "input": "x", "dimensions": 12},
    ],
)
def test_local_model_bad_input(gateway: Gateway, user_key: dict[str, Any], kwargs: dict[str, Any]) -> None:
    with pytest.raises(openai.BadRequestError):
        client(gateway, user_key).embeddings.create(**kwargs)


def test_unknown_embedding_model_is_404(gateway: Gateway, user_key: dict[str, Any]) -> None:
    with pytest.raises(openai.NotFoundError):
        client(gateway, user_key).embeddings.create(model="nope", input="x")


def test_key_without_embeddings_scope_is_403(gateway: Gateway) -> None:
    key = gateway.create_key(name="chat-only", scopes=["chat"])
    with pytest.raises(openai.PermissionDeniedError):
        client(gateway, key).embeddings.create(model="all-MiniLM-L6-v2", input="x")
