"""A problem found in a policy: where (path and line) and what."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Loc = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_path(loc: Loc) -> str:
    """('rules', 2, 'fallbacks', 0) -> 'rules[2].fallbacks[0]'; odd keys quoted: targets["a-1.b"]."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out


@dataclass(frozen=True, slots=True)
class PolicyError:
    """One error or warning, with its path in the document and, where known, its line (1-based)."""

    path: str
    message: str
    line: int | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        path = self.path or "(document)"
        return f"{self.severity}: {where}{path}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "severity": self.severity, "message": self.message}
