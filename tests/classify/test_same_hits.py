"""Every hit of every detector over the shared data, pinned: speed work on the detectors must not change
what they find. Each kind's hits (text number, confidence, span) are hashed, so the expectations stay
small and the data stays out of the repository.

When a rule changes on purpose, update EXPECTED from the test's failure message. To see which texts
changed, record the hits before the change and check after it: `python -m evals.pii.same_hits` (it covers
more texts: test literals, case variants and synthetic sentences)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import pytest

from evals.pii.same_hits import SHARED, shared_texts
from gateway.classify.sensitivity import SensitivityDetector

# kind -> (number of hits, sha256 prefix of the hits), over the texts of pinned_texts().
EXPECTED: dict[str, tuple[int, str]] = {
    "address": (2017, "23eedb53021136c4"),
    "card_number": (20, "c5bbecd0fa39b256"),
    "date_of_birth": (4, "17cf22ac8556c9dd"),
    "driver_license": (2, "51eccc182bfce97d"),
    "email": (4, "adf1fb959bf544c9"),
    "ip_address": (4, "47a99f8e8f728971"),
    "national_id": (2, "17949b97249c9407"),
    "person": (9625, "d2acb4bb618529ff"),  # 2026-11-29: lone first names after "in"/"near" are places (0.4)
    "phone": (50, "739896035636fd8c"),
    "us_ssn": (12, "fcdd8244589f14e3"),
}


def pinned_texts() -> list[str]:
    """Each shared text as written and lowercased (all-lowercase text takes other name rules)."""
    texts: dict[str, None] = {}
    for text in shared_texts():
        texts.setdefault(text, None)
        texts.setdefault(text.lower(), None)
    return list(texts)


def digests(detector: SensitivityDetector, texts: list[str]) -> dict[str, tuple[int, str]]:
    hashes: dict[str, Any] = defaultdict(hashlib.sha256)
    counts: dict[str, int] = defaultdict(int)
    for number, text in enumerate(texts):
        for hit in detector.hits(text):
            hashes[hit.kind].update(
                f"{number}:{hit.category}:{hit.confidence!r}:{hit.start}:{hit.end};".encode()
            )
            counts[hit.kind] += 1
    return {kind: (counts[kind], hashes[kind].hexdigest()[:16]) for kind in sorted(hashes)}


@pytest.mark.skipif(
    not (SHARED / "routing" / "mmlu").is_dir(), reason="shared data (../shared/data) is absent"
)
def test_hits_over_the_shared_data_are_unchanged(detector: SensitivityDetector) -> None:
    found = digests(detector, pinned_texts())
    assert found == EXPECTED, f"hits changed; if on purpose, EXPECTED = {found!r}"
