"""Operator-defined confidential markers."""

from __future__ import annotations

import pytest

from gateway.classify import Classifier, ConfidentialMarker, detect_sensitivity
from gateway.classify.markers import compile_marker, find_markers

FALCON = ConfidentialMarker(name="project-x", terms=["Project Falcon"], patterns=[r"ACME-\d{4}"])


def found(text: str, marker: ConfidentialMarker = FALCON) -> list[str]:
    return [hit.kind for hit in find_markers(text, [compile_marker(marker)])]


def test_terms_match_whole_words_case_insensitively_across_line_breaks() -> None:
    assert found("status of project falcon?") == ["marker:project-x"]
    assert found("Project\n  Falcon budget") == ["marker:project-x"]
    assert found("Project Falconry club") == []


def test_patterns_match() -> None:
    assert found("ticket ACME-1234 is open") == ["marker:project-x"]
    assert found("ticket ACME-12 is open") == []


def test_case_sensitive_marker() -> None:
    marker = ConfidentialMarker(name="codename", terms=["Kestrel"], case_sensitive=True)
    assert found("Kestrel launch", marker) == ["marker:codename"]
    assert found("kestrel launch", marker) == []


def test_bad_pattern_raises_a_clear_error() -> None:
    with pytest.raises(ValueError, match="project-y"):
        compile_marker(ConfidentialMarker(name="project-y", patterns=["(unclosed"]))


def test_marker_needs_a_name() -> None:
    with pytest.raises(ValueError):
        compile_marker(ConfidentialMarker(name="", terms=["x"]))


def test_empty_terms_are_ignored() -> None:
    assert found("anything", ConfidentialMarker(name="blank", terms=["", "  "])) == []


def test_markers_make_a_request_confidential() -> None:
    classifier = Classifier(markers=[FALCON])
    result = classifier.classify(
        {"messages": [{"role": "user", "content": "Summarise Project Falcon's plan"}]}
    )
    assert result.sensitivity.level == "high"
    finding = next(f for f in result.sensitivity.findings if f.kind == "marker:project-x")
    assert finding.category == "confidential"
    assert detect_sensitivity("ACME-0001 shipped", markers=[FALCON]).kinds() == {"marker:project-x"}
