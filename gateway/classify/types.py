"""The classification record: what the classifier says of one request. Policies and traces read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

SensitivityLevel = Literal["none", "low", "medium", "high"]
ComplexityTier = Literal["low", "medium", "high"]


@dataclass(frozen=True, slots=True)
class SensitiveFinding:
    """One kind of sensitive data found in the prompt (never the value itself)."""

    kind: str  # e.g. "person", "email", "phone", "iban", "card_number", "api_key", "marker:<name>"
    category: Literal["personal", "secret", "confidential"]
    confidence: float  # 0..1
    count: int = 1


@dataclass(frozen=True, slots=True)
class Sensitivity:
    level: SensitivityLevel
    findings: tuple[SensitiveFinding, ...] = ()

    @property
    def is_sensitive(self) -> bool:
        return self.level != "none"

    def kinds(self) -> frozenset[str]:
        return frozenset(f.kind for f in self.findings)

    def categories(self) -> frozenset[str]:
        return frozenset(f.category for f in self.findings)


@dataclass(frozen=True, slots=True)
class Complexity:
    score: float  # 0..1: how unlikely a small model is to answer well
    tier: ComplexityTier


class Needs(NamedTuple):
    """Made on every call: a NamedTuple (immutable, and built in half the time of a frozen dataclass)."""

    prompt_tokens: int
    expected_output_tokens: int
    tools: bool = False
    json_mode: bool = False
    images: bool = False
    long_context: bool = False


# What the content assessment adds to a record: complexity, task, domain, and the needs and extra fields
# whose values depend on the task (the expected reply length when the request sets no max_tokens).
Assessment = tuple[Complexity, str, str, Needs | Callable[[], Needs], dict[str, object]]


class Classification:
    """What the classifier says of one request. Immutable.

    Sensitivity is judged with the record, on every call: every policy reads it. Complexity, task and domain
    (and what depends on them) may be judged on first read instead, when the classifier hands over a thunk
    (`assess`): a call whose route no rule decides by content (a caller naming its model, the common case)
    then never pays for that part. The prompt's exact token count may be deferred the same way (`needs` and
    `needs_bound` given as thunks): a call whose checks all pass at `needs_ceiling()`, a bound known without
    counting, never runs the tokenizer. Readers cannot tell the difference: the first read of a deferred
    field computes it, once.
    """

    __slots__ = (
        "_sensitivity",
        "_complexity",
        "_task",
        "_domain",
        "_needs",
        "_extra",
        "_assess",
        "_bound",
        "_ceiling",
    )
    FIELDS = ("sensitivity", "complexity", "task", "domain", "needs", "extra")

    _sensitivity: Sensitivity
    _complexity: Complexity | None
    _task: str | None
    _domain: str | None
    _needs: Needs | Callable[[], Needs] | None
    _extra: dict[str, object]
    _assess: Callable[[], Assessment] | None
    _bound: Needs | Callable[[], Needs] | None
    _ceiling: Needs | None

    def __init__(
        self,
        sensitivity: Sensitivity,
        complexity: Complexity | None = None,
        task: str | None = None,
        domain: str | None = None,
        needs: Needs | Callable[[], Needs] | None = None,
        extra: dict[str, object] | None = None,
        *,
        assess: Callable[[], Assessment] | None = None,
        needs_bound: Needs | Callable[[], Needs] | None = None,
        needs_ceiling: Needs | None = None,
    ) -> None:
        """needs and needs_bound may be thunks, called on first read. needs_ceiling, if given, must be at
        least the needs in every field that can make a target unfit (prompt and output tokens, each flag)."""
        pending = complexity is None or task is None or domain is None or needs is None
        if pending and assess is None:
            raise TypeError("Classification needs complexity, task, domain and needs, or an assess thunk")
        set_ = object.__setattr__
        set_(self, "_sensitivity", sensitivity)
        set_(self, "_complexity", complexity)
        set_(self, "_task", task)
        set_(self, "_domain", domain)
        set_(self, "_needs", needs)
        set_(self, "_extra", extra if extra is not None else {})
        set_(self, "_assess", assess if pending else None)
        set_(self, "_bound", needs_bound)
        set_(self, "_ceiling", needs_ceiling)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Classification is immutable (tried to set {name!r})")

    def _fill(self) -> None:
        assess = self._assess
        if assess is None:
            return
        complexity, task, domain, needs, extra = assess()
        set_ = object.__setattr__
        set_(self, "_complexity", complexity)
        set_(self, "_task", task)
        set_(self, "_domain", domain)
        set_(self, "_needs", needs)
        self._extra.update(extra)  # in place: a deferred count adds its exactness to the same dict
        set_(self, "_assess", None)

    @property
    def assessed(self) -> bool:
        """Whether complexity, task and domain have been judged (reading any of them judges them)."""
        return self._assess is None

    @property
    def sensitivity(self) -> Sensitivity:
        return self._sensitivity

    @property
    def complexity(self) -> Complexity:
        if self._complexity is None:
            self._fill()
        assert self._complexity is not None
        return self._complexity

    @property
    def task(self) -> str:  # code, math, reasoning, extraction, summarisation, creative, chit_chat, qa, ...
        if self._task is None:
            self._fill()
        assert self._task is not None
        return self._task

    @property
    def domain(self) -> str:  # law, medicine, finance, science, general, ...
        if self._domain is None:
            self._fill()
        assert self._domain is not None
        return self._domain

    @property
    def needs(self) -> Needs:
        needs = self._needs
        if needs is None:
            self._fill()
            needs = self._needs
            assert needs is not None
        if type(needs) is not Needs:  # a thunk: count now, once
            needs = needs()  # type: ignore[operator]
            object.__setattr__(self, "_needs", needs)
        return needs  # type: ignore[return-value]

    def needs_bound(self) -> Needs:
        """The needs, exact in everything but possibly the expected output, which may be at its ceiling
        while the task is not judged (it is estimated from the task). For checks that hold at the ceiling
        whenever they hold at all (flags, prompt tokens, fitting a context window), without judging."""
        if self._needs is not None:
            return self.needs
        bound = self._bound
        if bound is None:
            return self.needs
        if type(bound) is not Needs:
            bound = bound()  # type: ignore[operator]
            object.__setattr__(self, "_bound", bound)
        return bound  # type: ignore[return-value]

    def needs_ceiling(self) -> Needs:
        """At least the needs in every field that can make a target unfit, known without counting the
        prompt's tokens when the classifier gave one (else the bound). A check that holds here holds for
        the needs; one that fails here must be asked again of needs_bound()."""
        ceiling = self._ceiling
        return ceiling if ceiling is not None else self.needs_bound()

    @property
    def extra(self) -> dict[str, object]:
        """The classifier's notes, complete: reading them judges what is pending and counts the prompt."""
        self._fill()
        self.needs  # noqa: B018  (a deferred count adds whether it is exact)
        return self._extra

    def as_dict(self) -> dict[str, object]:
        """Every field (judging what is still pending), for explanations and traces."""
        return {name: getattr(self, name) for name in self.FIELDS}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Classification):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]  # equal records may be built lazily or not: not hashable

    def __repr__(self) -> str:
        if not self.assessed:
            needs = self._needs if type(self._needs) is Needs else "<not counted>"
            return f"Classification(sensitivity={self._sensitivity!r}, needs={needs!r}, <not assessed>)"
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"Classification({inner})"
