"""Any server that speaks OpenAI Chat Completions, through the official ``openai`` SDK.

The SDK's own retries are off (``max_retries=0``): the gateway owns the one retry loop, so
a request can never multiply into SDK retries times gateway retries. The SDK only knows
per-read timeouts, so the first-token and total deadlines are enforced here with asyncio.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam
from openai.types.completion_usage import CompletionUsage

from routing.pricing import usage_estimate
from routing.providers.base import ChatRequest, ProviderError, StreamEnd, TextDelta, Usage
from routing.tiers import TierConfig

# Statuses worth another try: timeouts, conflicts, rate limits and server faults (as the SDK's own policy).
RETRYABLE_STATUSES = frozenset({408, 409, 429})

# Clients hold connection pools bound to the event loop that opened them, so they are shared
# per loop; in production that is one client per (base_url, key) for the life of the process.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], openai.AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)


def openai_client_get(*, base_url: str, api_key: str) -> openai.AsyncOpenAI:
    """The shared client for this endpoint and key on the running event loop."""
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get((base_url, api_key))
    if client is None:
        client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0)
        per_loop[(base_url, api_key)] = client
    return client


class OpenAICompatProvider:
    """The Provider protocol over ``AsyncOpenAI`` for OpenAI and compatible servers."""

    billable = True

    def __init__(self, *, base_url: str, api_key: str, name: str = "openai") -> None:
        self.name = name
        self.base_url = base_url
        self.api_key = api_key

    async def stream(self, request: ChatRequest, *, tier: TierConfig) -> AsyncIterator[TextDelta | StreamEnd]:
        client = openai_client_get(base_url=self.base_url, api_key=self.api_key)
        started = asyncio.get_running_loop().time()
        timeout_message = f"no first token within {tier.first_token_timeout_s:g} s"
        output_chars = 0
        finish_reason: str | None = None
        usage: CompletionUsage | None = None
        chunks: openai.AsyncStream[ChatCompletionChunk] | None = None
        watchdog: _Watchdog | None = None
        try:
            async with asyncio.timeout_at(started + tier.first_token_timeout_s):
                chunks = await _completion_stream_open(client, request=request, tier=tier)
                chunk = await _first_content_chunk(chunks)
            timeout_message = f"answer not finished within {tier.total_timeout_s:g} s"
            watchdog = _Watchdog(deadline=started + tier.total_timeout_s)
            next_chunk = chunks.__anext__
            while chunk is not None:
                # Hot path: one attribute walk per chunk, no per-token logging, copying or timers.
                choices = chunk.choices
                if choices:
                    choice = choices[0]
                    content = choice.delta.content
                    if content:
                        output_chars += len(content)
                        yield TextDelta(content)
                    if choice.finish_reason is not None:
                        finish_reason = choice.finish_reason
                if chunk.usage is not None:
                    usage = chunk.usage
                # The watchdog's guard, inlined: a helper coroutine here would cost one more hop per token.
                if watchdog.expired:
                    raise TimeoutError()
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
        except TimeoutError as error:
            raise ProviderError(timeout_message, retryable=True) from error
        except openai.APIError as error:
            raise provider_error_from_sdk(error) from error
        finally:
            if watchdog is not None:
                watchdog.cancel()
            # Also runs when the caller stops early: give the connection back, never leave it half-read.
            if chunks is not None:
                await chunks.close()
        yield StreamEnd(
            usage=_usage_from_provider(usage)
            if usage is not None
            else usage_estimate(messages=request.messages, output_chars=output_chars),
            finish_reason=finish_reason,
        )


class _Watchdog:
    """The total deadline of one stream as a single timer, instead of an asyncio timeout per chunk.

    An ``asyncio.timeout`` cannot span the ``yield``s (it would cancel the caller's code, not
    ours), and one per chunk costs a timer-heap push and pop per token. This arms one timer;
    when it fires it cancels the streaming task only if that task is waiting on the upstream
    (``waiting``), and otherwise the next read notices (``expired``). The cancellation becomes
    TimeoutError the way ``asyncio.timeout`` does it (``uncancel``), so a cancellation from
    outside (the customer left) still propagates as such.
    """

    __slots__ = ("task", "cancelling", "handle", "expired", "waiting")

    def __init__(self, *, deadline: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.task = task
        self.cancelling = task.cancelling()
        self.expired = False
        self.waiting = False
        self.handle = asyncio.get_running_loop().call_at(deadline, self._expire)

    def _expire(self) -> None:
        self.expired = True
        if self.waiting:
            self.task.cancel()

    def cancel(self) -> None:
        self.handle.cancel()

    def cancellation_is_ours(self) -> bool:
        """Whether a cancellation caught while waiting came from this deadline (and is now undone)."""
        return self.expired and self.task.uncancel() <= self.cancelling


async def _completion_stream_open(
    client: openai.AsyncOpenAI, *, request: ChatRequest, tier: TierConfig
) -> openai.AsyncStream[ChatCompletionChunk]:
    return await client.chat.completions.create(
        model=tier.model,
        # ChatRequest holds plain dicts in the Chat Completions shape; the SDK types them as TypedDicts.
        messages=cast("list[ChatCompletionMessageParam]", request.messages),
        stream=True,
        stream_options={"include_usage": True},
        max_completion_tokens=openai.omit if request.max_output_tokens is None else request.max_output_tokens,
        temperature=openai.omit if request.temperature is None else request.temperature,
        # The read timeout is only a backstop for a silent socket; the asyncio deadlines decide.
        timeout=openai.Timeout(tier.total_timeout_s, connect=tier.connect_timeout_s),
    )


async def _first_content_chunk(chunks: openai.AsyncStream[ChatCompletionChunk]) -> ChatCompletionChunk | None:
    """Skip the role-only opening chunk(s): time to first token means first text."""
    async for chunk in chunks:
        if chunk.usage is not None or (
            chunk.choices and (chunk.choices[0].delta.content or chunk.choices[0].finish_reason)
        ):
            return chunk
    return None


def _usage_from_provider(usage: CompletionUsage) -> Usage:
    details = usage.prompt_tokens_details
    return Usage(
        input_tokens=usage.prompt_tokens,
        cached_input_tokens=(details.cached_tokens or 0) if details is not None else 0,
        output_tokens=usage.completion_tokens,
        estimated=False,
    )


def provider_error_from_sdk(error: openai.APIError) -> ProviderError:
    """Map an SDK exception to ProviderError, keeping whether a retry can help and Retry-After."""
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        retryable = status in RETRYABLE_STATUSES or status >= 500
        return ProviderError(
            f"upstream answered {status}: {error.message}",
            retryable=retryable,
            retry_after_s=retry_after_seconds(error.response.headers) if retryable else None,
            status_code=status,
        )
    if isinstance(error, openai.APITimeoutError):
        return ProviderError("upstream timed out", retryable=True)
    if isinstance(error, openai.APIConnectionError):
        return ProviderError(f"upstream connection failed: {error.__cause__ or error}", retryable=True)
    # An error event inside the stream or a malformed body: the server side went wrong.
    return ProviderError(f"upstream error: {error.message}", retryable=True)


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
