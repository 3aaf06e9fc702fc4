"""Prometheus rules and config (promtool, with unit tests of each alert) and the Grafana dashboard."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.deploy_files import (
    COMING_METRICS,
    GRAFANA,
    PROMETHEUS,
    REPO,
    exported_metric_names,
    gateway_metric_names,
    need_binary,
    recorded_names,
    yaml_documents,
)

RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = Path(__file__).with_name("prometheus_rules_test.yml")
DASHBOARD = GRAFANA / "dashboards" / "llm-gateway.json"
REQUIRED_ALERTS = {
    "GatewayLatencyP95AboveBaseline",
    "GatewayErrorRateHigh",
    "GatewayThroughputBelowCapacity",
    "GatewayClassificationDrift",
}


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [need_binary("promtool"), *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


def test_promtool_accepts_the_rules_and_the_config() -> None:
    result = promtool("check", "rules", RULES.name, cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr
    result = promtool("check", "config", "prometheus.yml", cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_when_it_should_and_only_then() -> None:
    names_tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
    }
    assert REQUIRED_ALERTS <= names_tested
    result = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_refuses_a_broken_rule(tmp_path: Path) -> None:
    broken = RULES.read_text().replace("> 0.01", "> > 0.01")
    (tmp_path / "alerts.yml").write_text(broken)
    assert promtool("check", "rules", "alerts.yml", cwd=tmp_path).returncode != 0


def test_rules_have_the_required_alerts_and_thresholds() -> None:
    alerts = {r["alert"]: r for r in rules() if "alert" in r}
    assert REQUIRED_ALERTS <= set(alerts)
    assert "> 0.01" in alerts["GatewayErrorRateHigh"]["expr"]
    assert "> 0.2" in alerts["GatewayClassificationDrift"]["expr"]
    assert "2 *" in alerts["GatewayLatencyP95AboveBaseline"]["expr"]
    assert "0.8 *" in alerts["GatewayThroughputBelowCapacity"]["expr"]
    for alert in alerts.values():
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert alert["annotations"]["summary"]


def test_prometheus_scrapes_both_replicas_and_loads_the_rules() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    gateway_job = next(job for job in config["scrape_configs"] if job["job_name"] == "gateway")
    assert gateway_job["static_configs"][0]["targets"] == ["gateway-1:8080", "gateway-2:8080"]


def test_metric_names_exist_or_are_announced() -> None:
    known = exported_metric_names() | COMING_METRICS
    assert "gateway_requests_total" in known and "gateway_request_latency_seconds_bucket" in known
    exprs = [r["expr"] for r in rules()] + dashboard_exprs()
    for expr in exprs:
        unknown = gateway_metric_names(expr) - known
        assert not unknown, f"{sorted(unknown)} in {expr!r}: not exported by gateway.observability.metrics"


def test_recorded_series_read_by_rules_are_recorded() -> None:
    recorded = {r["record"] for r in rules() if "record" in r}
    for rule in rules():
        assert recorded_names(rule["expr"]) <= recorded, rule["expr"]
    assert recorded_names("a:b:c > 2 * x:y") == {"a:b:c", "x:y"}


def test_the_metric_name_check_would_catch_a_typo() -> None:
    known = exported_metric_names() | COMING_METRICS
    assert gateway_metric_names("rate(gateway_request_total[5m])") - known == {"gateway_request_total"}
    assert gateway_metric_names("job:gateway_requests:rate_5m") == set()
    typo = "histogram_quantile(0.9, gateway_ttft_bucket)"
    assert gateway_metric_names(typo) - known == {"gateway_ttft_bucket"}


def test_dashboard_is_valid_and_covers_the_brief() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] and board["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    used = set().union(*(gateway_metric_names(e) for e in dashboard_exprs()))
    assert {
        "gateway_requests_total",
        "gateway_request_latency_seconds_bucket",
        "gateway_time_to_first_token_seconds_bucket",
        "gateway_tokens_total",
        "gateway_cost_usd_total",
        "gateway_routed_requests_total",
        "gateway_circuit_state",
        "gateway_limit_rejections_total",
        "gateway_drift_psi",
    } <= used
    quantiles = " ".join(dashboard_exprs())
    assert all(f"histogram_quantile({q}," in quantiles for q in ("0.5", "0.95", "0.99"))
    for panel in board["panels"]:
        for key in ("x", "y", "w", "h"):
            assert isinstance(panel["gridPos"][key], int)
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def test_dashboard_uses_the_provisioned_datasource() -> None:
    (datasources,) = yaml_documents(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    uids = {d["uid"] for d in datasources["datasources"]}
    board = json.loads(DASHBOARD.read_text())
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] in uids
        assert all(t["datasource"]["uid"] in uids for t in panel["targets"])
    (providers,) = yaml_documents(GRAFANA / "provisioning" / "dashboards" / "llm-gateway.yml")
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    path = providers["providers"][0]["options"]["path"]
    assert f"./deploy/grafana/dashboards:{path}:ro" in mounts
