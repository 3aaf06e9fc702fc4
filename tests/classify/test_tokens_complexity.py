"""Offline tokenizer and the complexity model."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from importlib import resources

from gateway.classify.complexity import FEATURE_NAMES, extract_features, load_complexity_model
from gateway.classify.tokens import count_tokens, get_encoding, litellm_tokenizer_dir


def test_encoding_is_cached_and_counts() -> None:
    assert get_encoding() is get_encoding("cl100k_base")
    assert count_tokens("hello world") == 2
    assert count_tokens("<|endoftext|>") > 1  # special tokens in user text are plain text


def test_encodings_load_from_litellm_files_without_network() -> None:
    folder = litellm_tokenizer_dir()
    assert folder is not None and any(folder.iterdir())
    # A fresh interpreter with no cache variable and every proxy pointing nowhere must still load.
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"}
    env.update(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="")
    code = (
        "from gateway.classify.tokens import get_encoding as g; print(len(g('o200k_base').encode('hi you')))"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(get_encoding("o200k_base").encode("hi you")))


def test_weights_file_matches_the_features() -> None:
    data = json.loads(resources.files("gateway.classify").joinpath("complexity_weights.json").read_text())
    assert set(data["weights"]) == set(FEATURE_NAMES)
    low, high = data["tier_cuts"]
    assert 0 < low < high < 1


def test_features_are_finite_for_odd_text() -> None:
    for text in ["", "A.", "\n\n\n", "x" * 10_000, "∀x ∃y (P(x) ⊃ Q(y))", "12345 " * 100]:
        features = extract_features(text, {})
        assert set(features) == set(FEATURE_NAMES)
        assert all(math.isfinite(v) for v in features.values())


def test_hard_prompts_score_above_easy_ones() -> None:
    model = load_complexity_model()
    easy = model.assess("Which country is Paris the capital of?\nA. France\nB. Spain\nC. Peru\nD. Chad", {})
    hard = model.assess(
        "Statement 1 | Every integral domain with characteristic 0 is infinite. Statement 2 | If f(x) = x^3"
        " - 2x has a root mod 7 then 7 divides f(3) - 21.\nA. True, True\nB. False, False\nC. True, False"
        "\nD. False, True",
        {"math": 4},
    )
    assert 0 <= easy.score < hard.score <= 1
    assert model.tier(0.0) == "low" and model.tier(1.0) == "high"


def test_everyday_prompts_get_tiers_from_task_and_signals_not_exam_extrapolation() -> None:
    from gateway.classify import Classifier

    c = Classifier()

    def tier(text: str) -> str:
        return c.classify({"messages": [{"role": "user", "content": text}]}).complexity.tier

    assert tier("hi") == "low"
    assert tier("What is the capital of France?") == "low"
    assert tier("Translate 'good morning' to Spanish") == "low"
    assert tier("Write a Python function that reverses a string.") == "medium"
    hard = (
        "Prove that the halting problem is undecidable, then derive step by step why Rice's theorem follows, "
        "and explain whether the argument survives if we restrict to total computable functions f(x) = y."
    )
    assert tier(hard) == "high"


def test_classifier_counts_special_token_text_as_ordinary_text() -> None:
    from gateway.classify.classifier import default_classifier

    classifier = default_classifier()
    encoding = get_encoding()
    for text in ("<|endoftext|>", "a <|fim_prefix|> b", "lone surrogate \ud800 here", "plain words"):
        expected = len(encoding.encode(text, disallowed_special=()))
        assert classifier.count_tokens(text) == (expected, True)
    assert classifier.count_tokens("<|endoftext|>")[0] > 1  # not the one special token
