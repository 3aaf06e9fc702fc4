"""The providers' rule that every tool call is answered by a tool result in the very next turn(s).

Both APIs refuse a conversation that breaks it; a gateway that translates or trims history must keep it.
"""

from __future__ import annotations

from typing import Any

from gateway.simulate.errors import SimRequestError, invalid


def check_openai_tool_pairing(messages: list[dict[str, Any]]) -> None:
    """Assistant `tool_calls` must be followed by `tool` messages answering each id, and only those."""
    answerable: set[str] = set()  # ids of the tool calls the current run of tool messages may answer
    unanswered: set[str] = set()
    asked_at = -1
    for i, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                raise invalid(
                    "Missing parameter 'tool_call_id': messages with role 'tool' must have a 'tool_call_id'.",
                    param=f"messages.[{i}].tool_call_id",
                )
            if call_id not in answerable:
                raise invalid(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                    "with 'tool_calls'.",
                    param=f"messages.[{i}].role",
                )
            unanswered.discard(call_id)
            continue
        if unanswered:
            raise _unanswered_calls(unanswered, asked_at)
        calls = message.get("tool_calls") if role == "assistant" else None
        answerable = {c["id"] for c in calls or () if isinstance(c, dict) and isinstance(c.get("id"), str)}
        unanswered = set(answerable)
        asked_at = i
    if unanswered:
        raise _unanswered_calls(unanswered, asked_at)


def _unanswered_calls(ids: set[str], at: int) -> SimRequestError:
    return invalid(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        "'tool_call_id'. The following tool_call_ids did not have response messages: "
        + ", ".join(sorted(ids)),
        param=f"messages.[{at}].role",
    )


def check_anthropic_tool_pairing(messages: list[dict[str, Any]]) -> None:
    """`tool_use` blocks need `tool_result` blocks in the next message, and every result needs a use."""
    previous_uses: set[str] = set()
    for i, message in enumerate(messages):
        content = message.get("content")
        blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
        results = [b for b in blocks if b.get("type") == "tool_result"]
        missing = previous_uses - {b.get("tool_use_id") for b in results}
        if missing:
            raise invalid(
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                + ", ".join(sorted(missing))
                + ". Each `tool_use` block must have a corresponding `tool_result` block in the next message."
            )
        for j, block in enumerate(results):
            if block.get("tool_use_id") not in previous_uses:
                raise invalid(
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message."
                )
        uses = [b.get("id") for b in blocks if b.get("type") == "tool_use"]
        previous_uses = (
            {u for u in uses if isinstance(u, str)} if message.get("role") == "assistant" else set()
        )
