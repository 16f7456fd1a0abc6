from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async

from bench.openai_server import Fault, OpenAICompatServer, ServedUsage
from routing.breaker import MemoryBreaker
from routing.gateway import (
    CONTINUE_INSTRUCTION,
    FAILOVER_NOTICE,
    IMAGE_OMITTED,
    STOPPED_ERROR,
    Finished,
    Gateway,
    GatewayEvent,
    Notice,
    TierSwitch,
    _RepeatTrim,
    tier_chain,
)
from routing.models import LedgerEntry
from routing.pricing import cost_for_usage
from routing.providers.base import CallRecord, ChatRequest, StreamEnd, TextDelta
from routing.providers.openai_compat import CALL_ID_HEADER, OpenAICompatProvider
from routing.services import ledger_record
from routing.tiers import TierConfig, TierName, default_catalogue

QUESTION = ChatRequest(messages=[{"role": "user", "content": "How do I reset my password?"}])
MODELS = {
    TierName.MINI: "m-mini",
    TierName.INSTANT: "m-instant",
    TierName.THINKING: "m-thinking",
    TierName.PRO: "m-pro",
}


def _catalogue(**changes: object) -> dict[TierName, TierConfig]:
    return {
        name: dataclasses.replace(tier, first_token_timeout_s=0.5, idle_timeout_s=0.5, total_timeout_s=5.0, **changes)  # type: ignore[arg-type]
        for name, tier in default_catalogue(MODELS).items()
    }


class Sleeps(list[float]):
    """Records the waits the gateway asks for instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _gateway(
    server: OpenAICompatServer, *, catalogue: dict[TierName, TierConfig] | None = None, **options: object
) -> Gateway:
    tiers = catalogue or _catalogue()
    provider = OpenAICompatProvider(base_url=server.url, api_key="test-key")
    defaults: dict[str, object] = {"breaker": MemoryBreaker(), "sleep": Sleeps(), "rng": lambda: 0.5}
    return Gateway(providers=lambda tier: provider, catalogue=lambda: tiers, **{**defaults, **options})  # type: ignore[arg-type]


async def _run(
    gateway: Gateway, tier: TierName, request: ChatRequest = QUESTION
) -> tuple[list[GatewayEvent], Finished]:
    events = [event async for event in gateway.stream(request, tier=tier)]
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert not any(isinstance(event, Finished) for event in events[:-1])
    return events[:-1], finished


def _models_called(server: OpenAICompatServer) -> list[str]:
    return [request.body["model"] for request in server.requests]


@pytest.mark.asyncio
async def test_answer_streams_through_with_exact_usage_and_cost(openai_server: OpenAICompatServer) -> None:
    openai_server.usage = ServedUsage(prompt_tokens=1500, completion_tokens=321, cached_tokens=500)

    events, finished = await _run(_gateway(openai_server), TierName.INSTANT)

    assert all(isinstance(event, TextDelta) for event in events)
    assert "".join(event.text for event in events) == finished.text == openai_server.text  # type: ignore[attr-defined]
    assert (finished.tier, finished.model, finished.error) == (TierName.INSTANT, "m-instant", "")
    assert not finished.fell_back and not finished.failed_over_mid_stream
    [call] = finished.calls
    assert (call.usage.input_tokens, call.usage.cached_input_tokens, call.usage.output_tokens) == (1500, 500, 321)
    assert call.usage.estimated is False
    assert call.outcome == "ok"
    assert call.time_to_first_token_ms is not None and call.time_to_first_token_ms <= call.latency_ms
    # 1000 * 0.002/1k + 500 * 0.001/1k + 321 * 0.0025/1k
    assert finished.cost == call.cost == Decimal("0.00330250")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_each_upstream_call_sends_the_id_of_its_ledger_row(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.http_error(status=500))
    written: list[tuple[str, str]] = []

    async def sink(call: CallRecord) -> None:
        written.append((call.call_id, call.outcome))
        await sync_to_async(ledger_record)(conversation_id=None, message_id=None, calls=[call])

    events = [event async for event in _gateway(openai_server).stream(QUESTION, tier=TierName.INSTANT, on_call=sink)]

    finished = events[-1]
    assert isinstance(finished, Finished) and not finished.error
    sent = [request.headers[CALL_ID_HEADER.lower()] for request in openai_server.requests]
    assert len(set(sent)) == 2  # the 500, then its retry: a new id for each call
    assert sent == [call.call_id for call in finished.calls]
    rows = await sync_to_async(lambda: dict(LedgerEntry.objects.values_list("call_id", "outcome")))()
    assert rows == {sent[0]: "error", sent[1]: "ok"}
    # The sink heard of each call under its id when it was sent, and again when it ended.
    assert sorted(written) == sorted([(sent[0], "running"), (sent[0], "error"), (sent[1], "running"), (sent[1], "ok")])


@pytest.mark.asyncio
async def test_a_call_is_sent_only_once_its_ledger_row_is_written(openai_server: OpenAICompatServer) -> None:
    """A process killed at any instant then leaves a row for every call the provider received."""
    received_before_written: list[bool] = []

    async def slow_sink(call: CallRecord) -> None:
        if call.outcome == "running":
            await asyncio.sleep(0.05)  # a slow write: a request sent alongside would arrive meanwhile
            sent = [request.headers.get(CALL_ID_HEADER.lower()) for request in openai_server.requests]
            received_before_written.append(call.call_id in sent)

    gateway = _gateway(openai_server)
    events = [event async for event in gateway.stream(QUESTION, tier=TierName.INSTANT, on_call=slow_sink)]

    assert isinstance(events[-1], Finished) and not events[-1].error
    assert received_before_written == [False]
    assert len(openai_server.requests) == 1


@pytest.mark.asyncio
async def test_rate_limit_waits_for_retry_after_then_retries_the_same_tier(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.rate_limit(retry_after_s=2))
    sleeps = Sleeps()

    _, finished = await _run(_gateway(openai_server, sleep=sleeps), TierName.INSTANT)

    assert sleeps == [2.0]
    assert _models_called(openai_server) == ["m-instant", "m-instant"]
    assert [call.outcome for call in finished.calls] == ["fallback", "ok"]
    assert finished.calls[0].extra["status_code"] == 429
    assert finished.text == openai_server.text and not finished.fell_back


@pytest.mark.asyncio
async def test_retry_after_beyond_the_cap_goes_to_the_next_tier_without_waiting(
    openai_server: OpenAICompatServer,
) -> None:
    openai_server.script(Fault.rate_limit(retry_after_s=120), model="m-instant")
    sleeps = Sleeps()

    _, finished = await _run(_gateway(openai_server, sleep=sleeps), TierName.INSTANT)

    assert sleeps == []
    assert _models_called(openai_server) == ["m-instant", "m-mini"]
    assert finished.tier == TierName.MINI and finished.fell_back


@pytest.mark.asyncio
async def test_server_errors_back_off_with_jitter_then_fall_back(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.http_error(status=500), Fault.http_error(status=500), model="m-instant")
    sleeps = Sleeps()

    _, finished = await _run(_gateway(openai_server, sleep=sleeps, rng=lambda: 0.5), TierName.INSTANT)

    assert sleeps == [0.5 * 0.25]  # full jitter: rng() * base * 2**0
    assert _models_called(openai_server) == ["m-instant", "m-instant", "m-mini"]
    assert (finished.tier, finished.model, finished.error) == (TierName.MINI, "m-mini", "")
    assert finished.fell_back and not finished.failed_over_mid_stream
    assert [call.outcome for call in finished.calls] == ["fallback", "fallback", "ok"]
    assert finished.text == openai_server.text


@pytest.mark.asyncio
async def test_hang_hits_the_first_token_timeout_and_falls_back(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.hang(), model="m-instant")

    _, finished = await _run(_gateway(openai_server), TierName.INSTANT)

    assert _models_called(openai_server) == ["m-instant", "m-mini"]
    hung, answered = finished.calls
    assert hung.outcome == "fallback" and "first token" in hung.error
    assert hung.time_to_first_token_ms is None and hung.latency_ms >= 500
    assert answered.outcome == "ok" and finished.tier == TierName.MINI


@pytest.mark.asyncio
async def test_stream_cut_mid_answer_fails_over_and_continues_the_text(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.cut(after_chunks=3), model="m-thinking")

    events, finished = await _run(_gateway(openai_server), TierName.THINKING)

    notices = [index for index, event in enumerate(events) if isinstance(event, Notice)]
    assert notices == [3] and events[3] == Notice(FAILOVER_NOTICE)
    partial = "".join(event.text for event in events[:3])  # type: ignore[attr-defined]
    assert partial and openai_server.text.startswith(partial)
    # This backup starts the answer over: what it repeats is dropped, the rest follows the partial.
    continued = "".join(event.text for event in events[4:])  # type: ignore[attr-defined]
    assert continued == openai_server.text[len(partial) :]
    assert finished.text == openai_server.text
    assert finished.failed_over_mid_stream and finished.fell_back
    assert (finished.tier, finished.error) == (TierName.INSTANT, "")
    continuation = openai_server.requests[-1].body["messages"]
    assert continuation[:-2] == QUESTION.messages
    assert continuation[-2:] == [
        {"role": "assistant", "content": partial},
        {"role": "user", "content": CONTINUE_INSTRUCTION},
    ]
    # Strict chat templates (Qwen, Mistral, Gemma) take a system message only first, then user and
    # assistant in turn: a backup behind one of them must be able to read the continuation.
    roles = [message["role"] for message in continuation]
    assert "system" not in roles[1:]
    turns = [role for role in roles if role != "system"]
    assert all(first != second for first, second in zip(turns, turns[1:], strict=False))
    assert turns[-1] == "user"
    cut = finished.calls[0]
    assert cut.outcome == "fallback" and cut.usage.estimated
    assert cut.usage.output_tokens == -(-len(partial) // 4)


@pytest.mark.asyncio
async def test_no_backup_is_announced_when_every_backup_fails_before_its_first_word(
    openai_server: OpenAICompatServer,
) -> None:
    openai_server.script(Fault.cut(after_chunks=3), model="m-thinking")
    for model in ("m-instant", "m-mini", "m-pro"):
        openai_server.script(*[Fault.http_error(status=503)] * 6, model=model)

    events, finished = await _run(_gateway(openai_server), TierName.THINKING)

    assert len(_models_called(openai_server)) > 1  # backups were tried
    assert not any(isinstance(event, Notice) for event in events)
    assert finished.error and finished.text == "".join(event.text for event in events)  # type: ignore[attr-defined]
    # Every word kept came from Thinking: the answer is credited to it, not to the last backup that failed,
    # and no backup took over (the widget would say "Answered by a backup model").
    assert (finished.tier, finished.model, finished.fell_back) == (TierName.THINKING, "m-thinking", False)
    assert not finished.failed_over_mid_stream


@pytest.mark.asyncio
async def test_a_continuation_cut_while_repeating_sends_nothing_of_the_repeat(
    openai_server: OpenAICompatServer,
) -> None:
    # The first backup starts over and dies before it gets past the text shown; the next one starts over too.
    openai_server.script(Fault.cut(after_chunks=6), model="m-thinking")
    openai_server.script(Fault.cut(after_chunks=3), model="m-instant")

    events, finished = await _run(_gateway(openai_server), TierName.THINKING)

    streamed = "".join(event.text for event in events if isinstance(event, TextDelta))
    assert streamed == finished.text == openai_server.text
    assert _models_called(openai_server) == ["m-thinking", "m-instant", "m-mini"]
    held = finished.calls[1]
    # Its text was received (and is billed), but none of it reached the customer.
    assert held.outcome == "fallback" and held.usage.output_tokens > 0


@pytest.mark.asyncio
async def test_cut_on_the_last_tier_continues_on_the_same_tier(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.cut(after_chunks=2), model="m-instant")
    # The backup starts over (its first two chunks repeat what was shown), adds two, and is cut too.
    openai_server.script(Fault.cut(after_chunks=4), model="m-mini")
    sleeps = Sleeps()

    events, finished = await _run(_gateway(openai_server, sleep=sleeps), TierName.INSTANT)

    assert _models_called(openai_server) == ["m-instant", "m-mini", "m-mini"]
    assert sum(isinstance(event, Notice) for event in events) == 2
    assert finished.text == openai_server.text
    assert finished.failed_over_mid_stream and finished.fell_back and finished.error == ""
    assert sleeps == []


@pytest.mark.asyncio
async def test_the_smallest_tier_falls_back_to_another_before_giving_up(openai_server: OpenAICompatServer) -> None:
    openai_server.script(*[Fault.http_error(status=503)] * 2, model="m-mini")

    _, finished = await _run(_gateway(openai_server, sleep=Sleeps()), TierName.MINI)

    assert _models_called(openai_server) == ["m-mini", "m-mini", "m-instant"]
    assert (finished.tier, finished.error, finished.fell_back) == (TierName.INSTANT, "", True)


def test_every_chain_ends_with_another_enabled_tier() -> None:
    catalogue = _catalogue()
    for name in catalogue:
        chain = tier_chain(catalogue=catalogue, tier=name)
        assert chain[0] == name and chain[-1] != name
    no_backup = {**catalogue, TierName.MINI: dataclasses.replace(catalogue[TierName.MINI], fallbacks=())}
    assert tier_chain(catalogue=no_backup, tier=TierName.MINI) == [TierName.MINI, TierName.INSTANT]
    backup_off = {**catalogue, TierName.MINI: dataclasses.replace(catalogue[TierName.MINI], enabled=False)}
    assert tier_chain(catalogue=backup_off, tier=TierName.INSTANT) == [
        TierName.INSTANT,
        TierName.MINI,
        TierName.THINKING,
    ]


@pytest.mark.asyncio
async def test_a_slow_stream_cut_by_a_total_limit_is_not_a_tier_failure(openai_server: OpenAICompatServer) -> None:
    """Without a token cap the total limit still applies; the cut fails over but never opens the breaker."""
    openai_server.interval_ms = 150
    breaker = MemoryBreaker(failure_threshold=1)
    catalogue = {
        name: dataclasses.replace(config, total_timeout_s=0.4 if name == TierName.INSTANT else 5.0)
        for name, config in _catalogue().items()
    }
    gateway = _gateway(openai_server, catalogue=catalogue, breaker=breaker)

    events, finished = await _run(gateway, TierName.INSTANT)

    assert finished.calls[0].error.startswith("answer not finished") and finished.failed_over_mid_stream
    assert sum(isinstance(event, Notice) for event in events) == 1 and finished.error == ""
    assert await breaker.allow(tier=TierName.INSTANT) is True


@pytest.mark.asyncio
async def test_a_stopped_answer_closes_its_call_and_tries_no_other_tier(openai_server: OpenAICompatServer) -> None:
    """The caller's answer became void mid-stream: the call ends at the next token, is recorded as
    stopped with what it produced, and is neither a tier failure nor a reason to fall back."""
    openai_server.chunks, openai_server.interval_ms = 200, 5
    breaker = MemoryBreaker(failure_threshold=1)
    told: list[CallRecord] = []

    async def sink(record: CallRecord) -> None:
        told.append(record)

    seen: list[str] = []
    stream = _gateway(openai_server, breaker=breaker).stream(
        QUESTION, tier=TierName.INSTANT, on_call=sink, stopped=lambda: len(seen) >= 3
    )
    events = []
    async for event in stream:
        events.append(event)
        if isinstance(event, TextDelta):
            seen.append(event.text)
    finished = events[-1]

    assert isinstance(finished, Finished) and len(seen) == 3 and finished.text == "".join(seen)
    assert not any(isinstance(event, Notice) for event in events)
    assert _models_called(openai_server) == ["m-instant"]
    [call] = finished.calls
    assert (call.outcome, call.error) == ("stopped", STOPPED_ERROR) and STOPPED_ERROR in finished.error
    assert call.usage.output_tokens > 0 and call.cost > 0  # what it produced is paid for
    assert [record.outcome for record in told] == ["running", "stopped"]
    assert not finished.fell_back and not finished.failed_over_mid_stream
    assert await breaker.allow(tier=TierName.INSTANT) is True


@pytest.mark.asyncio
async def test_open_circuit_skips_the_tier(openai_server: OpenAICompatServer) -> None:
    breaker = MemoryBreaker(failure_threshold=1)
    await breaker.record_failure(tier=TierName.INSTANT)

    events, finished = await _run(_gateway(openai_server, breaker=breaker), TierName.INSTANT)

    assert _models_called(openai_server) == ["m-mini"]
    assert finished.tier == TierName.MINI and finished.fell_back
    # Told before the first token, so the customer's "typing" can name the tier that answers.
    assert events[0] == TierSwitch(tier=TierName.MINI, reason="instant unavailable")
    assert all(type(event) is TextDelta for event in events[1:])


@pytest.mark.asyncio
async def test_repeated_failures_open_the_circuit_for_later_requests(openai_server: OpenAICompatServer) -> None:
    openai_server.script(*[Fault.http_error(status=503)] * 2, model="m-instant")
    gateway = _gateway(openai_server, breaker=MemoryBreaker(failure_threshold=2))

    await _run(gateway, TierName.INSTANT)
    _, second = await _run(gateway, TierName.INSTANT)

    assert _models_called(openai_server) == ["m-instant", "m-instant", "m-mini", "m-mini"]
    assert second.tier == TierName.MINI


@pytest.mark.asyncio
async def test_disabled_tier_is_skipped(openai_server: OpenAICompatServer) -> None:
    catalogue = _catalogue()
    catalogue[TierName.PRO] = dataclasses.replace(catalogue[TierName.PRO], enabled=False)

    _, finished = await _run(_gateway(openai_server, catalogue=catalogue), TierName.PRO)

    assert _models_called(openai_server) == ["m-thinking"]
    assert finished.tier == TierName.THINKING and finished.fell_back


@pytest.mark.asyncio
async def test_upstream_calls_never_exceed_the_cap(openai_server: OpenAICompatServer) -> None:
    for model in MODELS.values():
        openai_server.script(*[Fault.http_error(status=502)] * 5, model=model)

    events, finished = await _run(_gateway(openai_server, max_upstream_calls=3), TierName.PRO)

    assert len(openai_server.requests) == 3 == len(finished.calls)
    # Pro failed before any text, so the caller heard that Thinking answers instead; then nothing.
    assert events == [TierSwitch(tier=TierName.THINKING, reason="pro unavailable")] and finished.text == ""
    assert "3 upstream calls" in finished.error
    assert [call.outcome for call in finished.calls] == ["fallback", "fallback", "error"]


@pytest.mark.asyncio
async def test_non_retryable_error_ends_without_fallback(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.http_error(status=400))
    sleeps = Sleeps()

    _, finished = await _run(_gateway(openai_server, sleep=sleeps), TierName.INSTANT)

    assert _models_called(openai_server) == ["m-instant"] and sleeps == []
    assert "400" in finished.error
    assert [call.outcome for call in finished.calls] == ["error"]


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [403, 404])
async def test_a_tier_whose_model_is_refused_falls_back_and_counts_toward_its_breaker(
    openai_server: OpenAICompatServer, status: int
) -> None:
    openai_server.script(*[Fault.http_error(status=status)] * 2, model="m-instant")
    sleeps = Sleeps()
    gateway = _gateway(openai_server, sleep=sleeps, breaker=MemoryBreaker(failure_threshold=2))

    events, first = await _run(gateway, TierName.INSTANT)
    _, second = await _run(gateway, TierName.INSTANT)
    _, third = await _run(gateway, TierName.INSTANT)

    # Not tried again on the refusing tier, no wait: the next tier answers at once.
    assert first.tier == TierName.MINI and first.error == "" and events and sleeps == []
    assert [call.outcome for call in first.calls] == ["fallback", "ok"] and first.calls[0].cost == 0
    assert second.tier == TierName.MINI
    # Two refusals opened the tier's breaker: the third question does not ask it at all.
    assert _models_called(openai_server) == ["m-instant", "m-mini", "m-instant", "m-mini", "m-mini"]
    assert third.tier == TierName.MINI and [call.tier for call in third.calls] == ["mini"]


@pytest.mark.asyncio
async def test_costs_of_all_calls_add_up(openai_server: OpenAICompatServer) -> None:
    openai_server.usage = ServedUsage(prompt_tokens=900, completion_tokens=77, cached_tokens=100)
    openai_server.script(Fault.http_error(status=500), Fault.cut(after_chunks=4), model="m-pro")
    catalogue = _catalogue()

    _, finished = await _run(_gateway(openai_server, catalogue=catalogue), TierName.PRO)

    assert len(finished.calls) == 3
    expected = [cost_for_usage(tier=catalogue[TierName(call.tier)], usage=call.usage) for call in finished.calls]
    assert [call.cost for call in finished.calls] == expected
    assert finished.cost == sum(expected) > 0
    assert finished.calls[0].cost == 0  # a refused call costs nothing
    assert finished.calls[1].usage.estimated and not finished.calls[2].usage.estimated


@pytest.mark.asyncio
async def test_images_become_a_note_for_a_text_only_fallback(openai_server: OpenAICompatServer) -> None:
    openai_server.script(Fault.http_error(status=500), Fault.http_error(status=500), model="m-pro")
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    request = ChatRequest(messages=[{"role": "user", "content": [{"type": "text", "text": "Is this broken?"}, image]}])

    _, finished = await _run(_gateway(openai_server), TierName.PRO, request)

    assert openai_server.requests[0].body["messages"][0]["content"][1] == image
    assert openai_server.requests[-1].body["messages"][0]["content"][1] == {"type": "text", "text": IMAGE_OMITTED}
    assert finished.tier == TierName.THINKING


class BrokenProvider:
    name = "broken"
    billable = True

    async def stream(self, request: ChatRequest, *, tier: TierConfig) -> AsyncIterator[TextDelta | StreamEnd]:
        raise RuntimeError("bug in provider")
        yield TextDelta("")  # pragma: no cover - makes this an async generator


@pytest.mark.asyncio
async def test_a_provider_bug_falls_back_instead_of_raising(openai_server: OpenAICompatServer) -> None:
    working = OpenAICompatProvider(base_url=openai_server.url, api_key="test-key")
    tiers = _catalogue()
    gateway = Gateway(
        providers=lambda tier: BrokenProvider() if tier.name == TierName.INSTANT else working,
        catalogue=lambda: tiers,
        breaker=MemoryBreaker(),
        sleep=Sleeps(),
    )

    _, finished = await _run(gateway, TierName.INSTANT)

    assert finished.tier == TierName.MINI and finished.text == openai_server.text
    assert "bug in provider" in finished.calls[0].error


class FreeProvider(OpenAICompatProvider):
    """Streams like the real provider but, like the offline engine, costs nothing."""

    billable = False


@pytest.mark.asyncio
async def test_calls_to_a_free_provider_cost_nothing(openai_server: OpenAICompatServer) -> None:
    free = FreeProvider(base_url=openai_server.url, api_key="test-key")
    tiers = _catalogue()
    gateway = Gateway(providers=lambda tier: free, catalogue=lambda: tiers, breaker=MemoryBreaker(), sleep=Sleeps())

    _, finished = await _run(gateway, TierName.INSTANT)

    assert finished.error == "" and finished.calls[0].usage.output_tokens > 0
    assert finished.cost == finished.calls[0].cost == Decimal(0)


def _trimmed(shown: str, pieces: list[str]) -> tuple[str, int]:
    trim = _RepeatTrim(shown)
    sent = "".join(trim.feed(piece) for piece in pieces) + trim.flush()
    return sent, trim.dropped


@pytest.mark.parametrize(
    ("shown", "pieces", "sent"),
    [
        # Started over: everything shown is dropped, whatever the chunking.
        (
            "To reset the router, hold",
            ["To reset", " the router, hold", " the button for ten seconds."],
            " the button for ten seconds.",
        ),
        ("To reset the router, hold", ["To reset the router, hold the button"], " the button"),
        # Repeated its last words before going on.
        ("Hold the reset button for", [" the reset button", " for ten seconds."], " ten seconds."),
        # Continued as asked; a start that also occurs in the text shown is held a moment, not lost.
        ("Hello wor", ["l", "d, how can I help?"], "ld, how can I help?"),
        ("We ship to Spain. Yes", [" Yes", ", and to Portugal."], " Yes, and to Portugal."),
        # Ended while every word of it also stood in the text shown.
        ("Thanks for waiting. We ship today", ["."], "."),
        ("Thanks for waiting. We ship today", ["Thanks for", " waiting."], ""),
        # A restart that says it differently is not a repeat: all of it is sent.
        ("To reset the router, hold", ["To reset it, unplug it."], "To reset it, unplug it."),
    ],
)
def test_a_continuation_has_what_it_repeats_of_the_text_shown_dropped(shown: str, pieces: list[str], sent: str) -> None:
    assert _trimmed(shown, pieces) == (sent, len("".join(pieces)) - len(sent))


def test_the_repeat_trim_only_ever_drops_a_beginning_of_the_continuation() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        shown = "".join(rng.choice("ab .") for _ in range(rng.randint(1, 30)))
        fed = "".join(rng.choice("ab .") for _ in range(rng.randint(0, 40)))
        cuts = sorted(rng.sample(range(len(fed) + 1), k=min(3, len(fed) + 1)))
        pieces = [fed[start:end] for start, end in zip([0, *cuts], [*cuts, len(fed)], strict=True) if fed[start:end]]
        sent, dropped = _trimmed(shown, pieces)
        assert fed.endswith(sent) and dropped == len(fed) - len(sent)
        # A restart loses nothing that follows the text shown.
        assert _trimmed(shown, [shown, fed]) == (fed, len(shown))


# How three servers say a request is longer than the model's context (vLLM, OpenAI, llama.cpp).
CONTEXT_REFUSALS = [
    {
        "object": "error",
        "message": "This model's maximum context length is 8192 tokens. However, you requested 9100 tokens.",
        "type": "BadRequestError",
        "code": 400,
    },
    {
        "error": {
            "message": "Your input exceeds the context window of this model.",
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
        }
    },
    {
        "error": {
            "code": 400,
            "message": "the request exceeds the available context size",
            "type": "exceed_context_size_error",
        }
    },
]


async def _refusing_server(payload: dict[str, object]) -> tuple[asyncio.AbstractServer, str, list[str]]:
    """A server that answers every request 400 with ``payload``; the models it was asked for are listed."""
    import json

    asked: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        asked.append(json.loads(await reader.readexactly(length))["model"])
        body = json.dumps(payload).encode()
        writer.write(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1", asked


@pytest.mark.asyncio
@pytest.mark.parametrize("payload", CONTEXT_REFUSALS, ids=["vllm", "openai", "llama.cpp"])
async def test_a_request_too_long_for_the_tiers_model_goes_to_the_tier_with_the_largest_context(
    openai_server: OpenAICompatServer, payload: dict[str, object]
) -> None:
    server, url, asked = await _refusing_server(payload)
    try:
        refusing = OpenAICompatProvider(base_url=url, api_key="k")
        answering = OpenAICompatProvider(base_url=openai_server.url, api_key="k")
        tiers = _catalogue()
        gateway = Gateway(
            providers=lambda tier: answering if tier.name == TierName.PRO else refusing,
            catalogue=lambda: tiers,
            breaker=MemoryBreaker(),
            sleep=Sleeps(),
            rng=lambda: 0.5,
        )

        events, finished = await _run(gateway, TierName.INSTANT)

        # Instant's own backup (Mini, a smaller context) is not asked; Pro, the largest, answers.
        assert asked == ["m-instant"] and _models_called(openai_server) == ["m-pro"]
        assert [event for event in events if isinstance(event, TierSwitch)] == [
            TierSwitch(tier=TierName.PRO, reason="too long for instant")
        ]
        assert (finished.tier, finished.error, finished.text) == (TierName.PRO, "", openai_server.text)
        assert [call.outcome for call in finished.calls] == ["fallback", "ok"]
    finally:
        server.close()


@pytest.mark.asyncio
async def test_a_request_too_long_for_the_largest_context_ends_without_trying_smaller_ones() -> None:
    server, url, asked = await _refusing_server(CONTEXT_REFUSALS[0])
    try:
        refusing = OpenAICompatProvider(base_url=url, api_key="k")
        tiers = _catalogue()
        gateway = Gateway(
            providers=lambda tier: refusing, catalogue=lambda: tiers, breaker=MemoryBreaker(), sleep=Sleeps()
        )

        _, finished = await _run(gateway, TierName.PRO)

        assert asked == ["m-pro"] and finished.error and not finished.text
    finally:
        server.close()
