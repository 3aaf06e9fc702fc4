"""Who is calling: the authenticated key, as every later stage sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    name: str
    team: str  # the tenant: every stored object is scoped to it
    scopes: frozenset[str]
    allowed_models: frozenset[str] | None  # None means every target
    is_admin: bool = False
    limits: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    limit_spec: Any = None  # gateway.limits.LimitSpec parsed once from `limits`, or None

    def may_use(self, model: str) -> bool:
        return self.allowed_models is None or model in self.allowed_models
