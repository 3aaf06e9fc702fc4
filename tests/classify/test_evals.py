"""Eval helpers (PGR/APGR/CPT) and the quality bars on the shared data, when it is present."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evals.pii.run import DATA as PII_DATA
from evals.pii.run import evaluate
from evals.routing.data import DATA_DIR
from evals.routing.metrics import call_performance_threshold, quality, random_router_quality
from gateway.classify.sensitivity import SensitivityDetector


def test_pgr_of_an_oracle_and_of_an_inverted_router() -> None:
    weak = [True, True, False, False] * 25
    strong = [True, True, True, True] * 25
    oracle = quality([0, 0, 1, 1] * 25, weak, strong)
    assert oracle.pgr_at(0.5) == pytest.approx(1.0)
    assert oracle.cpt50 == pytest.approx(0.25) and oracle.cpt80 == pytest.approx(0.4)
    inverted = quality([1, 1, 0, 0] * 25, weak, strong)
    assert inverted.pgr_at(0.5) == pytest.approx(0.0)
    assert oracle.apgr > 0.5 > inverted.apgr


def test_random_router_apgr_is_a_half() -> None:
    rng = np.random.default_rng(3)
    weak = rng.random(2000) < 0.6
    strong = rng.random(2000) < 0.8
    assert random_router_quality(weak, strong, runs=50).apgr == pytest.approx(0.5, abs=0.02)


def test_cpt_when_never_reached() -> None:
    shares = np.linspace(0, 1, 5)
    assert call_performance_threshold(shares, np.zeros(5), 0.5) == 1.0


@pytest.mark.skipif(not PII_DATA.exists(), reason="shared PII data (../shared/data/pii) is absent")
def test_pii_quality_bar_on_the_shared_sample() -> None:
    result = evaluate(json.loads(PII_DATA.read_text(encoding="utf-8")), SensitivityDetector())
    assert result["recall"] >= 0.95
    assert result["flag_rate"] <= 0.10


@pytest.mark.skipif(not (DATA_DIR / "mmlu").is_dir(), reason="shared routing data is absent")
def test_routing_data_loads_without_contaminated_prompts() -> None:
    from evals.routing.data import contaminated_prompts, load_examples

    examples = load_examples()
    assert len({e.subject for e in examples}) == 29
    excluded = contaminated_prompts()
    assert excluded and not any(e.prompt.strip() in excluded for e in examples)
