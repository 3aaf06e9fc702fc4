"""`gateway policies ...` as an operator runs it: a subprocess talking to a running gateway."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.policies.helpers import policy_data, policy_yaml, unique_name
from tests.support import REPO, Gateway


def cli(gw: Gateway, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_URL=gw.url, GATEWAY_ADMIN_KEY=gw.admin_key if key is None else key)
    return subprocess.run(
        [sys.executable, "-m", "gateway", "policies", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_apply_show_versions_diff_rollback(policy_gateway: Gateway, tmp_path: Path) -> None:
    name = unique_name("cli")
    v1 = tmp_path / "v1.yaml"
    v1.write_text(policy_yaml(name))
    v2 = tmp_path / "v2.yaml"
    v2.write_text(policy_yaml(name).replace("strategy: cheapest", "strategy: fastest", 1))

    created = cli(policy_gateway, "apply", name, str(v1))
    assert created.returncode == 0, created.stderr
    assert f"{name}: active as version 1" in created.stdout
    updated = cli(policy_gateway, "apply", name, str(v2))  # reads the ETag itself
    assert updated.returncode == 0 and "active as version 2" in updated.stdout, updated.stderr
    again = cli(policy_gateway, "apply", name, str(v2))
    assert again.returncode == 0 and "unchanged" in again.stdout
    stale = cli(policy_gateway, "apply", name, str(v1), "--if-match", "1")
    assert stale.returncode == 1 and "HTTP 412" in stale.stderr

    listed = cli(policy_gateway, "list")
    assert listed.returncode == 0
    assert any(line.split()[:2] == [name, "2"] for line in listed.stdout.splitlines()), listed.stdout
    shown = cli(policy_gateway, "show", name)
    assert shown.returncode == 0 and shown.stdout == v2.read_text()
    old = cli(policy_gateway, "show", name, "--version", "1")
    assert old.stdout == v1.read_text()
    as_json = cli(policy_gateway, "show", name, "--json")
    assert '"strategy":"fastest"' in as_json.stdout.replace(" ", "")

    diff = cli(policy_gateway, "diff", name, "1", "2")
    assert diff.returncode == 0
    assert "-    strategy: cheapest" in diff.stdout and "+    strategy: fastest" in diff.stdout

    rolled = cli(policy_gateway, "rollback", name, "1")
    assert rolled.returncode == 0 and "active again as version 3" in rolled.stdout, rolled.stderr
    versions = cli(policy_gateway, "versions", name)
    rows = [line.split() for line in versions.stdout.splitlines()[1:]]
    assert [r[0] for r in rows] == ["3", "2", "1"] and rows[0][1] == "*"
    assert "rollback to version 1" in versions.stdout and "master" in versions.stdout


def test_cli_validate_prints_errors_with_lines_and_fails(policy_gateway: Gateway, tmp_path: Path) -> None:
    name = unique_name("cli")
    good = tmp_path / "good.yaml"
    good.write_text(policy_yaml(name))
    bad = tmp_path / "bad.yaml"
    bad_text = (
        policy_yaml(name).replace("route: llama-3.1-8b", "route: nowhere", 1).replace("rules:", "rulez:")
    )
    bad.write_text(bad_text)
    as_json = tmp_path / "good.json"
    as_json.write_text(json.dumps(policy_data(name), indent=2))

    ok = cli(policy_gateway, "validate", str(good))
    assert ok.returncode == 0 and f"valid policy '{name}'" in ok.stdout
    assert cli(policy_gateway, "validate", str(as_json)).returncode == 0
    failed = cli(policy_gateway, "validate", str(bad))
    assert failed.returncode == 1
    rulez_line = bad_text.splitlines().index("rulez:") + 1
    assert f"{bad}:{rulez_line}: error: rulez: unknown field 'rulez'" in failed.stderr, failed.stderr

    not_applied = cli(policy_gateway, "apply", name, str(bad))
    assert not_applied.returncode == 1 and "not applied" in not_applied.stderr
    assert f"{bad}:{rulez_line}: error" in not_applied.stderr
    assert "HTTP 404" in cli(policy_gateway, "show", name).stderr  # nothing stored


def test_cli_refuses_without_a_usable_key_or_gateway(policy_gateway: Gateway, tmp_path: Path) -> None:
    no_key = cli(policy_gateway, "list", key="")
    assert no_key.returncode == 2 and "GATEWAY_ADMIN_KEY" in no_key.stderr
    wrong = cli(policy_gateway, "list", key="sk-gw-wrong")
    assert wrong.returncode == 1 and "HTTP 401" in wrong.stderr
    missing_file = cli(policy_gateway, "validate", str(tmp_path / "nope.yaml"))
    assert missing_file.returncode == 2 and "cannot read" in missing_file.stderr
    unreachable = cli(policy_gateway, "--url", "http://127.0.0.1:9", "list")
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr
