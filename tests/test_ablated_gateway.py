"""evals/ablated_gateway.py takes a service's cost out, not its result: a remembered result is returned only
for the argument it was computed for, and every other argument is computed as usual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evals.ablated_gateway import ABLATIONS, _remember_first, ablate

REPO = Path(__file__).resolve().parent.parent


def test_a_remembered_result_is_only_returned_for_the_same_argument() -> None:
    calls: list[str] = []

    def compute(_self: object, text: str) -> str:
        calls.append(text)
        return text.upper()

    remembered = _remember_first(compute)
    assert remembered(None, "a") == "A"
    assert remembered(None, "a") == "A"
    assert calls == ["a"]  # the second call was not computed
    assert remembered(None, "b") == "B"
    assert remembered(None, "b") == "B"
    assert calls == ["a", "b", "b"]  # only the first argument is remembered
    assert remembered(None, "a") == "A"
    assert calls == ["a", "b", "b"]


def test_an_unknown_ablation_is_refused() -> None:
    with pytest.raises(SystemExit, match="ABLATE must be one of"):
        ablate("everything")


# Run in a fresh interpreter: ablate() patches the gateway's classes for the whole process.
_SAME_CLASSIFICATION = """
import sys
from evals.ablated_gateway import ablate
from gateway.classify.classifier import Classifier
plain = Classifier()
expected = [plain.classify(body) for body in BODIES]
ablate(sys.argv[1])
ablated = Classifier()
for _ in range(2):
    got = [ablated.classify(body) for body in BODIES]
    for g, e in zip(got, expected):
        for field in ("sensitivity", "task", "domain", "needs", "extra"):
            assert getattr(g, field) == getattr(e, field), (field, getattr(g, field), getattr(e, field))
        assert g.complexity.score == e.complexity.score
print("same")
"""
_BODIES = """BODIES = [
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello in five words."}]},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "My SSN is 123-45-6789, fill it in."}]},
    {"model": "gpt-4o", "messages": [{"role": "user", "content": "Email jane.doe@example.com the invoice."}]},
]
"""


@pytest.mark.parametrize("name", ["classification", "sensitivity", "tokens", "request-text"])
def test_the_remembering_ablations_classify_every_request_as_shipped(name: str) -> None:
    assert name in ABLATIONS
    script = _BODIES + _SAME_CLASSIFICATION
    done = subprocess.run(
        [sys.executable, "-c", script, name], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("same")
