"""Routing decisions of the default policy for a fixed set of prompts, as a table.

`python -m evals.routing.decisions` prints markdown and writes its section of evals/RESULTS.md. The same
classifier and `decide` as the chat path (no network, no upstream): what each prompt would be sent to,
by which rule, with which fallbacks — the quickest way to see what a policy edit changes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evals.pii.machine import machine_header
from evals.results import write_section
from gateway.auth.principal import Principal
from gateway.classify import Classifier
from gateway.classify import ConfidentialMarker as ClassifierMarker
from gateway.routing import decide, load_policy_file

POLICY = Path(__file__).resolve().parents[2] / "router_policies" / "default.yaml"

# (requested model, prompt)
PROMPTS: list[tuple[str, str]] = [
    ("auto", "hi"),
    ("auto", "What is the capital of France?"),
    ("auto", "Translate 'good morning' into Spanish."),
    ("auto", "Summarise this paragraph: The meeting moved to Tuesday because the room was booked."),
    ("auto", "Write a haiku about autumn leaves."),
    ("auto", "Write a Python function that reverses a linked list."),
    ("auto", "Prove that the square root of 2 is irrational, step by step."),
    ("auto", "Derive the closed form of the sum of the first n cubes and prove it by induction."),
    ("auto", "Explain the difference between TCP and UDP for a junior engineer."),
    ("auto", "My card number is 4111 1111 1111 1111, why was it declined?"),
    ("auto", "Email jane.doe@example.com the invoice and call her at +44 20 7946 0958."),
    ("auto", "Here is our AWS key AKIAIOSFODNN7EXAMPLE, why does S3 refuse it?"),
    ("auto", "Summarise the Project Bluebird roadmap for the board."),
    ("gpt-4o", "Give me three name ideas for a bakery."),
    ("gpt-4o", "My SSN is 123-45-6789, fill in the form."),
    ("claude-sonnet-4-5", "Review this code for bugs: def f(x): return x/0"),
    ("smart", "What is 2 + 2?"),
    ("cheap", "Implement a red-black tree in Rust with deletion."),
    ("auto", "Describe this image in detail. [image attached]"),
]


def render() -> str:
    policy = load_policy_file(POLICY)
    assert not isinstance(policy, list), policy
    classifier = Classifier(markers=[ClassifierMarker(**m.model_dump()) for m in policy.confidential_markers])
    principal = Principal(
        key_id="eval", name="eval", team="eval", scopes=frozenset({"chat"}), allowed_models=None
    )
    lines = [
        machine_header(),
        "",
        f"Policy: `router_policies/default.yaml`; {len(PROMPTS)} prompts; no live target statistics (so "
        "'fastest' keeps the listed order).",
        "",
        "| model | prompt | sensitivity | task | complexity | rule | target | fallbacks |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, prompt in PROMPTS:
        content: object = prompt
        if "[image attached]" in prompt:
            content = [
                {"type": "text", "text": prompt},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]
        c = classifier.classify({"model": model, "messages": [{"role": "user", "content": content}]})
        d = decide(policy, c, principal=principal, requested_model=model, target_stats={})
        shown = prompt if len(prompt) <= 60 else prompt[:57] + "…"
        target = d.target or f"refused: {d.refusal.code if d.refusal else '?'}"
        kinds = ",".join(sorted(c.sensitivity.kinds())) or "-"
        fallbacks = ", ".join(d.fallbacks) or "-"
        lines.append(
            f"| {model} | {shown.replace('|', '/')} | {c.sensitivity.level} ({kinds}) | {c.task} | "
            f"{c.complexity.tier} {c.complexity.score:.2f} | {d.rule} | {target} | {fallbacks} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    text = render()
    print(text)
    if not args.no_write:
        write_section("Routing decisions of the default policy (python -m evals.routing.decisions)", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
