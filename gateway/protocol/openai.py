"""Pydantic shapes of the OpenAI requests the gateway accepts, used to validate before forwarding.

Validated requests are forwarded as the client's own dict, restricted to the fields listed here, so content
parts the gateway does not model still pass through untouched, and nothing else reaches an upstream.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    with_config,
)
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

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


# The chat request is validated on every call, so its shapes are TypedDicts: pydantic-core checks them
# without building a model object per message and per field default (measured: 1.3 µs against 4.7 µs for
# a one-message request). Same rules and error paths; extra keys are allowed, as the upstream may know them.
_SHAPE = ConfigDict(extra="allow", str_max_length=5_000_000)


@with_config(_SHAPE)
class FunctionDef(TypedDict):
    name: Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_.\-]+$")]
    description: NotRequired[StrictStr | None]
    parameters: NotRequired[dict[str, Any] | None]
    strict: NotRequired[StrictBool | None]


@with_config(_SHAPE)
class Tool(TypedDict):
    type: Literal["function"]
    function: FunctionDef


@with_config(_SHAPE)
class ToolCallFunction(TypedDict):
    name: StrictStr
    arguments: StrictStr


@with_config(_SHAPE)
class ToolCall(TypedDict):
    id: StrictStr
    type: NotRequired[Literal["function"]]
    function: ToolCallFunction


@with_config(_SHAPE)
class TextPart(TypedDict):
    type: Literal["text"]
    text: StrictStr


@with_config(_SHAPE)
class OtherPart(TypedDict):  # images, audio, files: passed through as the client sent them
    type: StrictStr


def _part_kind(part: Any) -> str:
    return "text" if isinstance(part, dict) and part.get("type") == "text" else "other"


ContentPart = Annotated[
    Annotated[TextPart, Tag("text")] | Annotated[OtherPart, Tag("other")], Discriminator(_part_kind)
]


@with_config(_SHAPE)
class Message(TypedDict):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: NotRequired[StrictStr | list[ContentPart] | None]
    name: NotRequired[StrictStr | None]
    tool_calls: NotRequired[list[ToolCall] | None]
    tool_call_id: NotRequired[StrictStr | None]


@with_config(_SHAPE)
class StreamOptions(TypedDict):
    include_usage: NotRequired[StrictBool | None]


@with_config(_SHAPE)
class ResponseFormat(TypedDict):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: NotRequired[dict[str, Any] | None]


@with_config(_SHAPE)
class NamedToolChoiceFunction(TypedDict):
    name: StrictStr


@with_config(_SHAPE)
class NamedToolChoice(TypedDict):
    type: Literal["function"]
    function: NamedToolChoiceFunction


@with_config(_SHAPE)
class ChatCompletionRequest(TypedDict):
    # No control characters: a refused call's row records the name (PostgreSQL text cannot hold NUL).
    model: Annotated[StrictStr, Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]
    messages: Annotated[list[Message], Field(min_length=1, max_length=10_000)]
    frequency_penalty: NotRequired[Annotated[float, Strict(), Field(ge=-2, le=2)] | None]
    logit_bias: NotRequired[dict[str, Annotated[float, Strict(), Field(ge=-100, le=100)]] | None]
    logprobs: NotRequired[StrictBool | None]
    top_logprobs: NotRequired[Annotated[StrictInt, Field(ge=0, le=20)] | None]
    max_tokens: NotRequired[Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None]
    max_completion_tokens: NotRequired[Annotated[StrictInt, Field(ge=1, le=1_000_000)] | None]
    n: NotRequired[Annotated[StrictInt, Field(ge=1)] | None]
    presence_penalty: NotRequired[Annotated[float, Strict(), Field(ge=-2, le=2)] | None]
    response_format: NotRequired[ResponseFormat | None]
    seed: NotRequired[StrictInt | None]
    stop: NotRequired[StrictStr | Annotated[list[StrictStr], Field(max_length=4)] | None]
    stream: NotRequired[StrictBool | None]
    stream_options: NotRequired[StreamOptions | None]
    temperature: NotRequired[Annotated[float, Strict(), Field(ge=0, le=2)] | None]
    top_p: NotRequired[Annotated[float, Strict(), Field(ge=0, le=1)] | None]
    tools: NotRequired[Annotated[list[Tool], Field(max_length=128)] | None]
    tool_choice: NotRequired[Literal["none", "auto", "required"] | NamedToolChoice | None]
    parallel_tool_calls: NotRequired[StrictBool | None]
    user: NotRequired[Annotated[StrictStr, Field(max_length=256)] | None]
    metadata: NotRequired[dict[str, StrictStr] | None]
    reasoning_effort: NotRequired[Literal["minimal", "low", "medium", "high"] | None]
    # Gateway extension (sent by SDK users through extra_body): answer from these vector stores.
    vector_store_ids: NotRequired[
        Annotated[list[Annotated[StrictStr, Field(pattern=r"^[\w-]{1,128}$")]], Field(max_length=16)] | None
    ]


CHAT_REQUEST: TypeAdapter[ChatCompletionRequest] = TypeAdapter(ChatCompletionRequest)


# What may be forwarded upstream (the gateway's own extensions are consumed, not forwarded).
CHAT_FIELDS = ChatCompletionRequest.__required_keys__ | ChatCompletionRequest.__optional_keys__
FORWARDED_CHAT_FIELDS = CHAT_FIELDS - {
    "vector_store_ids",
    "model",
    "metadata",
}


class EmbeddingRequest(_Model):
    model: Annotated[StrictStr, Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]
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
