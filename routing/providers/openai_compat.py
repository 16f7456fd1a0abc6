"""Any server that speaks OpenAI Chat Completions, through the official ``openai`` SDK.

The SDK's own retries are off (``max_retries=0``): the gateway owns the one retry loop, so
a request can never multiply into SDK retries times gateway retries. The SDK only knows
per-read timeouts, so the first-token and total deadlines are enforced here with asyncio.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

import httpx2
import openai
from openai.types.chat import ChatCompletionMessageParam

from routing.pricing import usage_estimate
from routing.providers.base import ChatRequest, ProviderError, StreamEnd, TextDelta, Usage
from routing.tiers import TierConfig

# Statuses worth another try: timeouts, conflicts, rate limits and server faults (as the SDK's own policy).
RETRYABLE_STATUSES = frozenset({408, 409, 429})
# How long to wait for the end of the body after [DONE] before giving up the connection (the SDK's figure).
DRAIN_TIMEOUT_S = 0.1

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

    async def stream(self, request: ChatRequest, *, tier: TierConfig) -> AsyncIterator[TextDelta | StreamEnd]:
        client = openai_client_get(base_url=self.base_url, api_key=self.api_key)
        started = asyncio.get_running_loop().time()
        timeout_message = f"no first token within {tier.first_token_timeout_s:g} s"
        output_chars = 0
        finish_reason: str | None = None
        usage: dict[str, Any] | None = None
        response: httpx2.Response | None = None
        chunks: AsyncGenerator[dict[str, Any], None] | None = None
        watchdog: _Watchdog | None = None
        try:
            async with asyncio.timeout_at(started + tier.first_token_timeout_s):
                response = await _completion_response_open(client, request=request, tier=tier)
                chunks = _completion_chunks(response)
                chunk = await _first_content_chunk(chunks)
            timeout_message = f"answer not finished within {tier.total_timeout_s:g} s"
            watchdog = _Watchdog(deadline=started + tier.total_timeout_s)
            next_chunk = chunks.__anext__
            while chunk is not None:
                # Hot path: a few dict lookups per chunk, no per-token logging, copying or timers.
                choices = chunk.get("choices")
                if choices:
                    choice = choices[0]
                    delta = choice.get("delta")
                    content = delta.get("content") if delta else None
                    if content:
                        output_chars += len(content)
                        yield TextDelta(content)
                    if choice.get("finish_reason") is not None:
                        finish_reason = choice["finish_reason"]
                if chunk.get("usage") is not None:
                    usage = chunk["usage"]
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
                await chunks.aclose()
            if response is not None:
                await response.aclose()
        provider_usage = _usage_from_provider(usage)
        yield StreamEnd(
            usage=provider_usage
            if provider_usage is not None
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


async def _completion_response_open(
    client: openai.AsyncOpenAI, *, request: ChatRequest, tier: TierConfig
) -> httpx2.Response:
    """Send the request; the SDK raises its status and connection errors, the body is left unread."""
    manager = client.chat.completions.with_streaming_response.create(
        model=tier.model,
        # ChatRequest holds plain dicts in the Chat Completions shape; the SDK types them as TypedDicts.
        messages=cast("list[ChatCompletionMessageParam]", request.messages),
        stream=True,
        stream_options={"include_usage": True},
        max_completion_tokens=openai.omit if request.max_output_tokens is None else request.max_output_tokens,
        temperature=openai.omit if request.temperature is None else request.temperature,
        # No read timeout: the asyncio deadlines already bound a silent socket, and httpx would
        # otherwise arm and disarm a timer on every network read, that is on every token.
        timeout=openai.Timeout(tier.total_timeout_s, connect=tier.connect_timeout_s, read=None),
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
                yield _chunk_decode(data, response=response)
        for data in events.finish():
            if not data.startswith(b"[DONE]"):
                yield _chunk_decode(data, response=response)
    except httpx2.TimeoutException as error:
        raise openai.APITimeoutError(request=response.request) from error
    except httpx2.RequestError as error:
        raise openai.APIConnectionError(request=response.request) from error


def _chunk_decode(data: bytes, *, response: httpx2.Response) -> dict[str, Any]:
    try:
        chunk = json.loads(data)
    except ValueError:
        raise openai.APIError("malformed stream event", request=response.request, body=None) from None
    if not isinstance(chunk, dict):
        raise openai.APIError("malformed stream event", request=response.request, body=None)
    error = chunk.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else None
        raise openai.APIError(
            message if isinstance(message, str) and message else "An error occurred during streaming",
            request=response.request,
            body=error,
        )
    return chunk


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
        if choices and ((choices[0].get("delta") or {}).get("content") or choices[0].get("finish_reason")):
            return chunk
    return None


class SSEDataReader:
    """The data of each complete server-sent event, from body bytes cut wherever the network cut them.

    Follows the event-stream format: lines end in LF, CRLF or CR; a blank line ends an event;
    several ``data:`` lines in one event join with LF; comments (``: keep-alive``) and the
    other fields are ignored. Events without data are not reported.
    """

    __slots__ = ("pending", "data")

    def __init__(self) -> None:
        self.pending = b""
        self.data: list[bytes] = []

    def feed(self, received: bytes) -> list[bytes]:
        text = self.pending + received if self.pending else received
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
        events = []
        data = self.data
        for line in lines:
            if not line:
                if data:
                    events.append(b"\n".join(data) if len(data) > 1 else data[0])
                    data.clear()
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
        return events


def _usage_from_provider(usage: dict[str, Any] | None) -> Usage | None:
    """The provider's own count, or None when it sent none (or one this code cannot read)."""
    if not isinstance(usage, dict):
        return None
    input_tokens, output_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not isinstance(input_tokens, int) or not isinstance(output_tokens, int):
        return None
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return Usage(
        input_tokens=input_tokens,
        cached_input_tokens=cached if isinstance(cached, int) else 0,
        output_tokens=output_tokens,
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
