"""The fault queue (control API) and in-band fault markers found in the last user message."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.simulate.config import FAULT_KINDS, PROVIDERS, Fault, Provider

MARKER_PREFIX = "[[sim:"
# [[sim:NAME(=VALUE)?(@PROVIDER)?(*TIMES)?]], e.g. [[sim:429=2@openai*1]], [[sim:latency=200]].
_MARKER = re.compile(r"\[\[sim:([a-z0-9_]+)(?:=(\d+(?:\.\d+)?))?(?:@([a-z]+))?(?:\*(\d+))?\]\]")
_SEEN_LIMIT = 10_000
# [[sim:latency=MS]], [[sim:tps=N]] (stream pacing), [[sim:tokens=N]] (reply length).
_NUMERIC_MARKERS = frozenset(("latency", "tps", "tokens"))
_MAX_TOKENS = 100_000


@dataclass(slots=True)
class _Pending:
    fault: Fault
    remaining: int


class FaultQueue:
    """Faults waiting for the next matching requests, oldest first."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._pending = [_Pending(f, f.times) for f in faults]

    def extend(self, faults: Iterable[Fault]) -> None:
        self._pending.extend(_Pending(f, f.times) for f in faults)

    def clear(self) -> None:
        self._pending.clear()

    def pending(self) -> list[dict]:
        return [{**p.fault.model_dump(), "remaining": p.remaining} for p in self._pending]

    def take(self, provider: Provider) -> Fault | None:
        """Use up one application of the oldest fault that matches this provider."""
        for i, entry in enumerate(self._pending):
            if entry.fault.provider is None or entry.fault.provider == provider:
                entry.remaining -= 1
                if entry.remaining <= 0:
                    del self._pending[i]
                return entry.fault
        return None


@dataclass(frozen=True, slots=True)
class InBandDirectives:
    """What the markers in one request ask for."""

    fault: Fault | None = None
    latency_ms: float | None = None
    tokens_per_second: float | None = None
    completion_tokens: int | None = None


NO_DIRECTIVES = InBandDirectives()


class MarkerReader:
    """Reads [[sim:...]] markers; remembers how often a `*TIMES` marker has fired for a given text."""

    def __init__(self) -> None:
        self._fired: OrderedDict[tuple[str, str], int] = OrderedDict()

    def read(self, text: str, provider: Provider) -> InBandDirectives:
        if MARKER_PREFIX not in text:
            return NO_DIRECTIVES
        fault: Fault | None = None
        numbers: dict[str, float] = {}
        for match in _MARKER.finditer(text):
            name, value, scope, times = match.groups()
            if scope is not None and (scope not in PROVIDERS or scope != provider):
                continue
            if times is not None and not self._still_due(match.group(0), text, int(times)):
                continue
            if name in _NUMERIC_MARKERS and value is not None:
                numbers[name] = float(value)
            elif name in FAULT_KINDS and fault is None:
                fault = _fault_from_marker(name, value)
        tokens = numbers.get("tokens")
        return InBandDirectives(
            fault=fault,
            latency_ms=numbers.get("latency"),
            tokens_per_second=numbers.get("tps"),
            completion_tokens=min(_MAX_TOKENS, max(1, int(tokens))) if tokens is not None else None,
        )

    def _still_due(self, marker: str, text: str, times: int) -> bool:
        key = (marker, text)
        fired = self._fired.get(key, 0)
        if fired >= times:
            return False
        self._fired[key] = fired + 1
        self._fired.move_to_end(key)
        if len(self._fired) > _SEEN_LIMIT:
            self._fired.popitem(last=False)
        return True


def strip_markers(text: str) -> str:
    """The text without any [[sim:...]] marker, so replies do not echo them."""
    if MARKER_PREFIX not in text:
        return text
    return " ".join(_MARKER.sub(" ", text).split())


def _fault_from_marker(kind: str, value: str | None) -> Fault:
    if value is None:
        return Fault(kind=kind)  # type: ignore[arg-type]
    number = int(float(value))
    if kind == "429":
        return Fault(kind="429", retry_after_s=number)
    if kind == "drop_midstream":
        return Fault(kind="drop_midstream", after_chunks=number)
    return Fault(kind=kind)  # type: ignore[arg-type]
