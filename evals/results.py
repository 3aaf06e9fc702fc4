"""evals/RESULTS.md is made of sections, one per eval; each run replaces its own section."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = (
    "# Evaluation and benchmark results\n\nEach section is rewritten by the command named in its title.\n"
)


def write_section(title: str, body: str, *, path: Path = RESULTS) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = re.sub(r"(?m)^#{1,2} ", "### ", body)  # a section's own headings sit one level below its title
    section = f"## {title}\n\n_Run {stamp}._\n\n{body.strip()}\n"
    text = path.read_text() if path.exists() else HEADER
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text.rstrip() + "\n")


def without_heading(text: str) -> str:
    """A rendered report less its own first heading (the section title in RESULTS.md replaces it)."""
    lines = text.splitlines()
    return "\n".join(lines[1:] if lines and lines[0].startswith("#") else lines)
