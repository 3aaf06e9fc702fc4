"""Classifier latency for a ~300-token chat request on one core: p50/p99 of wall and CPU time.

`python -m evals.pii.latency` prints a markdown section; evals.pii.run includes it in its report."""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from gateway.classify import Classifier

# A support-style prompt with names, an address, a phone, an e-mail and a question: every detector works.
PARAGRAPH = (
    "Hello, I'm writing about my account. My colleague Maria Gonzalez said the invoice for the spring "
    "project was sent to 221 Baker Street, London NW1 6XU last week. Could you explain why the total differs "
    "from the quote? The contract says the fee is 4,500 EUR per month, payable within 30 days, and our "
    "finance team in Berlin needs a summary of the differences, step by step, with the relevant clauses. "
    "Please also check whether the late payment interest of 8% above the base rate applies here, given that "
    "the delay was caused by your system outage on 12 March. If it helps, my phone number is "
    "+44 20 7946 0958 and my email is maria.gonzalez@example.com. "
)


# An exam-style question (a passage, a stem, lettered options): the complexity model's full path,
# token-embedding feature included, which the support request above does not take.
EXAM = (
    "This question refers to the following information.\n"
    '"The policy of the government toward the railroads in the decades after the war was shaped less by '
    "any settled theory than by the pressure of farmers, shippers and towns who found themselves at the "
    "mercy of a single line. State commissions were created to fix maximum rates, to forbid discrimination "
    "between places and persons, and to publish schedules; the courts at first upheld these laws as a "
    "proper exercise of the police power, then narrowed them, holding that a rate so low as to deny a fair "
    "return on the value of the property was a taking without due process. Congress, pressed from both "
    "sides, finally created a federal commission whose powers were for many years more nominal than real, "
    "since its orders could be enforced only by suit and its findings were re-examined by the courts. "
    'Only when later statutes let it set rates did the commission become what its founders had hoped."\n'
    "Which of the following best explains why the federal commission described in the passage was at first "
    "ineffective in regulating railroad rates?\n"
    "A. Its members were appointed by the railroads themselves and answered to their shareholders.\n"
    "B. Its orders required court enforcement, and the courts reviewed its findings of fact anew.\n"
    "C. The states refused to share jurisdiction over lines that crossed their borders.\n"
    "D. The Constitution gave Congress no power to regulate commerce carried on by private corporations.\n"
    "Answer:"
)


def request(repeat: int = 2, text: str = PARAGRAPH) -> dict[str, Any]:
    return {
        "model": "any",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": text * repeat},
        ],
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(classifier: Classifier, body: dict[str, Any], runs: int = 2000) -> dict[str, float]:
    for _ in range(100):  # warm caches and lazy compiles
        classifier.classify(body)
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.thread_time()
        classifier.classify(body)
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    return {
        "wall_p50": percentile(wall, 0.5) * 1e3,
        "wall_p99": percentile(wall, 0.99) * 1e3,
        "cpu_p50": percentile(cpu, 0.5) * 1e3,
        "cpu_p99": percentile(cpu, 0.99) * 1e3,
        "cpu_mean": statistics.fmean(cpu) * 1e3,
    }


def render() -> str:
    started = time.perf_counter()
    classifier = Classifier()
    build = time.perf_counter() - started
    lines = [
        "## Classifier latency",
        "",
        f"One process, one thread; `Classifier()` built once in {build * 1e3:.0f} ms (lexicon, patterns, "
        f"tokenizer). Load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(shared machine: wall times include waiting for a core, CPU times do not).",
        "",
        "| prompt | prompt tokens | wall p50 (ms) | wall p99 (ms) | CPU p50 (ms) | CPU p99 (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for name, body, runs in (
        ("support request x2", request(2), 2000),
        ("exam question with a passage", request(1, EXAM), 2000),
        ("support request x20", request(20), 200),
    ):
        tokens = classifier.classify(body).needs.prompt_tokens
        result = measure(classifier, body, runs)
        lines.append(
            f"| {name} | {tokens} | {result['wall_p50']:.2f} | {result['wall_p99']:.2f} "
            f"| {result['cpu_p50']:.2f} | {result['cpu_p99']:.2f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render())
