"""One provider interface. An implementation speaks one upstream wire format; the gateway speaks OpenAI's."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar


class UpstreamError(Exception):
    """An upstream call that failed; `kind` says how, so retries and metrics can tell them apart."""

    def __init__(
        self,
        kind: str,  # http_4xx | rate_limited | http_5xx | timeout | connect | protocol | auth
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.body = body

    @property
    def retryable(self) -> bool:
        return self.kind in {"rate_limited", "http_5xx", "timeout", "connect"}


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    source: str = "none"  # provider | estimated | none

    @classmethod
    def from_openai(cls, usage: dict[str, Any] | None) -> Usage | None:
        if not isinstance(usage, dict):
            return None
        details = usage.get("prompt_tokens_details") or {}
        try:
            return cls(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                cached_tokens=int((details.get("cached_tokens") if isinstance(details, dict) else 0) or 0),
                source="provider",
            )
        except (TypeError, ValueError, OverflowError):  # counts that are not numbers: as if none were sent
            return None


@dataclass(slots=True)
class StreamState:
    """What a relayed stream has shown so far; read after the stream ends or is cut short."""

    usage: Usage | None = None
    text_parts: list[str] = field(default_factory=list)
    first_chunk_at: float | None = None
    finished: bool = False


class Provider(ABC):
    """A configured upstream. `chat` returns an OpenAI chat.completion; `chat_stream` yields OpenAI chunks."""

    kind: ClassVar[str]

    def __init__(self, *, name: str, simulated: bool = False) -> None:
        self.name = name
        self.simulated = simulated

    @abstractmethod
    async def chat(self, body: dict[str, Any], *, upstream_model: str) -> dict[str, Any]: ...

    @abstractmethod
    def chat_stream(
        self, body: dict[str, Any], *, upstream_model: str, state: StreamState
    ) -> AsyncIterator[dict[str, Any]]: ...

    async def embeddings(self, body: dict[str, Any], *, upstream_model: str) -> dict[str, Any]:
        raise UpstreamError("http_4xx", f"{self.name} does not serve embeddings", status=400)

    async def messages(self, body: dict[str, Any], *, upstream_model: str) -> dict[str, Any] | None:
        """A native Anthropic Messages call, for providers that speak it; None means translate instead."""
        return None

    async def start(self) -> None:  # noqa: B027  (optional hook)
        """Open connection pools."""

    async def close(self) -> None:  # noqa: B027  (optional hook)
        """Close connection pools."""
