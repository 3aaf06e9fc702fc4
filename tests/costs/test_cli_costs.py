"""`gateway costs` against a running gateway: aligned tables with totals, CSV, JSON, savings and failures."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.cli import build_parser
from gateway.cli_costs import readable_usd, report_table
from tests.costs.traffic import Traffic, iso, make_traffic
from tests.support import Gateway


@pytest.fixture(scope="module")
def traffic(gateway: Gateway, pg_url: str) -> Traffic:
    return make_traffic(gateway, pg_url)


def run(gateway: Gateway, traffic: Traffic, *extra: str, key: str | None = None) -> tuple[int, str]:
    argv = ["costs", "--url", gateway.url, "--key", key or gateway.admin_key, "--start", iso(traffic.start)]
    args = build_parser().parse_args([*argv, "--end", iso(traffic.end), "--team", traffic.team, *extra])
    out = io.StringIO()
    code = args.func(args, out)
    return code, out.getvalue()


def report(gateway: Gateway, traffic: Traffic, **params: str) -> dict[str, Any]:
    reply = httpx.get(
        gateway.url + "/admin/costs",
        params=traffic.params(team=traffic.team, **params),
        headers={"Authorization": f"Bearer {gateway.admin_key}"},
    )
    return reply.json()  # type: ignore[no-any-return]


def test_table_is_aligned_and_ends_with_the_totals(gateway: Gateway, traffic: Traffic) -> None:
    code, text = run(gateway, traffic, "--group-by", "target")
    assert code == 0
    lines = text.splitlines()
    assert lines[0].startswith("Costs by target, ") and f"team={traffic.team}" in lines[0]
    header, rule, *body, rule2, total = lines[1:]
    assert header.split() == ["target", "requests", "errors", "prompt", "completion", "cached", "cost_usd"]
    assert set(rule.replace("  ", "")) == {"-"} and rule2 == rule
    expected = report(gateway, traffic, group_by="target")
    assert [line.split()[0] for line in body] == [r["group"] for r in expected["rows"]]
    assert total.split()[0] == "TOTAL"
    assert Decimal(total.split()[-1]) == Decimal(expected["totals"]["cost_usd"])
    assert int(total.split()[1]) == expected["totals"]["requests"]
    # right-aligned numbers: every line's cost column ends at the same place
    assert len({len(line) for line in [header, *body, total]}) == 1


def test_csv_and_json_formats_pass_the_reports_through(gateway: Gateway, traffic: Traffic) -> None:
    code, text = run(gateway, traffic, "--format", "csv", "--group-by", "key")
    assert code == 0
    lines = list(csv.DictReader(io.StringIO(text)))
    expected = report(gateway, traffic, group_by="key")
    assert lines[-1]["group"] == "TOTAL" and lines[-1]["cost_usd"] == expected["totals"]["cost_usd"]
    code, text = run(gateway, traffic, "--format", "json", "--group-by", "key")
    assert code == 0 and json.loads(text) == expected


def test_savings_table(gateway: Gateway, traffic: Traffic) -> None:
    code, text = run(gateway, traffic, "--savings", "gpt-4o")
    assert code == 0
    lines = text.splitlines()
    assert lines[0].startswith("Savings against gpt-4o ($2.5 in / $10 out per million tokens)")
    assert lines[1].split()[:2] == ["target", "requests"]
    assert {line.split()[0] for line in lines[3:-2]} == {"gpt-4o", "claude-sonnet-4-5", "llama-3.1-8b"}
    assert lines[-1].split()[0] == "TOTAL"


def test_refusals_are_reported_with_the_gateways_message(
    gateway: Gateway, traffic: Traffic, capsys: Any
) -> None:
    code, _ = run(gateway, traffic, key="sk-not-a-key")
    assert code == 1
    assert "error 401" in capsys.readouterr().err
    args = build_parser().parse_args(
        [
            "costs",
            "--url",
            gateway.url,
            "--key",
            gateway.admin_key,
            "--start",
            "2026-11-02",
            "--end",
            "2026-11-01",
        ]
    )
    assert args.func(args, io.StringIO()) == 1
    assert "'end' must be after 'start'" in capsys.readouterr().err


def test_unreachable_gateway_and_missing_key(capsys: Any, monkeypatch: Any, tmp_path: Path) -> None:
    args = build_parser().parse_args(["costs", "--url", "http://127.0.0.1:9", "--key", "k"])
    assert args.func(args, io.StringIO()) == 1
    assert "cannot reach the gateway" in capsys.readouterr().err
    monkeypatch.delenv("GATEWAY_MASTER_KEY", raising=False)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    args = build_parser().parse_args(["costs", "--url", "http://127.0.0.1:9"])
    args.key = None
    assert args.func(args, io.StringIO()) == 2
    assert not (tmp_path / "master.key").exists()  # looking for a key never makes one


def test_without_a_key_the_local_master_key_is_used(
    gateway: Gateway, traffic: Traffic, monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.delenv("GATEWAY_MASTER_KEY", raising=False)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    (tmp_path / "master.key").write_text(gateway.admin_key + "\n")
    args = build_parser().parse_args(
        ["costs", "--url", gateway.url, "--team", traffic.team, "--format", "json"]
    )
    args.key = None
    out = io.StringIO()
    assert args.func(args, out) == 0
    assert json.loads(out.getvalue())["object"] == "cost_report"
    monkeypatch.setenv("GATEWAY_MASTER_KEY", gateway.admin_key)
    (tmp_path / "master.key").unlink()
    assert args.func(args, io.StringIO()) == 0


def test_group_by_choices_are_checked_by_the_parser() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["costs", "--group-by", "colour"])


@pytest.mark.parametrize(
    ("exact", "shown"),
    [
        ("1.2500000000", "1.25"),
        ("0.0000000000", "0.00"),
        ("0", "0.00"),
        ("100", "100.00"),
        ("0.0001234500", "0.00012345"),
        ("-0.5000000000", "-0.50"),
        ("12.3", "12.30"),
    ],
)
def test_readable_usd_keeps_every_significant_digit(exact: str, shown: str) -> None:
    assert readable_usd(exact) == shown


def test_cost_columns_line_up_on_the_decimal_point() -> None:
    body = {
        "group_by": "model",
        "start": "2026-11-01T00:00:00Z",
        "end": "2026-12-01T00:00:00Z",
        "filters": {},
        "rows": [
            {
                "group": "a",
                "requests": 1,
                "errors": 0,
                "prompt_tokens": 1,
                "completion_tokens": 1,
                "cached_tokens": 0,
                "cost_usd": "12.5000000000",
            },
            {
                "group": None,
                "requests": 10,
                "errors": 1,
                "prompt_tokens": 1,
                "completion_tokens": 1,
                "cached_tokens": 0,
                "cost_usd": "0.0000047000",
            },
        ],
        "totals": {
            "requests": 11,
            "errors": 1,
            "prompt_tokens": 2,
            "completion_tokens": 2,
            "cached_tokens": 0,
            "cost_usd": "12.5000047000",
        },
    }
    lines = report_table(body).splitlines()
    assert [line.split()[-1] for line in lines[3:5]] == ["12.5000000", "0.0000047"]
    assert lines[4].split()[0] == "(none)"
    assert lines[-1].split()[-1] == "12.5000047"
    assert len({line.rindex(".") for line in lines[3:5] + lines[-1:]}) == 1
