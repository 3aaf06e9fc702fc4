"""Top-level request fields each provider accepts; anything else is an error there."""

from __future__ import annotations

from gateway.simulate.errors import SimRequestError, invalid

OPENAI_CHAT_PARAMS = frozenset(
    {
        "messages", "model", "audio", "frequency_penalty", "function_call", "functions", "logit_bias",
        "logprobs", "max_completion_tokens", "max_tokens", "metadata", "modalities", "moderation", "n",
        "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key", "prompt_cache_options",
        "prompt_cache_retention", "reasoning_effort", "response_format", "safety_identifier", "seed",
        "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
        "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
    }
)  # fmt: skip
OPENAI_EMBEDDING_PARAMS = frozenset({"input", "model", "dimensions", "encoding_format", "user"})
ANTHROPIC_MESSAGES_PARAMS = frozenset(
    {
        "model", "messages", "max_tokens", "cache_control", "container", "context_management",
        "diagnostics", "inference_geo", "mcp_servers", "metadata", "output_config", "output_format",
        "service_tier", "speed", "stop_sequences", "stream", "system", "temperature", "thinking",
        "tool_choice", "tools", "top_k", "top_p", "user_profile_id", "workspace_id",
    }
)  # fmt: skip


def reject_unknown(body: dict, known: frozenset[str], *, anthropic_style: bool = False) -> None:
    """Raise the provider's 400 for the first field it would not recognise."""
    for name in body:
        if name not in known:
            raise _unknown(name, anthropic_style)


def _unknown(name: str, anthropic_style: bool) -> SimRequestError:
    if anthropic_style:
        return invalid(f"{name}: Extra inputs are not permitted")
    return invalid(f"Unrecognized request argument supplied: {name}", param=name, code="unknown_parameter")
