"""decide() returns exactly what the frozen reference implementation (reference_decide.py) returns.

Over a large seeded grid: every policy in router_policies/, the policies the routing tests use
(decide_equivalence_policies.yaml, some of them not valid) and a few written here to reach every condition,
strategy and oddity; sensitivity levels and kinds, complexity tiers and scores, tasks, domains, needs flags,
prompt sizes at the edges of each context window, eager and lazily assessed classifications, every alias,
target, upstream model and rule-mentioned name plus unknown ones, callers with and without allowed models,
team, key and metadata values the rules look at, and live stats (healthy, erring, half-open, open circuit,
unmeasured, NaN latency). Each decision is compared field by field (trace and failure strings included), as
decision_to_dict shows it, by equality, by which classification fields got judged, and by how much of the
random generator it used. Each input is decided twice, so caches filled by the first call are checked too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.auth.principal import Principal
from gateway.classify.types import Classification, Complexity, Needs, SensitiveFinding, Sensitivity
from gateway.routing import Decision, Policy, Refusal, RuleTrace, TargetStats, decide, decision_to_dict
from gateway.routing.policy import When

from . import reference_decide as reference
from .builders import DEFAULT_POLICY, REPO, must_load

HARVESTED = Path(__file__).with_name("decide_equivalence_policies.yaml")
OUTPUT_CEILING = 4096

# Policies written for this test: every condition, nested any_of, blocks, every strategy, GPU-hour and
# unknown prices, an upstream model two targets share, no aliases, and (unchecked) rules naming unknown
# targets.
EXTRA_POLICIES = [
    """
name: kitchen-sink
version: "42"
settings: {explicit_external_sensitive: refuse, unhealthy_error_rate: 0.25}
targets:
  small: {provider: vllm, model: small-model, capabilities: [json], context_window: 8000, internal: true,
          price: {input_per_million: 0.05, output_per_million: 0.05}}
  gpu: {provider: vllm, model: gpu-model, capabilities: [tools, json, code], context_window: 16000,
        internal: true, price: {gpu_hours: {usd_per_gpu_hour: 2.5, gpus: 2, assumed_tokens_per_second: 900}}}
  twin-a: {provider: openai_compatible, model: shared-upstream, capabilities: [tools], context_window: 4096,
           internal: false, price: {input_per_million: 1, output_per_million: 2}}
  twin-b: {provider: openai_compatible, model: shared-upstream, capabilities: [vision], context_window: 4096,
           internal: true, price: {input_per_million: 1, output_per_million: 2}}
  mystery: {provider: openai_compatible, model: no-such-priced-model, capabilities: [tools, json, vision,
            long_context, reasoning, code], context_window: 1000000, internal: false}
  large: {provider: openai, model: gpt-4o, capabilities: [json, tools, code, vision, reasoning, long_context],
          context_window: 128000, internal: false}
aliases: [auto, best, fast, spread]
rules:
  - name: secrets-blocked
    when: {sensitive_categories: [secret]}
    block: {message: no secrets, status: 422}
  - name: marker-kinds
    when: {sensitive_kinds: ["marker:project", iban]}
    candidates: [gpu, small, gpu]
    strategy: highest_capability
    fallbacks: [small, twin-b]
  - name: legal
    when:
      any_of:
        - {domain: [law, medicine]}
        - {task: [extraction], complexity_score: {min: 0.3, max: 0.6}}
        - any_of:
            - {key_id: [key_legal]}
            - {metadata: {desk: [partners, counsel], tier: 3}}
    route: gpu
    fallbacks: [small]
    internal_only: true
  - name: vip-caller
    when: {key_name: [vip-bot], team: [research, platform], requested: alias}
    candidates: [large, mystery, gpu]
    strategy: fastest
    fallbacks: [small]
  - name: needs-tools-long
    when: {needs: [tools, long_context], prompt_tokens: {min: 1000}}
    candidates: [mystery, large, gpu, twin-a]
    strategy: cheapest
  - name: simple-math
    when: {complexity_at_most: medium, complexity_at_least: medium, task: [math, code]}
    route: gpu
    fallbacks: [large, gpu]
  - name: explicit
    when: {requested: target, model: [large, gpt-4o, twin-a, twin-b, small, shared-upstream, legacy-name]}
    route: $requested
    fallbacks: [small]
  - name: spread
    when: {model: [spread, legacy-name]}
    candidates: [large, mystery, twin-a, small]
    strategy: weighted
    weights: {large: 5, mystery: 2.5, twin-a: 0.5, small: 1}
  - name: best
    when: {model: [best], prompt_tokens: {max: 100000}}
    candidates: [mystery, large, twin-b, small]
    strategy: highest_capability
    fallbacks: [gpu]
  - name: fast
    when: {model: [fast], complexity_score: {max: 0.9}}
    candidates: [small, gpu, large]
    strategy: fastest
    fallbacks: [twin-b, small]
  - name: rest
    candidates: [small, twin-b, large, mystery, gpu]
    strategy: cheapest
    fallbacks: [twin-a]
""",
    """
name: no-aliases
targets:
  a: {provider: openai, model: gpt-4o-mini, capabilities: [tools, json], context_window: 128000,
      internal: false}
  b: {provider: vllm, model: b-model, context_window: 2000, internal: true,
      price: {input_per_million: 0, output_per_million: 0}}
rules:
  - name: sensitive
    when: {sensitivity_at_least: medium}
    route: b
  - name: only-b-model
    when: {model: [b-model, ghost]}
    route: $requested
  - name: to-a
    when: {requested: target}
    route: $requested
    fallbacks: [b]
  - name: never
    when: {complexity_at_least: high, needs: [images]}
    route: a
""",
    # Not valid (the checks refuse it), but a Policy object all the same: decide() must cope the same way.
    """
name: unchecked
targets:
  in: {provider: vllm, model: in-model, capabilities: [json], context_window: 3000, internal: true,
       price: {input_per_million: 0.1, output_per_million: 0.1}}
  out: {provider: openai, model: gpt-4o, capabilities: [tools, json, vision], context_window: 128000,
        internal: false}
aliases: [auto, ghosts, weights]
rules:
  - name: ghosts
    when: {model: [ghosts]}
    candidates: [ghost, in, $requested, out, in]
    strategy: cheapest
    fallbacks: [ghost2, out, in]
  - name: weights
    when: {model: [weights]}
    candidates: [out, in, ghost]
    strategy: weighted
    weights: {out: 0, in: -1, ghost: 3}
  - name: empty
    when: {team: [empty]}
    candidates: []
    strategy: fastest
  - name: route-ghost
    when: {team: [ghost]}
    route: ghost
    fallbacks: [out]
  - name: leaky
    when: {sensitivity_at_least: low}
    route: out
    fallbacks: [in, out]
  - name: block-internal
    when: {key_id: [blocked]}
    block: {message: go away, status: 451}
    internal_only: true
  - name: requested-anything
    route: $requested
""",
]

SENSITIVITIES = [
    Sensitivity("none"),
    Sensitivity("low", (SensitiveFinding("person", "personal", 0.6),)),
    Sensitivity("medium", (SensitiveFinding("email", "personal", 0.95, 2),)),
    Sensitivity("high", (SensitiveFinding("api_key", "secret", 0.99),)),
    Sensitivity("medium", (SensitiveFinding("marker:project", "confidential", 1.0),)),
    Sensitivity(
        "high",
        (SensitiveFinding("iban", "personal", 0.9), SensitiveFinding("password", "secret", 0.8)),
    ),
    Sensitivity("low"),  # a level without findings
    Sensitivity("severe", (SensitiveFinding("ssn", "personal", 0.9),)),  # type: ignore[arg-type]  # unknown level
]
TIERS = ["low", "medium", "high", "extreme"]  # the last is unknown: fails safe
SCORES = {"low": [0.05, 0.3], "medium": [0.3, 0.5, 0.6], "high": [0.85, 0.95], "extreme": [0.99]}
TASKS = ["qa", "code", "math", "extraction", "summarisation", "chit_chat"]
DOMAINS = ["general", "law", "medicine", "finance"]
FLAGS = [
    {},
    {},
    {"tools": True},
    {"json_mode": True},
    {"images": True},
    {"long_context": True},
    {"tools": True, "images": True},
    {"tools": True, "json_mode": True, "images": True, "long_context": True},
]
LAZINESS = ["eager", "eager", "bound", "unbounded", "needs-known"]


def _policies() -> list[tuple[str, Policy]]:
    found: list[tuple[str, Policy]] = [("default.yaml", must_load(DEFAULT_POLICY.read_text()))]
    for path in sorted((REPO / "router_policies" / "examples").glob("*.yaml")):
        found.append((path.name, must_load(path.read_text())))
    for text in EXTRA_POLICIES:
        policy = Policy.model_validate(yaml.safe_load(text))
        found.append((policy.name, policy))
    for i, data in enumerate(yaml.safe_load_all(HARVESTED.read_text())):
        found.append((f"harvested-{i:02d}-{data['name']}", Policy.model_validate(data)))
    return found


POLICIES = _policies()


def _whens(when: When) -> Iterator[When]:
    yield when
    for branch in when.any_of or ():
        yield from _whens(branch)


def _rule_whens(policy: Policy) -> Iterator[When]:
    for rule in policy.rules:
        yield from _whens(rule.when)


def _requested_models(policy: Policy) -> list[str]:
    names = [*policy.aliases, *policy.targets, *(t.model for t in policy.targets.values())]
    for when in _rule_whens(policy):
        names.extend(when.model or ())
    names += ["auto", "smart", "cheap", "best", "gpt-4o", "unknown-model", "$requested", ""]
    return list(dict.fromkeys(names))


def _principals(policy: Policy) -> list[Principal]:
    def make(
        key_id: str = "key_1",
        name: str = "ci-bot",
        team: str = "platform",
        allowed: frozenset[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Principal:
        return Principal(key_id, name, team, frozenset({"chat"}), allowed, metadata=metadata or {})

    targets = list(policy.targets.items())
    found = [
        make(),
        make(team="growth"),
        make(allowed=frozenset()),
        make(allowed=frozenset({targets[0][0]})),
        make(allowed=frozenset({targets[-1][1].model})),
        make(allowed=frozenset(name for name, _ in targets[1:])),
        make(metadata={"desk": ["unhashable"]}),
    ]
    for when in _rule_whens(policy):
        for key_id in when.key_id or ():
            found.append(make(key_id=key_id))
        for name in when.key_name or ():
            found.append(make(name=name))
            for team in when.team or ():
                found.append(make(name=name, team=team, allowed=frozenset({targets[0][0]})))
        for team in when.team or ():
            found.append(make(team=team))
        if when.metadata:
            first = {k: (v[0] if isinstance(v, list | tuple) else v) for k, v in when.metadata.items()}
            found.append(make(metadata=first))
            found.append(make(metadata={k: "other" for k in when.metadata}))
            found.append(make(metadata=dict(list(first.items())[:1])))
    return found


def _stats(policy: Policy) -> list[dict[str, TargetStats]]:
    names = list(policy.targets)
    rate = policy.settings.unhealthy_error_rate
    latencies = [800.0, 250.0, 600.0, 120.0, 2000.0, 40.0, 300.0]
    healthy = {n: TargetStats(latencies[i % len(latencies)]) for i, n in enumerate(names)}
    mixed: dict[str, TargetStats] = {}
    states: list[TargetStats] = [
        TargetStats(500.0, circuit="open"),
        TargetStats(None),
        TargetStats(90.0, error_rate=rate),
        TargetStats(float("nan"), circuit="half_open"),
        TargetStats(300.0, error_rate=rate - 0.01),
        TargetStats(70.0, error_rate=0.99, circuit="open"),
    ]
    for i, n in enumerate(names):
        mixed[n] = states[i % len(states)]
    all_open = {n: TargetStats(100.0, circuit="open") for n in names}
    ties = {n: TargetStats(100.0) for n in names[::2]}
    return [{}, {}, healthy, mixed, all_open, ties, {names[0]: TargetStats(1.0, error_rate=1.0)}]


def _prompt_sizes(policy: Policy) -> list[int]:
    sizes = [1, 200, 5_000, 300_000]
    for window in {t.context_window for t in policy.targets.values()}:
        sizes += [window - 300, window - 299, window - OUTPUT_CEILING, window - OUTPUT_CEILING + 1]
    return [s for s in sizes if s >= 0]


ClassificationFactory = Callable[[], tuple[Classification, list[int]]]


def _classification_factory(
    sensitivity: Sensitivity,
    tier: str,
    score: float,
    task: str,
    domain: str,
    prompt_tokens: int,
    flags: dict[str, bool],
    laziness: str,
) -> ClassificationFactory:
    """Builds a fresh record per call (a lazy one remembers being judged), with a counter of judgements."""
    needs = Needs(prompt_tokens, 300, **flags)
    bound = Needs(prompt_tokens, OUTPUT_CEILING, **flags)
    complexity = Complexity(score, tier)  # type: ignore[arg-type]

    def build() -> tuple[Classification, list[int]]:
        calls = [0]

        def assess() -> tuple[Complexity, str, str, Needs, dict[str, object]]:
            calls[0] += 1
            return complexity, task, domain, needs, {"assessed": True}

        if laziness == "eager":
            return Classification(sensitivity, complexity, task, domain, needs), calls
        if laziness == "bound":
            return Classification(sensitivity, assess=assess, needs_bound=bound), calls
        if laziness == "unbounded":
            return Classification(sensitivity, assess=assess), calls
        return Classification(sensitivity, needs=needs, assess=assess), calls

    return build


def _observed(decision: Any) -> str:
    """Every field as text (so a list where a tuple was, or 1 where True was, shows)."""
    refusal = decision.refusal
    return repr(
        (
            type(decision).__name__,
            decision.target,
            decision.fallbacks,
            decision.rule,
            decision.policy_name,
            decision.policy_version,
            decision.requested_model,
            decision.sensitive,
            tuple((type(t).__name__, t.index, t.rule, t.matched, t.failed) for t in decision.trace),
            decision.steps,
            None
            if refusal is None
            else (type(refusal).__name__, refusal.status, refusal.message, refusal.code),
            decision.blocked,
            decision.chain,
        )
    )


def _as_live(ref: Any) -> Decision:
    """The reference's decision rebuilt with the live classes, to compare by equality."""
    refusal = ref.refusal
    return Decision(
        target=ref.target,
        fallbacks=ref.fallbacks,
        rule=ref.rule,
        policy_name=ref.policy_name,
        policy_version=ref.policy_version,
        requested_model=ref.requested_model,
        sensitive=ref.sensitive,
        trace=tuple(RuleTrace(t.index, t.rule, t.matched, t.failed) for t in ref.trace),
        steps=ref.steps,
        refusal=None if refusal is None else Refusal(refusal.status, refusal.message, refusal.code),
    )


def _run(
    fn: Callable[..., Any], policy: Policy, build: ClassificationFactory, seed: int | None, **kw: Any
) -> Any:
    classification, calls = build()
    if seed is None:
        random.seed(1234)  # rng=None draws from the module's generator
        rng = None
    else:
        rng = random.Random(seed)
    try:
        outcome: Any = fn(policy, classification, rng=rng, **kw)
    except Exception as exc:  # the same exception, if any, is part of "the same"
        outcome = exc
    state = (rng or random).getstate()
    return outcome, (classification.assessed, calls[0]), state


def _check(policy: Policy, build: ClassificationFactory, seed: int | None, label: str, **kw: Any) -> None:
    expected, expected_lazy, expected_rng = _run(reference.decide, policy, build, seed, **kw)
    for attempt in ("first", "second"):
        got, got_lazy, got_rng = _run(decide, policy, build, seed, **kw)
        where = f"{label} ({attempt} call)"
        if isinstance(expected, Exception) or isinstance(got, Exception):
            assert (type(got), str(got)) == (type(expected), str(expected)), where
            continue
        assert _observed(got) == _observed(expected), where
        assert got == _as_live(expected), where
        assert decision_to_dict(got) == decision_to_dict(_as_live(expected)), where
        assert got_lazy == expected_lazy, f"{where}: (assessed, judgements) differ"
        assert got_rng == expected_rng, f"{where}: used the random generator differently"


def _cases(
    policy: Policy, seed: int, per_pair: int
) -> Iterator[tuple[str, ClassificationFactory, dict[str, Any], int | None]]:
    rnd = random.Random(seed)
    principals = _principals(policy)
    stats = _stats(policy)
    sizes = _prompt_sizes(policy)
    for model in _requested_models(policy):
        for s_index, sensitivity in enumerate(SENSITIVITIES):
            for _ in range(per_pair):
                tier = rnd.choice(TIERS)
                fields = (
                    sensitivity,
                    tier,
                    rnd.choice(SCORES[tier]),
                    rnd.choice(TASKS),
                    rnd.choice(DOMAINS),
                    rnd.choice(sizes),
                    rnd.choice(FLAGS),
                    rnd.choice(LAZINESS),
                )
                principal = rnd.choice(principals)
                target_stats = rnd.choice(stats)
                rng_seed = rnd.choice([None, rnd.randrange(1 << 30)])
                kw = {"principal": principal, "requested_model": model, "target_stats": target_stats}
                label = f"model={model!r} sensitivity#{s_index} fields={fields[1:]} {principal}"
                yield label, _classification_factory(*fields), kw, rng_seed


@pytest.mark.parametrize(("label", "policy"), POLICIES, ids=[name for name, _ in POLICIES])
def test_decide_matches_the_reference(label: str, policy: Policy) -> None:
    # The shipped policies get a denser grid than the ones the other tests use.
    per_pair = 40 if not label.startswith("harvested") else 4
    count = 0
    for case_label, build, kw, rng_seed in _cases(policy, seed=len(label) * 7919 + 1, per_pair=per_pair):
        _check(policy, build, rng_seed, case_label, **kw)
        count += 1
    assert count >= 100


def test_policies_interleaved() -> None:
    """Decisions for several policies in turn, so nothing cached for one policy leaks into another."""
    rnd = random.Random(99)
    pool = [(policy, list(_cases(policy, seed=i, per_pair=1))) for i, (_, policy) in enumerate(POLICIES[:12])]
    for _ in range(3000):
        policy, cases = rnd.choice(pool)
        case_label, build, kw, rng_seed = rnd.choice(cases)
        _check(policy, build, rng_seed, case_label, **kw)


def test_a_changed_policy_is_not_confused_with_the_old_one() -> None:
    """Policies are immutable, but a new version of one arrives as a new object with the same name."""
    text = DEFAULT_POLICY.read_text()
    build = _classification_factory(SENSITIVITIES[0], "low", 0.1, "qa", "general", 200, {}, "eager")
    kw: dict[str, Any] = {"principal": Principal("k", "n", "t", frozenset(), None), "target_stats": {}}
    for i in range(20):
        edited = must_load(text.replace("strategy: cheapest", "strategy: fastest") if i % 2 else text)
        for model in ("auto", "cheap", "gpt-4o", "smart"):
            _check(edited, build, None, f"version {i} {model}", requested_model=model, **kw)
