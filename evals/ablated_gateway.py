"""`gateway serve` with one per-call service taken out, for evals/bench_services.py (not a product entry).

    ABLATE=classification python evals/ablated_gateway.py serve --port 8080

ABLATE names one of:
- classification: the classifier's result for a request body is remembered (exact for the bench, which sends
  one body; any other body is classified as usual), so the call skips classifying;
- sensitivity: the sensitivity scan's result for a text is remembered (same rule), the rest of the
  classification runs;
- tokens: the prompt's token count (tiktoken) for a text is remembered (same rule);
- request-text: the request's text, as the classifier reads it from the body, is remembered (same rule);
- ledger: no ledger row and no per-call metrics are recorded;
- services: the fast lane reads the body, parses it, calls the named target's provider and replies, with no
  authentication, validation, classification, routing, admission, ledger or metrics (the HTTP protocol, the
  upstream client and JSON only).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ABLATIONS = ("classification", "sensitivity", "tokens", "request-text", "ledger", "services")


def _remember_first(compute: Any) -> Any:
    """compute(self, arg) with its result for the first argument remembered (returned while the argument is
    equal to that first one)."""
    first: list[Any] = []

    def remembered(self: Any, arg: Any, *args: Any, **kwargs: Any) -> Any:
        if first and first[0] == arg:
            return first[1]
        result = compute(self, arg, *args, **kwargs)
        if not first:
            first[:] = [arg, result]
        return result

    return remembered


def ablate(name: str) -> None:
    if name == "classification":
        from gateway.classify.classifier import Classifier

        Classifier.classify = _remember_first(Classifier.classify)  # type: ignore[method-assign]
    elif name == "sensitivity":
        from gateway.classify.sensitivity import SensitivityDetector

        SensitivityDetector.detect = _remember_first(SensitivityDetector.detect)  # type: ignore[method-assign]
    elif name == "tokens":
        from gateway.classify.classifier import Classifier

        Classifier.count_tokens = _remember_first(Classifier.count_tokens)  # type: ignore[method-assign]
    elif name == "request-text":
        import gateway.classify.classifier as classifier

        original = classifier.read_request
        read = _remember_first(lambda _, body: original(body))
        classifier.read_request = lambda body: read(None, body)  # type: ignore[assignment]
    elif name == "ledger":
        from gateway.serving.calls import CallRecorder

        CallRecorder.record = lambda self, ctx, **outcome: 0  # type: ignore[method-assign, assignment]
    elif name == "services":
        import orjson

        from gateway.api.fastlane import Answer, FastLane

        async def answer(self: FastLane, path: str, method: str, raw_headers: Any, read_body: Any) -> Answer:
            body = orjson.loads(await read_body(None, self.state.settings.max_request_bytes))
            target = self.state.router.runtime().targets[body["model"]]
            reply = await target.provider.chat(body, upstream_model=target.upstream_model)
            return Answer(200, [(b"x-request-id", b"-")], orjson.dumps(reply))

        FastLane.answer = answer  # type: ignore[method-assign]
    elif name:
        raise SystemExit(f"ABLATE must be one of {', '.join(ABLATIONS)}, not {name!r}")


if __name__ == "__main__":
    ablate(os.environ.get("ABLATE", ""))
    from gateway.cli import main

    sys.exit(main(sys.argv[1:]))
