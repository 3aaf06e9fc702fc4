"""Settings of the simulated upstream and the faults it can inject."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Provider = Literal["openai", "anthropic", "vllm"]
# 529 is Anthropic's "overloaded" status; the others are what any provider answers under stress.
FaultKind = Literal["429", "500", "503", "529", "timeout", "drop_midstream", "malformed"]

FAULT_KINDS: frozenset[str] = frozenset(
    ("429", "500", "503", "529", "timeout", "drop_midstream", "malformed")
)
PROVIDERS: tuple[Provider, ...] = ("openai", "anthropic", "vllm")


class Fault(BaseModel):
    """One fault to apply to the next matching request(s) instead of a normal answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    # Only requests under this provider's prefix consume the fault; None matches every provider.
    provider: Provider | None = None
    # How many matching requests the fault applies to before it is used up.
    times: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    # 429: value of the Retry-After header, in seconds.
    retry_after_s: Annotated[int, Field(ge=0, le=86_400)] = 1
    # drop_midstream: SSE events sent before the connection closes (a plain JSON body is cut in half).
    after_chunks: Annotated[int, Field(ge=0, le=100_000)] = 2


class SimConfig(BaseModel):
    """Behaviour of the simulator; every field can be changed at run time through POST /sim/config."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: Annotated[float, Field(ge=0, le=600_000, description="time before the first byte")] = 0.0
    tokens_per_second: Annotated[float, Field(ge=0, description="stream pacing; 0 = as fast as possible")] = (
        0.0
    )
    completion_tokens: Annotated[
        int, Field(ge=1, le=100_000, description="default reply length in tokens")
    ] = 16
    openai_api_key: str | None = None
    anthropic_api_key: str | None = None
    vllm_api_key: str | None = None
    served_model: str = "meta-llama/Llama-3.1-8B-Instruct"
    openai_models: list[str] = Field(
        default_factory=lambda: ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small", "text-embedding-3-large"]
    )
    anthropic_models: list[str] = Field(
        default_factory=lambda: ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]
    )
    embedding_dimensions: Annotated[int, Field(ge=1, le=16_384)] = 1536
    # How long a "timeout" fault holds the request open (cancelled early by a disconnect or close()).
    timeout_fault_s: Annotated[float, Field(ge=0)] = 3600.0
    history_size: Annotated[int, Field(ge=0, le=100_000)] = 200
    # OpenAI and Anthropic answer 400 to a body field they do not know (vLLM ignores them): this
    # catches a gateway leaking its own extensions upstream. Turn off to accept anything.
    reject_unknown_params: bool = True
    # Faults queued at start; POST /sim/faults appends to the same queue.
    faults: list[Fault] = Field(default_factory=list)

    def api_key_for(self, provider: Provider) -> str | None:
        """The key a provider's endpoints require, or None when they accept any caller."""
        if provider == "openai":
            return self.openai_api_key
        if provider == "anthropic":
            return self.anthropic_api_key
        return self.vllm_api_key
