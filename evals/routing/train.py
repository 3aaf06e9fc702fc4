"""Train the complexity model on RouteLLM's MMLU labels and write gateway/classify/complexity_weights.json.

`python -m evals.routing.train` from the repo root. The target is the weak model's failure: the router
should send the prompts a small model gets wrong to the strong model.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from evals.routing.data import RoutingExample, load_examples
from gateway.classify.complexity import FEATURE_NAMES, ComplexityModel, extract_features
from gateway.classify.lexicon import load_lexicon
from gateway.classify.topics import TopicClassifier

WEIGHTS_PATH = Path(__file__).resolve().parents[2] / "gateway" / "classify" / "complexity_weights.json"
# Regularisation strength, fixed a priori (not tuned on the held-out subjects).
C = 0.5
# Tier cuts as quantiles of the training scores: the bottom 40 % are "low", the top 25 % "high".
TIER_QUANTILES = (0.40, 0.75)


def target_of(example: RoutingExample) -> int:
    """1 when the weak model fails the prompt."""
    return 0 if example.weak_correct else 1


def feature_matrix(prompts: Sequence[str], topics: TopicClassifier | None = None) -> np.ndarray:
    topics = topics or TopicClassifier()
    lexicon = load_lexicon()
    rows = []
    for prompt in prompts:
        features = extract_features(prompt, topics.domain_scores(prompt), is_common_word=lexicon.is_known)
        rows.append([features[name] for name in FEATURE_NAMES])
    return np.asarray(rows, dtype=float)


def fit(examples: Sequence[RoutingExample], features: np.ndarray) -> ComplexityModel:
    """Standardise, fit a logistic regression on weak-model failure, and pack it as a ComplexityModel."""
    target = np.array([target_of(e) for e in examples])
    means = features.mean(axis=0)
    scales = features.std(axis=0)
    scales[scales == 0] = 1.0
    regression = LogisticRegression(C=C, max_iter=5000).fit((features - means) / scales, target)
    model = ComplexityModel(
        weights={n: float(w) for n, w in zip(FEATURE_NAMES, regression.coef_[0], strict=True)},
        bias=float(regression.intercept_[0]),
        means={n: float(m) for n, m in zip(FEATURE_NAMES, means, strict=True)},
        scales={n: float(s) for n, s in zip(FEATURE_NAMES, scales, strict=True)},
        tier_cuts=(0.0, 1.0),
    )
    scores = np.array([model.score(dict(zip(FEATURE_NAMES, row, strict=True))) for row in features])
    cuts = np.quantile(scores, TIER_QUANTILES)
    return ComplexityModel(
        model.weights, model.bias, model.means, model.scales, (float(cuts[0]), float(cuts[1]))
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
    }
    return json.dumps(data, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    args = parser.parse_args(argv)
    examples = load_examples()
    model = fit(examples, feature_matrix([e.prompt for e in examples]))
    args.out.write_text(
        to_json(model, trained_on={e.subject for e in examples}, n=len(examples)), encoding="utf-8"
    )
    print(f"wrote {args.out} from {len(examples)} prompts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
