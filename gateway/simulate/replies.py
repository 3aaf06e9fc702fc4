"""What the simulated model answers: deterministic text, tool calls or JSON, cut by stop and max tokens.

Wire formats normalise a request into a `ReplyRequest`; `plan_replies` returns one `Completion` per
choice as token-sized pieces, so streamed chunks and usage agree: completion tokens = pieces sent.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from gateway.simulate.faults import strip_markers
from gateway.simulate.schema_values import value_for_schema
from gateway.simulate.tokens import TokenCounter

Finish = Literal["stop", "length", "tool", "stop_sequence"]
ToolMode = Literal["auto", "none", "required"]

_FILLER = " This reply comes from the simulated upstream and is deterministic."
_EXCERPT_WORDS = 24
_EXCERPT_CHARS = 160
_ASKS_FOR_A_TOOL = re.compile(r"\btools?\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A callable tool as the request declares it."""

    name: str
    schema: dict


@dataclass(frozen=True, slots=True)
class ReplyRequest:
    """The parts of a chat request that decide the reply, independent of the wire format."""

    prompt_text: str
    tools: tuple[ToolSpec, ...] = ()
    tool_mode: ToolMode = "auto"
    forced_tool: str | None = None
    last_is_tool_result: bool = False
    json_mode: bool = False
    json_schema: dict | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    n: int = 1


@dataclass(frozen=True, slots=True)
class Completion:
    """One choice: content pieces, or the pieces of a tool call's JSON arguments."""

    pieces: tuple[str, ...]
    finish: Finish
    stop_sequence: str | None = None
    tool_name: str | None = None
    tool_id: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def tokens(self) -> int:
        return len(self.pieces)


def plan_replies(request: ReplyRequest, *, counter: TokenCounter, default_tokens: int) -> list[Completion]:
    """One completion per requested choice; same request, same answer."""
    tool = pick_tool(request)
    return [_plan_one(request, tool, index, counter, default_tokens) for index in range(request.n)]


def pick_tool(request: ReplyRequest) -> ToolSpec | None:
    """The tool to call: forced, required, or named (or "tool" said) in the prompt when auto."""
    if not request.tools or request.tool_mode == "none":
        return None
    if request.forced_tool is not None:
        return next((t for t in request.tools if t.name == request.forced_tool), None)
    mentioned = _mentioned_tool(request.prompt_text, request.tools)
    if request.tool_mode == "required":
        return mentioned or request.tools[0]
    if request.last_is_tool_result:
        return None  # an auto loop ends once the tool has answered
    if mentioned is not None:
        return mentioned
    if _ASKS_FOR_A_TOOL.search(request.prompt_text):
        return request.tools[0]
    return None


def _mentioned_tool(text: str, tools: tuple[ToolSpec, ...]) -> ToolSpec | None:
    """The first tool whose name (or the name with spaces for underscores) the prompt contains."""
    lowered = text.lower()
    for tool in tools:
        name = tool.name.lower()
        if name in lowered or name.replace("_", " ") in lowered:
            return tool
    return None


def answer_text(prompt_text: str, index: int = 0) -> str:
    """The opening sentence of every reply: an echo of the prompt."""
    words = strip_markers(prompt_text).split()
    excerpt = " ".join(words[:_EXCERPT_WORDS])[:_EXCERPT_CHARS] or "(empty prompt)"
    label = "Simulated answer" if index == 0 else f"Simulated answer {index + 1}"
    return f"{label} to: {excerpt}"


def _plan_one(
    request: ReplyRequest, tool: ToolSpec | None, index: int, counter: TokenCounter, default_tokens: int
) -> Completion:
    if tool is not None:
        arguments = orjson.dumps(value_for_schema(tool.schema, name=tool.name)).decode()
        pieces, finish, _ = _cut(counter.pieces(arguments), (), request.max_tokens, "tool")
        return Completion(pieces, finish, tool_name=tool.name, tool_id=_tool_id(request, tool, index))
    if request.json_schema is not None or request.json_mode:
        value: Any = (
            value_for_schema(request.json_schema)
            if request.json_schema is not None
            else {"answer": answer_text(request.prompt_text, index)}
        )
        pieces, finish, matched = _cut(counter.pieces(orjson.dumps(value).decode()), (), request.max_tokens)
        return Completion(pieces, finish, matched)
    pieces = _text_pieces(answer_text(request.prompt_text, index), counter, default_tokens)
    pieces, finish, matched = _cut(pieces, request.stop, request.max_tokens)
    return Completion(pieces, finish, matched)


def _text_pieces(opening: str, counter: TokenCounter, target: int) -> tuple[str, ...]:
    """Exactly `target` token pieces: the opening sentence, then the filler sentence repeated."""
    sentence = opening if opening[-1:] in (".", "?", "!") else opening + "."
    head = counter.pieces(sentence)
    if len(head) >= target:
        return head[:target]
    # The filler is tokenized once (cached) and repeated, so long replies cost no tokenizer time.
    filler = counter.pieces(_FILLER)
    repeats = (target - len(head)) // len(filler) + 1
    return (head + filler * repeats)[:target]


def _cut(
    pieces: tuple[str, ...], stops: tuple[str, ...], max_tokens: int | None, natural: Finish = "stop"
) -> tuple[tuple[str, ...], Finish, str | None]:
    """Stop at the first stop sequence (excluded from the output) or at max_tokens, as a model does."""
    if not stops:
        if max_tokens is not None and len(pieces) > max_tokens:
            return pieces[:max_tokens], "length", None
        return pieces, natural, None
    longest = max(len(s) for s in stops)
    text = ""
    for i, piece in enumerate(pieces):
        if max_tokens is not None and i >= max_tokens:
            return pieces[:i], "length", None
        start = max(0, len(text) - longest + 1)
        text += piece
        hits = [(pos, s) for s in stops if (pos := text.find(s, start)) >= 0]
        if hits:
            pos, matched = min(hits)
            kept = text[:pos]
            before = "".join(pieces[:i])
            tail = kept[len(before) :] if len(kept) > len(before) else ""
            head = _pieces_within(pieces[:i], len(kept)) if len(kept) < len(before) else pieces[:i]
            return head + ((tail,) if tail else ()), "stop_sequence", matched
    return pieces, natural, None


def _pieces_within(pieces: tuple[str, ...], length: int) -> tuple[str, ...]:
    """The leading pieces cut to `length` characters (a stop sequence may span pieces)."""
    out: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) >= length:
            if length - used > 0:
                out.append(piece[: length - used])
            break
        out.append(piece)
        used += len(piece)
    return tuple(out)


def _tool_id(request: ReplyRequest, tool: ToolSpec, index: int) -> str:
    digest = hashlib.blake2b(f"{request.prompt_text}|{tool.name}|{index}".encode(), digest_size=12)
    return digest.hexdigest()
