"""Any server that speaks OpenAI Chat Completions, through the official ``openai`` SDK.

The SDK's own retries are off (``max_retries=0``): the gateway owns the one retry loop, so
a request can never multiply into SDK retries times gateway retries. The SDK only knows
per-read timeouts, so the deadlines are enforced here with asyncio: the tier's first-token
deadline bounds the wait for the first text and, once text flows, its idle deadline every
silence between two chunks (a stall). A stream that keeps sending is never cut by a total
deadline while the request has an output token cap: the cap bounds it instead (a stream that
runs past it is cut), so a slow model is not mistaken for a broken one.

A stream is complete only when it says so: ``[DONE]`` or a ``finish_reason``. A body that
ends without either was cut (proxies and load balancers end streams cleanly half-way), and
the call fails as a cut connection does, so the gateway fails over mid-stream. What each
hostile behaviour becomes is listed in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import re
import sys
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from typing import Any, TypeGuard, cast

import httpx2
import openai
from openai.types.chat import ChatCompletionMessageParam

from routing.pricing import usage_estimate
from routing.providers.base import (
    HARMONY_END,
    ChatRequest,
    ProviderError,
    Retract,
    StreamEnd,
    TextDelta,
    Usage,
    harmony_end_split,
)
from routing.tiers import TierConfig

logger = logging.getLogger(__name__)

# Statuses worth another try: timeouts, conflicts, rate limits and server faults (as the SDK's own policy).
RETRYABLE_STATUSES = frozenset({408, 409, 429})
# How long to wait for the end of the body after [DONE] before giving up the connection (the SDK's figure).
DRAIN_TIMEOUT_S = 0.1
# Finish reasons that end a generation without an answer to show: it fails over like a cut stream.
UNFINISHED_REASONS = frozenset({"content_filter", "error", "abort", "safety", "recitation", "prohibited_content"})
# The output token cap was reached: the text is kept and marked truncated (Mistral says model_length;
# servers that translate other APIs pass on max_tokens or max_output_tokens).
LENGTH_REASONS = frozenset({"length", "model_length", "max_tokens", "max_output_tokens"})
# Token counts past this are not a count (no context is this long): the call's usage is estimated instead.
USAGE_TOKENS_MAX = 10_000_000
INCOMPLETE_MESSAGE = "stream ended without [DONE] or a finish_reason: the answer is incomplete"
OVERRUN_MESSAGE = "stream ran past its output token cap without finishing"
# Error codes and types servers send without a number, as the HTTP status they stand for.
ERROR_NAME_STATUSES = {
    "invalid_request_error": 400,
    "context_length_exceeded": 400,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "model_not_found": 404,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "server_error": 500,
    "api_error": 500,
    "overloaded_error": 529,
}
# Each request carries the gateway's call id, its ledger row's ``call_id``.
CALL_ID_HEADER = "X-Supportbot-Call-Id"
# How much of a JSON body sent instead of an event stream is read (a whole completion, or an error object).
JSON_BODY_LIMIT = 1024 * 1024
_TIMER_SLACK_S = 0.001
# Reasoning some models write into the content before the answer (DeepSeek-R1, QwQ and Qwen3 served without a
# reasoning parser): dropped, never shown or stored. Only at the start of an answer, where those models put it.
# gpt-oss's harmony format, from a server that does not parse it: the analysis channel, then the final one.
THINK_TAGS = (
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
    ("<|channel|>analysis<|message|>", "<|channel|>final<|message|>"),
    ("<|channel|>final<|message|>", ""),
)
# A closing tag with no opening one: what came before it was reasoning (the opening tag was in the prompt).
BARE_CLOSING_TAGS = ("</think>", "</thinking>")

# Half of a UTF-16 surrogate pair: JSON escapes an emoji as two (\ud83d\ude00), and a proxy that cuts text by
# UTF-16 units can send them in two chunks. Joined again here; one never paired is no character.
_SURROGATE = re.compile("[\ud800-\udfff]")
# The two request fields older and stricter servers refuse (400 "Unrecognized request argument", or 422 "Extra
# inputs are not permitted"): such a server is sent the request again with ``max_tokens`` and no
# ``stream_options``, and from then on. Its usage is estimated when it sends none.
OPTIONAL_FIELDS = ("stream_options", "max_completion_tokens")
BYTE_ORDER_MARK = b"\xef\xbb\xbf"
_plain_servers: set[str] = set()
_temperature_refused: set[tuple[str, str]] = set()  # (base URL, model)
# Models seen writing reasoning with no opening tag: their answers are held until the closing tag.
_reasoning_first: set[tuple[str, str]] = set()  # (base URL, model)

# Clients hold connection pools bound to the event loop that opened them, so they are shared
# per loop; in production that is one client per (base_url, key) for the life of the process.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], openai.AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)


def server_quirks_forget() -> None:
    """Forget what servers and models were seen to refuse or do (a new endpoint, or a test on a reused port)."""
    _plain_servers.clear()
    _temperature_refused.clear()
    _reasoning_first.clear()


def openai_client_get(*, base_url: str, api_key: str) -> openai.AsyncOpenAI:
    """The shared client for this endpoint and key on the running event loop."""
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get((base_url, api_key))
    if client is None:
        client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0)
        per_loop[(base_url, api_key)] = client
    return client


def openai_client_warm(*, base_url: str, api_key: str) -> None:
    """Build this event loop's client and load the SDK's lazily imported chat resources, so the
    first answer does not (about 50 ms on the event loop, stalling every socket of the process)."""
    client = openai_client_get(base_url=base_url, api_key=api_key)
    _ = client.chat.completions.with_streaming_response


class OpenAICompatProvider:
    """The Provider protocol over ``AsyncOpenAI`` for OpenAI and compatible servers.

    The SDK builds, authenticates and sends the request and raises its typed errors, but the
    streamed body is read here as raw server-sent events: the SDK would build a pydantic
    ``ChatCompletionChunk`` per token, which costs more CPU than everything else on the token path.
    """

    billable = True

    def __init__(self, *, base_url: str, api_key: str, name: str = "openai") -> None:
        self.name = name
        self.base_url = base_url
        self.api_key = api_key

    async def stream(self, request: ChatRequest, *, tier: TierConfig) -> AsyncIterator[TextDelta | Retract | StreamEnd]:
        client = openai_client_get(base_url=self.base_url, api_key=self.api_key)
        loop = asyncio.get_running_loop()
        started = loop.time()
        chunk_limit, char_limit = _overrun_limits(request.max_output_tokens)
        received = output_chars = 0
        # Whitespace before the first visible character is held (a stream of only whitespace is no
        # answer, and fails over as cleanly as one with no text at all), then dropped, or for a
        # continuation sent with it.
        visible = False
        model_key = (self.base_url, tier.model)
        # A first answer's leading blank lines are dropped; a continuation's leading space joins it to the text shown.
        opening = _Opening(reasoning_first=model_key in _reasoning_first, trim=not request.continues)
        tail = ""  # the last characters shown: a closing tag may come in pieces
        carry = ""  # a high surrogate whose pair is in the next chunk
        held = ""  # what may be the start of a harmony end token ("<|ret"), until the next chunk says
        finish_reason: object = None
        usage: dict[str, Any] | None = None
        response: httpx2.Response | None = None
        chunks: AsyncGenerator[dict[str, Any], None] | None = None
        watchdog: _Watchdog | None = None
        try:
            try:
                async with asyncio.timeout_at(started + tier.first_token_timeout_s):
                    response = await self._response_open(client, request=request, tier=tier)
                    if "json" in response.headers.get("content-type", ""):
                        chunks = _json_completion_chunks(await _json_body(response))
                    else:
                        chunks = _completion_chunks(response)
                    chunk = await _first_content_chunk(chunks)
                watchdog = _Watchdog(
                    started=started, total_s=_total_limit_s(request, tier=tier), idle_s=tier.idle_timeout_s
                )
                next_chunk, now = chunks.__anext__, loop.time
                while chunk is not None:
                    # Hot path: a few dict lookups per chunk, no per-token logging, copying or timers.
                    received += 1
                    choices = chunk.get("choices")
                    if choices:
                        choice = choices[0]
                        if choice.get("index", 0) != 0:
                            choice = _first_choice(choices)  # several choices: the answer is choice 0
                        delta = choice.get("delta")
                        # Once the answer's choice has finished, nothing more belongs to it.
                        content = delta.get("content") if delta and finish_reason is None else None
                        if content:
                            if type(content) is not str:
                                content = _content_text(content)
                            # Checked before the text goes out: one huge chunk must not get past the cap.
                            output_chars += len(content)
                            if output_chars > char_limit:
                                raise ProviderError(OVERRUN_MESSAGE, retryable=True)
                            if carry:
                                content, carry = carry + content, ""
                            if held:
                                content, held = held + content, ""
                            if not content.isascii() and _SURROGATE.search(content) is not None:
                                content, carry = _surrogates_joined(content)
                            if "\x00" in content:
                                content = content.replace("\x00", "")  # no database stores it in text
                            window = content
                            if not visible:
                                shown = opening.feed(content)
                                visible = shown is not None
                                content = window = shown or ""
                            elif ">" in content:
                                window = tail + content
                            if ">" in content and not opening.reasoned and (after := _bare_closing_end(window)) >= 0:
                                # All before the tag was reasoning: take back what was shown; the answer follows.
                                _reasoning_first.add(model_key)
                                opening.reasoned = True
                                if tail:
                                    yield Retract()
                                    tail = ""
                                shown = opening.feed(window[after:])
                                visible = shown is not None
                                content = shown or ""
                            if "|>" in content:
                                content = HARMONY_END.sub("", content)
                            if "<" in content:
                                content, held = harmony_end_split(content)
                            if content:
                                tail = (tail + content)[-_TAIL_CHARS:]
                                yield TextDelta(content)
                        if choice.get("finish_reason") is not None:
                            finish_reason = choice["finish_reason"]
                    if chunk.get("usage") is not None:
                        usage = chunk["usage"]
                    # The watchdog's guard, inlined: a helper coroutine here would cost one more hop per token.
                    if watchdog.expired:
                        raise TimeoutError()
                    if received > chunk_limit:
                        raise ProviderError(OVERRUN_MESSAGE, retryable=True)
                    watchdog.waiting_since = now()
                    watchdog.waiting = True
                    try:
                        chunk = await next_chunk()
                    except StopAsyncIteration:
                        chunk = None
                    except asyncio.CancelledError:
                        if watchdog.cancellation_is_ours():
                            raise TimeoutError() from None
                        raise
                    finally:
                        watchdog.waiting = False
            except _BodyEndedEarly:
                # Servers that never send [DONE] still send a finish_reason; without either the end of
                # the body is a cut (a proxy or load balancer closing the stream), not the end of the answer.
                if finish_reason is None:
                    raise ProviderError(INCOMPLETE_MESSAGE, retryable=True) from None
            except TimeoutError as error:
                first_token = f"no first token within {tier.first_token_timeout_s:g} s"
                raise ProviderError(
                    first_token if watchdog is None else watchdog.reason or "timed out",
                    retryable=True,
                    # Only a silence is the model's fault; a total limit cut a stream that was still sending.
                    tier_fault=watchdog is None or not watchdog.total_expired,
                ) from error
            except openai.APIError as error:
                raise provider_error_from_sdk(error) from error
        except ProviderError as error:
            if response is not None and error.usage is None and error.status_code is None:
                # The server took the request and worked on it (a cut, a stall, only reasoning): not free.
                error.usage = usage_estimate(messages=request.messages, output_chars=output_chars)
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()
            # Also runs when the caller stops early: give the connection back, never leave it half-read.
            if chunks is not None:
                await chunks.aclose()
            if response is not None:
                await response.aclose()
        if held:
            yield TextDelta(held)  # the stream ended: it was text after all ("<" at the very end)
        if opening.whole:
            # Held to the end and no closing tag came: this model answers without reasoning first (a stray
            # tag marked it, or it changed), so its next answers stream again instead of arriving at the end.
            _reasoning_first.discard(model_key)
        if not visible and (rest := opening.flush()):
            visible = True
            yield TextDelta(rest)
        provider_usage = _usage_from_provider(usage)
        try:
            # A continuation that adds nothing and finishes properly says the answer was already whole.
            ended_by = _finish_reason_checked(finish_reason, visible=visible or request.continues)
        except ProviderError as error:
            # The server billed the call all the same; what it did not say is estimated (hidden reasoning included).
            error.usage = provider_usage or usage_estimate(messages=request.messages, output_chars=output_chars)
            raise
        yield StreamEnd(
            usage=provider_usage
            if provider_usage is not None
            else usage_estimate(messages=request.messages, output_chars=output_chars),
            finish_reason=ended_by,
        )

    async def _response_open(
        self, client: openai.AsyncOpenAI, *, request: ChatRequest, tier: TierConfig
    ) -> httpx2.Response:
        """Send the request, resending it once without what the server refused (then never sent to it again).

        A server may refuse :data:`OPTIONAL_FIELDS` (vLLM, TGI), and a model may refuse any ``temperature``
        but its default (OpenAI's reasoning models): each refusal is remembered for that server or model.
        """
        while True:
            plain = self.base_url in _plain_servers
            bare = request.temperature is not None and (self.base_url, tier.model) in _temperature_refused
            try:
                return await _completion_response_open(
                    client, request=replace(request, temperature=None) if bare else request, tier=tier, plain=plain
                )
            except (openai.BadRequestError, openai.UnprocessableEntityError) as error:
                # The SDK's message holds only an error object's "message"; a pydantic list is in the body.
                said = f"{error} {error.body}"
                if not plain and any(field in said for field in OPTIONAL_FIELDS):
                    logger.warning(
                        "%s refused %s; sending max_tokens and no stream_options to it from now on",
                        self.base_url,
                        " or ".join(OPTIONAL_FIELDS),
                    )
                    _plain_servers.add(self.base_url)
                elif request.temperature is not None and not bare and "temperature" in said:
                    logger.warning(
                        "%s refused a temperature for %s; sending it none from now on", self.base_url, tier.model
                    )
                    _temperature_refused.add((self.base_url, tier.model))
                else:
                    raise


def _total_limit_s(request: ChatRequest, *, tier: TierConfig) -> float:
    """The total deadline once text flows: none while the answer has a token cap to bound it.

    A slow model that keeps sending text is not a broken one; the idle deadline ends a dead
    stream and the token cap (:func:`_overrun_limits`) a never-ending one, so cutting a live,
    capped answer at a fixed total would only throw away text the customer is reading.
    """
    return math.inf if request.max_output_tokens is not None else tier.total_timeout_s


def _overrun_limits(max_output_tokens: int | None) -> tuple[int, int]:
    """How many chunks and characters of text a stream may send before it has clearly run past its token cap.

    A server that keeps streaming past the cap it was given (a trickle that never finishes) is
    cut there, whatever the deadlines: two chunks per allowed token (plus the finish and usage
    chunks) and 16 characters per allowed token are more than any tokenizer sends for a whole answer.
    """
    if max_output_tokens is None:
        return sys.maxsize, sys.maxsize
    return 2 * max_output_tokens + 8, 16 * max_output_tokens


def _finish_reason_checked(finish_reason: object, *, visible: bool) -> str | None:
    """The finish reason of a stream that ended properly, or ProviderError when its answer is no answer.

    Read whatever its case (``LENGTH``, ``Stop``). The token cap (``length``, or another name
    for it) keeps the text and the gateway marks it truncated; a filtered or failed generation,
    or a stream with no visible text (none, or only whitespace), is not an answer and fails over.
    """
    reason = None if finish_reason is None else str(finish_reason).lower()
    if reason in UNFINISHED_REASONS:
        raise ProviderError(f"the model stopped with finish_reason {finish_reason!r}", retryable=True)
    if not visible:
        raise ProviderError(f"the stream finished without any text (finish_reason {finish_reason!r})", retryable=True)
    return "length" if reason in LENGTH_REASONS else reason


def _first_choice(choices: list[Any]) -> dict[str, Any]:
    """Choice 0 of a chunk that lists several (in any order), or an empty one when it is not there."""
    for choice in choices:
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            return choice
    return {}


def _content_text(content: object) -> str:
    """A delta's content sent as a list of parts (``[{"type": "text", "text": ...}]``) as its text;
    anything else that is not a string is a malformed stream."""
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        return "".join(part["text"] for part in content if isinstance(part.get("text"), str))
    raise ProviderError(f"upstream error: malformed stream event (content is {type(content).__name__})", retryable=True)


def _surrogates_joined(text: str) -> tuple[str, str]:
    """(``text`` with its surrogate pairs joined and lone halves dropped, a trailing high half to carry)."""
    carry = ""
    if "\ud800" <= text[-1] <= "\udbff":
        text, carry = text[:-1], text[-1]
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
    return joined, carry


_TAIL_CHARS = max(len(tag) for tag in BARE_CLOSING_TAGS) - 1


def _bare_closing_end(window: str) -> int:
    """Where the answer starts after a closing reasoning tag in ``window``, or -1 when none is there."""
    for tag in BARE_CLOSING_TAGS:
        at = window.find(tag)
        if at >= 0:
            return at + len(tag)
    return -1


class _Opening:
    """The start of an answer, until its first visible character.

    Whitespace before it is held and sent with it (a stream of only whitespace is no answer, and
    fails over as cleanly as one with no text at all), and a reasoning block some models write into
    the content first (:data:`THINK_TAGS`) is dropped, however the chunks cut its tags.
    """

    __slots__ = ("held", "closing", "reasoned", "whole", "trim")

    def __init__(self, *, reasoning_first: bool = False, trim: bool = False) -> None:
        self.trim = trim  # drop the whitespace before the first visible character
        self.held = ""
        self.closing = ""  # the tag that ends the reasoning block being dropped
        self.reasoned = False  # a reasoning block was dropped: the blank lines after it go too
        # A model known to start inside a reasoning block: hold all of it, since an answer without one
        # (no closing tag by the end) is then the whole of what was held.
        self.whole = reasoning_first

    def feed(self, content: str) -> str | None:
        """The text to show, with what was held before it, or None while nothing visible has come."""
        if self.whole:
            self.held += content
            stripped = self.held.lstrip()
            if any(stripped.startswith(opening_tag) for opening_tag, _ in THINK_TAGS):
                # It opens its reasoning itself this time: read as any model's.
                held, self.held, self.whole = self.held, "", False
                return self.feed(held)
            after = _bare_closing_end(self.held)
            if after < 0:
                return None
            content, self.held = self.held[after:], ""
            self.whole, self.reasoned = False, True
        if self.closing:
            self.held += content
            end = self.held.find(self.closing)
            if end < 0:
                self.held = self.held[-(len(self.closing) - 1) :]  # the closing tag may be cut in two
                return None
            content, self.held = self.held[end + len(self.closing) :], ""
            self.closing, self.reasoned = "", True
        held = self.held + content
        stripped = held.lstrip()
        for opening_tag, closing_tag in THINK_TAGS:
            if stripped.startswith(opening_tag):
                self.held, self.closing = "", closing_tag
                if not closing_tag:
                    self.reasoned = True
                return self.feed(stripped[len(opening_tag) :])
        if not stripped or any(opening_tag.startswith(stripped) for opening_tag, _ in THINK_TAGS):
            self.held = held  # whitespace, or what may be the start of a tag
            return None
        self.held = ""
        return stripped if self.reasoned or self.trim else held

    def flush(self) -> str:
        """At the end of the stream: what was held if it shows something (the start of a tag that never came)."""
        rest, self.held = ("" if self.closing else self.held), ""
        if "|>" in rest:
            rest = HARMONY_END.sub("", rest)
        return "" if not rest.strip() else rest.lstrip() if self.reasoned or self.trim else rest


class _Watchdog:
    """A stream's deadlines after its first token, as one timer instead of an asyncio timeout per chunk.

    Two deadlines: the idle one, no chunk for ``idle_s`` while waiting on the upstream (a stall),
    and a total one (infinite for a request with an output token cap, see :func:`_total_limit_s`).
    An ``asyncio.timeout`` cannot span the ``yield``s (it would cancel the caller's code, not ours),
    and one per chunk costs a timer-heap push and pop per token. Here
    the stream only notes when it starts waiting (``waiting_since``, ``waiting``); the timer fires
    when a deadline could first have passed and, when chunks came meanwhile, re-arms for the next
    such moment: one timer per idle period, not per token. On expiry it cancels the streaming task
    only if that task is waiting on the upstream, and otherwise the next read notices
    (``expired``). The cancellation becomes TimeoutError the way ``asyncio.timeout`` does it
    (``uncancel``), so a cancellation from outside (the customer left) still propagates as such.
    """

    __slots__ = (
        "task",
        "cancelling",
        "loop",
        "handle",
        "deadline",
        "total_s",
        "idle_s",
        "expired",
        "total_expired",
        "reason",
        "waiting",
        "waiting_since",
    )

    def __init__(self, *, started: float, total_s: float, idle_s: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.task = task
        self.cancelling = task.cancelling()
        self.loop = asyncio.get_running_loop()
        self.deadline = started + total_s
        self.total_s = total_s
        self.idle_s = idle_s
        self.expired = False
        self.total_expired = False
        self.reason = ""
        self.waiting = False
        self.waiting_since = self.loop.time()
        self.handle = self.loop.call_at(min(self.deadline, self.waiting_since + idle_s), self._check)

    def _check(self) -> None:
        now = self.loop.time() + _TIMER_SLACK_S  # the loop may run a timer a hair early
        if now >= self.deadline:
            self.total_expired = True
            self._expire(f"answer not finished within {self.total_s:g} s")
        elif self.waiting and now - self.waiting_since >= self.idle_s:
            self._expire(f"no chunk for {self.idle_s:g} s in the middle of the answer")
        else:
            since = self.waiting_since if self.waiting else now
            self.handle = self.loop.call_at(min(self.deadline, since + self.idle_s), self._check)

    def _expire(self, reason: str) -> None:
        self.expired = True
        self.reason = reason
        if self.waiting:
            self.task.cancel()

    def cancel(self) -> None:
        self.handle.cancel()

    def cancellation_is_ours(self) -> bool:
        """Whether a cancellation caught while waiting came from a deadline (and is now undone)."""
        return self.expired and self.task.uncancel() <= self.cancelling


async def _completion_response_open(
    client: openai.AsyncOpenAI, *, request: ChatRequest, tier: TierConfig, plain: bool = False
) -> httpx2.Response:
    """Send the request; the SDK raises its status and connection errors, the body is left unread.

    ``plain``: for a server that refuses :data:`OPTIONAL_FIELDS`, the cap as ``max_tokens`` and no usage asked for.
    """
    cap = openai.omit if request.max_output_tokens is None else request.max_output_tokens
    manager = client.chat.completions.with_streaming_response.create(
        model=tier.model,
        # ChatRequest holds plain dicts in the Chat Completions shape; the SDK types them as TypedDicts.
        messages=cast("list[ChatCompletionMessageParam]", request.messages),
        stream=True,
        stream_options=openai.omit if plain else {"include_usage": True},
        max_completion_tokens=openai.omit if plain else cap,
        max_tokens=cap if plain else openai.omit,
        temperature=openai.omit if request.temperature is None else request.temperature,
        # No read timeout: the asyncio deadlines already bound a silent socket, and httpx would
        # otherwise arm and disarm a timer on every network read, that is on every token.
        timeout=openai.Timeout(tier.total_timeout_s, connect=tier.connect_timeout_s, read=None),
        # The ledger row's id: an operator can match the provider's request log with the ledger.
        extra_headers={CALL_ID_HEADER: request.call_id} if request.call_id else None,
    )
    # Entered by hand: the response outlives this function and stream() closes it.
    return (await manager.__aenter__()).http_response


async def _completion_chunks(response: httpx2.Response) -> AsyncGenerator[dict[str, Any], None]:
    """Each streamed chunk as the decoded JSON object, until ``[DONE]`` or the end of the body.

    Network failures become the SDK's own APITimeoutError / APIConnectionError, and an error
    object inside the stream an APIError, as the SDK's stream would raise them.
    """
    events = SSEDataReader()
    body = response.aiter_bytes()
    try:
        async for received in body:
            for data in events.feed(received):
                if data.startswith(b"[DONE]"):
                    await _body_drain(response, body)
                    return
                yield _chunk_decode(data)
            if events.error is not None:
                raise events.error
        for data in events.finish():
            if data.startswith(b"[DONE]"):
                return
            yield _chunk_decode(data)
        if events.error is not None:
            raise events.error
    except httpx2.TimeoutException as error:
        raise openai.APITimeoutError(request=response.request) from error
    except httpx2.RequestError as error:
        raise openai.APIConnectionError(request=response.request) from error
    raise _BodyEndedEarly()


class _BodyEndedEarly(Exception):
    """The body ended, cleanly as far as HTTP goes, without ``[DONE]``."""


def _chunk_decode(data: bytes) -> dict[str, Any]:
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ProviderError("upstream error: malformed stream event", retryable=True) from None
    if not isinstance(chunk, dict):
        raise ProviderError("upstream error: malformed stream event", retryable=True)
    error = chunk.get("error")
    if error:
        raise provider_error_from_object(error)
    return chunk


async def _json_body(response: httpx2.Response) -> object:
    """A JSON body where an event stream was asked for, decoded (None when it is not JSON)."""
    body = b""
    async for piece in response.aiter_bytes():
        body += piece
        if len(body) > JSON_BODY_LIMIT:
            raise ProviderError(
                "upstream sent a JSON body instead of an event stream, too long to read", retryable=True
            )
    try:
        return json.loads(body)
    except ValueError:
        return None


async def _json_completion_chunks(payload: object) -> AsyncGenerator[dict[str, Any], None]:
    """A whole completion sent as JSON although a stream was asked for (servers that ignore ``stream``), as the
    one chunk a stream would have sent; the server's error object as its error; anything else is malformed."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if error:
        raise provider_error_from_object(error)
    choices = payload.get("choices") if isinstance(payload, dict) else None
    choice = _first_choice(choices) if isinstance(choices, list) else {}
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ProviderError("upstream sent a JSON body instead of an event stream", retryable=True)
    assert isinstance(payload, dict)
    yield {
        "choices": [
            {"index": 0, "delta": {"content": message.get("content")}, "finish_reason": choice.get("finish_reason")}
        ],
        "usage": payload.get("usage"),
    }


async def _body_drain(response: httpx2.Response, body: AsyncIterator[bytes]) -> None:
    """Read what follows ``[DONE]`` (the closing chunk) so HTTP/1.1 can reuse the connection.

    Bounded, as in the SDK: a server that keeps the body open after [DONE] costs a new
    connection, never a late answer.
    """
    if response.http_version != "HTTP/1.1":
        return
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            async for _ in body:
                pass
    except (TimeoutError, httpx2.RequestError):
        pass


async def _first_content_chunk(chunks: AsyncIterator[dict[str, Any]]) -> dict[str, Any] | None:
    """Skip the role-only opening chunk(s): time to first token means first text."""
    async for chunk in chunks:
        if chunk.get("usage") is not None:
            return chunk
        choices = chunk.get("choices")
        if not choices:
            continue
        delta = choices[0].get("delta") or {}
        # Reasoning streamed beside the content (DeepSeek, vLLM, OpenRouter) is the model at work: the first
        # token's deadline is met by it, though only the content is shown.
        if delta.get("content") or choices[0].get("finish_reason") or _is_reasoning(delta):
            return chunk
    return None


def _is_reasoning(delta: Any) -> bool:
    return isinstance(delta, dict) and bool(delta.get("reasoning_content") or delta.get("reasoning"))


class SSEDataReader:
    """The data of each complete server-sent event, from body bytes cut wherever the network cut them.

    Follows the event-stream format: lines end in LF, CRLF or CR; a blank line ends an event;
    several ``data:`` lines in one event join with LF; comments (``: keep-alive``) and the
    other fields are ignored. Events without data, or with only blank data (``event: ping`` /
    ``data:`` keep-alives), are not reported: the format does not dispatch an empty one either.
    An event named ``error`` ends the stream: the events before it are reported, and ``error``
    holds the ProviderError its data describes (the caller raises it once it has used them).
    """

    __slots__ = ("pending", "data", "event", "error", "opening")

    def __init__(self) -> None:
        self.pending = b""
        self.data: list[bytes] = []
        self.event = b""
        self.error: ProviderError | None = None
        self.opening = True  # the body's first bytes: a byte order mark there is dropped, as the format says

    def feed(self, received: bytes) -> list[bytes]:
        text = self.pending + received if self.pending else received
        if self.opening:
            if len(text) < len(BYTE_ORDER_MARK) and BYTE_ORDER_MARK.startswith(text):
                self.pending = text  # the mark may be cut in two
                return []
            self.opening = False
            if text.startswith(BYTE_ORDER_MARK):
                text = text[len(BYTE_ORDER_MARK) :]
        if b"\r" in text:
            # A CR at the very end may be the first half of a CRLF still on its way.
            held = b"\r" if text.endswith(b"\r") else b""
            text = text[: len(text) - len(held)].replace(b"\r\n", b"\n").replace(b"\r", b"\n") + held
        lines = text.split(b"\n")
        self.pending = lines.pop()
        return self._lines_read(lines)

    def finish(self) -> list[bytes]:
        """Events the body ended without closing with a blank line."""
        lines = [self.pending.rstrip(b"\r"), b""] if self.pending else [b""]
        self.pending = b""
        return self._lines_read(lines)

    def _lines_read(self, lines: list[bytes]) -> list[bytes]:
        events: list[bytes] = []
        data = self.data
        for line in lines:
            if not line:
                if self.event:
                    if self.event == b"error":
                        self.error = _error_event(b"\n".join(data))
                        data.clear()
                        return events
                    self.event = b""
                if data:
                    joined = b"\n".join(data) if len(data) > 1 else data[0]
                    data.clear()
                    if joined and not joined.isspace():
                        events.append(joined)
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
            elif line.startswith(b"event:"):
                self.event = line[6:].strip()
        return events


def _error_event(data: bytes) -> ProviderError:
    """The error an ``event: error`` names: its ``error`` object, or the data itself as one."""
    try:
        payload = json.loads(data)
    except ValueError:
        payload = data.decode("utf-8", "replace").strip() or None
    if isinstance(payload, dict) and payload.get("error"):
        payload = payload["error"]
    return provider_error_from_object(payload)


def _usage_from_provider(usage: dict[str, Any] | None) -> Usage | None:
    """The provider's own count, or None when it sent none (or one this code cannot read)."""
    if not isinstance(usage, dict):
        return None
    input_tokens, output_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not (_is_token_count(input_tokens) and _is_token_count(output_tokens)):
        return None  # missing, negative or absurd: an estimate is nearer the truth
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if cached is None:
        cached = usage.get("prompt_cache_hit_tokens")  # DeepSeek's name for the same count
    return Usage(
        input_tokens=input_tokens,
        cached_input_tokens=min(cached, input_tokens) if _is_token_count(cached) else 0,
        output_tokens=output_tokens,
        estimated=False,
    )


def _is_token_count(value: object) -> TypeGuard[int]:
    return type(value) is int and 0 <= value <= USAGE_TOKENS_MAX


def provider_error_from_sdk(error: openai.APIError) -> ProviderError:
    """Map an SDK exception to ProviderError, keeping whether a retry can help and Retry-After."""
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        retryable = status in RETRYABLE_STATUSES or status >= 500
        mapped = ProviderError(
            f"upstream answered {status}: {error.message}",
            retryable=retryable,
            retry_after_s=retry_after_seconds(error.response.headers) if retryable else None,
            status_code=status,
        )
        mapped.context_exceeded = status in (400, 413, 422) and _says_context_exceeded(error)
        return mapped
    if isinstance(error, openai.APITimeoutError):
        return ProviderError("upstream timed out", retryable=True)
    if isinstance(error, openai.APIConnectionError):
        return ProviderError(f"upstream connection failed: {error.__cause__ or error}", retryable=True)
    # An error event inside the stream or a malformed body: the server side went wrong.
    return ProviderError(f"upstream error: {error.message}", retryable=True)


# How servers say a request is longer than the model's context: OpenAI's code, vLLM's "maximum context
# length", llama.cpp's "exceeds the available context size", TGI's "must have less than N input tokens".
_CONTEXT_EXCEEDED = re.compile(
    r"context_length_exceeded|exceed_context_size|maximum context length|context (?:length|window|size)"
    r"|`?inputs?`? tokens|prompt is too long|too many tokens",
    re.IGNORECASE,
)


def _says_context_exceeded(error: openai.APIStatusError) -> bool:
    return _CONTEXT_EXCEEDED.search(f"{error.message} {error.code or ''} {error.body}") is not None


def provider_error_from_object(error: object) -> ProviderError:
    """An error object a server sent with a 200 (as an event in the stream, or as the whole body).

    Retryable as its code says: a number is the HTTP status it stands for, a known name
    (``invalid_request_error``, ``rate_limit_exceeded``...) the status of that name; without
    either it is taken for a fault on the server's side, worth another try.
    """
    fields = error if isinstance(error, dict) else {"message": error}
    message = fields.get("message")
    status = _error_status(fields.get("code")) or _error_status(fields.get("type"))
    return ProviderError(
        f"upstream error: {message if isinstance(message, str) and message else 'an error inside the response'}",
        retryable=status is None or status in RETRYABLE_STATUSES or status >= 500,
        status_code=status,
    )


def _error_status(code: object) -> int | None:
    if isinstance(code, str):
        code = int(code) if code.isdigit() else ERROR_NAME_STATUSES.get(code)
    return code if isinstance(code, int) and 100 <= code < 600 else None


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(float(milliseconds) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    moment = email.utils.parsedate_tz(value)
    if moment is None:
        return None
    return max(email.utils.mktime_tz(moment) - time.time(), 0.0)
