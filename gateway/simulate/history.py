"""Recent requests the simulator received, with credentials redacted."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

REDACTED = "[REDACTED]"
_SECRET_HEADERS = frozenset(("authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"))


@dataclass(slots=True)
class RecordedRequest:
    """One received request. `auth_matched` is None when the provider had no key configured."""

    method: str
    path: str
    provider: str
    headers: dict[str, str]
    auth_matched: bool | None
    body: Any
    received_at: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestHistory:
    """A bounded, newest-last list of received requests."""

    def __init__(self, size: int) -> None:
        self._items: deque[RecordedRequest] = deque(maxlen=size)

    def resize(self, size: int) -> None:
        if size != self._items.maxlen:
            self._items = deque(self._items, maxlen=size)

    def record(
        self,
        *,
        method: str,
        path: str,
        provider: str,
        headers: Mapping[str, str],
        auth_matched: bool | None,
        body: Any,
    ) -> RecordedRequest | None:
        if self._items.maxlen == 0:
            return None
        item = RecordedRequest(
            method=method,
            path=path,
            provider=provider,
            headers=redact_headers(headers),
            auth_matched=auth_matched,
            body=body,
            received_at=time.time(),
        )
        self._items.append(item)
        return item

    def items(self) -> list[RecordedRequest]:
        return list(self._items)

    def clear(self) -> None:
        self._items.clear()


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as a plain dict, with every credential replaced by a fixed marker."""
    # str(): aiohttp's header names are multidict.istr, which orjson refuses as keys.
    return {str(k): (REDACTED if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}
