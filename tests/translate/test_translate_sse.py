"""SSEParser and format_sse: framing, chunk boundaries, line endings, comments."""

from __future__ import annotations

import random

import orjson

from gateway.translate import SSEParser, format_sse
from tests.translate.translate_samples import ANTHROPIC_TEXT_STREAM, anthropic_tool_stream


def parse_all(chunks: list[bytes]) -> list[tuple[str | None, str]]:
    parser = SSEParser()
    events = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.flush())
    return events


def one_byte_at_a_time(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def test_anthropic_example_stream_parses_into_its_eight_events():
    events = parse_all([ANTHROPIC_TEXT_STREAM])
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert orjson.loads(events[3][1])["delta"] == {"type": "text_delta", "text": "Hello"}
    assert all(orjson.loads(data)["type"] == name for name, data in events)


def test_one_byte_at_a_time_gives_the_same_events():
    stream = anthropic_tool_stream()
    assert parse_all(one_byte_at_a_time(stream)) == parse_all([stream])
    assert len(parse_all([stream])) == 19


def test_random_chunk_boundaries_give_the_same_events():
    stream = anthropic_tool_stream().replace(b"\n", b"\r\n")
    expected = parse_all([stream])
    rng = random.Random(7)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(stream)), 40))
        chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        assert parse_all(chunks) == expected


def test_crlf_and_lone_cr_line_endings():
    lf = parse_all([ANTHROPIC_TEXT_STREAM])
    assert parse_all([ANTHROPIC_TEXT_STREAM.replace(b"\n", b"\r\n")]) == lf
    assert parse_all([ANTHROPIC_TEXT_STREAM.replace(b"\n", b"\r")]) == lf
    assert parse_all(one_byte_at_a_time(ANTHROPIC_TEXT_STREAM.replace(b"\n", b"\r\n"))) == lf
    assert parse_all(one_byte_at_a_time(ANTHROPIC_TEXT_STREAM.replace(b"\n", b"\r"))) == lf


def test_crlf_split_between_chunks_is_one_line_end_not_two():
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\ndata: b\r") == []
    assert parser.feed(b"\n\r\n") == [(None, "a\nb")]


def test_comments_and_keepalives_are_ignored():
    stream = b": keep-alive\n\n:ping\nevent: message_stop\n: mid-event comment\ndata: {}\n\n"
    assert parse_all([stream]) == [("message_stop", "{}")]


def test_multi_line_data_is_joined_with_newlines():
    assert parse_all([b"data: first\ndata: second\ndata:third\n\n"]) == [(None, "first\nsecond\nthird")]


def test_field_without_colon_and_value_without_space():
    assert parse_all([b"data\n\n"]) == [(None, "")]  # a data field, even empty, makes an event
    assert parse_all([b"data\ndata:x\n\n"]) == [(None, "\nx")]
    assert parse_all([b"event:ping\ndata:{}\n\n"]) == [("ping", "{}")]
    assert parse_all([b"data:  two spaces\n\n"]) == [(None, " two spaces")]


def test_event_without_data_is_not_dispatched_and_name_does_not_leak():
    assert parse_all([b"event: ping\n\ndata: x\n\n"]) == [(None, "x")]


def test_id_retry_and_unknown_fields_are_ignored():
    assert parse_all([b"id: 7\nretry: 1000\nfoo: bar\ndata: x\n\n"]) == [(None, "x")]


def test_openai_stream_with_done_sentinel():
    stream = b'data: {"id":"1","choices":[]}\n\ndata: [DONE]\n\n'
    assert parse_all(one_byte_at_a_time(stream)) == [(None, '{"id":"1","choices":[]}'), (None, "[DONE]")]


def test_utf8_character_split_across_chunks():
    data = "data: Bogotá ☕ 日本\n\n".encode()
    assert parse_all(one_byte_at_a_time(data)) == [(None, "Bogotá ☕ 日本")]


def test_byte_order_mark_is_stripped_even_when_split():
    data = b"\xef\xbb\xbfdata: x\n\n"
    assert parse_all([data]) == [(None, "x")]
    assert parse_all(one_byte_at_a_time(data)) == [(None, "x")]


def test_flush_dispatches_an_unterminated_last_event():
    parser = SSEParser()
    assert parser.feed(b"data: [DONE]") == []
    assert parser.flush() == [(None, "[DONE]")]
    assert parser.flush() == []
    parser = SSEParser()
    assert parser.feed(b"data: x\r") == []
    assert parser.flush() == [(None, "x")]


def test_partial_event_waits_for_the_blank_line():
    parser = SSEParser()
    assert parser.feed(b"event: ping\ndata: {}\n") == []
    assert parser.feed(b"\n") == [("ping", "{}")]


def test_format_sse_round_trips_through_the_parser():
    frames = format_sse("message_stop", {"type": "message_stop"}) + format_sse(None, {"a": "ü\nline"})
    frames += format_sse(None, "[DONE]") + format_sse("x", b"raw")
    assert frames.startswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    assert parse_all([frames]) == [
        ("message_stop", '{"type":"message_stop"}'),
        (None, '{"a":"ü\\nline"}'),
        (None, "[DONE]"),
        ("x", "raw"),
    ]


def test_format_sse_splits_a_multi_line_text_payload_into_data_lines():
    frame = format_sse("note", "one\ntwo\r\nthree")
    assert frame == b"event: note\ndata: one\ndata: two\ndata: three\n\n"
    assert parse_all([frame]) == [("note", "one\ntwo\nthree")]
