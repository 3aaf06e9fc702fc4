"""Pure helpers for the policy admin API: canonical YAML, text diffs, and decision explanations."""

from __future__ import annotations

import dataclasses
import difflib
import random
from collections.abc import Mapping
from typing import Any

import yaml

from gateway.auth.principal import Principal
from gateway.classify.types import Classification
from gateway.routing.decide import Decision, decide
from gateway.routing.policy import Policy
from gateway.routing.stats import TargetStats


class _BlockStyleDumper(yaml.SafeDumper):
    """Indents lists under their key, as people write YAML by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
    # Short lists of plain values read best inline: capabilities: [tools, json].
    scalars_only = all(isinstance(i, str | int | float | bool) for i in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=scalars_only)


_BlockStyleDumper.add_representer(list, _represent_list)


def policy_to_yaml(policy: Policy) -> str:
    """Canonical YAML of a policy: schema order, defaults left out; loads back to an equal Policy."""
    data = policy.model_dump(mode="json", exclude_defaults=True)
    # `targets` and `rules` are required even when equal to a default, and `internal` must always be explicit.
    for name, target in policy.targets.items():
        data["targets"][name]["internal"] = target.internal
    return yaml.dump(data, Dumper=_BlockStyleDumper, sort_keys=False, allow_unicode=True, width=110)


def diff_policies(old_text: str, new_text: str, *, old_label: str = "old", new_label: str = "new") -> str:
    """A unified diff of two policy texts, as an operator reviews a change ('' when identical)."""
    return "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=old_label,
            tofile=new_label,
        )
    )


def _plain(value: Any) -> Any:
    """Turn dataclasses, frozensets and odd values into JSON-safe data."""
    if isinstance(value, Classification):
        return _plain(value.as_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a NamedTuple record (Needs, Decision)
        return {name: _plain(item) for name, item in value._asdict().items()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def decision_to_dict(decision: Decision) -> dict[str, Any]:
    """A decision as JSON-safe data: chosen target, fallbacks, each rule considered and why."""
    return {
        "policy": {"name": decision.policy_name, "version": decision.policy_version},
        "requested_model": decision.requested_model,
        "sensitive": decision.sensitive,
        "rule": decision.rule,
        "target": decision.target,
        "fallbacks": list(decision.fallbacks),
        "blocked": decision.refusal is not None,
        "refusal": _plain(decision.refusal),
        "rules_considered": [
            {"index": t.index, "rule": t.rule, "matched": t.matched, "why_not": list(t.failed)}
            for t in decision.trace
        ],
        "steps": list(decision.steps),
    }


def explain(
    policy: Policy,
    classification: Classification,
    *,
    principal: Principal,
    requested_model: str,
    target_stats: Mapping[str, TargetStats],
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """decide(), explained: the classification and the decision with its trace, as JSON-safe data."""
    decision = decide(
        policy,
        classification,
        principal=principal,
        requested_model=requested_model,
        target_stats=target_stats,
        rng=rng,
    )
    return {
        "classification": _plain(classification),
        "caller": {"key_id": principal.key_id, "name": principal.name, "team": principal.team},
        "target_stats": _plain(dict(target_stats)),
        **decision_to_dict(decision),
    }
