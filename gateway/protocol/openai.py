"""Pydantic models of the OpenAI request shapes the gateway accepts, used to validate before forwarding.

Validated requests are forwarded as the client's own dict, restricted to the fields listed here, so content
parts the gateway does not model still pass through untouched, and nothing else reaches an upstream.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

# Fields that would let a request choose where or as whom the gateway connects. Never honoured.
FORBIDDEN_FIELDS = frozenset(
    {
        "api_base",
        "base_url",
        "api_key",
        "api_version",
        "custom_llm_provider",
        "organization",
        "headers",
        "extra_headers",
        "aws_access_key_id",
        "aws_secret_access_key",
        "vertex_credentials",
    }
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", str_max_length=5_000_000)


class FunctionDef(_Model):
    name: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_.\-]+$")]
    description: StrictStr | None = None
    parameters: dict[str, Any] | None = None
    strict: StrictBool | None = None


class Tool(_Model):
    type: Literal["function"]
    function: FunctionDef


class ToolCallFunction(_Model):
    name: StrictStr
    arguments: StrictStr


class ToolCall(_Model):
    id: StrictStr
    type: Literal["function"] = "function"
    function: ToolCallFunction


class ContentPart(_Model):
    type: StrictStr


class Message(_Model):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: StrictStr | list[ContentPart] | None = None
    name: StrictStr | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: StrictStr | None = None


class StreamOptions(_Model):
    include_usage: StrictBool | None = None


class ResponseFormat(_Model):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class NamedToolChoiceFunction(_Model):
    name: StrictStr


class NamedToolChoice(_Model):
    type: Literal["function"]
    function: NamedToolChoiceFunction


class ChatCompletionRequest(_Model):
    model: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    messages: Annotated[list[Message], Field(min_length=1, max_length=10_000)]
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    logit_bias: dict[str, Annotated[float, Field(ge=-100, le=100)]] | None = None
    logprobs: StrictBool | None = None
    top_logprobs: Annotated[StrictInt, Field(ge=0, le=20)] | None = None
    max_tokens: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None
    max_completion_tokens: Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None = None
    n: Annotated[StrictInt, Field(ge=1)] | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    response_format: ResponseFormat | None = None
    seed: StrictInt | None = None
    stop: StrictStr | Annotated[list[StrictStr], Field(max_length=4)] | None = None
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    tools: Annotated[list[Tool], Field(max_length=128)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: StrictBool | None = None
    user: Annotated[StrictStr, Field(max_length=256)] | None = None
    metadata: dict[str, StrictStr] | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    # Gateway extension (sent by SDK users through extra_body): answer from these vector stores.
    vector_store_ids: Annotated[list[StrictStr], Field(max_length=16)] | None = None


# What may be forwarded upstream (the gateway's own extensions are consumed, not forwarded).
FORWARDED_CHAT_FIELDS = frozenset(ChatCompletionRequest.model_fields) - {
    "vector_store_ids",
    "model",
    "metadata",
}


class EmbeddingRequest(_Model):
    model: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    input: (
        StrictStr
        | Annotated[list[StrictStr], Field(min_length=1, max_length=2048)]
        | list[StrictInt]
        | list[list[StrictInt]]
    )
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[StrictInt, Field(ge=1, le=8192)] | None = None
    user: StrictStr | None = None


FORWARDED_EMBEDDING_FIELDS = frozenset({"input", "encoding_format", "dimensions", "user"})
