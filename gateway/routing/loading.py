"""Load a policy from YAML or JSON text: a Policy when valid, otherwise every problem with path and line."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from gateway.routing.checks import check_policy
from gateway.routing.policy import Policy
from gateway.routing.problems import Loc, PolicyError, format_path
from gateway.routing.source_lines import ParsedSource, parse_json, parse_yaml

Format = Literal["yaml", "json"]


def _known_field_names() -> list[str]:
    names: set[str] = set()
    pending: list[type[BaseModel]] = [Policy]
    seen: set[type[BaseModel]] = set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        names.update(model.model_fields)
        for info in model.model_fields.values():
            pending.extend(_models_in(info.annotation))
    return sorted(names)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_models_in(arg))
    return found


def _message(error: Any, known_fields: list[str]) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        if key in known_fields:  # a field of another part of the policy ("targets" in a rule)
            return f"unknown field {key!r} here ({key!r} belongs to another part of the policy)"
        guess = difflib.get_close_matches(key, known_fields, n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        return f"unknown field {key!r}{hint}"
    if kind == "missing":
        return f"missing required field {str(loc[-1])!r}" if loc else "missing"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _schema_problems(exc: ValidationError, source: ParsedSource) -> list[PolicyError]:
    known = _known_field_names()
    errors = exc.errors(include_url=False)
    failed_locs = [tuple(e["loc"]) for e in errors]
    problems: list[PolicyError] = []
    for error in errors:
        loc: Loc = tuple(part for part in error["loc"] if part != "[key]")
        if error["type"] == "too_short" and any(
            len(o) > len(loc) and o[: len(loc)] == loc for o in failed_locs
        ):
            continue  # pydantic drops invalid items, then counts too few; the item's own error says it all
        problems.append(PolicyError(format_path(loc), _message(error, known), line=source.line_of(loc)))
    return problems


def check_policy_text(text: str, *, fmt: Format = "yaml") -> tuple[Policy | None, list[PolicyError]]:
    """Parse and validate; returns the policy (None if it has errors) and all errors and warnings."""
    if fmt not in ("yaml", "json"):
        raise ValueError(f"fmt must be 'yaml' or 'json', not {fmt!r}")
    source = parse_yaml(text) if fmt == "yaml" else parse_json(text)
    if source.problems:
        return None, source.problems
    try:
        policy = Policy.model_validate(source.data)
    except ValidationError as exc:
        return None, _schema_problems(exc, source)
    problems = [
        PolicyError(format_path(loc), message, line=source.line_of(loc), severity=severity)  # type: ignore[arg-type]
        for loc, message, severity in check_policy(policy)
    ]
    if any(p.severity == "error" for p in problems):
        return None, problems
    return policy, problems


def load_policy(text: str, *, fmt: Format = "yaml") -> Policy | list[PolicyError]:
    """A valid Policy, or the list of problems (errors first) when it has any error."""
    policy, problems = check_policy_text(text, fmt=fmt)
    if policy is None:
        return sorted(problems, key=lambda p: p.severity != "error")
    return policy


def load_policy_file(path: str | Path) -> Policy | list[PolicyError]:
    """Load a .yaml/.yml/.json policy file; the format follows the suffix."""
    path = Path(path)
    fmt: Format = "json" if path.suffix.lower() == ".json" else "yaml"
    return load_policy(path.read_text(encoding="utf-8"), fmt=fmt)
