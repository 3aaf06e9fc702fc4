"""Embedders: the ONNX paths agree with the PyTorch reference; shapes, order, caching, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.embedding import Embedder, LocalModel, build_embedder, default_model_path, onnx_model_file

TEXTS = [
    "short",
    "A considerably longer sentence about protein folding, enzymes and the kinetics of catalysis in cells.",
    "",
    "Mean pooling must ignore padding tokens, whatever the other texts in the batch look like. " * 8,
    "Ünïcödé and emoji 🚀 survive tokenisation.",
]


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return build_embedder("torch")


def test_onnx_matches_pytorch(embedder: Embedder, torch_embedder: Embedder) -> None:
    reference = torch_embedder.embed_documents(TEXTS)
    fast = embedder.embed_documents(TEXTS)
    assert fast.shape == reference.shape == (len(TEXTS), 384)
    assert np.min(np.sum(fast * reference, axis=1)) >= 0.999


def test_int8_stays_close_to_pytorch(torch_embedder: Embedder) -> None:
    quantized = build_embedder("onnx-int8")
    cosines = np.sum(quantized.embed_documents(TEXTS) * torch_embedder.embed_documents(TEXTS), axis=1)
    assert np.min(cosines) >= 0.97


def test_vectors_are_float32_unit_length_and_in_input_order(embedder: Embedder) -> None:
    batch = embedder.embed_documents(TEXTS)
    assert batch.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    one_by_one = np.stack([embedder.embed_query(text) for text in TEXTS])
    # Batching sorts by length and pads; results must not depend on batch neighbours or order.
    assert np.allclose(batch, one_by_one, atol=1e-5)
    assert embedder.embed_query("x").shape == (384,)


def test_empty_batch(embedder: Embedder) -> None:
    assert embedder.embed_documents([]).shape == (0, 384)


@pytest.mark.parametrize("bad", ["one string", ["ok", None], [b"bytes"]])
def test_non_string_input_is_refused(embedder: Embedder, bad: object) -> None:
    with pytest.raises(TypeError):
        embedder.embed_documents(bad)  # type: ignore[arg-type]


def test_texts_beyond_max_length_are_truncated_not_refused(embedder: Embedder) -> None:
    long_text = "word " * 2000
    assert embedder.embed_documents([long_text]).shape == (1, 384)


def test_unknown_backend_and_missing_model_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        build_embedder("tensorflow")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        build_embedder("onnx", model_path=str(tmp_path / "nothing"), cache_dir=tmp_path)


def test_non_mean_pooling_models_are_refused(tmp_path: Path) -> None:
    model_dir = tmp_path / "cls-model"
    shutil.copytree(default_model_path(), model_dir, ignore=shutil.ignore_patterns("*.safetensors"))
    pooling = model_dir / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config))
    with pytest.raises(ValueError, match="mean pooling"):
        LocalModel.read(model_dir)


def test_export_is_cached_and_not_redone(embedder: Embedder) -> None:
    model = LocalModel.read(default_model_path(), name="all-MiniLM-L6-v2")
    path = onnx_model_file(model, Path(".data/models"), int8=False)
    before = path.stat().st_mtime_ns
    again = build_embedder("onnx")
    assert again.onnx_path == path  # type: ignore[attr-defined]
    assert path.stat().st_mtime_ns == before
    assert not list(path.parent.glob("*.partial"))


def test_a_model_path_names_the_model(tmp_path: Path) -> None:
    copy = tmp_path / "my-minilm"
    shutil.copytree(default_model_path(), copy)
    embedder = build_embedder("torch", model_path=str(copy))
    assert (embedder.model_name, embedder.dim) == ("my-minilm", 384)


def test_exported_graphs_are_fused_for_onnx_runtime(embedder: Embedder) -> None:
    """The speed of the ONNX paths comes from fused attention; a silent loss of fusion is a regression."""
    import onnx

    model = LocalModel.read(default_model_path(), name="all-MiniLM-L6-v2")
    layers = json.loads((default_model_path() / "config.json").read_text())["num_hidden_layers"]
    for int8, attention in ((False, "Attention"), (True, "QAttention")):
        graph = onnx.load(str(onnx_model_file(model, Path(".data/models"), int8=int8))).graph
        ops = [node.op_type for node in graph.node]
        assert ops.count(attention) == layers
        assert ops.count("SkipLayerNormalization") == 2 * layers
        # The embedding layer stays float in both (quantising it costs accuracy, buys no speed).
        assert "EmbedLayerNormalization" in ops and "QEmbedLayerNormalization" not in ops


def test_a_graph_that_drifts_from_pytorch_is_refused(embedder: Embedder) -> None:
    from rag.embedding import _check_graph, _probe_batch, _run_graph

    model = LocalModel.read(default_model_path(), name="all-MiniLM-L6-v2")
    path = onnx_model_file(model, Path(".data/models"), int8=False)
    probe = _probe_batch(model.max_seq_length)
    right = _run_graph(path, probe)
    _check_graph(path, probe, right, tolerance=1e-4, what="graph")  # agrees with itself
    with pytest.raises(ValueError, match="disagrees with PyTorch"):
        _check_graph(path, probe, np.roll(right, 1, axis=0), tolerance=1e-4, what="graph")
