"""Train the complexity model on RouteLLM's MMLU labels and write gateway/classify/complexity_weights.json.

`python -m evals.routing.train` from the repo root. The target is the weak model's failure: the router
should send the prompts a small model gets wrong to the strong model.

Inputs: the cheap text features of gateway/classify/complexity.py, and the prompt's mean static token
embedding (all-MiniLM-L6-v2 input embeddings, 384 numbers) reduced by PCA to EMBEDDING_DIMS components
fitted on the training prompts. The model is linear in those components, so after fitting they collapse
into one direction in embedding space: the shipped model stores that direction (384 numbers) and the
gateway computes the single `token_embedding` feature from a per-token table.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression

from evals.routing.data import RoutingExample, load_examples
from gateway.classify.complexity import FEATURE_NAMES, ComplexityModel, extract_features
from gateway.classify.lexicon import load_lexicon
from gateway.classify.token_embedding import TokenEmbeddings
from gateway.classify.topics import TopicClassifier

WEIGHTS_PATH = Path(__file__).resolve().parents[2] / "gateway" / "classify" / "complexity_weights.json"
# Regularisation strength, fixed a priori (not tuned on the held-out subjects).
C = 0.5
# Principal components of the mean token embedding given to the regression (fixed a priori; 16-32 give
# the same held-out APGR within 0.002).
EMBEDDING_DIMS = 24
# Every feature but token_embedding, which fit() derives from the embeddings.
TEXT_FEATURES = tuple(name for name in FEATURE_NAMES if name != "token_embedding")
# Tier cuts as quantiles of the training scores: the bottom 40 % are "low", the top 25 % "high".
TIER_QUANTILES = (0.40, 0.75)


def target_of(example: RoutingExample) -> int:
    """1 when the weak model fails the prompt."""
    return 0 if example.weak_correct else 1


def feature_matrix(prompts: Sequence[str], topics: TopicClassifier | None = None) -> np.ndarray:
    """The TEXT_FEATURES of each prompt (one row per prompt)."""
    topics = topics or TopicClassifier()
    lexicon = load_lexicon()
    rows = []
    for prompt in prompts:
        features = extract_features(prompt, topics.domain_scores(prompt), is_common_word=lexicon.is_known)
        rows.append([features[name] for name in TEXT_FEATURES])
    return np.asarray(rows, dtype=float)


def embedding_matrix(prompts: Sequence[str]) -> np.ndarray:
    """The mean static token embedding of each prompt (one 384-wide row per prompt)."""
    return TokenEmbeddings().mean_vectors(prompts)


def token_feature(model: ComplexityModel, embeddings: np.ndarray) -> np.ndarray:
    """The token_embedding feature for rows of mean embeddings (what the gateway computes from text)."""
    if not model.token_direction:
        return np.zeros(len(embeddings))
    return embeddings @ np.asarray(model.token_direction) - model.token_offset


def feature_rows(
    model: ComplexityModel, features: np.ndarray, embeddings: np.ndarray
) -> list[dict[str, float]]:
    """The model's named inputs for each row of text features and mean embeddings."""
    tokens = token_feature(model, embeddings)
    return [
        {**dict(zip(TEXT_FEATURES, row, strict=True)), "token_embedding": float(token)}
        for row, token in zip(features, tokens, strict=True)
    ]


def fit(examples: Sequence[RoutingExample], features: np.ndarray, embeddings: np.ndarray) -> ComplexityModel:
    """PCA of the mean embeddings, then a standardised logistic regression on weak-model failure over the
    text features and the components; the components' part is folded into one token direction."""
    target = np.array([target_of(e) for e in examples])
    pca = PCA(EMBEDDING_DIMS, random_state=0).fit(embeddings)
    components = pca.transform(embeddings)
    inputs = np.hstack([features, components])
    means = inputs.mean(axis=0)
    scales = inputs.std(axis=0)
    scales[scales == 0] = 1.0
    regression = LogisticRegression(C=C, max_iter=5000).fit((inputs - means) / scales, target)
    coef = regression.coef_[0]
    n_text = len(TEXT_FEATURES)
    # sum_j coef_j (z_j - mean_j) / scale_j with z = (v - pca.mean_) @ pca.components_.T
    #   = v . direction - [pca.mean_ . direction + sum_j coef_j mean_j / scale_j]
    direction = pca.components_.T @ (coef[n_text:] / scales[n_text:])
    constant = float(pca.mean_ @ direction + np.sum(coef[n_text:] * means[n_text:] / scales[n_text:]))
    raw = embeddings @ direction - constant
    spread = float(raw.std()) or 1.0
    # Stored as a standardised feature: token_embedding = raw / spread, its weight = spread.
    model = ComplexityModel(
        weights={
            **{n: float(w) for n, w in zip(TEXT_FEATURES, coef[:n_text], strict=True)},
            "token_embedding": spread,
        },
        bias=float(regression.intercept_[0]),
        means={
            **{n: float(m) for n, m in zip(TEXT_FEATURES, means[:n_text], strict=True)},
            "token_embedding": 0.0,
        },
        scales={
            **{n: float(s) for n, s in zip(TEXT_FEATURES, scales[:n_text], strict=True)},
            "token_embedding": 1.0,
        },
        tier_cuts=(0.0, 1.0),
        token_direction=tuple(float(x) for x in direction / spread),
        token_offset=constant / spread,
    )
    scores = np.array([model.score(row) for row in feature_rows(model, features, embeddings)])
    cuts = np.quantile(scores, TIER_QUANTILES)
    return ComplexityModel(
        model.weights,
        model.bias,
        model.means,
        model.scales,
        (float(cuts[0]), float(cuts[1])),
        model.token_direction,
        model.token_offset,
    )


def to_json(model: ComplexityModel, *, trained_on: Iterable[str], n: int) -> str:
    data = {
        "about": "Logistic model of weak-model (Mixtral-8x7B) failure on MMLU; see evals/routing/train.py",
        "trained_on_subjects": sorted(trained_on),
        "examples": n,
        "bias": round(model.bias, 6),
        "weights": {k: round(v, 6) for k, v in model.weights.items()},
        "means": {k: round(v, 6) for k, v in model.means.items()},
        "scales": {k: round(v, 6) for k, v in model.scales.items()},
        "tier_cuts": [round(c, 6) for c in model.tier_cuts],
        "token_embedding": {
            "about": "token_embedding = mean over the prompt's all-MiniLM-L6-v2 input-token embeddings "
            ". direction - offset (direction from a PCA + the regression; see evals/routing/train.py)",
            "direction": [float(f"{x:.6g}") for x in model.token_direction],
            "offset": float(f"{model.token_offset:.9g}"),
        },
    }
    return json.dumps(data, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    args = parser.parse_args(argv)
    examples = load_examples()
    prompts = [e.prompt for e in examples]
    model = fit(examples, feature_matrix(prompts), embedding_matrix(prompts))
    args.out.write_text(
        to_json(model, trained_on={e.subject for e in examples}, n=len(examples)), encoding="utf-8"
    )
    print(f"wrote {args.out} from {len(examples)} prompts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
