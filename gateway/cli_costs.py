"""`gateway costs`: a cost report or a savings view from a running gateway, as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

GROUP_BYS = ("model", "target", "key", "team", "rule", "day", "provider")
FORMATS = ("table", "csv", "json")
DEFAULT_URL = "http://127.0.0.1:8080"
_TOKEN_COLUMNS = ("requests", "errors", "prompt_tokens", "completion_tokens", "cached_tokens")


def add_costs_parser(sub: Any) -> None:
    """Register `costs` on the top-level subparsers."""
    costs = sub.add_parser("costs", help="cost report (or savings view) from a running gateway")
    costs.add_argument("--group-by", choices=GROUP_BYS, default="model")
    costs.add_argument("--start", help="ISO date or date-time, UTC, inclusive (default: start of month)")
    costs.add_argument("--end", help="ISO date or date-time, UTC, exclusive (default: end of this month)")
    costs.add_argument("--key-id", help="only this key's calls")
    costs.add_argument("--team", help="only this team's calls")
    costs.add_argument("--target", help="only calls sent to this target")
    costs.add_argument("--format", choices=FORMATS, default="table")
    costs.add_argument("--savings", metavar="REF", help="compare with every call sent to target REF")
    costs.add_argument("--url", default=os.environ.get("GATEWAY_URL", DEFAULT_URL), help="env GATEWAY_URL")
    costs.add_argument(
        "--key",
        default=os.environ.get("GATEWAY_ADMIN_KEY"),
        help="admin key (env GATEWAY_ADMIN_KEY; else the master key `gateway serve` uses on this machine)",
    )
    costs.set_defaults(func=cmd_costs)


def cmd_costs(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    import httpx

    key = args.key or local_master_key()
    if not key:
        print("an admin key is needed: --key or GATEWAY_ADMIN_KEY", file=sys.stderr)
        return 2
    params = {
        name: value
        for name, value in (
            ("start", args.start),
            ("end", args.end),
            ("key_id", args.key_id),
            ("team", args.team),
            ("target", args.target),
        )
        if value
    }
    if args.savings:
        path, params["reference"] = "/admin/costs/savings", args.savings
    else:
        path, params["group_by"] = "/admin/costs", args.group_by
        if args.format == "csv":
            params["format"] = "csv"
    try:
        reply = httpx.get(
            args.url.rstrip("/") + path,
            params=params,
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
    except httpx.HTTPError as exc:
        print(f"cannot reach the gateway at {args.url}: {exc}", file=sys.stderr)
        return 1
    if reply.status_code != 200:
        print(f"error {reply.status_code}: {_error_message(reply.text)}", file=sys.stderr)
        return 1
    if args.format == "csv" and not args.savings:
        out.write(reply.text)
    elif args.format == "json" or (args.format == "csv" and args.savings):
        out.write(json.dumps(reply.json(), indent=2) + "\n")
    else:
        body = reply.json()
        out.write(savings_table(body) if args.savings else report_table(body))
    return 0


def local_master_key() -> str | None:
    """GATEWAY_MASTER_KEY, or the key `gateway serve` keeps in its data dir; never creates one."""
    from gateway.config import Settings

    settings = Settings()  # type: ignore[call-arg]  # fields come from the environment
    configured = settings.secret("master_key")
    if configured:
        return configured
    path = Path(settings.data_dir) / "master.key"
    return path.read_text().strip() if path.is_file() else None


def report_table(body: dict[str, Any]) -> str:
    """An aligned table of a `cost_report`, with a totals row."""
    header = [body["group_by"], "requests", "errors", "prompt", "completion", "cached", "cost_usd"]
    rows = [
        [_label(r["group"]), *(str(r[c]) for c in _TOKEN_COLUMNS), readable_usd(r["cost_usd"])]
        for r in body["rows"]
    ]
    totals = body["totals"]
    total = ["TOTAL", *(str(totals[c]) for c in _TOKEN_COLUMNS), readable_usd(totals["cost_usd"])]
    title = f"Costs by {body['group_by']}, {body['start']} to {body['end']} (USD){_filters(body)}"
    return title + "\n" + _table(header, rows, total)


def savings_table(body: dict[str, Any]) -> str:
    """An aligned table of a `cost_savings` view, with a totals row."""
    header = [
        "target",
        "requests",
        "prompt",
        "completion",
        "cached",
        "cost_usd",
        "at_reference",
        "saving",
        "%",
    ]

    def cells(r: dict[str, Any], label: str) -> list[str]:
        counts = [str(r[c]) for c in ("requests", "prompt_tokens", "completion_tokens", "cached_tokens")]
        money = [readable_usd(r[c]) for c in ("cost_usd", "reference_cost_usd", "saving_usd")]
        return [label, *counts, *money, r["saving_percent"] or "-"]

    rows = [cells(r, _label(r["target"])) for r in body["rows"]]
    price = body["reference_price_per_million"]
    title = (
        f"Savings against {body['reference']} (${price['input']} in / ${price['output']} out per million"
        f" tokens), {body['start']} to {body['end']} (USD){_filters(body)}"
    )
    return title + "\n" + _table(header, rows, cells(body["totals"], "TOTAL"))


def readable_usd(exact: str) -> str:
    """The exact amount without trailing zeros past the cents: "1.2500000000" -> "1.25"."""
    value = Decimal(exact)
    text = format(value.normalize(), "f") if value else "0"
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def _table(header: Sequence[str], rows: list[list[str]], total: list[str]) -> str:
    rows, total = _line_up_decimals([*rows, total])
    widths = [max(len(row[i]) for row in [header, *rows, total]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows), rule, line(total)]) + "\n"


def _line_up_decimals(lines: list[list[str]]) -> tuple[list[list[str]], list[str]]:
    """Pad every decimal column to one count of fraction digits, so the points line up when right-aligned."""
    out = [list(line) for line in lines]
    for column in range(len(out[0])):
        cells = [line[column] for line in out]
        if not all(_is_decimal(cell) for cell in cells) or not any("." in cell for cell in cells):
            continue
        digits = max(len(cell.partition(".")[2]) for cell in cells)
        for line in out:
            whole, _, fraction = line[column].partition(".")
            line[column] = f"{whole}.{fraction.ljust(digits, '0')}"
    return out[:-1], out[-1]


def _is_decimal(cell: str) -> bool:
    whole, _, fraction = cell.lstrip("-").partition(".")
    return whole.isdigit() and (fraction == "" or fraction.isdigit())


def _label(group: str | None) -> str:
    return group if group is not None else "(none)"


def _filters(body: dict[str, Any]) -> str:
    filters = body.get("filters") or {}
    return "".join(f", {k}={v}" for k, v in filters.items())


def _error_message(text: str) -> str:
    try:
        return str(json.loads(text)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return text[:500]
