"""Credentials in a prompt: provider API keys, private keys, passwords and connection strings."""

from __future__ import annotations

import re
from collections.abc import Iterator

from gateway.classify.hits import Hit

# (kind, literal that must occur, pattern, confidence): token formats published by each provider. The
# literal (checked in the lowercased text) skips a pattern cheaply when it cannot match; the AWS key,
# without one, has AWS_KEY_GATE.
TOKEN_PATTERNS: tuple[tuple[str, str, re.Pattern[str], float], ...] = (
    ("anthropic_api_key", "sk-ant-", re.compile(r"\bsk-ant-[a-z0-9]{2,8}-[A-Za-z0-9_-]{20,}"), 0.99),
    ("openai_api_key", "sk-", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), 0.95),
    ("aws_access_key", "", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"), 0.95),
    ("github_token", "gh", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}\b"), 0.98),
    ("github_token", "github_pat_", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}\b"), 0.98),
    ("gitlab_token", "glpat-", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"), 0.98),
    ("slack_token", "xox", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), 0.95),
    (
        "slack_webhook",
        "hooks.slack.com",
        re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}"),
        0.95,
    ),
    ("google_api_key", "aiza", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), 0.95),
    ("stripe_key", "k_", re.compile(r"\b[rsp]k_(?:live|test)_[0-9a-zA-Z]{16,}\b"), 0.95),
    ("huggingface_token", "hf_", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), 0.9),
    ("npm_token", "npm_", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), 0.95),
    ("jwt", "eyj", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), 0.9),
    (
        "private_key",
        "private key",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
        0.99,
    ),
    (
        "connection_string",
        "://",
        re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@\"']{1,64}:[^\s@/\"']{1,128}@[\w.-]+"),
        0.95,
    ),
    ("bearer_token", "bearer", re.compile(r"(?i)\bauthorization:\s*bearer\s+[A-Za-z0-9._~+/=-]{20,}"), 0.9),
    (
        "aws_secret_key",
        "aws_secret_access_key",
        re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}"),
        0.95,
    ),
)

# The AWS key pattern has no lowercase literal to check: this one finds its prefixes (re skips to each "A"
# in C, where the pattern's leading \b makes it try every position).
AWS_KEY_GATE = re.compile(r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)")
# A single character is found far faster than a word ("_" in text runs memchr): each literal is checked
# only when its least common character occurs.
_RARE_FIRST = "_:-.xjzqkvywbgfpmhcudlrsnoitea "


def _rarest(literal: str) -> str:
    return min(literal, key=lambda ch: _RARE_FIRST.find(ch) % len(_RARE_FIRST)) if literal else ""


_LITERAL_KEYS = {literal: _rarest(literal) for _, literal, _, _ in TOKEN_PATTERNS}

# "password: hunter2", "api_key = '...'", "my password is ...": a credential word, then a value.
ASSIGNED_SECRET = re.compile(
    r"(?i)\b(?P<what>password|passwd|pwd|passcode|passphrase|pin|secret|client[_-]?secret|api[_-]?key"
    r"|access[_-]?key|secret[_-]?key|auth[_-]?token|access[_-]?token|refresh[_-]?token|private[_-]?key|token)"
    r"\b['\"]?\s*(?::|=|:=|=>|\bis\b)\s*['\"]?(?P<value>[^\s'\",;]{4,})"
)
SECRET_WORDS = ("pass", "pwd", "pin", "secret", "key", "token")
# In lowered ASCII text, what every ASSIGNED_SECRET match contains: the end of its credential word (each
# ends in one of these) and what follows it. "passage", "opinion" or "monkey" pass SECRET_WORDS but not
# this, which costs a tenth of ASSIGNED_SECRET.
ASSIGNED_SECRET_GATE = re.compile(
    r"(?:password|passwd|pwd|passcode|passphrase|pin|secret|key|token)\b['\"]?\s*(?::|=|is\b)"
)
# Values that show the shape of a secret without being one.
PLACEHOLDER = re.compile(
    r"(?i)^(?:\*+|x+|\.+|<[^>]*>|\$\{?[\w.]+\}?|%\(?\w+\)?s?|\{\{?[^}]*\}\}?|your[_-].*|changeme|example\w*"
    r"|placeholder|none|null|true|false|required|optional|string|env\[.*|os\.environ.*|getenv.*|process\.env.*"
    r"|redacted|hidden|secret|password|undefined|\?+|-+|_+)$"
)


def find_secrets(text: str) -> Iterator[Hit]:
    """Every credential-looking span in text."""
    lowered = text.lower()
    for kind, literal, pattern, confidence in TOKEN_PATTERNS:
        if literal:
            if _LITERAL_KEYS[literal] not in lowered or literal not in lowered:
                continue
        elif kind == "aws_access_key" and not AWS_KEY_GATE.search(text):
            continue
        for match in pattern.finditer(text):
            yield Hit(kind, "secret", confidence, match.start(), match.end())
    if not any(word in lowered for word in SECRET_WORDS):
        return
    if text.isascii() and not ASSIGNED_SECRET_GATE.search(lowered):
        return  # (in other text, (?i) matches more than lowering does: "ſ" is an "s")
    for match in ASSIGNED_SECRET.finditer(text):
        value = match.group("value")
        if PLACEHOLDER.match(value):
            continue
        what = match.group("what").lower()
        kind = "password" if what.startswith(("pass", "pwd", "pin")) else "credential"
        # A bare word after "is" ("the token is valid") is prose more often than a secret.
        prose = " is" in match.group().lower() and value.isalpha() and value.islower()
        yield Hit(kind, "secret", 0.45 if prose else 0.85, match.start("value"), match.end("value"))
