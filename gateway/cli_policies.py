"""`gateway policies list|show|validate|apply|versions|rollback|diff`: the policy admin API from a shell."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"


class CliError(Exception):
    """A failure to report on stderr; exit code 1 (the gateway refused) or 2 (could not ask it)."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def add_parser(sub: Any) -> None:
    """Register `policies` and its subcommands on the top-level subparsers."""
    policies = sub.add_parser("policies", help="list, show, validate, apply and roll back routing policies")
    policies.add_argument("--url", help=f"gateway base URL (default: $GATEWAY_URL or {DEFAULT_URL})")
    policies.add_argument("--key", help="admin key (default: $GATEWAY_ADMIN_KEY)")
    cmds = policies.add_subparsers(dest="policies_cmd", required=True)
    cmds.add_parser("list", help="policy names with their active version")
    show = cmds.add_parser("show", help="print a policy (the active version unless --version)")
    show.add_argument("name")
    show.add_argument("--version", type=int)
    show.add_argument("--json", action="store_true", help="as JSON instead of YAML")
    check = cmds.add_parser("validate", help="check a policy file without storing it")
    check.add_argument("file", type=Path)
    check.add_argument("--name", help="also check that the document's name is this")
    apply = cmds.add_parser("apply", help="validate and activate a policy file as a new version")
    apply.add_argument("name")
    apply.add_argument("file", type=Path)
    apply.add_argument(
        "--if-match", type=int, help="refuse unless this version is still active (default: the one read now)"
    )
    versions = cmds.add_parser("versions", help="every stored version with who and when")
    versions.add_argument("name")
    rollback = cmds.add_parser("rollback", help="activate a copy of an old version as a new version")
    rollback.add_argument("name")
    rollback.add_argument("version", type=int)
    diff = cmds.add_parser("diff", help="unified diff between two versions")
    diff.add_argument("name")
    diff.add_argument("v1", type=int)
    diff.add_argument("v2", type=int)
    diff.add_argument("--canonical", action="store_true", help="compare canonical YAML, not the texts")
    policies.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    url = args.url or os.environ.get("GATEWAY_URL") or DEFAULT_URL
    key = args.key or os.environ.get("GATEWAY_ADMIN_KEY")
    try:
        if not key:
            raise CliError("no admin key: pass --key or set GATEWAY_ADMIN_KEY", exit_code=2)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            return _COMMANDS[args.policies_cmd](client, args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except httpx.HTTPError as exc:
        print(f"error: cannot reach the gateway at {url}: {exc}", file=sys.stderr)
        return 2


def _fail(response: httpx.Response) -> CliError:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:500]
    return CliError(f"HTTP {response.status_code}: {message}")


def _when(epoch: int | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S") if epoch else "-"


def _print_problems(label: str, body: dict[str, Any]) -> int:
    """Print errors then warnings as `file:line: severity: path: message`; returns the error count."""
    problems = [*body.get("errors", []), *body.get("warnings", [])]
    for p in problems:
        where = f"{label}:{p['line']}" if p.get("line") is not None else label
        print(f"{where}: {p['severity']}: {p['path'] or '(document)'}: {p['message']}", file=sys.stderr)
    return len(body.get("errors", []))


def _file_text(path: Path) -> tuple[str, str]:
    """The file's text and its Content-Type (JSON for .json, YAML otherwise)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}", exit_code=2) from None
    media = "application/json" if path.suffix.lower() == ".json" else "application/yaml"
    return text, media


def cmd_list(client: httpx.Client, args: argparse.Namespace) -> int:
    r = client.get("/admin/policies")
    if r.status_code != 200:
        raise _fail(r)
    print(f"{'name':<32} {'active':>6}  {'updated (UTC)':<19}  updated by")
    for p in r.json()["data"]:
        print(
            f"{p['name']:<32} {p['active_version']:>6}  {_when(p['updated_at']):<19}  "
            f"{p['updated_by'] or '-'}"
        )
    return 0


def cmd_show(client: httpx.Client, args: argparse.Namespace) -> int:
    path = f"/admin/policies/{args.name}"
    if args.version is not None:
        path += f"/versions/{args.version}"
    r = client.get(path, params={"format": "json" if args.json else "yaml"})
    if r.status_code != 200:
        raise _fail(r)
    print(f"# {args.name} version {r.headers.get('x-policy-version')}", file=sys.stderr)
    sys.stdout.write(r.text if r.text.endswith("\n") else r.text + "\n")
    return 0


def cmd_validate(client: httpx.Client, args: argparse.Namespace) -> int:
    text, media = _file_text(args.file)
    params = {"name": args.name} if args.name else None
    r = client.post(
        "/admin/policies/validate", content=text.encode(), headers={"Content-Type": media}, params=params
    )
    if r.status_code != 200:
        raise _fail(r)
    body = r.json()
    errors = _print_problems(str(args.file), body)
    if errors:
        print(f"{args.file}: invalid ({errors} error(s))", file=sys.stderr)
        return 1
    print(f"{args.file}: valid policy {body['name']!r} ({len(body['warnings'])} warning(s))")
    return 0


def cmd_apply(client: httpx.Client, args: argparse.Namespace) -> int:
    text, media = _file_text(args.file)
    headers = {"Content-Type": media}
    if args.if_match is not None:
        headers["If-Match"] = f'"{args.if_match}"'
    else:
        current = client.get(f"/admin/policies/{args.name}", headers={"Accept": "application/json"})
        if current.status_code == 200:
            headers["If-Match"] = current.headers["etag"]
        elif current.status_code != 404:
            raise _fail(current)
    r = client.put(f"/admin/policies/{args.name}", content=text.encode(), headers=headers)
    if r.status_code == 422:
        errors = _print_problems(str(args.file), r.json())
        print(
            f"{args.file}: not applied ({errors} error(s)); the active version is unchanged", file=sys.stderr
        )
        return 1
    if r.status_code not in (200, 201):
        raise _fail(r)
    body = r.json()
    _print_problems(str(args.file), body)
    state = "active as version" if body["changed"] else "unchanged: identical to active version"
    print(f"{args.name}: {state} {body['version']} (sha256 {body['sha256'][:12]})")
    return 0


def cmd_versions(client: httpx.Client, args: argparse.Namespace) -> int:
    r = client.get(f"/admin/policies/{args.name}/versions")
    if r.status_code != 200:
        raise _fail(r)
    print(f"{'version':>7}  {'':1} {'created (UTC)':<19}  {'by':<24} {'sha256':<12}  note")
    for v in r.json()["data"]:
        mark = "*" if v["active"] else ""
        print(
            f"{v['version']:>7}  {mark:1} {_when(v['created_at']):<19}  {(v['created_by'] or '-'):<24} "
            f"{v['sha256'][:12]:<12}  {v['note'] or ''}"
        )
    return 0


def cmd_rollback(client: httpx.Client, args: argparse.Namespace) -> int:
    r = client.post(f"/admin/policies/{args.name}/rollback", json={"version": args.version})
    if r.status_code == 422:
        _print_problems(f"{args.name}@{args.version}", r.json())
        return 1
    if r.status_code not in (200, 201):
        raise _fail(r)
    body = r.json()
    print(f"{args.name}: version {args.version} is active again as version {body['version']}")
    return 0


def cmd_diff(client: httpx.Client, args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"from": args.v1, "to": args.v2}
    if args.canonical:
        params["canonical"] = "true"
    r = client.get(f"/admin/policies/{args.name}/diff", params=params)
    if r.status_code != 200:
        raise _fail(r)
    sys.stdout.write(r.json()["diff"])
    return 0


_COMMANDS = {
    "list": cmd_list,
    "show": cmd_show,
    "validate": cmd_validate,
    "apply": cmd_apply,
    "versions": cmd_versions,
    "rollback": cmd_rollback,
    "diff": cmd_diff,
}
