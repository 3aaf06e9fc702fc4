"""Credentials: key formats, private keys, passwords, connection strings; placeholders are not secrets."""

from __future__ import annotations

import pytest

from gateway.classify.secrets import find_secrets
from gateway.classify.sensitivity import SensitivityDetector


def kinds(text: str) -> set[str]:
    return {hit.kind for hit in find_secrets(text) if hit.confidence >= 0.5}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("key sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", "openai_api_key"),
        ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345", "anthropic_api_key"),
        ("aws AKIAIOSFODNN7EXAMPLE here", "aws_access_key"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github_token"),
        ("xoxb-123456789012-abcdefghijkl", "slack_token"),
        ("AIzaSyA1234567890abcdefghijklmnopqrstuv", "google_api_key"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow...", "private_key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "private_key"),
        ("postgres://admin:s3cr3t@db.internal:5432/app", "connection_string"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456", "bearer_token"),
        ("password: hunter2!", "password"),
        ("my password is Tr0ub4dor&3", "password"),
        ('api_key = "9f8e7d6c5b4a"', "credential"),
    ],
)
def test_secret_formats(text: str, kind: str) -> None:
    assert kind in kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "password: ********",
        "api_key = ${OPENAI_API_KEY}",
        "token: <your-token>",
        "password = os.environ['DB_PASSWORD']",
        "the token is valid until noon",
        "Ask the sk- prefix question",
        "postgres://db.internal:5432/app",
    ],
)
def test_placeholders_and_prose_are_not_secrets(text: str) -> None:
    assert kinds(text) == set()


def test_a_secret_makes_the_prompt_highly_sensitive(detector: SensitivityDetector) -> None:
    result = detector.detect("use AKIAIOSFODNN7EXAMPLE for the bucket")
    assert result.level == "high"
    assert result.categories() == {"secret"}
