"""Policy texts for the tests: the shipped default, renamed or edited."""

from __future__ import annotations

import json
import secrets
from typing import Any

import yaml

from tests.support import REPO

DEFAULT_YAML_PATH = REPO / "router_policies" / "default.yaml"
YAML = {"Content-Type": "application/yaml"}
JSON = {"Content-Type": "application/json"}


def default_text() -> str:
    return DEFAULT_YAML_PATH.read_text(encoding="utf-8")


def unique_name(prefix: str = "p") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def policy_yaml(name: str, *, description: str | None = None) -> str:
    """The default policy as YAML text under another name (comments kept), optionally re-described."""
    text = default_text().replace("name: default\n", f"name: {name}\n", 1)
    if description is not None:
        start = text.index("description: >-")
        end = text.index("\nsettings:")
        text = text[:start] + f"description: {json.dumps(description)}\n" + text[end:]
    return text


def policy_data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(policy_yaml(name))
    return data


def etag_version(etag: str) -> int:
    return int(etag.strip('"'))
