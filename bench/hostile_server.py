"""An OpenAI-compatible server that misbehaves on purpose, the way other servers, proxies and load balancers do.

``bench/openai_server.py`` scripts the faults our own client was written against; this one
serves what the client meets elsewhere: streams that end cleanly half-way, error objects with
a 200, keep-alive comments, CRLF and events cut across reads, chunks without choices, reasoning
deltas, stalls, trickles that never end. The conformance tests run the product against each.

A request for the model ``hostile:<behaviour>`` gets that behaviour, on every call (as a
broken deployment would); any other model gets a well-formed answer. So a test names a
behaviour per tier through the tier's model name::

    server = HostileServer()
    server.serve_in_thread()
    ...  # settings.SUPPORTBOT_MODELS["instant"] = hostile_model("eof-half"); OPENAI_BASE_URL=server.url
    server.close()

Answers are 40 content chunks: ``"hostile1 hostile2 ... hostile40"`` from a hostile model,
``"fine1 ... fine40"`` from any other, so a test can tell who wrote each part of a stored answer.

From a shell::

    python -m bench.hostile_server --port 8101
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bench.openai_server import OpenAICompatServer

MODEL_PREFIX = "hostile:"
PIECES = 40
HALF = PIECES // 2

# What the server does for each behaviour, as the conformance table describes it.
BEHAVIOURS: dict[str, str] = {
    "ok": "A well-formed stream: 40 content chunks, `finish_reason: stop`, usage, `[DONE]`.",
    "eof-after-role": "The role-only opening chunk, then a clean end of body: no text, `finish_reason` or `[DONE]`.",
    "eof-first": "The first content chunk, then a clean end of body (the terminating HTTP chunk, connection kept).",
    "eof-half": "20 of 40 content chunks, then a clean end of body, without `finish_reason` or `[DONE]`.",
    "eof-last": "All 40 content chunks, then a clean end of body: no `finish_reason`, no usage, no `[DONE]`.",
    "eof-half-close": "20 of 40 chunks in a body without length or chunked encoding, ended by closing the connection.",
    "length": "40 chunks, then `finish_reason: length` (the output token cap), usage, `[DONE]`.",
    "content-filter": "20 chunks, then `finish_reason: content_filter`, usage, `[DONE]`.",
    "error-event": "20 chunks, then `data: {error: {code: 500, ...}}` inside the 200 stream, then `[DONE]`.",
    "error-event-400": "Before any text, `data: {error: {code: 400, type: invalid_request_error}}`, then `[DONE]`.",
    "comments": "SSE comments (`: keep-alive`, `: PROCESSING`) and `event:`/`id:`/`retry:` fields between chunks.",
    "crlf-split": "CRLF line ends; each event in several TCP writes, cut inside `data:`, the JSON and a CRLF.",
    "empty-choices": "Chunks with `choices: []` before, between and after the text (as filter results are sent).",
    "no-usage": "A complete stream with no usage chunk, though the request asked for one.",
    "reasoning-tools": "`reasoning_content` and `reasoning` deltas before the text, a `tool_calls` delta inside it.",
    "stall": "20 chunks, then silence longer than the inter-chunk deadline, then the rest.",
    "json-error-200": "HTTP 200 with `content-type: application/json` and an error object as the whole body.",
    "http-401": "HTTP 401 with an error body (a wrong API key).",
    "http-403": "HTTP 403 with an error body (no access to the model).",
    "http-404": "HTTP 404 with an error body (no such model).",
    "trickle": "A content chunk at a steady pace (20 ms apart in the tests), forever: never a `finish_reason`.",
    "error-event-named": "20 chunks, then an SSE `event: error` whose data has no `error` key "
    "(`{type: error, message, code: 529}`), then `[DONE]`.",
    "content-parts": "Every delta's `content` as a list of parts (`[{type: text, text}]`), not a string.",
    "content-number": "20 chunks, then a delta whose `content` is the number 11.",
    "choices-reversed": "Two choices in every chunk, `index: 1` (other text) listed before `index: 0`.",
    "length-upper": "40 chunks, then `finish_reason: LENGTH` (upper case), usage, `[DONE]`.",
    "whitespace-only": "Content chunks of only spaces and newlines, `finish_reason: stop`, usage, `[DONE]`.",
    "huge-chunk": "20 chunks, then one delta of 20,000 characters (past the output token cap at once).",
    "usage-negative": "A complete stream whose usage says `prompt_tokens: -100000`.",
    "think-tags": "The content opens with a `<think>…</think>` reasoning block, its tags cut across chunks, "
    "then the answer (a reasoning model served without a reasoning parser).",
    "surrogate-split": "Every fifth chunk ends in an emoji whose two UTF-16 halves are JSON escapes in two "
    "chunks (`\\ud83d`, then `\\ude00`).",
    "json-completion": "`stream` ignored: HTTP 200 with `content-type: application/json` and the whole "
    "`chat.completion` (message, finish reason, usage) as the body.",
}
# The character the surrogate-split behaviour sends in two halves.
SPLIT_EMOJI = "\U0001f600"


def hostile_model(behaviour: str) -> str:
    """The model name that makes the server behave so."""
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behaviour!r}")
    return MODEL_PREFIX + behaviour


def answer_pieces(model: str) -> list[str]:
    """The content chunks the server streams for ``model`` (a trickle goes on past them)."""
    word = "hostile" if model.startswith(MODEL_PREFIX) else "fine"
    emoji = SPLIT_EMOJI if model == MODEL_PREFIX + "surrogate-split" else ""
    return [
        f"{'' if index == 1 else ' '}{word}{index}{emoji if index % 5 == 0 else ''}" for index in range(1, PIECES + 1)
    ]


def answer_text(model: str, *, pieces: int = PIECES) -> str:
    return "".join(answer_pieces(model)[:pieces])


@dataclass
class _Exchange:
    """One streamed response being written."""

    writer: asyncio.StreamWriter
    model: str
    include_usage: bool
    completion_id: str
    chunked: bool = True
    line_end: bytes = b"\n"

    def head(self, *, close: bool = False) -> None:
        self.chunked = not close
        framing = b"connection: close\r\n" if close else b"transfer-encoding: chunked\r\n"
        self.writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\n"
            + framing
            + b"\r\n"
        )

    def raw(self, data: bytes) -> None:
        self.writer.write(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)

    def event_bytes(self, payload: Any) -> bytes:
        data = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
        return b"data: " + data + self.line_end + self.line_end

    def event(self, payload: Any) -> None:
        self.raw(self.event_bytes(payload))

    def chunk(self, *, delta: dict[str, Any] | None, finish_reason: str | None = None) -> dict[str, Any]:
        choices = (
            [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
        )
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": choices,
        }

    def role(self) -> None:
        self.event(self.chunk(delta={"role": "assistant", "content": ""}))

    def content(self, text: str) -> None:
        self.event(self.chunk(delta={"content": text}))

    def finish_events(self, reason: str, *, output_tokens: int) -> list[bytes]:
        """The closing chunk with ``reason``, then the usage chunk when the request asked for one."""
        events = [self.event_bytes(self.chunk(delta={}, finish_reason=reason))]
        if self.include_usage:
            usage = self.chunk(delta=None)
            usage["usage"] = {
                "prompt_tokens": 100,
                "completion_tokens": output_tokens,
                "total_tokens": 100 + output_tokens,
                "prompt_tokens_details": {"cached_tokens": 0},
            }
            events.append(self.event_bytes(usage))
        return events

    def finish(self, reason: str, *, output_tokens: int) -> None:
        for event in self.finish_events(reason, output_tokens=output_tokens):
            self.raw(event)

    def done(self) -> None:
        self.raw(b"data: [DONE]" + self.line_end + self.line_end)

    def end(self) -> None:
        """The clean end of the body: the terminating HTTP chunk (the connection stays usable)."""
        self.writer.write(b"0\r\n\r\n")


Behaviour = Callable[["HostileServer", _Exchange], Awaitable[bool]]


class HostileServer(OpenAICompatServer):
    """Serves ``POST /v1/chat/completions`` with the behaviour its model names; see the module docstring."""

    def __init__(
        self,
        *,
        interval_s: float = 0.001,
        stall_s: float = 3.0,
        trickle_interval_s: float = 0.05,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(chunks=PIECES, interval_ms=interval_s * 1000, text=answer_text("fine"), host=host, port=port)
        self.interval_s = interval_s
        self.stall_s = stall_s
        self.trickle_interval_s = trickle_interval_s

    def models_called(self) -> list[str]:
        return [str(request.body.get("model", "")) for request in self.requests if isinstance(request.body, dict)]

    async def _completion_serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, body: dict[str, Any], fault: Any
    ) -> bool:
        model = str(body.get("model", ""))
        behaviour = model[len(MODEL_PREFIX) :] if model.startswith(MODEL_PREFIX) else "ok"
        if behaviour in _STATUS_BEHAVIOURS:
            return await _error_status_serve(writer, status=_STATUS_BEHAVIOURS[behaviour], model=model)
        if behaviour == "json-error-200":
            return await _error_status_serve(writer, status=200, model=model)
        if behaviour == "json-completion":
            return await _json_completion_serve(writer, model=model)
        exchange = _Exchange(
            writer=writer,
            model=model,
            include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
            completion_id=f"chatcmpl-{next(self._ids)}",
        )
        serve = _SERVES.get(behaviour)
        if serve is None:
            return await _error_status_serve(writer, status=404, model=model)
        return await serve(self, exchange)

    # -- the behaviours ----------------------------------------------------------------------

    async def _pieces_send(self, exchange: _Exchange, pieces: list[str]) -> None:
        for piece in pieces:
            exchange.content(piece)
            await exchange.writer.drain()
            await asyncio.sleep(self.interval_s)

    async def _complete(self, exchange: _Exchange, *, reason: str = "stop", pieces: int = PIECES) -> bool:
        exchange.head()
        exchange.role()
        await self._pieces_send(exchange, answer_pieces(exchange.model)[:pieces])
        exchange.finish(reason, output_tokens=pieces)
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def _ends_cleanly_after(self, exchange: _Exchange, *, pieces: int, close: bool = False) -> bool:
        exchange.head(close=close)
        exchange.role()
        await self._pieces_send(exchange, answer_pieces(exchange.model)[:pieces])
        if close:
            await exchange.writer.drain()
            return False  # the close ends the body
        exchange.end()
        await exchange.writer.drain()
        return True

    async def serve_ok(self, exchange: _Exchange) -> bool:
        return await self._complete(exchange)

    async def serve_eof_after_role(self, exchange: _Exchange) -> bool:
        return await self._ends_cleanly_after(exchange, pieces=0)

    async def serve_eof_first(self, exchange: _Exchange) -> bool:
        return await self._ends_cleanly_after(exchange, pieces=1)

    async def serve_eof_half(self, exchange: _Exchange) -> bool:
        return await self._ends_cleanly_after(exchange, pieces=HALF)

    async def serve_eof_last(self, exchange: _Exchange) -> bool:
        return await self._ends_cleanly_after(exchange, pieces=PIECES)

    async def serve_eof_half_close(self, exchange: _Exchange) -> bool:
        return await self._ends_cleanly_after(exchange, pieces=HALF, close=True)

    async def serve_length(self, exchange: _Exchange) -> bool:
        return await self._complete(exchange, reason="length")

    async def serve_content_filter(self, exchange: _Exchange) -> bool:
        return await self._complete(exchange, reason="content_filter", pieces=HALF)

    async def serve_error_event(self, exchange: _Exchange) -> bool:
        exchange.head()
        exchange.role()
        await self._pieces_send(exchange, answer_pieces(exchange.model)[:HALF])
        # As vLLM and several proxies send it: a numeric code in an error object, inside a 200 stream.
        exchange.event(
            {"error": {"object": "error", "message": "backend overloaded", "type": "server_error", "code": 500}}
        )
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def serve_error_event_400(self, exchange: _Exchange) -> bool:
        exchange.head()
        exchange.role()
        message = "This model's maximum context length is 8192 tokens"
        exchange.event({"error": {"message": message, "type": "invalid_request_error", "param": None, "code": 400}})
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def serve_comments(self, exchange: _Exchange) -> bool:
        exchange.head()
        exchange.raw(b": connected\n\nretry: 3000\n\n")
        exchange.role()
        for index, piece in enumerate(answer_pieces(exchange.model)):
            if index % 3 == 0:
                exchange.raw(b": keep-alive\n\n")
            if index % 5 == 0:
                exchange.raw(b": PROCESSING\n\nevent: ping\ndata: \n\n")
            exchange.raw(b"id: %d\n" % index + exchange.event_bytes(exchange.chunk(delta={"content": piece})))
            await exchange.writer.drain()
            await asyncio.sleep(self.interval_s)
        exchange.finish("stop", output_tokens=PIECES)
        exchange.raw(b": done soon\n\n")
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def serve_crlf_split(self, exchange: _Exchange) -> bool:
        exchange.line_end = b"\r\n"
        exchange.head()
        events = [exchange.event_bytes(exchange.chunk(delta={"role": "assistant", "content": ""}))]
        events += [exchange.event_bytes(exchange.chunk(delta={"content": p})) for p in answer_pieces(exchange.model)]
        events += exchange.finish_events("stop", output_tokens=PIECES)
        events.append(b"data: [DONE]\r\n\r\n")
        for index, event in enumerate(events):
            # Cut inside "data:", inside the JSON and between the CR and LF, each cut its own TCP write.
            cuts = sorted({3, len(event) // 2, len(event) - 3 + index % 2, len(event) - 1})
            start = 0
            for cut in [*cuts, len(event)]:
                if cut > start:
                    exchange.raw(event[start:cut])
                    await exchange.writer.drain()
                    await asyncio.sleep(0.0005)
                start = cut
        exchange.end()
        await exchange.writer.drain()
        return True

    async def serve_empty_choices(self, exchange: _Exchange) -> bool:
        exchange.head()
        filter_results = exchange.chunk(delta=None)
        filter_results["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": {}}]
        exchange.event(filter_results)
        exchange.role()
        for index, piece in enumerate(answer_pieces(exchange.model)):
            if index % 4 == 0:
                exchange.event(exchange.chunk(delta=None))
            exchange.content(piece)
            await exchange.writer.drain()
            await asyncio.sleep(self.interval_s)
        exchange.event(exchange.chunk(delta=None))
        exchange.finish("stop", output_tokens=PIECES)
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def serve_no_usage(self, exchange: _Exchange) -> bool:
        exchange.include_usage = False
        return await self._complete(exchange)

    async def serve_reasoning_tools(self, exchange: _Exchange) -> bool:
        exchange.head()
        exchange.role()
        for thought in ("The customer asks", " about an order;", " answer briefly."):
            exchange.event(exchange.chunk(delta={"content": None, "reasoning_content": thought}))
            exchange.event(exchange.chunk(delta={"reasoning": thought}))
        pieces = answer_pieces(exchange.model)
        await self._pieces_send(exchange, pieces[:HALF])
        tool_call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": ""}}
        exchange.event(exchange.chunk(delta={"content": None, "tool_calls": [tool_call]}))
        exchange.event(exchange.chunk(delta={"tool_calls": [{"index": 0, "function": {"arguments": '{"id":1}'}}]}))
        await self._pieces_send(exchange, pieces[HALF:])
        exchange.finish("stop", output_tokens=PIECES)
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def serve_stall(self, exchange: _Exchange) -> bool:
        exchange.head()
        exchange.role()
        pieces = answer_pieces(exchange.model)
        await self._pieces_send(exchange, pieces[:HALF])
        await asyncio.sleep(self.stall_s)
        await self._pieces_send(exchange, pieces[HALF:])
        exchange.finish("stop", output_tokens=PIECES)
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def _stream_with(self, exchange: _Exchange, *, after_half: list[dict[str, Any]], reason: str = "") -> bool:
        """The role chunk and the first half of the answer, then ``after_half``'s chunks; a finish with
        ``reason`` (and the rest of the answer before it) when one is given."""
        exchange.head()
        exchange.role()
        pieces = answer_pieces(exchange.model)
        await self._pieces_send(exchange, pieces[:HALF])
        for chunk in after_half:
            exchange.event(chunk)
        if reason:
            await self._pieces_send(exchange, pieces[HALF:])
            exchange.finish(reason, output_tokens=PIECES)
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def serve_error_event_named(self, exchange: _Exchange) -> bool:
        exchange.head()
        exchange.role()
        await self._pieces_send(exchange, answer_pieces(exchange.model)[:HALF])
        exchange.raw(b'event: error\ndata: {"type":"error","message":"upstream overloaded","code":529}\n\n')
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def serve_think_tags(self, exchange: _Exchange) -> bool:
        exchange.head()
        exchange.role()
        await self._pieces_send(exchange, ["\n<thi", "nk>The customer asks", " about an order.</th", "ink>\n\n"])
        return await self._rest_complete(exchange, answer_pieces(exchange.model))

    async def serve_surrogate_split(self, exchange: _Exchange) -> bool:
        exchange.head()
        exchange.role()
        high, low = "\ud83d", "\ude00"
        for piece in answer_pieces(exchange.model):
            if piece.endswith(SPLIT_EMOJI):
                # json.dumps writes each lone half as its \u escape, as a proxy cutting by UTF-16 units sends it.
                exchange.content(piece[: -len(SPLIT_EMOJI)] + high)
                exchange.content(low)
            else:
                exchange.content(piece)
            await exchange.writer.drain()
            await asyncio.sleep(self.interval_s)
        return await self._rest_complete(exchange, [])

    async def _rest_complete(self, exchange: _Exchange, pieces: list[str]) -> bool:
        await self._pieces_send(exchange, pieces)
        exchange.finish("stop", output_tokens=PIECES)
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def _complete_as(self, exchange: _Exchange, chunk_for: Callable[[int, str], dict[str, Any]]) -> bool:
        """A complete answer whose content chunks ``chunk_for(index, piece)`` writes its own way."""
        exchange.head()
        exchange.role()
        for index, piece in enumerate(answer_pieces(exchange.model)):
            exchange.event(chunk_for(index, piece))
            await exchange.writer.drain()
            await asyncio.sleep(self.interval_s)
        exchange.finish("stop", output_tokens=PIECES)
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def serve_content_parts(self, exchange: _Exchange) -> bool:
        return await self._complete_as(
            exchange, lambda _, piece: exchange.chunk(delta={"content": [{"type": "text", "text": piece}]})
        )

    async def serve_content_number(self, exchange: _Exchange) -> bool:
        return await self._stream_with(exchange, after_half=[exchange.chunk(delta={"content": 11})], reason="stop")

    async def serve_choices_reversed(self, exchange: _Exchange) -> bool:
        def both_choices(index: int, piece: str) -> dict[str, Any]:
            chunk = exchange.chunk(delta={"content": piece})
            chunk["choices"].insert(0, {"index": 1, "delta": {"content": f" other{index + 1}"}, "finish_reason": None})
            return chunk

        return await self._complete_as(exchange, both_choices)

    async def serve_length_upper(self, exchange: _Exchange) -> bool:
        return await self._complete(exchange, reason="LENGTH")

    async def serve_whitespace_only(self, exchange: _Exchange) -> bool:
        exchange.head()
        exchange.role()
        await self._pieces_send(exchange, [" ", "\n\n", "  ", "\n"])
        exchange.finish("stop", output_tokens=4)
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def serve_huge_chunk(self, exchange: _Exchange) -> bool:
        return await self._stream_with(exchange, after_half=[exchange.chunk(delta={"content": "x" * 20_000})])

    async def serve_usage_negative(self, exchange: _Exchange) -> bool:
        exchange.head()
        exchange.role()
        await self._pieces_send(exchange, answer_pieces(exchange.model))
        exchange.event(exchange.chunk(delta={}, finish_reason="stop"))
        usage = exchange.chunk(delta=None)
        usage["usage"] = {"prompt_tokens": -100000, "completion_tokens": PIECES, "total_tokens": -100000 + PIECES}
        exchange.event(usage)
        exchange.done()
        exchange.end()
        await exchange.writer.drain()
        return True

    async def serve_trickle(self, exchange: _Exchange) -> bool:
        exchange.head()
        exchange.role()
        index = 0
        while True:  # until the client goes away (the write then fails) or the server stops
            index += 1
            exchange.content(f"{'' if index == 1 else ' '}hostile{index}")
            await exchange.writer.drain()
            await asyncio.sleep(self.trickle_interval_s)


_SERVES: dict[str, Behaviour] = {
    "ok": HostileServer.serve_ok,
    "eof-after-role": HostileServer.serve_eof_after_role,
    "eof-first": HostileServer.serve_eof_first,
    "eof-half": HostileServer.serve_eof_half,
    "eof-last": HostileServer.serve_eof_last,
    "eof-half-close": HostileServer.serve_eof_half_close,
    "length": HostileServer.serve_length,
    "content-filter": HostileServer.serve_content_filter,
    "error-event": HostileServer.serve_error_event,
    "error-event-400": HostileServer.serve_error_event_400,
    "comments": HostileServer.serve_comments,
    "crlf-split": HostileServer.serve_crlf_split,
    "empty-choices": HostileServer.serve_empty_choices,
    "no-usage": HostileServer.serve_no_usage,
    "reasoning-tools": HostileServer.serve_reasoning_tools,
    "stall": HostileServer.serve_stall,
    "trickle": HostileServer.serve_trickle,
    "error-event-named": HostileServer.serve_error_event_named,
    "content-parts": HostileServer.serve_content_parts,
    "content-number": HostileServer.serve_content_number,
    "choices-reversed": HostileServer.serve_choices_reversed,
    "length-upper": HostileServer.serve_length_upper,
    "whitespace-only": HostileServer.serve_whitespace_only,
    "huge-chunk": HostileServer.serve_huge_chunk,
    "usage-negative": HostileServer.serve_usage_negative,
    "think-tags": HostileServer.serve_think_tags,
    "surrogate-split": HostileServer.serve_surrogate_split,
}
_STATUS_BEHAVIOURS = {"http-401": 401, "http-403": 403, "http-404": 404}
_ERRORS = {
    200: ("server_error", "The server had an error while processing your request."),
    401: ("invalid_request_error", "Incorrect API key provided."),
    403: ("permission_error", "You are not allowed to use this model."),
    404: ("invalid_request_error", "The model does not exist or you do not have access to it."),
}
_REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}


async def _error_status_serve(writer: asyncio.StreamWriter, *, status: int, model: str) -> bool:
    kind, message = _ERRORS[status]
    code = "server_error" if status == 200 else kind
    body = json.dumps({"error": {"message": f"{message} ({model})", "type": kind, "param": None, "code": code}})
    writer.write(
        f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n{body}".encode()
    )
    await writer.drain()
    return True


async def _json_completion_serve(writer: asyncio.StreamWriter, *, model: str) -> bool:
    body = json.dumps(
        {
            "id": "chatcmpl-json",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": answer_text(model)}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": PIECES, "total_tokens": 100 + PIECES},
        }
    )
    writer.write(
        f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n{body}".encode()
    )
    await writer.drain()
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--stall-s", type=float, default=3.0)
    args = parser.parse_args()
    server = HostileServer(host=args.host, port=args.port, stall_s=args.stall_s)
    asyncio.run(_serve_forever(server))


async def _serve_forever(server: HostileServer) -> None:
    await server.start()
    print(f"listening on {server.url}; models: " + ", ".join(hostile_model(name) for name in BEHAVIOURS), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    main()
