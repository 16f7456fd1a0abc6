from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncGenerator
from typing import cast

import pytest

from bench.openai_server import Fault, OpenAICompatServer, ServedUsage
from routing.providers.base import ChatRequest, ProviderError, Retract, StreamEnd, TextDelta
from routing.providers.openai_compat import (
    CALL_ID_HEADER,
    OpenAICompatProvider,
    SSEDataReader,
    openai_client_get,
    provider_error_from_object,
    retry_after_seconds,
)
from routing.tiers import TierConfig, TierName, default_catalogue

QUESTION = ChatRequest(messages=[{"role": "user", "content": "Where is my parcel?"}])


def _tier(**changes: object) -> TierConfig:
    return dataclasses.replace(default_catalogue()[TierName.INSTANT], **changes)  # type: ignore[arg-type]


def _provider(server: OpenAICompatServer) -> OpenAICompatProvider:
    return OpenAICompatProvider(base_url=server.url, api_key="test-key")


async def _collect(provider: OpenAICompatProvider, request: ChatRequest, tier: TierConfig) -> tuple[str, StreamEnd]:
    text, ends = [], []
    async for event in provider.stream(request, tier=tier):
        if isinstance(event, TextDelta):
            text.append(event.text)
        else:
            ends.append(event)
    assert len(ends) == 1
    return "".join(text), ends[0]


@pytest.mark.asyncio
async def test_stream_passes_provider_usage_through_exactly(openai_server: OpenAICompatServer) -> None:
    openai_server.usage = ServedUsage(prompt_tokens=1234, completion_tokens=567, cached_tokens=890)

    text, end = await _collect(_provider(openai_server), QUESTION, _tier())

    assert text == openai_server.text
    assert (end.usage.input_tokens, end.usage.cached_input_tokens, end.usage.output_tokens) == (1234, 890, 567)
    assert end.usage.estimated is False
    assert end.finish_reason == "stop"


@pytest.mark.asyncio
async def test_stream_asks_for_usage_and_sends_messages_unchanged(openai_server: OpenAICompatServer) -> None:
    image_question = ChatRequest(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is broken here?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                ],
            }
        ],
        max_output_tokens=300,
    )

    await _collect(_provider(openai_server), image_question, _tier(model="vision-model"))

    body = openai_server.requests[-1].body
    assert body["model"] == "vision-model"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == image_question.messages
    assert body["max_completion_tokens"] == 300
    assert openai_server.requests[-1].headers["authorization"] == "Bearer test-key"
    assert openai_server.requests[-1].headers["x-stainless-retry-count"] == "0"


@pytest.mark.asyncio
async def test_the_call_id_is_sent_as_a_header_only_when_there_is_one(openai_server: OpenAICompatServer) -> None:
    await _collect(_provider(openai_server), dataclasses.replace(QUESTION, call_id="0123abcd"), _tier())
    await _collect(_provider(openai_server), QUESTION, _tier())

    with_id, without_id = openai_server.requests
    assert with_id.headers[CALL_ID_HEADER.lower()] == "0123abcd"
    assert CALL_ID_HEADER.lower() not in without_id.headers


@pytest.mark.asyncio
async def test_missing_usage_is_estimated_locally(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.no_usage())

    text, end = await _collect(_provider(openai_server), QUESTION, _tier())

    assert end.usage.estimated is True
    assert end.usage.output_tokens == -(-len(text) // 4)
    assert end.usage.input_tokens > 0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "retryable"), [(429, True), (500, True), (503, True), (400, False), (401, False), (404, False)]
)
async def test_status_errors_say_whether_to_retry(
    openai_server: OpenAICompatServer, status: int, retryable: bool
) -> None:
    openai_server.script(Fault.http_error(status=status, retry_after_s=3))

    with pytest.raises(ProviderError) as raised:
        await _collect(_provider(openai_server), QUESTION, _tier())

    assert raised.value.status_code == status
    assert raised.value.retryable is retryable
    assert raised.value.retry_after_s == (3.0 if retryable else None)


@pytest.mark.asyncio
async def test_hang_before_headers_hits_first_token_timeout(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.hang())

    with pytest.raises(ProviderError, match="first token") as raised:
        await _collect(_provider(openai_server), QUESTION, _tier(first_token_timeout_s=0.3))

    assert raised.value.retryable is True


@pytest.mark.asyncio
async def test_hang_mid_stream_hits_the_idle_deadline(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.hang(after_chunks=2))
    received: list[str] = []

    with pytest.raises(ProviderError, match="no chunk for 0.5 s") as raised:
        async for event in _provider(openai_server).stream(QUESTION, tier=_tier(idle_timeout_s=0.5)):
            if isinstance(event, TextDelta):
                received.append(event.text)

    assert raised.value.retryable is True and raised.value.tier_fault is True
    assert len(received) == 2


@pytest.mark.asyncio
async def test_a_slow_stream_under_its_token_cap_outlives_the_total_deadline(openai_server: OpenAICompatServer) -> None:
    """A slow model that keeps sending is not a broken one: 8 chunks 0.1 s apart pass a 0.3 s total limit."""
    openai_server.interval_ms = 100
    capped = dataclasses.replace(QUESTION, max_output_tokens=64)

    text, end = await _collect(_provider(openai_server), capped, _tier(idle_timeout_s=0.5, total_timeout_s=0.3))

    assert text == openai_server.text and end.finish_reason == "stop"


@pytest.mark.asyncio
async def test_cut_stream_is_a_retryable_connection_error(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.cut(after_chunks=3))
    received: list[str] = []

    with pytest.raises(ProviderError) as raised:
        async for event in _provider(openai_server).stream(QUESTION, tier=_tier()):
            if isinstance(event, TextDelta):
                received.append(event.text)

    assert raised.value.retryable is True
    assert raised.value.status_code is None
    assert "".join(received) == openai_server.text[: len("".join(received))]
    assert len(received) == 3


@pytest.mark.asyncio
async def test_refused_connection_is_retryable() -> None:
    provider = OpenAICompatProvider(base_url="http://127.0.0.1:9/v1", api_key="test-key")

    with pytest.raises(ProviderError) as raised:
        await _collect(provider, QUESTION, _tier(connect_timeout_s=1.0))

    assert raised.value.retryable is True


@pytest.mark.asyncio
async def test_one_client_per_endpoint_and_key(openai_server: OpenAICompatServer) -> None:
    first = openai_client_get(base_url=openai_server.url, api_key="a")
    assert openai_client_get(base_url=openai_server.url, api_key="a") is first
    assert openai_client_get(base_url=openai_server.url, api_key="b") is not first
    assert first.max_retries == 0


@pytest.mark.asyncio
async def test_stopping_early_frees_the_connection_for_the_next_call(openai_server: OpenAICompatServer) -> None:
    provider = _provider(openai_server)
    stream = cast("AsyncGenerator[TextDelta | StreamEnd, None]", provider.stream(QUESTION, tier=_tier()))
    first = await anext(stream)
    await stream.aclose()

    text, _ = await _collect(provider, QUESTION, _tier())

    assert isinstance(first, TextDelta)
    assert text == openai_server.text


def test_retry_after_reads_seconds_milliseconds_and_dates() -> None:
    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "7"}) == 1.5
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"retry-after": "soon"}) is None
    from_date = retry_after_seconds({"retry-after": "Thu, 01 Jan 2099 00:00:00 GMT"})
    assert from_date is not None and from_date > 3600


@pytest.mark.asyncio
async def test_total_deadline_passing_while_the_caller_is_busy_ends_an_uncapped_stream(
    openai_server: OpenAICompatServer,
) -> None:
    received: list[str] = []

    with pytest.raises(ProviderError, match="not finished") as raised:
        async for event in _provider(openai_server).stream(QUESTION, tier=_tier(total_timeout_s=0.2)):
            if isinstance(event, TextDelta):
                received.append(event.text)
                await asyncio.sleep(0.3)  # the caller, not the upstream, holds the stream past its deadline

    assert len(received) == 1
    assert raised.value.tier_fault is False  # our limit, not the model's failure: the breaker ignores it


@pytest.mark.asyncio
async def test_cancelling_the_caller_is_not_mistaken_for_a_timeout(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.hang(after_chunks=2))
    received: list[str] = []

    async def consume() -> None:
        async for event in _provider(openai_server).stream(QUESTION, tier=_tier(total_timeout_s=30)):
            if isinstance(event, TextDelta):
                received.append(event.text)

    task = asyncio.create_task(consume())
    while len(received) < 2:
        await asyncio.sleep(0.01)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(received) == 2


# -- The event stream as servers really cut it ------------------------------------------------


def test_sse_reader_joins_events_cut_at_any_byte() -> None:
    body = b'data: {"a":1}\r\n\r\n: keep-alive\n\ndata: first\ndata: second\n\nevent: ping\n\ndata: [DONE]\n\n'
    for cut in range(len(body) + 1):
        reader = SSEDataReader()

        events = reader.feed(body[:cut]) + reader.feed(body[cut:]) + reader.finish()

        assert events == [b'{"a":1}', b"first\nsecond", b"[DONE]"], cut


def test_sse_reader_does_not_report_events_with_blank_data() -> None:
    reader = SSEDataReader()

    events = reader.feed(b"event: ping\ndata: \n\ndata:\n\n: keep-alive\n\ndata: {}\n\n")

    assert events == [b"{}"]


def test_sse_reader_reads_cr_line_ends_and_an_unclosed_last_event() -> None:
    reader = SSEDataReader()

    events = reader.feed(b"data:no-space\r\rdata: \r") + reader.feed(b"\ndata: tail")

    assert events == [b"no-space"]
    assert reader.finish() == [b"\ntail"]


STREAM_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


JSON_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
STALL = b""  # a piece that is not sent: the server says nothing for ``stall_s`` instead


@dataclasses.dataclass
class RawSSEServer:
    """A real HTTP server that streams a scripted body, one network write per piece."""

    pieces: list[bytes]
    connections: int = 0
    url: str = ""
    head: bytes = STREAM_HEAD
    gap_s: float = 0.002  # so each piece arrives as its own read
    stall_s: float = 0.0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await _request_skip(reader):
                writer.write(self.head)
                for piece in self.pieces:
                    if piece is STALL:
                        await asyncio.sleep(self.stall_s)
                        continue
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    await writer.drain()
                    await asyncio.sleep(self.gap_s)
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


async def _request_skip(reader: asyncio.StreamReader) -> bool:
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return False
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    await reader.readexactly(length)
    return True


@pytest.fixture
async def raw_server() -> AsyncGenerator[RawSSEServer, None]:
    raw = RawSSEServer(pieces=[])
    server = await asyncio.start_server(raw.serve, "127.0.0.1", 0)
    raw.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    yield raw
    server.close()


def _event(payload: object) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _content(text: str) -> bytes:
    return _event({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})


USAGE_EVENT = _event({"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 3}})


@pytest.mark.asyncio
async def test_keep_alives_and_events_cut_across_reads_stream_every_token(raw_server: RawSSEServer) -> None:
    hello, world = _content("Hello"), _content(", world")
    raw_server.pieces = [
        _event({"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}),
        b": keep-alive\n\n",
        hello[:9],
        hello[9:] + world[:-1],
        world[-1:],
        _event({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}),
        USAGE_EVENT,
        b"data: [DONE]\n\n",
    ]
    provider = OpenAICompatProvider(base_url=raw_server.url, api_key="test-key")

    text, end = await _collect(provider, QUESTION, _tier())
    await _collect(provider, QUESTION, _tier())

    assert text == "Hello, world"
    assert (end.usage.input_tokens, end.usage.cached_input_tokens, end.usage.output_tokens) == (11, 0, 3)
    assert end.usage.estimated is False
    assert end.finish_reason == "length"
    # The body was read to its end after [DONE], so the second answer reused the connection.
    assert raw_server.connections == 1


@pytest.mark.asyncio
async def test_body_ending_after_a_finish_reason_without_done_is_complete(raw_server: RawSSEServer) -> None:
    finish = _event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    raw_server.pieces = [_content("Hi"), finish, USAGE_EVENT[:-2]]

    text, end = await _collect(OpenAICompatProvider(base_url=raw_server.url, api_key="k"), QUESTION, _tier())

    assert text == "Hi"
    assert end.usage.output_tokens == 3 and end.finish_reason == "stop"


@pytest.mark.asyncio
async def test_text_sent_after_the_finish_reason_is_not_part_of_the_answer(raw_server: RawSSEServer) -> None:
    finish = _event({"choices": [{"index": 0, "delta": {"content": "!"}, "finish_reason": "stop"}]})
    raw_server.pieces = [_content("Hi"), finish, _content(" EXTRA"), USAGE_EVENT, b"data: [DONE]\n\n"]

    text, end = await _collect(OpenAICompatProvider(base_url=raw_server.url, api_key="k"), QUESTION, _tier())

    assert text == "Hi!"
    assert end.finish_reason == "stop" and end.usage.output_tokens == 3


@pytest.mark.asyncio
async def test_body_ending_without_done_or_finish_reason_is_an_incomplete_answer(raw_server: RawSSEServer) -> None:
    # The body ends cleanly as far as HTTP goes (the terminating chunk), as a proxy cutting the stream sends it.
    raw_server.pieces = [_content("Hi"), USAGE_EVENT]
    received: list[str] = []

    with pytest.raises(ProviderError, match="incomplete") as raised:
        async for event in OpenAICompatProvider(base_url=raw_server.url, api_key="k").stream(QUESTION, tier=_tier()):
            if isinstance(event, TextDelta):
                received.append(event.text)

    assert raised.value.retryable is True and raised.value.status_code is None
    assert received == ["Hi"]


@pytest.mark.asyncio
@pytest.mark.parametrize("reason", ["content_filter", "error"])
async def test_a_generation_stopped_by_a_filter_or_an_error_is_not_an_answer(
    raw_server: RawSSEServer, reason: str
) -> None:
    raw_server.pieces = [_content("Hi"), _event({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})]
    raw_server.pieces += [USAGE_EVENT, b"data: [DONE]\n\n"]

    with pytest.raises(ProviderError, match=reason) as raised:
        await _collect(OpenAICompatProvider(base_url=raw_server.url, api_key="k"), QUESTION, _tier())

    assert raised.value.retryable is True


@pytest.mark.asyncio
async def test_a_stream_that_finishes_without_any_text_is_not_an_answer(raw_server: RawSSEServer) -> None:
    # A reasoning model that spent its whole token cap thinking: reasoning deltas, then "length", no text.
    thought = _event({"choices": [{"index": 0, "delta": {"reasoning_content": "Let me think"}, "finish_reason": None}]})
    length = _event({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
    raw_server.pieces = [thought, length, USAGE_EVENT, b"data: [DONE]\n\n"]

    with pytest.raises(ProviderError, match="without any text") as raised:
        await _collect(OpenAICompatProvider(base_url=raw_server.url, api_key="k"), QUESTION, _tier())

    assert raised.value.retryable is True


@pytest.mark.asyncio
async def test_a_json_error_body_with_a_200_is_an_error_not_an_empty_answer(raw_server: RawSSEServer) -> None:
    raw_server.head = JSON_HEAD
    raw_server.pieces = [json.dumps({"error": {"message": "quota exceeded", "code": "rate_limit_exceeded"}}).encode()]

    with pytest.raises(ProviderError, match="quota exceeded") as raised:
        await _collect(OpenAICompatProvider(base_url=raw_server.url, api_key="k"), QUESTION, _tier())

    assert (raised.value.retryable, raised.value.status_code) == (True, 429)


@pytest.mark.parametrize(
    ("error", "retryable", "status"),
    [
        ({"message": "overloaded", "code": 500}, True, 500),
        ({"message": "slow down", "code": "429"}, True, 429),
        ({"message": "too long", "type": "invalid_request_error", "code": "context_length_exceeded"}, False, 400),
        ({"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}, False, 401),
        ({"message": "no such model", "code": "model_not_found"}, False, 404),
        ({"message": "something odd", "type": "weird", "code": None}, True, None),
        ("a bare string", True, None),
    ],
)
def test_error_objects_are_retryable_as_their_code_says(error: object, retryable: bool, status: int | None) -> None:
    mapped = provider_error_from_object(error)

    assert (mapped.retryable, mapped.status_code) == (retryable, status)
    assert str(error if isinstance(error, str) else error["message"]) in str(mapped)  # type: ignore[index]


@pytest.mark.asyncio
async def test_a_stall_mid_answer_longer_than_the_idle_deadline_ends_the_call(raw_server: RawSSEServer) -> None:
    raw_server.pieces = [_content("Hi"), _content(" there"), STALL, _content(" late"), b"data: [DONE]\n\n"]
    raw_server.stall_s = 0.8
    received: list[str] = []

    with pytest.raises(ProviderError, match="no chunk for 0.3 s") as raised:
        async for event in OpenAICompatProvider(base_url=raw_server.url, api_key="k").stream(
            QUESTION, tier=_tier(idle_timeout_s=0.3, total_timeout_s=30)
        ):
            if isinstance(event, TextDelta):
                received.append(event.text)

    assert raised.value.retryable is True
    assert received == ["Hi", " there"]


@pytest.mark.asyncio
async def test_chunks_slower_in_total_than_the_idle_deadline_but_steady_are_not_cut(raw_server: RawSSEServer) -> None:
    raw_server.pieces = [_content(f"w{index} ") for index in range(6)]
    raw_server.pieces += [_event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})]
    raw_server.gap_s = 0.15  # 0.9 s in all, three times the idle deadline, never more than half of it between chunks

    text, end = await _collect(
        OpenAICompatProvider(base_url=raw_server.url, api_key="k"),
        QUESTION,
        _tier(idle_timeout_s=0.3, total_timeout_s=30),
    )

    assert text == "w0 w1 w2 w3 w4 w5 " and end.finish_reason == "stop"


@pytest.mark.asyncio
async def test_a_stream_running_past_its_token_cap_is_cut_before_any_deadline(raw_server: RawSSEServer) -> None:
    raw_server.pieces = [_content(f"w{index} ") for index in range(200)]
    capped = dataclasses.replace(QUESTION, max_output_tokens=16)
    received: list[str] = []

    with pytest.raises(ProviderError, match="token cap") as raised:
        async for event in OpenAICompatProvider(base_url=raw_server.url, api_key="k").stream(
            capped, tier=_tier(total_timeout_s=60)
        ):
            if isinstance(event, TextDelta):
                received.append(event.text)

    assert raised.value.retryable is True
    assert len(received) == 2 * 16 + 8 + 1  # the first chunk past the limit ends the call


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("bad_event", "message"),
    [
        (_event({"error": {"message": "overloaded", "type": "server_error"}}), "overloaded"),
        (b"data: {not json\n\n", "malformed"),
    ],
)
async def test_error_or_garbage_inside_the_stream_is_retryable(
    raw_server: RawSSEServer, bad_event: bytes, message: str
) -> None:
    raw_server.pieces = [_content("Hi"), bad_event, USAGE_EVENT]
    received: list[str] = []

    with pytest.raises(ProviderError, match=message) as raised:
        async for event in OpenAICompatProvider(base_url=raw_server.url, api_key="k").stream(QUESTION, tier=_tier()):
            if isinstance(event, TextDelta):
                received.append(event.text)

    assert raised.value.retryable is True
    assert received == ["Hi"]


# --- Streams from servers unlike ours ------------------------------------------------------------


def _finish(reason: object) -> bytes:
    return _event({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})


async def _stream_events(raw_server: RawSSEServer) -> tuple[list[str], StreamEnd | ProviderError]:
    """The text deltas and how the stream ended: its StreamEnd, or the ProviderError it raised."""
    received: list[str] = []
    try:
        async for event in OpenAICompatProvider(base_url=raw_server.url, api_key="k").stream(QUESTION, tier=_tier()):
            if isinstance(event, TextDelta):
                received.append(event.text)
            else:
                return received, event
    except ProviderError as error:
        return received, error
    raise AssertionError("the stream ended without a StreamEnd")


@pytest.mark.asyncio
async def test_an_error_named_by_the_sse_event_field_ends_the_stream_as_an_error(raw_server: RawSSEServer) -> None:
    # No "error" key in the data: only the event's name says it is one.
    overloaded = b'event: error\ndata: {"type": "error", "message": "upstream overloaded", "code": 529}\n\n'
    raw_server.pieces = [_content("Hi"), _content(" there"), overloaded, _finish("stop"), b"data: [DONE]\n\n"]

    received, ended = await _stream_events(raw_server)

    assert received == ["Hi", " there"]
    assert isinstance(ended, ProviderError) and "upstream overloaded" in str(ended)
    assert ended.retryable is True and ended.status_code == 529


@pytest.mark.asyncio
async def test_other_event_names_are_read_as_plain_events(raw_server: RawSSEServer) -> None:
    raw_server.pieces = [b"event: message\n" + _content("Hi"), b"event: ping\ndata: {}\n\n", _finish("stop")]

    received, ended = await _stream_events(raw_server)

    assert received == ["Hi"] and isinstance(ended, StreamEnd)


@pytest.mark.asyncio
@pytest.mark.parametrize(("reason", "read_as"), [("LENGTH", "length"), ("max_tokens", "length"), ("STOP", "stop")])
async def test_finish_reasons_are_read_whatever_their_case_or_name(
    raw_server: RawSSEServer, reason: str, read_as: str
) -> None:
    raw_server.pieces = [_content("Hi"), _finish(reason), b"data: [DONE]\n\n"]

    _, ended = await _stream_events(raw_server)

    assert isinstance(ended, StreamEnd) and ended.finish_reason == read_as


@pytest.mark.asyncio
async def test_a_stream_of_only_whitespace_is_not_an_answer_and_shows_nothing(raw_server: RawSSEServer) -> None:
    raw_server.pieces = [_content(" "), _content("\n\n"), _content("  "), _finish("stop"), b"data: [DONE]\n\n"]

    received, ended = await _stream_events(raw_server)

    assert received == []
    assert isinstance(ended, ProviderError) and "without any text" in str(ended)


@pytest.mark.asyncio
async def test_an_answers_leading_blank_lines_are_dropped_but_a_continuations_space_is_kept(
    raw_server: RawSSEServer,
) -> None:
    raw_server.pieces = [_content("\n\n"), _content("Hello"), _content(" you"), _finish("stop")]

    received, ended = await _stream_events(raw_server)

    assert received == ["Hello", " you"] and isinstance(ended, StreamEnd)
    # A backup continuing a cut answer: its leading space joins its words to the text already shown.
    raw_server.pieces = [_content(" "), _content("and more."), _finish("stop")]
    provider = OpenAICompatProvider(base_url=raw_server.url, api_key="k")
    text, _ = await _collect(provider, dataclasses.replace(QUESTION, continues=True), _tier())
    assert text == " and more."


@pytest.mark.asyncio
async def test_content_sent_as_a_list_of_parts_is_read_as_its_text(raw_server: RawSSEServer) -> None:
    parts = {"content": [{"type": "text", "text": " there"}, {"type": "image", "url": "x"}]}
    raw_server.pieces = [_content("Hi"), _event({"choices": [{"index": 0, "delta": parts}]}), _finish("stop")]

    received, ended = await _stream_events(raw_server)

    assert received == ["Hi", " there"] and isinstance(ended, StreamEnd)


@pytest.mark.asyncio
@pytest.mark.parametrize("content", [11, {"text": "x"}, ["x"]])
async def test_content_of_another_type_is_a_malformed_stream(raw_server: RawSSEServer, content: object) -> None:
    raw_server.pieces = [_content("Hi"), _event({"choices": [{"index": 0, "delta": {"content": content}}]})]

    received, ended = await _stream_events(raw_server)

    assert received == ["Hi"]
    assert isinstance(ended, ProviderError) and "malformed" in str(ended) and ended.retryable


@pytest.mark.asyncio
async def test_with_several_choices_the_answer_is_choice_zero_whatever_the_order(raw_server: RawSSEServer) -> None:
    def both(zero: str, one: str, finish: str | None = None) -> bytes:
        return _event(
            {
                "choices": [
                    {"index": 1, "delta": {"content": one}, "finish_reason": finish},
                    {"index": 0, "delta": {"content": zero}, "finish_reason": finish},
                ]
            }
        )

    raw_server.pieces = [both("Yes", "No"), both(", we do.", ", we don't."), both("", "", "stop")]

    received, ended = await _stream_events(raw_server)

    assert "".join(received) == "Yes, we do." and isinstance(ended, StreamEnd)


@pytest.mark.asyncio
async def test_one_huge_chunk_past_the_token_cap_is_cut_before_it_is_shown(raw_server: RawSSEServer) -> None:
    raw_server.pieces = [_content("Hi"), _content("x" * 200_000), _finish("stop")]
    capped = dataclasses.replace(QUESTION, max_output_tokens=100)
    received: list[str] = []

    with pytest.raises(ProviderError, match="cap"):
        async for event in OpenAICompatProvider(base_url=raw_server.url, api_key="k").stream(capped, tier=_tier()):
            if isinstance(event, TextDelta):
                received.append(event.text)

    assert received == ["Hi"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": -100000, "completion_tokens": 3},
        {"prompt_tokens": 11, "completion_tokens": 10**13},
        {"prompt_tokens": 11.5, "completion_tokens": 3},
        {"prompt_tokens": True, "completion_tokens": 3},
    ],
)
async def test_a_usage_that_is_no_count_is_replaced_by_an_estimate(raw_server: RawSSEServer, usage: object) -> None:
    raw_server.pieces = [_content("Hi"), _finish("stop"), _event({"choices": [], "usage": usage}), b"data: [DONE]\n\n"]

    _, ended = await _stream_events(raw_server)

    assert isinstance(ended, StreamEnd) and ended.usage.estimated is True
    assert 0 < ended.usage.input_tokens < 1000 and 0 < ended.usage.output_tokens < 10


@pytest.mark.asyncio
async def test_cached_tokens_are_never_counted_above_the_prompt(raw_server: RawSSEServer) -> None:
    usage = {"prompt_tokens": 11, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 5000}}
    raw_server.pieces = [_content("Hi"), _finish("stop"), _event({"choices": [], "usage": usage})]

    _, ended = await _stream_events(raw_server)

    assert isinstance(ended, StreamEnd) and ended.usage.cached_input_tokens == 11 and not ended.usage.estimated


@pytest.mark.asyncio
async def test_deepseek_cache_hits_count_as_cached_input(raw_server: RawSSEServer) -> None:
    # DeepSeek reports its prompt cache as prompt_cache_hit_tokens / _miss_tokens, not prompt_tokens_details.
    usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 3,
        "prompt_cache_hit_tokens": 900,
        "prompt_cache_miss_tokens": 100,
    }
    raw_server.pieces = [_content("Hi"), _finish("stop"), _event({"choices": [], "usage": usage})]

    _, ended = await _stream_events(raw_server)

    assert isinstance(ended, StreamEnd) and ended.usage.cached_input_tokens == 900 and not ended.usage.estimated


@pytest.mark.asyncio
@pytest.mark.parametrize("cut", [None, 1, 2, 3, 5])
async def test_a_byte_order_mark_before_the_first_event_loses_no_text(
    raw_server: RawSSEServer, cut: int | None
) -> None:
    # The event-stream format drops one leading U+FEFF; some servers write it, and the network may cut it.
    body = b"\xef\xbb\xbf" + _content("Our ") + _content("trial lasts 100 nights.") + _finish("stop") + USAGE_EVENT
    raw_server.pieces = [body] if cut is None else [body[:cut], body[cut:]]

    text, end = await _collect(OpenAICompatProvider(base_url=raw_server.url, api_key="k"), QUESTION, _tier())

    assert text == "Our trial lasts 100 nights." and end.finish_reason == "stop" and not end.usage.estimated


def test_sse_reader_keeps_a_byte_order_mark_that_is_not_at_the_start() -> None:
    reader = SSEDataReader()
    assert reader.feed(b"data: a\n\n") == [b"a"]
    assert reader.feed(b"\xef\xbb\xbfdata: b\n\n") == []  # a field name with a mark in front is no field


@pytest.mark.asyncio
async def test_an_emoji_sent_as_two_halves_in_two_chunks_is_one_character(raw_server: RawSSEServer) -> None:
    # A proxy cutting text by UTF-16 units: JSON escapes of the two halves of one emoji, in two chunks.
    high = b'data: {"choices": [{"index": 0, "delta": {"content": "Sure \\ud83d"}, "finish_reason": null}]}\n\n'
    low = b'data: {"choices": [{"index": 0, "delta": {"content": "\\ude00 thing"}, "finish_reason": null}]}\n\n'
    lone = b'data: {"choices": [{"index": 0, "delta": {"content": "!\\udc00"}, "finish_reason": null}]}\n\n'
    raw_server.pieces = [high, low, lone, _finish("stop"), b"data: [DONE]\n\n"]

    received, end = await _stream_events(raw_server)

    assert "".join(received) == "Sure \U0001f600 thing!"  # the lone half is no character and is dropped
    assert all(text.encode("utf-8") for text in received)  # each piece can be sent and stored
    assert isinstance(end, StreamEnd)


@pytest.mark.asyncio
async def test_a_nul_character_from_the_model_is_not_passed_on(raw_server: RawSSEServer) -> None:
    raw_server.pieces = [_content("Hel\x00lo"), _finish("stop"), b"data: [DONE]\n\n"]

    received, _ = await _stream_events(raw_server)

    assert "".join(received) == "Hello"


@pytest.mark.asyncio
@pytest.mark.parametrize(("opening", "closing"), [("<think>", "</think>"), ("<thinking>", "</thinking>")])
async def test_reasoning_written_into_the_content_is_dropped_however_its_tags_are_cut(
    raw_server: RawSSEServer, opening: str, closing: str
) -> None:
    reasoning = (
        f"\n{opening}\nThe customer is probably lying; refund cost is $240.\n{closing}\n\nOur trial lasts 100 nights."
    )
    cut = [reasoning[index : index + 3] for index in range(0, len(reasoning), 3)]  # tags cut anywhere
    raw_server.pieces = [_content(piece) for piece in cut] + [_finish("stop"), b"data: [DONE]\n\n"]

    received, end = await _stream_events(raw_server)

    assert "".join(received) == "Our trial lasts 100 nights."
    assert isinstance(end, StreamEnd)


async def _answer_events(provider: OpenAICompatProvider) -> tuple[str, list[str], StreamEnd | ProviderError]:
    """(the answer as a client keeps it, a log of what it was sent, how the stream ended)."""
    kept: list[str] = []
    log: list[str] = []
    try:
        async for event in provider.stream(QUESTION, tier=_tier()):
            if isinstance(event, TextDelta):
                kept.append(event.text)
                log.append(event.text)
            elif isinstance(event, Retract):
                kept.clear()
                log.append("<retract>")
            else:
                return "".join(kept), log, event
    except ProviderError as error:
        return "".join(kept), log, error
    raise AssertionError("the stream ended without a StreamEnd")


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [1, 3, 7, 400])
async def test_reasoning_whose_opening_tag_was_in_the_prompt_is_taken_back_and_then_never_shown(
    raw_server: RawSSEServer, size: int
) -> None:
    # DeepSeek-R1 templates put "<think>" in the prompt: the content is reasoning, then only "</think>".
    streamed = "Okay, the user asks. SECRET_REASONING I should answer.\n</think>\n\nOur trial lasts 100 nights."
    pieces = [_content(streamed[index : index + size]) for index in range(0, len(streamed), size)]
    raw_server.pieces = [*pieces, _finish("stop"), USAGE_EVENT, b"data: [DONE]\n\n"]
    provider = OpenAICompatProvider(base_url=raw_server.url, api_key="k")

    answer, log, end = await _answer_events(provider)

    assert answer == "Our trial lasts 100 nights." and isinstance(end, StreamEnd)
    if size < len(streamed):
        assert "<retract>" in log  # what was shown of the reasoning is taken back
    # The model is now known to start inside its reasoning: the next answer never shows any of it.
    answer, log, end = await _answer_events(provider)
    assert answer == "Our trial lasts 100 nights." and "<retract>" not in log
    assert not any("SECRET" in piece for piece in log)
    # And an answer of that model with no reasoning at all still arrives whole, at its end.
    raw_server.pieces = [_content("Plain "), _content("answer."), _finish("stop"), USAGE_EVENT, b"data: [DONE]\n\n"]
    answer, log, end = await _answer_events(provider)
    assert answer == "Plain answer." and isinstance(end, StreamEnd) and log == ["Plain answer."]
    # Which says the model does not reason first (any more): its next answers stream again, piece by piece.
    answer, log, end = await _answer_events(provider)
    assert answer == "Plain answer." and log == ["Plain ", "answer."]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "later",
    [
        "SECRET thoughts.\n</thinking>\n\nOur trial lasts 100 nights.",
        "<thinking>SECRET thoughts.</thinking>\nOur trial lasts 100 nights.",
        "<|channel|>analysis<|message|>SECRET<|end|><|start|>assistant<|channel|>final<|message|>"
        "Our trial lasts 100 nights.<|return|>",
    ],
    ids=["bare-thinking", "opened-thinking", "harmony"],
)
async def test_a_model_known_to_reason_first_leaks_nothing_whatever_format_it_writes_next(
    raw_server: RawSSEServer, later: str
) -> None:
    provider = OpenAICompatProvider(base_url=raw_server.url, api_key="k")
    raw_server.pieces = [_content("Some reasoning.\n</thinking>"), _content("\n\nFirst."), _finish("stop")]
    answer, _, _ = await _answer_events(provider)
    assert answer == "First."  # now known to start inside its reasoning

    raw_server.pieces = [*(_content(later[index : index + 4]) for index in range(0, len(later), 4)), _finish("stop")]
    answer, log, end = await _answer_events(provider)

    # The end token comes cut across chunks: its start is held until the rest shows it is one.
    assert answer == "Our trial lasts 100 nights." and isinstance(end, StreamEnd)
    assert "SECRET" not in "".join(log) and "<retract>" not in log


@pytest.mark.asyncio
async def test_only_reasoning_before_a_bare_closing_tag_is_no_answer(raw_server: RawSSEServer) -> None:
    raw_server.pieces = [_content("Let me think about it."), _content("</think>\n\n"), _finish("stop"), USAGE_EVENT]

    answer, log, end = await _answer_events(OpenAICompatProvider(base_url=raw_server.url, api_key="k"))

    assert answer == "" and log == ["Let me think about it.", "<retract>"]
    assert isinstance(end, ProviderError)


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [2, 5, 1000])
async def test_harmony_output_from_a_server_that_does_not_parse_it_shows_only_the_final_channel(
    raw_server: RawSSEServer, size: int
) -> None:
    streamed = (
        "<|channel|>analysis<|message|>SECRET analysis of the refund.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Our trial lasts 100 nights.<|return|>"
    )
    pieces = [_content(streamed[index : index + size]) for index in range(0, len(streamed), size)]
    raw_server.pieces = [*pieces, _finish("stop"), USAGE_EVENT, b"data: [DONE]\n\n"]

    answer, log, end = await _answer_events(OpenAICompatProvider(base_url=raw_server.url, api_key="k"))

    assert "SECRET" not in "".join(log) and isinstance(end, StreamEnd)
    # However the stream cuts the end token, no piece of it reaches the draft.
    assert answer == "Our trial lasts 100 nights." and not any("<" in piece for piece in log)


@pytest.mark.asyncio
async def test_text_that_only_starts_like_an_end_token_is_shown_whole(raw_server: RawSSEServer) -> None:
    raw_server.pieces = [_content("Press <"), _content("|en"), _content("ter> twice, then <|"), _finish("stop")]
    received, end = await _stream_events(raw_server)
    assert "".join(received) == "Press <|enter> twice, then <|" and isinstance(end, StreamEnd)


@pytest.mark.asyncio
async def test_an_answer_that_only_starts_like_a_tag_is_shown_whole(raw_server: RawSSEServer) -> None:
    raw_server.pieces = [_content("<th"), _content("ree> steps: unplug it."), _finish("stop"), b"data: [DONE]\n\n"]
    received, _ = await _stream_events(raw_server)
    assert "".join(received) == "<three> steps: unplug it."

    raw_server.pieces = [_content("<"), _finish("stop"), b"data: [DONE]\n\n"]  # ends while it could be a tag
    received, end = await _stream_events(raw_server)
    assert "".join(received) == "<" and isinstance(end, StreamEnd)


@pytest.mark.asyncio
async def test_only_reasoning_in_tags_is_no_answer(raw_server: RawSSEServer) -> None:
    raw_server.pieces = [_content("<think>hmm, let me see"), _finish("stop"), USAGE_EVENT, b"data: [DONE]\n\n"]

    received, end = await _stream_events(raw_server)

    assert received == [] and isinstance(end, ProviderError) and "without any text" in str(end)
    # The server billed the call: its usage goes with the error, for the ledger.
    assert end.usage is not None and (end.usage.input_tokens, end.usage.output_tokens) == (11, 3)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "pieces",
    [
        [_content("<think>hmm, let me see"), _finish("stop"), b"data: [DONE]\n\n"],  # no usage sent
        [_content("<think>hmm, let me see")],  # the body ends inside the reasoning
    ],
)
async def test_a_call_the_server_took_and_worked_on_is_estimated_not_free(
    raw_server: RawSSEServer, pieces: list[bytes]
) -> None:
    raw_server.pieces = pieces

    received, end = await _stream_events(raw_server)

    assert received == [] and isinstance(end, ProviderError)
    # No usage from the server, yet it read the question and wrote the reasoning: both estimated.
    assert end.usage is not None and end.usage.estimated
    assert end.usage.input_tokens > 0 and end.usage.output_tokens > 0


@pytest.mark.asyncio
async def test_a_refused_request_costs_nothing(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.http_error(status=500))
    with pytest.raises(ProviderError) as refused:
        await _collect(_provider(openai_server), QUESTION, _tier())
    assert refused.value.usage is None  # the gateway records it as nothing used


@pytest.mark.asyncio
async def test_reasoning_deltas_meet_the_first_token_deadline(raw_server: RawSSEServer) -> None:
    thought = _event({"choices": [{"index": 0, "delta": {"reasoning_content": "Let me think"}, "finish_reason": None}]})
    raw_server.pieces = [thought, STALL, thought, STALL, _content("Unplug it."), _finish("stop"), b"data: [DONE]\n\n"]
    raw_server.stall_s = 0.4  # each silence shorter than the idle deadline, the wait for text longer than the first
    tier = _tier(first_token_timeout_s=0.5, idle_timeout_s=1.0)

    text, end = await _collect(OpenAICompatProvider(base_url=raw_server.url, api_key="k"), QUESTION, tier)

    assert text == "Unplug it." and end.finish_reason == "stop"


@pytest.mark.asyncio
async def test_an_empty_continuation_that_finishes_properly_says_the_answer_was_whole(
    raw_server: RawSSEServer,
) -> None:
    raw_server.pieces = [_finish("stop"), USAGE_EVENT, b"data: [DONE]\n\n"]
    provider = OpenAICompatProvider(base_url=raw_server.url, api_key="k")

    text, end = await _collect(provider, dataclasses.replace(QUESTION, continues=True), _tier())
    assert text == "" and end.finish_reason == "stop" and end.usage.input_tokens == 11

    with pytest.raises(ProviderError, match="without any text"):  # not a continuation: no answer at all
        await _collect(provider, QUESTION, _tier())


@pytest.mark.asyncio
async def test_a_whole_completion_sent_as_json_instead_of_a_stream_is_the_answer(raw_server: RawSSEServer) -> None:
    raw_server.head = JSON_HEAD
    completion = {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Unplug it."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 4},
    }
    raw_server.pieces = [json.dumps(completion).encode()]

    text, end = await _collect(OpenAICompatProvider(base_url=raw_server.url, api_key="k"), QUESTION, _tier())

    assert text == "Unplug it." and end.finish_reason == "stop"
    assert (end.usage.input_tokens, end.usage.output_tokens, end.usage.estimated) == (20, 4, False)


@pytest.mark.asyncio
async def test_a_json_body_that_is_neither_a_completion_nor_an_error_is_an_error(raw_server: RawSSEServer) -> None:
    raw_server.head = JSON_HEAD
    raw_server.pieces = [b'{"status": "ok"}']

    with pytest.raises(ProviderError, match="JSON body instead of an event stream"):
        await _collect(OpenAICompatProvider(base_url=raw_server.url, api_key="k"), QUESTION, _tier())


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("refused", "status"),
    [
        (("stream_options",), 400),
        (("max_completion_tokens",), 400),
        (("stream_options", "max_completion_tokens"), 422),
    ],
)
async def test_a_server_refusing_the_optional_fields_is_asked_again_without_them(
    refused: tuple[str, ...], status: int
) -> None:
    server = OpenAICompatServer(
        chunks=8, interval_ms=1, text="Plain servers answer too.", rejected_fields=refused, rejection_status=status
    )
    server.serve_in_thread()
    try:
        provider = _provider(server)
        capped = dataclasses.replace(QUESTION, max_output_tokens=300)
        text, end = await _collect(provider, capped, _tier())
        assert text == server.text and end.finish_reason == "stop"
        first, second = (request.body for request in server.requests)
        assert "stream_options" in first and first["max_completion_tokens"] == 300
        assert "stream_options" not in second and "max_completion_tokens" not in second
        assert second["max_tokens"] == 300  # the cap still holds, in the older field
        # Remembered: the next request goes out in the plain form at once.
        await _collect(provider, capped, _tier())
        assert len(server.requests) == 3 and "stream_options" not in server.requests[-1].body
    finally:
        server.close()


@pytest.mark.asyncio
async def test_a_model_refusing_a_temperature_is_asked_again_without_one() -> None:
    # OpenAI's reasoning models take only their default temperature (400 "Unsupported value: 'temperature'").
    server = OpenAICompatServer(chunks=8, interval_ms=1, text="Rewritten.", rejected_fields=("temperature",))
    server.serve_in_thread()
    try:
        provider = _provider(server)
        cold = dataclasses.replace(QUESTION, temperature=0.0)
        text, end = await _collect(provider, cold, _tier())
        assert text == server.text and end.finish_reason == "stop"
        first, second = (request.body for request in server.requests)
        assert first["temperature"] == 0.0 and "temperature" not in second
        assert "stream_options" in second  # nothing else was dropped
        # Remembered for that model: the next request goes without it at once.
        await _collect(provider, cold, _tier())
        assert len(server.requests) == 3 and "temperature" not in server.requests[-1].body
    finally:
        server.close()


@pytest.mark.asyncio
async def test_a_bad_request_about_something_else_is_not_asked_again() -> None:
    server = OpenAICompatServer(chunks=8, interval_ms=1, rejected_fields=("messages",))
    server.serve_in_thread()
    try:
        with pytest.raises(ProviderError) as refused:
            await _collect(_provider(server), QUESTION, _tier())
        assert refused.value.status_code == 400 and len(server.requests) == 1
    finally:
        server.close()
