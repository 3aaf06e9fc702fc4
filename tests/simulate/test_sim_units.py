"""Pure parts of the simulator: schema values, markers, the fault queue, token pieces, reply cutting."""

from __future__ import annotations

import jsonschema
import pytest

from gateway.simulate.config import Fault
from gateway.simulate.faults import FaultQueue, MarkerReader, strip_markers
from gateway.simulate.replies import ReplyRequest, ToolSpec, pick_tool, plan_replies
from gateway.simulate.schema_values import value_for_schema
from gateway.simulate.tokens import TokenCounter

SCHEMAS = [
    {"type": "string", "minLength": 30, "maxLength": 40},
    {"type": "string", "maxLength": 3},
    {"type": "integer", "minimum": 10, "maximum": 20},
    {"type": "integer", "exclusiveMinimum": 10},
    {"type": "number", "exclusiveMaximum": 0},
    {"type": ["null", "boolean"]},
    {"enum": ["red", "green"]},
    {"const": 42},
    {"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 3},
    {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]},
    {
        "oneOf": [
            {"type": "null"},
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        ]
    },
    {"allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]}, {"required": ["b"]}]},
    {"type": "string", "format": "date-time"},
    {"type": "string", "format": "email"},
    {
        "type": "object",
        "properties": {"child": {"$ref": "#/definitions/node"}},
        "required": ["child"],
        "definitions": {
            "node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/definitions/node"}},
                },
                "required": ["name"],
            }
        },
    },
    {"type": "object", "required": ["undeclared"]},
    {},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_schema_values_validate(schema: dict) -> None:
    jsonschema.validate(value_for_schema(schema), schema)


def test_recursive_schema_terminates() -> None:
    schema = {
        "$ref": "#/$defs/n",
        "$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}}},
    }
    value = value_for_schema(schema)
    jsonschema.validate(value, schema)


def test_schema_that_is_not_an_object_gives_a_string() -> None:
    assert isinstance(value_for_schema(None), str)


def test_marker_grammar() -> None:
    reader = MarkerReader()
    directives = reader.read("x [[sim:429=5@openai]] [[sim:latency=20]]", "openai")
    assert directives.fault == Fault(kind="429", retry_after_s=5)
    assert directives.latency_ms == 20
    assert reader.read("[[sim:429@openai]]", "vllm").fault is None
    assert reader.read("[[sim:drop_midstream=7]]", "vllm").fault == Fault(
        kind="drop_midstream", after_chunks=7
    )
    assert reader.read("[[sim:teapot]] [[sim:500@mars]]", "openai").fault is None
    assert reader.read("no markers [sim:500]", "openai").fault is None


def test_numeric_markers() -> None:
    directives = MarkerReader().read("[[sim:tps=12.5]] [[sim:tokens=0]] [[sim:latency=3]]", "anthropic")
    assert directives.tokens_per_second == 12.5
    assert directives.completion_tokens == 1
    assert directives.latency_ms == 3
    assert directives.fault is None
    assert MarkerReader().read("[[sim:tokens]]", "openai").completion_tokens is None


def test_first_fault_marker_wins() -> None:
    assert MarkerReader().read("[[sim:503]] [[sim:500]]", "openai").fault == Fault(kind="503")


def test_times_marker_counts_per_text() -> None:
    reader = MarkerReader()
    assert reader.read("a [[sim:500*1]]", "openai").fault is not None
    assert reader.read("a [[sim:500*1]]", "openai").fault is None
    assert reader.read("b [[sim:500*1]]", "openai").fault is not None


def test_strip_markers() -> None:
    assert strip_markers("hello [[sim:429]]  world [[sim:latency=5]]") == "hello world"
    assert strip_markers("plain  text") == "plain  text"


def test_fault_queue_matches_scope_and_counts_down() -> None:
    queue = FaultQueue([Fault(kind="500", provider="vllm"), Fault(kind="429", times=2)])
    assert queue.take("openai") == Fault(kind="429", times=2)
    assert queue.take("vllm") == Fault(kind="500", provider="vllm")
    assert queue.take("vllm") == Fault(kind="429", times=2)
    assert queue.take("openai") is None
    assert queue.pending() == []


def test_token_pieces_rejoin_to_the_text_even_across_multibyte_characters(
    token_counter: TokenCounter,
) -> None:
    text = "naïve café 東京タワー 🎉🎉 ok"
    pieces = token_counter.pieces(text)
    assert "".join(pieces) == text
    assert len(pieces) <= token_counter.count(text)


def test_approximate_counter_without_tiktoken() -> None:
    approx = TokenCounter(None)
    text = "The quick brown fox jumps over 1234 lazy dogs."
    assert not approx.exact
    assert "".join(approx.pieces(text)) == text
    assert 8 <= approx.count(text) <= 14
    assert approx.count("") == 0


def test_exact_counter_matches_tiktoken(token_counter: TokenCounter) -> None:
    assert token_counter.exact
    assert token_counter.count("hello world") == 2
    assert token_counter.count("tiktoken is great!") == 6


def test_reply_has_the_configured_length(token_counter: TokenCounter) -> None:
    for length in (1, 7, 64, 300):
        [reply] = plan_replies(ReplyRequest(prompt_text="hi"), counter=token_counter, default_tokens=length)
        assert reply.tokens == length
        assert reply.finish == "stop"


def test_long_prompt_is_echoed_only_in_part(token_counter: TokenCounter) -> None:
    prompt = "word " * 5000
    [reply] = plan_replies(ReplyRequest(prompt_text=prompt), counter=token_counter, default_tokens=300)
    assert reply.text.count("word") == 24


def test_tool_choice_logic() -> None:
    tools = (ToolSpec("get_weather", {}), ToolSpec("lookup_order", {}))
    assert pick_tool(ReplyRequest(prompt_text="where is my order? lookup order 5", tools=tools)) == tools[1]
    assert pick_tool(ReplyRequest(prompt_text="please use your tools", tools=tools)) == tools[0]
    assert pick_tool(ReplyRequest(prompt_text="hello", tools=tools)) is None
    assert pick_tool(ReplyRequest(prompt_text="hello", tools=tools, tool_mode="required")) == tools[0]
    assert pick_tool(ReplyRequest(prompt_text="get_weather", tools=tools, tool_mode="none")) is None
    assert pick_tool(ReplyRequest(prompt_text="get_weather", tools=tools, last_is_tool_result=True)) is None
    assert (
        pick_tool(
            ReplyRequest(prompt_text="x", tools=tools, tool_mode="required", forced_tool="lookup_order")
        )
        == tools[1]
    )


def test_tool_arguments_cut_by_max_tokens_finish_with_length(token_counter: TokenCounter) -> None:
    tools = (
        ToolSpec("f", {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}),
    )
    request = ReplyRequest(prompt_text="call f", tools=tools, max_tokens=2)
    [reply] = plan_replies(request, counter=token_counter, default_tokens=16)
    assert reply.finish == "length" and reply.tokens == 2 and reply.tool_name == "f"


def test_stop_at_the_very_start_gives_an_empty_reply(token_counter: TokenCounter) -> None:
    request = ReplyRequest(prompt_text="hi", stop=("Sim",))
    [reply] = plan_replies(request, counter=token_counter, default_tokens=16)
    assert reply.text == "" and reply.tokens == 0 and reply.stop_sequence == "Sim"
