"""The one place that calls models: retries, fallbacks, mid-stream failover, and the cost of it all.

``Gateway.stream`` yields the provider's text deltas as they come, a :class:`Notice` when the
customer should know something happened (a backup model took over), and exactly one
:class:`Finished` at the end. Provider failures never raise to the caller: they end in a
``Finished`` whose ``error`` says what went wrong, so the consumer can show a notice.

Retry policy, per request:

* at most ``max_upstream_calls`` upstream calls in total, whatever happens;
* a tier that answered with a retryable status (429, 5xx) before any text is tried again after
  a wait: ``Retry-After`` when given (up to ``retry_after_cap_s``; longer means "go elsewhere"),
  otherwise exponential backoff with full jitter; after ``attempts_per_tier`` calls we move on;
* timeouts, connection failures and streams that die mid-answer move straight to the next tier
  in ``TierConfig.fallbacks`` (the customer has already waited); only the last tier in the chain
  is tried again instead;
* disabled tiers and tiers whose circuit breaker is open are skipped;
* a refusal of the tier's own model (403: the key may not use it; 404: no such model) is not tried
  again on that tier but moves on to the next, whose model may be fine, and counts toward the
  tier's circuit breaker, so a misnamed model is soon skipped;
* any other non-retryable error (400, 401...) ends the request: another try, on any tier, would
  fail the same way. Each refusal is logged once, as an error naming the tier and the model, since
  it needs a person.

A call succeeds only when its provider says the stream ended (``StreamEnd``); the OpenAI-compatible
provider says so only on ``[DONE]`` or a ``finish_reason``, so a stream a proxy ended cleanly
half-way fails over like a cut connection. An answer that stopped at the output token cap
(``finish_reason`` length) is kept, with a notice, and marked truncated: it is not complete.

When a stream dies after some text, the next call is asked to continue the text already shown
(sent as the assistant's partial answer) so the customer never sees the answer restart. Not every
backup obeys: one that starts the answer over, or repeats the last words shown, has what it repeats
dropped (:class:`_RepeatTrim`), so the customer reads each part of the answer once.

The ledger hears of every call from here (``on_call``): once before it is sent (outcome "running",
priced at the prompt's estimate) and once when it ends, whatever then happens to the answer, so
the provider's bill and the ledger agree even when the process dies before the answer is saved.
The request goes out only once the first write is done: a process killed at any instant leaves a
row for every call the provider received (and, at worst, a "running" row for a call it never sent).
Each request carries its row's id (``ChatRequest.call_id``) for the provider's logs.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from routing.breaker import Breaker
from routing.pricing import cost_for_usage, usage_estimate
from routing.providers.base import (
    CallRecord,
    ChatRequest,
    Citation,
    Provider,
    ProviderError,
    Retract,
    StreamEnd,
    TextDelta,
    Usage,
)
from routing.tiers import TIER_ORDER, TierConfig, TierName

logger = logging.getLogger(__name__)

FAILOVER_NOTICE = "Connection to the model was interrupted — continuing with a backup model."
CONTINUE_INSTRUCTION = (
    "Your previous answer was cut off. Continue it exactly where it stops, without repeating "
    "any of it and without mentioning the interruption."
)
TRUNCATED_NOTICE = "This answer reached its length limit, so it may stop mid-sentence."
STOPPED_ERROR = "stopped: the answer was no longer wanted (the conversation left the bot)"
TRUNCATED_ERROR = "answer truncated: the model reached the output token cap (finish_reason length)"
IMAGE_OMITTED = "[The customer attached an image that this model cannot see.]"
# Refusals of one tier's model (its name, or the key's right to use it): the next tier may be fine.
TIER_REFUSALS = frozenset({403, 404})
# What a person should check when an endpoint refuses a request for good.
_REFUSAL_HINTS = {
    401: "check OPENAI_API_KEY",
    403: "check that the API key may use this model",
    404: "check the tier's model name and OPENAI_BASE_URL",
}


@dataclass(frozen=True)
class Notice:
    """Short customer-facing text about the answer itself, shown in the chat."""

    text: str
    # For a backup taking over mid-answer: its tier, the one writing from here on.
    tier: TierName | None = field(default=None, compare=False)


@dataclass(frozen=True)
class TierSwitch:
    """Before any text: the answer now comes from ``tier``, not the one asked for (``reason`` says why)."""

    tier: TierName
    reason: str


@dataclass(frozen=True)
class Finished:
    text: str
    tier: TierName | None  # the tier that produced the end of the text (or tried last)
    model: str
    calls: list[CallRecord]
    fell_back: bool
    failed_over_mid_stream: bool
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    error: str = ""  # empty when the answer is complete
    # The text stopped at the output token cap: kept, but not a complete answer (``error`` says so too).
    truncated: bool = False

    @property
    def cost(self) -> Decimal:
        return sum((call.cost for call in self.calls), Decimal(0))


GatewayEvent = TextDelta | Retract | Notice | TierSwitch | Finished
# Told of each upstream call before it is sent and again when it ends (the ledger writes its row).
CallSink = Callable[[CallRecord], Awaitable[None]]


@dataclass
class _RequestState:
    """What one gateway request has seen so far, across all its upstream calls."""

    requested: TierName
    calls_left: int
    pieces: list[str] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed_over: bool = False
    notice_due: bool = False
    last_config: TierConfig | None = None
    # The last tier whose words are in the answer: the one credited with it (a backup that failed
    # before adding any wrote none of it).
    text_config: TierConfig | None = None
    # The first and the last call whose words the answer keeps (indexes into ``calls``): a backup
    # took over mid-answer only when they differ.
    first_text_call: int | None = None
    last_text_call: int | None = None
    # Why the next tier switch happens, when it is not that the tier is unavailable.
    switch_reason: str = ""
    # The tier the caller was last told the answer comes from (TierSwitch).
    announced: TierName | None = None


@dataclass
class _Call:
    """One upstream call in flight."""

    config: TierConfig
    provider: Provider
    request: ChatRequest
    stream: AsyncIterator[TextDelta | Retract | StreamEnd]
    attempt: int
    first_piece: int
    started: float
    call_id: str  # also in ``request``: the provider sends it, the ledger row is keyed by it
    first_token_at: float | None = None
    end: StreamEnd | None = None
    error: ProviderError | None = None
    produced_text: bool = False
    # What a continuation repeated of the text already shown, dropped before the customer saw it.
    repeated_chars: int = 0
    # The caller stopped it (its answer became void): not a failure of the tier.
    stopped: bool = False


class Gateway:
    def __init__(
        self,
        providers: Callable[[TierConfig], Provider],
        catalogue: Callable[[], Mapping[TierName, TierConfig]],
        breaker: Breaker,
        max_upstream_calls: int = 4,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        *,
        attempts_per_tier: int = 2,
        backoff_base_s: float = 0.25,
        backoff_cap_s: float = 4.0,
        retry_after_cap_s: float = 10.0,
    ) -> None:
        self.providers = providers
        self.catalogue = catalogue
        self.breaker = breaker
        self.max_upstream_calls = max_upstream_calls
        self.sleep = sleep
        self.rng = rng
        self.attempts_per_tier = attempts_per_tier
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.retry_after_cap_s = retry_after_cap_s

    async def stream(
        self,
        request: ChatRequest,
        *,
        tier: TierName,
        catalogue: Mapping[TierName, TierConfig] | None = None,
        on_call: CallSink | None = None,
        stopped: Callable[[], bool] | None = None,
    ) -> AsyncIterator[GatewayEvent]:
        """Answer ``request`` on ``tier`` or its fallbacks; see the module docstring for the policy.

        ``catalogue`` is the tier table the caller read for this request (admins edit it); without
        one the gateway's own source is used. ``on_call`` is told of each upstream call before it
        is sent, and awaited, and again when it ends (its failures are logged, never raised).
        ``stopped`` is asked at each token: once it says True the call is closed (the provider
        stops generating), recorded as stopped with what it produced, and the stream finishes
        with no other tier tried.
        """
        if catalogue is None:
            catalogue = self.catalogue()
        chain = tier_chain(catalogue=catalogue, tier=tier)
        state = _RequestState(requested=tier, calls_left=self.max_upstream_calls, announced=tier)
        for position, name in enumerate(chain):
            config = catalogue.get(name)
            if config is None or not config.enabled:
                state.errors.append(f"{name}: disabled")
                continue
            is_last_tier = position == len(chain) - 1
            for attempt in range(self.attempts_per_tier):
                if state.calls_left <= 0:
                    state.errors.append(f"gave up after {self.max_upstream_calls} upstream calls")
                    yield self._finished(state, end=None)
                    return
                if not await self.breaker.allow(tier=name):
                    state.errors.append(f"{name}: circuit open")
                    break
                if name != state.announced and not state.pieces:
                    # Nothing shown yet: the caller may say which tier answers after all (the widget's typing).
                    unavailable, state.announced = state.announced, name
                    yield TierSwitch(tier=name, reason=state.switch_reason or f"{unavailable} unavailable")
                    state.switch_reason = ""
                call = self._call_open(state, config=config, request=request, attempt=attempt)
                if on_call is not None:
                    # The row before the request (the stream sends it when first read): a row written
                    # alongside lagged the request by 0.1 s under load, and a process killed in between
                    # left a call the provider bills and the ledger lacks.
                    await _sink_tell(on_call, _call_opening(call))
                    call.started = time.perf_counter()  # the call's latency is the provider's
                # The per-token loop stays inline: no extra generator hop or allocation per token.
                pieces = state.pieces
                trim = _RepeatTrim("".join(pieces)) if pieces else None
                try:
                    async for event in call.stream:
                        if type(event) is TextDelta:
                            if stopped is not None and stopped():
                                call.stopped = True
                                call.error = ProviderError(STOPPED_ERROR, retryable=False, tier_fault=False)
                                break
                            if call.first_token_at is None:
                                call.first_token_at = time.perf_counter()
                            if trim is not None:
                                text = trim.feed(event.text)
                                if not text:
                                    continue
                                if text is not event.text:
                                    event = TextDelta(text)
                            if state.notice_due:
                                # Said once the backup's own text arrives: a backup that fails too continues nothing.
                                state.notice_due = False
                                yield Notice(FAILOVER_NOTICE, tier=config.name)
                            pieces.append(event.text)
                            yield event
                        elif type(event) is Retract:
                            # What this call streamed was its reasoning: the answer keeps what came before it.
                            del pieces[call.first_piece :]
                            trim = _RepeatTrim("".join(pieces)) if pieces else None
                            yield Retract(kept="".join(pieces))
                        else:
                            call.end = event  # type: ignore[assignment]
                    if trim is not None and call.end is not None:
                        rest = trim.flush()
                        if rest:
                            if state.notice_due:
                                state.notice_due = False
                                yield Notice(FAILOVER_NOTICE, tier=config.name)
                            pieces.append(rest)
                            yield TextDelta(rest)
                except ProviderError as error:
                    call.error = error
                except Exception as error:  # noqa: BLE001 - a provider bug must not reach the customer as a crash
                    logger.exception("provider %s failed unexpectedly on %s", call.provider.name, name)
                    call.error = ProviderError(f"provider bug: {error!r}", retryable=True)
                finally:
                    await _stream_close(call.stream)
                if trim is not None:
                    call.repeated_chars = trim.dropped + len(trim.held)  # received (and billed), never shown
                await self._call_settle(state, call=call)
                if on_call is not None:
                    await _sink_tell(on_call, state.calls[-1])
                if call.error is None:
                    if _is_truncated(call.end):
                        yield Notice(TRUNCATED_NOTICE)
                    yield self._finished(state, end=call.end)
                    return
                if not call.error.retryable:
                    if call.error.status_code in TIER_REFUSALS:
                        break  # this tier's model is refused; the next tier's may not be
                    if call.error.context_exceeded and not call.produced_text:
                        larger = _larger_context_tier(catalogue, than=config, tried=chain[: position + 1])
                        if larger is not None:
                            # Too long for this model: the tier with the largest context is tried next.
                            state.switch_reason = f"too long for {config.name}"
                            chain[position + 1 :] = [
                                larger,
                                *(name for name in chain[position + 1 :] if name != larger),
                            ]
                            break
                    yield self._finished(state, end=None)
                    return
                wait_s = self._retry_wait(call=call, is_last_tier=is_last_tier)
                if wait_s is None:
                    break
                if wait_s > 0:
                    await self.sleep(wait_s)
        yield self._finished(state, end=None)

    def _call_open(self, state: _RequestState, *, config: TierConfig, request: ChatRequest, attempt: int) -> _Call:
        state.calls_left -= 1
        if state.calls and state.calls[-1].outcome == "error":
            state.calls[-1].outcome = "fallback"
        state.last_config = config
        call_id = uuid.uuid4().hex
        call_request = _request_for_call(request=request, config=config, partial="".join(state.pieces), call_id=call_id)
        provider = self.providers(config)
        return _Call(
            config=config,
            provider=provider,
            request=call_request,
            stream=provider.stream(call_request, tier=config),
            attempt=attempt,
            first_piece=len(state.pieces),
            started=time.perf_counter(),
            call_id=call_id,
        )

    async def _call_settle(self, state: _RequestState, *, call: _Call) -> None:
        """Record the finished call (ledger line, breaker) once its stream is over."""
        latency_s = time.perf_counter() - call.started
        if call.end is None and call.error is None:
            call.error = ProviderError("stream ended without its final event", retryable=True)
        call.produced_text = len(state.pieces) > call.first_piece
        config, error = call.config, call.error
        if call.produced_text:
            state.text_config = config
            if state.first_text_call is None:
                state.first_text_call = len(state.calls)
            state.last_text_call = len(state.calls)
        if error is None:
            assert call.end is not None
            usage = call.end.usage
            await self.breaker.record_success(tier=config.name)
        else:
            output_chars = call.repeated_chars + sum(len(piece) for piece in state.pieces[call.first_piece :])
            usage = _failed_call_usage(call_request=call.request, error=error, output_chars=output_chars)
            state.errors.append(f"{config.name}: {error}")
            if error.tier_fault and (error.retryable or error.status_code in TIER_REFUSALS):
                await self.breaker.record_failure(tier=config.name)
            if not call.stopped:
                if call.produced_text:
                    state.failed_over = state.notice_due = True
                _failure_log(config=config, error=error)
        state.calls.append(
            CallRecord(
                call_id=call.call_id,
                tier=str(config.name),
                model=config.model,
                provider=call.provider.name,
                purpose=call.request.purpose,
                usage=usage,
                latency_ms=round(latency_s * 1000),
                time_to_first_token_ms=None
                if call.first_token_at is None
                else round((call.first_token_at - call.started) * 1000),
                outcome="ok" if error is None else "stopped" if call.stopped else "error",
                error=str(error) if error is not None else (TRUNCATED_ERROR if _is_truncated(call.end) else ""),
                cost=cost_for_usage(tier=config, usage=usage) if call.provider.billable else Decimal(0),
                extra={
                    "attempt": call.attempt,
                    "status_code": None if error is None else error.status_code,
                    "finish_reason": None if call.end is None else call.end.finish_reason,
                },
            )
        )

    def _retry_wait(self, *, call: _Call, is_last_tier: bool) -> float | None:
        """Seconds to wait before trying the same tier again, or None to move to the next tier."""
        error = call.error
        assert error is not None
        if call.attempt + 1 >= self.attempts_per_tier:
            return None
        # The customer already waited (text flowed, or a timeout), or the endpoint is unreachable.
        moves_on = call.produced_text or error.status_code is None
        if moves_on and not is_last_tier:
            return None
        if call.produced_text:
            return 0.0
        if error.retry_after_s is not None:
            if error.retry_after_s > self.retry_after_cap_s and not is_last_tier:
                return None
            return min(error.retry_after_s, self.retry_after_cap_s)
        return self.rng() * min(self.backoff_cap_s, self.backoff_base_s * 2**call.attempt)

    def _finished(self, state: _RequestState, *, end: StreamEnd | None) -> Finished:
        config = state.text_config or state.last_config
        truncated = _is_truncated(end)
        if end is None:
            error = "; ".join(state.errors) or "no tier could answer"
        else:
            error = TRUNCATED_ERROR if truncated else ""
        return Finished(
            text="".join(state.pieces),
            tier=None if config is None else config.name,
            model="" if config is None else config.model,
            calls=state.calls,
            fell_back=config is not None and config.name != state.requested,
            failed_over_mid_stream=state.failed_over and state.last_text_call != state.first_text_call,
            citations=() if end is None else end.citations,
            abstained=False if end is None else end.abstained,
            error=error,
            truncated=truncated,
        )


def _call_opening(call: _Call) -> CallRecord:
    """The ledger line of a call just sent: what the prompt will cost at least, until the call ends."""
    usage = usage_estimate(messages=call.request.messages, output_chars=0)
    return CallRecord(
        call_id=call.call_id,
        tier=str(call.config.name),
        model=call.config.model,
        provider=call.provider.name,
        purpose=call.request.purpose,
        usage=usage,
        latency_ms=0,
        time_to_first_token_ms=None,
        outcome="running",
        cost=cost_for_usage(tier=call.config, usage=usage) if call.provider.billable else Decimal(0),
        extra={"attempt": call.attempt},
    )


async def _sink_tell(sink: CallSink, record: CallRecord) -> None:
    try:
        await sink(record)
    except Exception:  # noqa: BLE001 - the ledger is written again when the call ends and when the answer is stored
        logger.warning("could not record upstream call %s in the ledger now", record.call_id, exc_info=True)


async def _stream_close(stream: AsyncIterator[TextDelta | Retract | StreamEnd]) -> None:
    """Close a provider's stream even when we stopped early, so it frees its connection now."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


def _is_truncated(end: StreamEnd | None) -> bool:
    return end is not None and end.finish_reason == "length"


def _failure_log(*, config: TierConfig, error: ProviderError) -> None:
    """A retryable failure is routine (a warning); a refusal that will not go away needs a person."""
    if error.retryable:
        logger.warning("upstream call to %s (%s) failed: %s", config.name, config.model, error)
        return
    hint = _REFUSAL_HINTS.get(error.status_code or 0)
    logger.error(
        "tier %s (model %s) refused the request, not retried: %s%s",
        config.name,
        config.model,
        error,
        f" ({hint})" if hint else "",
    )


def tier_chain(*, catalogue: Mapping[TierName, TierConfig], tier: TierName) -> list[TierName]:
    """The requested tier followed by its fallbacks, each once, ending with another tier.

    A chain whose backups are missing or all disabled would give the customer "unavailable" as
    soon as its one tier fails; the nearest other enabled tier (the smaller one on a tie) is then
    its backup of last resort.
    """
    config = catalogue.get(tier)
    chain = list(dict.fromkeys([tier, *(config.fallbacks if config is not None else ())]))
    if not any(name != tier and _tier_enabled(catalogue, name) for name in chain):
        others = [name for name in TIER_ORDER if name != tier and _tier_enabled(catalogue, name)]
        if others and tier in TIER_ORDER:
            here = TIER_ORDER.index(tier)
            chain.append(min(others, key=lambda name: (abs(TIER_ORDER.index(name) - here), TIER_ORDER.index(name))))
    return chain


def _larger_context_tier(
    catalogue: Mapping[TierName, TierConfig], *, than: TierConfig, tried: list[TierName]
) -> TierName | None:
    """The enabled tier not yet tried with the largest context window, if that is larger than ``than``'s."""
    larger = [
        config
        for name, config in catalogue.items()
        if name not in tried and config.enabled and config.context_window > than.context_window
    ]
    return max(larger, key=lambda config: config.context_window).name if larger else None


def _tier_enabled(catalogue: Mapping[TierName, TierConfig], name: TierName) -> bool:
    config = catalogue.get(name)
    return config is not None and config.enabled


def _failed_call_usage(*, call_request: ChatRequest, error: ProviderError, output_chars: int) -> Usage:
    """What a failed call cost: what the server said when it said, else nothing for a refused call and an
    estimate when text flowed."""
    if error.usage is not None:
        return error.usage
    if output_chars:
        return usage_estimate(messages=call_request.messages, output_chars=output_chars)
    return Usage(input_tokens=0, cached_input_tokens=0, output_tokens=0, estimated=error.status_code is None)


class _RepeatTrim:
    """Drops what a continuation repeats of the text the customer has already seen.

    A backup asked to continue a cut answer may start it over, or repeat its last words before
    going on. The continuation's text is held while all of it so far also occurs in the text
    shown (it may be such a repeat); as soon as it does not, its longest beginning that is also
    the end of the text shown is dropped, when that is the whole text shown (a restart) or at
    least ``MIN_CHARS`` long (a repeated phrase, not a coincidence like one letter or word), and
    the rest goes out. The hold lasts at most as many characters as were shown, and only on
    continuations; a continuation that ends while held is judged the same way (``flush``), and
    one that dies while held sends nothing, since the next continues the text shown.
    """

    MIN_CHARS = 12

    __slots__ = ("shown", "held", "settled", "dropped")

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.held = ""
        self.settled = False
        self.dropped = 0

    def feed(self, text: str) -> str:
        """What of ``text`` (and of what was held before it) to send now."""
        if self.settled:
            return text
        self.held += text
        if self.held in self.shown:
            return ""
        return self._release()

    def flush(self) -> str:
        """What is still held, judged now that the continuation has ended."""
        if self.settled or not self.held:
            return ""
        if len(self.held) >= self.MIN_CHARS and self.shown.startswith(self.held):
            self.dropped += len(self.held)  # the answer started over and stopped early: all of it is a repeat
            self.settled = True
            return ""
        return self._release()

    def _release(self) -> str:
        held, shown = self.held, self.shown
        overlap = 0
        for size in range(min(len(held), len(shown)), 0, -1):
            if size < self.MIN_CHARS and size != len(shown):
                break
            if shown.endswith(held[:size]):
                overlap = size
                break
        self.settled = True
        self.held = ""
        self.dropped += overlap
        return held[overlap:]


def _request_for_call(*, request: ChatRequest, config: TierConfig, partial: str, call_id: str) -> ChatRequest:
    messages = request.messages if config.multimodal else _images_dropped(request.messages)
    if partial:
        messages = [
            *messages,
            {"role": "assistant", "content": partial},
            # A user turn, not a system one: many servers' chat templates (Qwen, Mistral, Gemma on vLLM
            # or llama.cpp) refuse a system message anywhere but first, and want user and assistant to alternate.
            {"role": "user", "content": CONTINUE_INSTRUCTION},
        ]
    return replace(request, messages=messages, call_id=call_id, continues=bool(partial))


def _images_dropped(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A text-only tier (a fallback from a multimodal one) gets a note in place of each image."""
    if not any(isinstance(message.get("content"), list) for message in messages):
        return messages
    return [_message_images_dropped(message) for message in messages]


def _message_images_dropped(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if not isinstance(content, list):
        return message
    parts = [
        part
        if not (isinstance(part, dict) and part.get("type") in ("image_url", "input_image"))
        else {"type": "text", "text": IMAGE_OMITTED}
        for part in content
    ]
    return {**message, "content": parts}
