"""The classifier: one pure function of a request -> Classification (sensitivity, complexity, task,
domain, needs). Build a Classifier once (it compiles patterns and loads the lexicon) and reuse it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import tiktoken

from gateway.classify.complexity import ComplexityModel, load_complexity_model
from gateway.classify.lexicon import Lexicon, load_lexicon
from gateway.classify.markers import ConfidentialMarker
from gateway.classify.request_text import MAPPING, RequestText, read_request
from gateway.classify.sensitivity import SensitivityDetector
from gateway.classify.tokens import get_encoding
from gateway.classify.topics import TopicClassifier
from gateway.classify.types import Assessment, Classification, Needs, Sensitivity

CLASSIFIER_VERSION = "1"
# Prompts above this many tokens need a long-context model.
LONG_CONTEXT_TOKENS = 32_000
# Beyond this many characters, tokens are extrapolated from an exact count of the first part: encoding
# megabytes of text would cost more than the whole latency budget, and usage settles the exact count later.
EXACT_TOKEN_CHARS = 400_000
# OpenAI's chat format costs a few tokens per message and for priming the reply.
TOKENS_PER_MESSAGE = 3
TOKENS_REPLY_PRIMING = 3
# Typical reply length by task, used when the request sets no max_tokens.
OUTPUT_TOKENS_BY_TASK = {
    "chit_chat": 60,
    "qa": 300,
    "extraction": 300,
    "math": 500,
    "reasoning": 600,
    "creative": 700,
    "code": 800,
}
# No estimate exceeds this (translations are capped at 4,000 tokens, summaries at 1,000).
OUTPUT_ESTIMATE_CEILING = 4000


class Classifier:
    """Holds compiled detectors, the lexicon, the complexity model and the tokenizer."""

    def __init__(
        self,
        *,
        markers: Sequence[ConfidentialMarker] = (),
        encoding: tiktoken.Encoding | None = None,
        long_context_tokens: int = LONG_CONTEXT_TOKENS,
        lexicon: Lexicon | None = None,
        complexity_model: ComplexityModel | None = None,
    ) -> None:
        self.lexicon = lexicon or load_lexicon()
        self.sensitivity = SensitivityDetector(markers=markers, lexicon=self.lexicon)
        self.topics = TopicClassifier()
        self.complexity_model = complexity_model or load_complexity_model()
        self.encoding = encoding or get_encoding()
        self.long_context_tokens = long_context_tokens

    def classify(self, body: Mapping[str, Any], *, lazy: bool = False) -> Classification:
        """Classify an OpenAI (or Anthropic) chat request body; never raises on odd shapes.

        Sensitivity is judged now. With lazy=True complexity, task and domain are judged when first read
        (the router reads them only when a rule asks), and the prompt's tokens are counted when first read
        (a check that passes at `needs_ceiling()` does not read them); otherwise all now."""
        request = read_request(body if isinstance(body, MAPPING) else {})
        sensitivity = self.sensitivity.detect(request.full_text)
        extra: dict[str, object] = {
            "classifier_version": CLASSIFIER_VERSION,
            "max_tokens": request.max_tokens,
            "message_count": request.message_count,
        }
        counted: list[tuple[int, bool]] = []  # the exact count, made on first need

        def prompt_tokens() -> int:
            if not counted:
                counted.append(self._prompt_tokens(request))
                extra["prompt_tokens_exact"] = counted[0][1]  # the record's extra is this dict
            return counted[0][0]

        def needs(expected_output_tokens: int, prompt: int | None = None) -> Needs:
            tokens = prompt_tokens() if prompt is None else prompt
            return Needs(
                prompt_tokens=tokens,
                expected_output_tokens=expected_output_tokens,
                tools=request.tools,
                json_mode=request.json_mode,
                images=request.images,
                long_context=tokens > self.long_context_tokens,
            )

        def assess() -> Assessment:
            question = request.last_user_text
            topic = self.topics.guess(request.user_text or request.full_text, last_user_text=question)
            question_domains = topic.domain_scores if question == request.user_text else None
            complexity = self.complexity_model.assess(
                question,
                question_domains or self.topics.domain_scores(question),
                is_common_word=self.lexicon.is_known,
                task=topic.task,
            )
            estimate = self._output_estimate(topic.task, request, prompt_tokens)
            output = request.max_tokens or estimate
            return (
                complexity,
                topic.task,
                topic.domain,
                lambda: needs(output),  # counted when first read
                {"output_tokens_estimate": estimate},
            )

        if not lazy:
            prompt_tokens()
            complexity, task, domain, deferred, more = assess()
            full_needs = deferred() if callable(deferred) else deferred
            extra.update(more)
            return Classification(sensitivity, complexity, task, domain, full_needs, extra)
        # The prompt's tokens are counted when a check needs them: most pass at the ceiling, which bounds
        # the count by the text's length in UTF-8 bytes (every token is at least one byte).
        most = self._prompt_tokens_at_most(request)
        output = request.max_tokens or OUTPUT_ESTIMATE_CEILING
        ceiling = needs(output, most) if most is not None else None
        # A request that sets max_tokens has its needs settled by the count; otherwise they wait for the task.
        if request.max_tokens:
            return Classification(
                sensitivity,
                needs=lambda: needs(output),
                extra=extra,
                assess=assess,
                needs_ceiling=ceiling,
            )
        return Classification(
            sensitivity,
            extra=extra,
            assess=assess,
            needs_bound=lambda: needs(OUTPUT_ESTIMATE_CEILING),
            needs_ceiling=ceiling,
        )

    def detect_sensitivity(self, text: str) -> Sensitivity:
        """Sensitivity of a free text (a RAG chunk, an uploaded document)."""
        return self.sensitivity.detect(text)

    def count_tokens(self, text: str) -> tuple[int, bool]:
        """Tokens of text, and whether the count is exact (huge texts are extrapolated). A special token's
        text ("<|endoftext|>") counts as the ordinary text it is, as the upstream will see it."""
        if len(text) <= EXACT_TOKEN_CHARS:
            return len(self.encoding.encode_ordinary(text)), True
        head = text[:EXACT_TOKEN_CHARS]
        head_tokens = len(self.encoding.encode_ordinary(head))
        return round(head_tokens * len(text) / len(head)), False

    @staticmethod
    def _prompt_tokens_at_most(request: RequestText) -> int | None:
        """At least the exact count _prompt_tokens makes, without the tokenizer: each token of the text is at
        least one UTF-8 byte. None for a text long enough that the count is extrapolated."""
        text, tools = request.full_text, request.tool_schema_text
        if len(text) + len(tools) > EXACT_TOKEN_CHARS:
            return None
        size = 0
        for part in (text, tools):
            size += len(part) if part.isascii() else len(part.encode("utf-8", "surrogatepass"))
        return size + _chat_format_tokens(request)

    def _prompt_tokens(self, request: RequestText) -> tuple[int, bool]:
        tokens, exact = self.count_tokens(request.full_text + request.tool_schema_text)
        return tokens + _chat_format_tokens(request), exact

    @staticmethod
    def _output_estimate(task: str, request: RequestText, prompt_tokens: Callable[[], int]) -> int:
        if task == "translation":
            # A translation is about as long as what it translates (the last turn, ~4 chars a token).
            return max(100, min(OUTPUT_ESTIMATE_CEILING, round(len(request.last_user_text) / 4 * 1.1)))
        if task == "summarisation":  # the only estimate that needs the prompt's tokens counted
            return max(150, min(1000, prompt_tokens() // 4))
        return OUTPUT_TOKENS_BY_TASK.get(task, 300)


def _chat_format_tokens(request: RequestText) -> int:
    """What OpenAI's chat format adds to the text's tokens: a few per message and the reply's priming."""
    if not request.message_count:
        return 0
    return TOKENS_PER_MESSAGE * request.message_count + TOKENS_REPLY_PRIMING


@functools.cache
def default_classifier() -> Classifier:
    """A process-wide classifier without confidential markers, built on first use."""
    return Classifier()


def classify(
    body: Mapping[str, Any],
    *,
    markers: Sequence[ConfidentialMarker] = (),
    encoding: tiktoken.Encoding | None = None,
) -> Classification:
    """Classify one request. With markers or an encoding a new Classifier is built (compiling them):
    callers on the hot path should build a Classifier once and call its classify method."""
    if markers or encoding is not None:
        return Classifier(markers=markers, encoding=encoding).classify(body)
    return default_classifier().classify(body)


def detect_sensitivity(text: str, markers: Sequence[ConfidentialMarker] = ()) -> Sensitivity:
    """Sensitivity of a free text, e.g. a RAG chunk."""
    if markers:
        return SensitivityDetector(markers=markers, lexicon=load_lexicon()).detect(text)
    return default_classifier().detect_sensitivity(text)


classify_text = detect_sensitivity
