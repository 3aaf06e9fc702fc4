"""/admin/costs and /admin/costs/savings through a real gateway: reconciled to the ledger and to prices."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from gateway.accounting.prices import Price, litellm_price
from tests.costs.traffic import Traffic, ledger, make_traffic
from tests.support import Gateway

GROUP_BYS = ["model", "target", "key", "team", "rule", "day", "provider"]
COLUMN = {"model": "requested_model", "key": "key_id"}


@pytest.fixture(scope="module")
def traffic(gateway: Gateway, pg_url: str) -> Traffic:
    return make_traffic(gateway, pg_url)


def get(
    gateway: Gateway, path: str, params: dict[str, Any], key: str | None = None, accept: str = "*/*"
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or gateway.admin_key}", "Accept": accept}
    return httpx.get(gateway.url + path, params=params, headers=headers, timeout=30)


def prices(gateway: Gateway) -> dict[str, Price]:
    """Per target: the price the active policy sets, else litellm's list price for its model."""
    reply = get(gateway, "/admin/policies/default", {}, accept="application/json")
    assert reply.status_code == 200, reply.text
    out = {}
    for name, target in reply.json()["targets"].items():
        own = target.get("price")
        if own is not None:
            out[name] = Price.per_million(own["input_per_million"], own["output_per_million"])
        else:
            listed = litellm_price(target["model"], target["provider"])
            assert listed is not None, name
            out[name] = listed
    return out


def hand_cost(price: Price, usage: dict[str, Any]) -> Decimal:
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return price.cost(usage["prompt_tokens"], usage["completion_tokens"], cached)


@pytest.mark.parametrize("group_by", GROUP_BYS)
def test_every_group_by_reconciles_with_the_ledger(
    gateway: Gateway, pg_url: str, traffic: Traffic, group_by: str
) -> None:
    reply = get(gateway, "/admin/costs", traffic.params(group_by=group_by, team=traffic.team))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["object"], body["group_by"], body["currency"]) == ("cost_report", group_by, "USD")
    column = (
        "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        if group_by == "day"
        else COLUMN.get(group_by, group_by)
    )
    expected = ledger(
        pg_url,
        f"SELECT {column} AS grp, count(*) AS n, count(*) FILTER (WHERE status >= 400) AS errors,"
        " sum(prompt_tokens) AS p, sum(completion_tokens) AS c, sum(cached_tokens) AS k,"
        " sum(cost_usd) AS cost"
        " FROM ledger WHERE ts >= %(start)s AND ts < %(end)s AND team = %(team)s GROUP BY 1",
        {"start": traffic.start, "end": traffic.end, "team": traffic.team},
    )
    assert {
        r["group"]: (
            r["requests"],
            r["errors"],
            r["prompt_tokens"],
            r["completion_tokens"],
            r["cached_tokens"],
            Decimal(r["cost_usd"]),
        )
        for r in body["rows"]
    } == {e["grp"]: (e["n"], e["errors"], e["p"], e["c"], e["k"], e["cost"]) for e in expected}
    total = sum((e["cost"] for e in expected), Decimal(0))
    assert Decimal(body["totals"]["cost_usd"]) == total
    assert body["totals"]["cost_usd"] == format(total, "f")  # the same digits, not a rounded float
    assert body["totals"]["requests"] == sum(e["n"] for e in expected) >= 5
    assert body["totals"]["errors"] >= 1


def test_costs_equal_token_counts_times_litellm_prices(gateway: Gateway, traffic: Traffic) -> None:
    reply = get(gateway, "/admin/costs", traffic.params(group_by="target", key_id=traffic.good["id"]))
    body = reply.json()
    table = prices(gateway)
    expected: dict[str, Decimal] = {}
    for target, usage in traffic.usages:
        expected[target] = expected.get(target, Decimal(0)) + hand_cost(table[target], usage)
    assert {r["group"]: Decimal(r["cost_usd"]) for r in body["rows"]} == expected
    assert Decimal(body["totals"]["cost_usd"]) == sum(expected.values())
    assert all(cost > 0 for cost in expected.values())
    assert body["totals"]["prompt_tokens"] == sum(u["prompt_tokens"] for _, u in traffic.usages)
    assert body["totals"]["completion_tokens"] == sum(u["completion_tokens"] for _, u in traffic.usages)
    assert body["totals"]["errors"] == 0 and body["totals"]["requests"] == 4


def test_whole_range_totals_equal_sum_over_the_ledger(
    gateway: Gateway, pg_url: str, traffic: Traffic
) -> None:
    query = "SELECT count(*) AS n, sum(cost_usd) AS cost FROM ledger WHERE ts >= %(start)s AND ts < %(end)s"
    window = {"start": traffic.start, "end": traffic.end}
    for _ in range(5):  # other tests' calls may land meanwhile: compare only against a settled ledger
        before = ledger(pg_url, query, window)[0]
        body = get(gateway, "/admin/costs", traffic.params(group_by="provider")).json()
        if ledger(pg_url, query, window)[0] == before:
            break
    assert body["totals"]["requests"] == before["n"]
    assert Decimal(body["totals"]["cost_usd"]) == before["cost"]
    assert sum(Decimal(r["cost_usd"]) for r in body["rows"]) == before["cost"]


def test_filters_by_key_team_and_target(gateway: Gateway, pg_url: str, traffic: Traffic) -> None:
    faulty = get(gateway, "/admin/costs", traffic.params(group_by="key", key_id=traffic.faulty["id"])).json()
    assert [r["group"] for r in faulty["rows"]] == [traffic.faulty["id"]]
    assert faulty["totals"]["errors"] >= 1 and faulty["filters"] == {"key_id": traffic.faulty["id"]}
    team = get(gateway, "/admin/costs", traffic.params(group_by="key", team=traffic.team)).json()
    assert {r["group"] for r in team["rows"]} == {traffic.good["id"], traffic.faulty["id"]}
    gpt = get(
        gateway, "/admin/costs", traffic.params(group_by="team", key_id=traffic.good["id"], target="gpt-4o")
    )
    assert [(r["group"], r["requests"]) for r in gpt.json()["rows"]] == [(traffic.team, 2)]
    for target in ("gpt-4o", "llama-3.1-8b"):
        body = get(gateway, "/admin/costs", traffic.params(team=traffic.team, target=target)).json()
        expected = ledger(
            pg_url,
            "SELECT count(*) AS n, sum(cost_usd) AS cost FROM ledger WHERE ts >= %(start)s AND ts < %(end)s"
            " AND team = %(team)s AND target = %(target)s",
            {"start": traffic.start, "end": traffic.end, "team": traffic.team, "target": target},
        )[0]
        assert (body["totals"]["requests"], Decimal(body["totals"]["cost_usd"])) == (
            expected["n"],
            expected["cost"],
        )
    nobody = get(gateway, "/admin/costs", traffic.params(team="no-such-team-" + traffic.team)).json()
    assert nobody["rows"] == [] and nobody["totals"]["cost_usd"] == "0"


def test_csv_parses_and_its_total_line_matches_json(gateway: Gateway, traffic: Traffic) -> None:
    params = traffic.params(group_by="model", team=traffic.team)
    reply = get(gateway, "/admin/costs", {**params, "format": "csv"})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    assert reply.headers["content-disposition"].startswith('attachment; filename="costs-model-')
    lines = list(csv.DictReader(io.StringIO(reply.text)))
    body = get(gateway, "/admin/costs", params).json()
    assert lines[-1]["group"] == "TOTAL"
    assert lines[-1]["cost_usd"] == body["totals"]["cost_usd"]
    assert int(lines[-1]["requests"]) == body["totals"]["requests"]
    assert [(r["group"], r["cost_usd"]) for r in lines[:-1]] == [
        (r["group"] or "", r["cost_usd"]) for r in body["rows"]
    ]
    assert sum(Decimal(r["cost_usd"]) for r in lines[:-1]) == Decimal(lines[-1]["cost_usd"])


def test_savings_against_gpt_4o(gateway: Gateway, traffic: Traffic) -> None:
    reply = get(
        gateway, "/admin/costs/savings", traffic.params(reference="gpt-4o", key_id=traffic.good["id"])
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["object"] == "cost_savings" and body["reference"] == "gpt-4o"
    table = prices(gateway)
    reference = table["gpt-4o"]
    assert body["reference_price_per_million"]["input"] == "2.5"
    rows = {r["target"]: r for r in body["rows"]}
    assert set(rows) == {"gpt-4o", "claude-sonnet-4-5", "llama-3.1-8b"}
    for target in rows:
        usages = [u for t, u in traffic.usages if t == target]
        actual = sum((hand_cost(table[target], u) for u in usages), Decimal(0))
        at_reference = sum((hand_cost(reference, u) for u in usages), Decimal(0))
        row = rows[target]
        assert Decimal(row["cost_usd"]) == actual
        assert Decimal(row["reference_cost_usd"]) == at_reference
        assert Decimal(row["saving_usd"]) == at_reference - actual
        assert Decimal(row["saving_percent"]) == ((at_reference - actual) * 100 / at_reference).quantize(
            Decimal("0.01")
        )
    assert Decimal(rows["gpt-4o"]["saving_usd"]) == 0
    assert Decimal(rows["llama-3.1-8b"]["saving_percent"]) > 90  # $0.05/$0.10 against $2.50/$10 per million
    totals = body["totals"]
    assert Decimal(totals["saving_usd"]) == Decimal(totals["reference_cost_usd"]) - Decimal(
        totals["cost_usd"]
    )
    assert Decimal(totals["reference_cost_usd"]) == sum(hand_cost(reference, u) for _, u in traffic.usages)


def test_savings_reference_may_be_any_priced_model(gateway: Gateway, traffic: Traffic) -> None:
    mini = get(gateway, "/admin/costs/savings", traffic.params(reference="gpt-4o-mini", team=traffic.team))
    assert mini.status_code == 200, mini.text
    price = litellm_price("gpt-4o-mini")
    assert price is not None
    assert mini.json()["reference_price_per_million"]["input"] == format(
        (price.input * 1_000_000).normalize(), "f"
    )
    unknown = get(gateway, "/admin/costs/savings", traffic.params(reference="no-such-model"))
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "unknown_reference"
    assert unknown.json()["error"]["param"] == "reference"


@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        ("/admin/costs", {"group_by": "colour"}, "group_by"),
        ("/admin/costs", {"start": "2026-11-02", "end": "2026-11-01"}, "end"),
        ("/admin/costs", {"start": "2026-11-01", "end": "2026-11-01"}, "end"),
        ("/admin/costs", {"start": "2024-01-01", "end": "2026-01-01"}, "end"),
        ("/admin/costs", {"start": "last tuesday"}, "start"),
        ("/admin/costs", {"end": "2026-11-31"}, "end"),
        ("/admin/costs", {"format": "xml"}, "format"),
        ("/admin/costs/savings", {"start": "2026-11-02", "end": "2026-11-01"}, "end"),
        ("/admin/costs/savings", {"start": "11/01/2026"}, "start"),
        ("/admin/costs", {"team": "a\x00b"}, "team"),
        ("/admin/costs", {"key_id": "k" * 257}, "key_id"),
        ("/admin/costs/savings", {"target": "\x00"}, "target"),
        ("/admin/costs", {"end": "0001-01-01"}, "end"),
    ],
)
def test_bad_parameters_are_400_in_the_openai_shape(
    gateway: Gateway, path: str, params: dict[str, str], param: str
) -> None:
    reply = get(gateway, path, params)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]


def test_default_range_is_the_current_month(gateway: Gateway) -> None:
    body = get(gateway, "/admin/costs", {}).json()
    now = datetime.now(UTC)
    assert body["start"] == f"{now:%Y-%m}-01T00:00:00Z"
    assert body["group_by"] == "model"
    assert body["end"].endswith("-01T00:00:00Z") and body["end"] > body["start"]


@pytest.mark.parametrize("path", ["/admin/costs", "/admin/costs/savings"])
def test_only_admin_keys_see_costs(gateway: Gateway, user_key: dict[str, Any], path: str) -> None:
    denied = get(gateway, path, {}, key=user_key["key"])
    assert denied.status_code == 403
    assert denied.json()["error"]["type"] == "permission_error"
    anonymous = httpx.get(gateway.url + path, timeout=10)
    assert anonymous.status_code == 401
