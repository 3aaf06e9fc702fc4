"""The token-embedding feature of the complexity model: same value at run time and in training."""

from __future__ import annotations

import dataclasses

import numpy as np
from tokenizers import Tokenizer

from evals.routing.metrics import quality, routellm_apgr
from evals.routing.train import token_feature
from gateway.classify.complexity import extract_features, load_complexity_model
from gateway.classify.token_embedding import TokenEmbeddings, TokenScorer, model_dir

QUESTION = (
    "Which of the following best explains the increase in entropy when ice melts at 0 °C?\n"
    "A. Bonds are formed\nB. Molecules gain positional freedom\nC. Temperature rises\nD. Pressure drops"
    "\nAnswer:"
)


def test_tokenisation_matches_the_model_tokenizer_on_ordinary_text() -> None:
    ours = TokenEmbeddings()
    reference = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    reference.no_truncation()
    reference.no_padding()
    for text in [QUESTION, "Naïve café-owners (aged 42) can't pay $1,000!", "The Sino-Japanese War 甲午"]:
        assert ours.token_ids(text) == reference.encode(text, add_special_tokens=False).ids


def test_runtime_value_equals_the_training_projection() -> None:
    model = load_complexity_model()
    assert len(model.token_direction) == 384
    embeddings = TokenEmbeddings()
    runtime = model.token_value()
    assert runtime is not None
    trained = token_feature(model, embeddings.mean_vectors([QUESTION]))[0]
    assert abs(runtime(QUESTION) - trained) < 1e-5
    assert extract_features(QUESTION, {}, token_value=runtime)["token_embedding"] == runtime(QUESTION)


def test_texts_without_tokens_and_models_without_direction_stay_neutral() -> None:
    model = load_complexity_model()
    scorer = TokenScorer(TokenEmbeddings(), model.token_direction, model.token_offset)
    assert scorer.value("") == 0.0 and scorer.value("   \n") == 0.0
    assert dataclasses.replace(model, token_direction=()).token_value() is None
    assert extract_features(QUESTION, {})["token_embedding"] == 0.0
    assert np.isfinite(scorer.value("x" * 50_000)) and np.isfinite(scorer.value("qzxv" * 30 + " ñ" * 10))


def test_apgr_agrees_with_routellm_procedure() -> None:
    rng = np.random.default_rng(3)
    weak = rng.random(4000) < 0.7
    strong = rng.random(4000) < 0.8
    informative = (strong.astype(float) - weak) + rng.normal(0, 1.5, 4000)
    for scores in (rng.random(4000), informative):
        assert abs(quality(scores, weak, strong).apgr - routellm_apgr(scores, weak, strong)) < 0.02
    assert routellm_apgr(informative, weak, strong) > 0.6
