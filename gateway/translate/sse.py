"""Server-sent events: an incremental byte parser and a formatter."""

from __future__ import annotations

from typing import Any

import orjson

SSEEvent = tuple[str | None, str]


class SSEParser:
    """Turns network chunks into (event name, data) pairs, per the WHATWG event-stream rules.

    Handles events split across chunk boundaries, ``\\n`` / ``\\r\\n`` / ``\\r`` line ends, comment
    lines, multi-line data and a leading BOM. ``event`` is None when the event has no ``event:`` line.
    """

    __slots__ = ("_buffer", "_event", "_data", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []
        self._started = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume one network chunk; return every event it completes."""
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            if len(buffer) < 3 and b"\xef\xbb\xbf".startswith(buffer):
                self._buffer = buffer
                return []
            self._started = True
            if buffer.startswith(b"\xef\xbb\xbf"):
                buffer = buffer[3:]
        if b"\r" in buffer:
            # A trailing \r may be the first half of \r\n: keep it until the next chunk says.
            held = b"\r" if buffer.endswith(b"\r") else b""
            if held:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            lines = buffer.split(b"\n")
            self._buffer = lines.pop() + held
        else:
            lines = buffer.split(b"\n")
            self._buffer = lines.pop()
        events: list[SSEEvent] = []
        for line in lines:
            self._take_line(line, events)
        return events

    def flush(self) -> list[SSEEvent]:
        """End of stream: dispatch a last event even if the blank line after it never came."""
        events: list[SSEEvent] = []
        if self._buffer:
            line, self._buffer = self._buffer.rstrip(b"\r"), b""
            self._take_line(line, events)
        self._take_line(b"", events)
        return events

    def _take_line(self, line: bytes, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                events.append((self._event, "\n".join(self._data)))
                self._data = []
            self._event = None
            return
        if line[0] == 0x3A:  # ":" starts a comment (keep-alives)
            return
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value.decode("utf-8", "replace"))
        elif name == b"event":
            self._event = value.decode("utf-8", "replace") or None
        # "id", "retry" and unknown fields mean nothing to a proxy.


def format_sse(event: str | None, data: Any) -> bytes:
    """One SSE frame; ``data`` is JSON-encoded unless it is already str or bytes."""
    if isinstance(data, bytes):
        payload = data
    elif isinstance(data, str):
        payload = data.encode()
    else:
        payload = orjson.dumps(data)
    if b"\n" in payload or b"\r" in payload:
        # Each line of a multi-line payload needs its own "data:" field.
        payload = b"\ndata: ".join(payload.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"))
    if event is None:
        return b"data: " + payload + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"
