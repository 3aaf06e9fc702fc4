"""RouteLLM's MMLU per-prompt correctness (../shared/data/routing), read in place, never copied."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "routing"
WEAK_MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
STRONG_MODEL = "gpt-4-1106-preview"


@dataclass(frozen=True, slots=True)
class RoutingExample:
    subject: str
    prompt: str
    weak_correct: bool
    strong_correct: bool


def contaminated_prompts(data_dir: Path = DATA_DIR) -> set[str]:
    """Prompts that overlap RouteLLM's training data: both sides of each listed pair are left out."""
    prompts: set[str] = set()
    for line in (data_dir / "mmlu_contaminated_prompts.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            prompts.update(p.strip() for p in (record.get("eval_prompt"), record.get("train_prompt")) if p)
    return prompts


def load_examples(data_dir: Path = DATA_DIR) -> list[RoutingExample]:
    """Every non-contaminated prompt of every subject, in file order."""
    excluded = contaminated_prompts(data_dir)
    examples: list[RoutingExample] = []
    for path in sorted((data_dir / "mmlu").glob("mmlu_*.csv")):
        subject = path.stem.removeprefix("mmlu_")
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["prompt"].strip() in excluded:
                    continue
                examples.append(
                    RoutingExample(
                        subject=subject,
                        prompt=row["prompt"],
                        weak_correct=row[WEAK_MODEL] == "True",
                        strong_correct=row[STRONG_MODEL] == "True",
                    )
                )
    return examples
