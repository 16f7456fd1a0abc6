"""A local server that speaks the OpenAI Chat Completions protocol, with scripted faults.

Tests point the real ``openai`` SDK at it instead of mocking the SDK, and the benchmarks
measure the gateway against it. It uses only the standard library so it starts in a few
milliseconds and adds as little noise as possible to timings.

In a test::

    server = OpenAICompatServer(chunks=8, interval_ms=1)
    server.serve_in_thread()
    server.script(Fault.rate_limit(retry_after_s=2), Fault.cut(after_chunks=3))
    ...  # AsyncOpenAI(base_url=server.url, ...)
    server.requests[0].body["messages"]
    server.close()

From a shell::

    python -m bench.openai_server --port 8100 --chunks 64 --interval-ms 20
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

FINISHED_MARK = b"data: [DONE]\n\n"
DEFAULT_TEXT = " ".join(f"word{index}" for index in range(64))


@dataclass(frozen=True)
class Fault:
    """What the server does to one request instead of answering normally.

    ``kind`` is one of ``ok``, ``http_error``, ``hang``, ``cut``, ``no_usage``.
    ``after_chunks`` is None for a hang before any header is sent.
    """

    kind: str
    status: int = 200
    retry_after_s: float | None = None
    after_chunks: int | None = None

    @classmethod
    def ok(cls) -> Fault:
        return cls(kind="ok")

    @classmethod
    def http_error(cls, *, status: int = 500, retry_after_s: float | None = None) -> Fault:
        return cls(kind="http_error", status=status, retry_after_s=retry_after_s)

    @classmethod
    def rate_limit(cls, *, retry_after_s: float | None = 1.0) -> Fault:
        return cls.http_error(status=429, retry_after_s=retry_after_s)

    @classmethod
    def hang(cls, *, after_chunks: int | None = None) -> Fault:
        return cls(kind="hang", after_chunks=after_chunks)

    @classmethod
    def cut(cls, *, after_chunks: int) -> Fault:
        """Close the connection after ``after_chunks`` content chunks, without [DONE]."""
        return cls(kind="cut", after_chunks=after_chunks)

    @classmethod
    def no_usage(cls) -> Fault:
        return cls(kind="no_usage")


@dataclass(frozen=True)
class ServedUsage:
    prompt_tokens: int = 100
    completion_tokens: int = 64
    cached_tokens: int = 0


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None when the body was not JSON
    received_at: float = field(default_factory=time.monotonic)


class _Hangup(Exception):
    """The client went away; stop serving this connection."""


class OpenAICompatServer:
    """An asyncio HTTP/1.1 server for ``POST /v1/chat/completions`` (keep-alive, chunked SSE)."""

    def __init__(
        self,
        *,
        chunks: int = 64,
        interval_ms: float = 20.0,
        text: str = DEFAULT_TEXT,
        usage: ServedUsage | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        record: bool = True,
        stamp: bool = False,
        rejected_fields: Collection[str] = (),
        rejection_status: int = 400,
    ) -> None:
        self.chunks = chunks
        # Request fields this server refuses, as strict servers refuse what they do not know: with 400 and an
        # OpenAI-style error naming the argument, or with 422 and a pydantic (FastAPI) list of extra inputs.
        self.rejected_fields = frozenset(rejected_fields)
        self.rejection_status = rejection_status
        # Each content chunk becomes "<index>@<time.time_ns()> ", stamped as it is sent, so a client
        # on the same machine measures latency, gaps and lost or doubled tokens end to end.
        self.stamp = stamp
        self.interval_ms = interval_ms
        self.text = text
        self.usage = usage or ServedUsage(completion_tokens=chunks)
        self.host = host
        self.port = port
        self.record = record
        self.requests: list[RecordedRequest] = []
        self._faults: deque[Fault] = deque()
        self._model_faults: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The ``base_url`` to give the SDK."""
        return f"http://{self.host}:{self.port}/v1"

    def script(self, *faults: Fault, model: str | None = None) -> None:
        """Queue faults for the next requests, in order; with ``model``, only for requests naming it."""
        with self._lock:
            queue = self._faults if model is None else self._model_faults.setdefault(model, deque())
            queue.extend(faults)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._connection_serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def serve_in_thread(self) -> OpenAICompatServer:
        """Run on a private event loop in a daemon thread; returns once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start())
            except BaseException as error:  # noqa: BLE001 - handed to the starting thread
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.aclose())
            loop.close()

        self._thread = threading.Thread(target=run, name="openai-compat-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def close(self) -> None:
        """Stop a server started with :meth:`serve_in_thread`."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._thread = None

    # -- HTTP ------------------------------------------------------------------------------

    async def _connection_serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while await self._request_serve(reader, writer):
                pass
        except (_Hangup, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _request_serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection should close."""
        request_line = await reader.readline()
        if not request_line:
            return False
        method, path, _ = request_line.decode("latin-1").split(" ", 2)
        headers = await _headers_read(reader)
        raw_body = await reader.readexactly(int(headers.get("content-length", "0")))
        body = _json_or_none(raw_body)
        if self.record:
            with self._lock:
                self.requests.append(RecordedRequest(method=method, path=path, headers=headers, body=body))
        if method != "POST" or path.rstrip("/") != "/v1/chat/completions" or not isinstance(body, dict):
            await _json_write(writer, status=404, payload={"error": {"message": f"no route for {method} {path}"}})
            return True
        rejected = sorted(self.rejected_fields & body.keys())
        if rejected:
            await _json_write(writer, status=self.rejection_status, payload=_rejection(rejected, self.rejection_status))
            return True
        fault = self._fault_next(model=str(body.get("model", "")))
        return await self._completion_serve(reader, writer, body=body, fault=fault)

    def _fault_next(self, *, model: str) -> Fault:
        with self._lock:
            model_queue = self._model_faults.get(model)
            if model_queue:
                return model_queue.popleft()
            if self._faults:
                return self._faults.popleft()
        return Fault.ok()

    async def _completion_serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, body: dict[str, Any], fault: Fault
    ) -> bool:
        if fault.kind == "http_error":
            extra = {} if fault.retry_after_s is None else {"retry-after": _seconds_text(fault.retry_after_s)}
            payload = {"error": {"message": f"scripted {fault.status}", "type": "server_error", "code": None}}
            await _json_write(writer, status=fault.status, payload=payload, extra_headers=extra)
            return True
        if fault.kind == "hang" and fault.after_chunks is None:
            await _hangup_wait(reader)
        completion_id = f"chatcmpl-{next(self._ids)}"
        model = str(body.get("model", ""))
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and fault.kind != "no_usage"
            return await self._stream_serve(
                reader, writer, completion_id=completion_id, model=model, include_usage=include_usage, fault=fault
            )
        payload = _completion_payload(
            completion_id=completion_id,
            model=model,
            text=self.text,
            usage=None if fault.kind == "no_usage" else self.usage,
        )
        await _json_write(writer, status=200, payload=payload)
        return True

    async def _stream_serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        completion_id: str,
        model: str,
        include_usage: bool,
        fault: Fault,
    ) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        stop_after = fault.after_chunks if fault.kind in ("hang", "cut") else None
        created = int(time.time())
        interval_s = self.interval_ms / 1000
        for index, piece in enumerate(_text_split(self.text, self.chunks)):
            if index == stop_after:
                return await _stream_stop(reader, writer, fault=fault)
            if index:
                await asyncio.sleep(interval_s)
            if self.stamp:
                piece = f"{index}@{time.time_ns()} "
            delta: dict[str, Any] = {"content": piece} if index else {"role": "assistant", "content": piece}
            _event_write(writer, _chunk(completion_id, model, created, delta=delta, finish_reason=None))
            await writer.drain()
        if stop_after is not None:
            return await _stream_stop(reader, writer, fault=fault)
        _event_write(writer, _chunk(completion_id, model, created, delta={}, finish_reason="stop"))
        if include_usage:
            usage_chunk = _chunk(completion_id, model, created, delta=None, finish_reason=None)
            usage_chunk["usage"] = _usage_payload(self.usage)
            _event_write(writer, usage_chunk)
        writer.write(_http_chunk(FINISHED_MARK) + b"0\r\n\r\n")
        await writer.drain()
        return True


async def _stream_stop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, fault: Fault) -> bool:
    if fault.kind == "hang":
        await _hangup_wait(reader)
    # A cut: drop the connection without the terminating chunk, as a dying proxy would.
    writer.close()
    return False


async def _hangup_wait(reader: asyncio.StreamReader) -> None:
    """Say nothing until the client gives up (closes the connection) or the server stops."""
    while await reader.read(65536):
        pass
    raise _Hangup()


async def _headers_read(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _rejection(fields: list[str], status: int) -> dict[str, Any]:
    if status == 422:
        return {
            "detail": [
                {"type": "extra_forbidden", "loc": ["body", field], "msg": "Extra inputs are not permitted"}
                for field in fields
            ]
        }
    message = f"Unrecognized request argument supplied: {', '.join(fields)}"
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}


async def _json_write(
    writer: asyncio.StreamWriter, *, status: int, payload: Any, extra_headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(payload).encode()
    head = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
        "content-type: application/json",
        f"content-length: {len(body)}",
    ]
    head += [f"{name}: {value}" for name, value in (extra_headers or {}).items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    await writer.drain()


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _seconds_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _event_write(writer: asyncio.StreamWriter, payload: dict[str, Any]) -> None:
    writer.write(_http_chunk(b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"))


def _chunk(
    completion_id: str, model: str, created: int, *, delta: dict[str, Any] | None, finish_reason: str | None
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
    }


def _usage_payload(usage: ServedUsage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def _completion_payload(*, completion_id: str, model: str, text: str, usage: ServedUsage | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }
    if usage is not None:
        payload["usage"] = _usage_payload(usage)
    return payload


def _text_split(text: str, pieces: int) -> list[str]:
    """``text`` in ``pieces`` consecutive parts that join back to it exactly."""
    pieces = max(1, min(pieces, len(text))) if text else 1
    size, remainder = divmod(len(text), pieces)
    bounds = [index * size + min(index, remainder) for index in range(pieces + 1)]
    return [text[bounds[index] : bounds[index + 1]] for index in range(pieces)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--interval-ms", type=float, default=20.0)
    parser.add_argument("--text", default=DEFAULT_TEXT)
    parser.add_argument("--prompt-tokens", type=int, default=100)
    parser.add_argument("--completion-tokens", type=int, default=None)
    parser.add_argument("--cached-tokens", type=int, default=0)
    parser.add_argument("--stamp", action="store_true", help="send '<index>@<time_ns> ' as each chunk's text")
    args = parser.parse_args()
    usage = ServedUsage(
        prompt_tokens=args.prompt_tokens,
        completion_tokens=args.chunks if args.completion_tokens is None else args.completion_tokens,
        cached_tokens=args.cached_tokens,
    )
    server = OpenAICompatServer(
        chunks=args.chunks,
        interval_ms=args.interval_ms,
        text=args.text,
        usage=usage,
        host=args.host,
        port=args.port,
        record=False,
        stamp=args.stamp,
    )
    asyncio.run(_serve_forever(server))


async def _serve_forever(server: OpenAICompatServer) -> None:
    await server.start()
    # Benchmarks read this line to learn the port when started with --port 0.
    print(f"listening on {server.url}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    main()
