"""Wire-format translation between OpenAI Chat Completions and Anthropic Messages: plain dicts, no I/O.

Streaming, Anthropic upstream behind /v1/chat/completions::

    parser, conv = SSEParser(), AnthropicToOpenAIStream(model=alias)
    for name, data in parser.feed(network_bytes):
        for chunk in conv.feed(name, orjson.loads(data)):
            send(format_sse(None, chunk))
    # then conv.usage_chunk() if stream_options.include_usage, then b"data: [DONE]\n\n"

Streaming, OpenAI-compatible upstream behind /v1/messages: ``OpenAIToAnthropicStream.feed(chunk)`` per
``data:`` payload, ``finish()`` on ``[DONE]`` or end of stream; send each pair as ``format_sse(name, data)``.
"""

from gateway.translate.from_anthropic_response import anthropic_to_openai_response
from gateway.translate.from_anthropic_stream import AnthropicToOpenAIStream
from gateway.translate.from_openai_response import openai_to_anthropic_response
from gateway.translate.from_openai_stream import OpenAIToAnthropicStream
from gateway.translate.sse import SSEParser, format_sse
from gateway.translate.to_anthropic_request import openai_to_anthropic_request
from gateway.translate.to_openai_request import anthropic_to_openai_request
from gateway.translate.validate_messages import validate_anthropic_request

__all__ = [
    "AnthropicToOpenAIStream",
    "OpenAIToAnthropicStream",
    "SSEParser",
    "anthropic_to_openai_request",
    "anthropic_to_openai_response",
    "format_sse",
    "openai_to_anthropic_request",
    "openai_to_anthropic_response",
    "validate_anthropic_request",
]
