"""POST /v1/embeddings: the local sentence-transformers model in process, or a provider's embeddings."""

from __future__ import annotations

import asyncio
import base64
import threading
from pathlib import Path
from typing import Any

import numpy as np

from gateway.accounting.tokens import count_text
from gateway.api.common import validate
from gateway.auth.principal import Principal
from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.protocol.openai import FORWARDED_EMBEDDING_FIELDS, EmbeddingRequest
from gateway.providers.base import UpstreamError, Usage
from gateway.providers.registry import EmbeddingTarget
from gateway.serving.admission import Admissions
from gateway.serving.calls import CallContext, CallRecorder, upstream_to_gateway_error
from gateway.serving.chat import JsonReply


class LocalEmbedder:
    """The local sentence-transformers model, shared by /v1/embeddings and RAG.

    Its name and dimension come from the model's config files at once; the model itself (and its one-time
    ONNX export) is built on first use, under a lock, in whatever thread first needs it — never on the
    event loop (`get` hands the build to a thread), so start-up stays fast.
    """

    def __init__(self, settings: Settings) -> None:
        from rag.embedding import DEFAULT_MODEL_NAME, LocalModel, default_model_path

        self._settings = settings
        path = Path(settings.embedding_model_path) if settings.embedding_model_path else default_model_path()
        model = LocalModel.read(path, name=None if settings.embedding_model_path else DEFAULT_MODEL_NAME)
        self.model_name = model.name
        self.dim = model.dim
        self._embedder: Any = None
        self._lock = threading.Lock()

    def _model(self) -> Any:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from rag.embedding import build_embedder

                    self._embedder = build_embedder(
                        self._settings.embedding_backend,  # type: ignore[arg-type]
                        model_path=self._settings.embedding_model_path,
                        cache_dir=self._settings.data_dir / "models",
                    )
        return self._embedder

    async def get(self) -> Any:
        if self._embedder is None:
            await asyncio.to_thread(self._model)
        return self

    def embed_documents(self, texts: Any) -> np.ndarray:
        return self._model().embed_documents(texts)  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> np.ndarray:
        return self._model().embed_query(text)  # type: ignore[no-any-return]


class EmbeddingsService:
    def __init__(
        self,
        *,
        targets: dict[str, EmbeddingTarget],
        local: LocalEmbedder,
        recorder: CallRecorder,
        admissions: Admissions,
    ) -> None:
        self._targets = targets
        self._local = local
        self._recorder = recorder
        self._admissions = admissions

    async def create(self, principal: Principal, body: dict[str, Any], *, request_id: str) -> JsonReply:
        req = validate(EmbeddingRequest, body)
        target = self._targets.get(req.model)
        refusal = None
        if target is None:
            refusal = GatewayError(
                404,
                f"The embedding model '{req.model}' is not served here",
                param="model",
                code="model_not_found",
            )
        elif not principal.may_use(target.name):
            refusal = GatewayError(
                403, f"This key may not use the model '{req.model}'", param="model", code="model_not_allowed"
            )
        if refusal is not None:
            self._recorder.refused(
                principal, request_id=request_id, endpoint="embeddings", requested_model=req.model,
                stream=False, error=refusal,
            )  # fmt: skip
            raise refusal
        assert target is not None
        embedder = None
        if target.provider is None:
            texts = _texts(req.input)
            embedder = await self._local.get()
            if req.dimensions is not None and req.dimensions != embedder.dim:
                raise GatewayError(
                    400,
                    f"'{target.name}' produces {embedder.dim} dimensions; 'dimensions' cannot change that",
                    param="dimensions",
                    code="unsupported_parameter",
                )
        ctx = CallContext(
            request_id=request_id,
            endpoint="embeddings",
            principal=principal,
            requested_model=req.model,
            target=target,
            stream=False,
            messages=[],
        )
        # What the input costs is reserved first, for a provider's model too (token arrays count as given).
        try:
            await self._admissions.admit(
                ctx, prompt_tokens=lambda: _input_tokens(req.input), max_output_tokens=0
            )
        except GatewayError as limited:
            self._recorder.refused(
                principal, request_id=request_id, endpoint="embeddings", requested_model=req.model,
                stream=False, error=limited, ctx=ctx,
            )  # fmt: skip
            raise
        try:
            if target.provider is not None:
                forwarded = {k: v for k, v in body.items() if k in FORWARDED_EMBEDDING_FIELDS}
                response = await target.provider.embeddings(forwarded, upstream_model=target.upstream_model)
            else:
                assert embedder is not None
                vectors: np.ndarray = await asyncio.to_thread(embedder.embed_documents, texts)
        except UpstreamError as exc:
            error = upstream_to_gateway_error(exc, target)
            await self._recorder.finish(ctx, status=error.status, usage=None, error_code=exc.kind)
            raise error from None
        except BaseException as exc:
            # Any other failure, or the client left (cancelled): recorded, and what was reserved freed.
            if isinstance(exc, GatewayError):
                outcome: dict[str, Any] = {"status": exc.status, "error_code": exc.code}
            elif isinstance(exc, Exception):
                outcome = {"status": 500, "error_code": "internal_error"}
            else:
                outcome = {"status": 499, "client_disconnected": True}
            await self._recorder.finish(ctx, usage=None, **outcome)
            raise
        if target.provider is not None:
            usage = Usage.from_openai(response.get("usage")) or Usage()
            await self._recorder.finish(ctx, status=200, usage=usage)
            return JsonReply(response, target, ctx.reply_headers)
        tokens = sum(count_text(t) for t in texts)
        await self._recorder.finish(ctx, status=200, usage=Usage(prompt_tokens=tokens, source="estimated"))
        as_base64 = req.encoding_format == "base64"
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": base64.b64encode(vec.astype("<f4").tobytes()).decode()
                if as_base64
                else vec.tolist(),
            }
            for i, vec in enumerate(vectors)
        ]
        body = {
            "object": "list",
            "data": data,
            "model": target.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return JsonReply(body, target, ctx.reply_headers)


def _input_tokens(value: Any) -> int:
    """The input's tokens: text counted with tiktoken, token arrays as given."""
    items = [value] if isinstance(value, str) or (value and isinstance(value[0], int)) else value
    return sum(count_text(item) if isinstance(item, str) else len(item) for item in items or ())


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not value or not all(isinstance(v, str) for v in value):
        raise GatewayError(
            400,
            "the local embedding model takes text input (a string or a list of strings)",
            param="input",
            code="unsupported_parameter",
        )
    if any(not v.strip() for v in value):
        raise GatewayError(400, "'input' must not contain empty strings", param="input", code="invalid_value")
    return list(value)
