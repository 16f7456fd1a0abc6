"""The bare relay: the least a server can do to stream a model's answer to a chat widget.

    uvicorn bench.relay:application --port 8001      (or: daphne -p 8001 bench.relay:application)

A plain ASGI application, no Django, no database, no channel layer: the baseline that
``bench.bench_customer`` runs beside Supportbot, under the same ASGI server, against the same
local model server (``OPENAI_BASE_URL``). It speaks just enough of the widget protocol
(docs/protocol.md) for the same client to drive both:

- ``hello`` is answered with ``ready`` (any token is accepted);
- ``message`` is acknowledged with a customer ``message`` frame (``seq``, ``client_id``), then
  answered: a ``typing`` frame, the model is asked over HTTP/1.1 with ``"stream": true``, each
  server-sent event with content becomes one ``token`` frame, and after ``[DONE]`` the whole
  text is sent as the assistant ``message`` frame (stored nowhere);
- any HTTP request gets ``200 relay`` (a readiness probe).

The model is read with asyncio streams and ``json.loads`` per event, over keep-alive
connections kept in a small pool, as any careful streaming proxy would do it.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MODEL = "relay"
IDLE_CONNECTIONS_KEPT = 64


class ModelError(Exception):
    """The model server answered something other than a 200 event stream."""


class ModelClient:
    """Streams chat completions from one OpenAI-compatible server over pooled HTTP/1.1 connections."""

    def __init__(self, base_url: str) -> None:
        address = urlparse(base_url)
        if address.scheme != "http" or not address.hostname:
            raise ValueError(f"the relay speaks plain HTTP to a local model server, not {base_url!r}")
        self.host = address.hostname
        self.port = address.port or 80
        self.path = address.path.rstrip("/") + "/chat/completions"
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def stream(self, question: str) -> AsyncIterator[str]:
        """The content of each event the model streams, in order."""
        body = json.dumps({"model": MODEL, "stream": True, "messages": [{"role": "user", "content": question}]})
        request = (
            f"POST {self.path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\ncontent-type: application/json\r\n"
            f"authorization: Bearer relay\r\ncontent-length: {len(body)}\r\n\r\n{body}"
        ).encode()
        reader, writer = await self._connection_send(request)
        finished = False
        try:
            async for content in _events_read(reader):
                yield content
            finished = True
        finally:
            if finished and len(self._idle) < IDLE_CONNECTIONS_KEPT:
                self._idle.append((reader, writer))
            else:
                writer.close()

    async def _connection_send(self, request: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Send on a kept connection, or a new one when none is kept or the kept one was closed."""
        while self._idle:
            reader, writer = self._idle.pop()
            if reader.at_eof() or writer.is_closing():
                writer.close()
                continue
            writer.write(request)
            return reader, writer
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write(request)
        return reader, writer


async def _events_read(reader: asyncio.StreamReader) -> AsyncIterator[str]:
    """Parse one chunked ``text/event-stream`` response; yields each event's delta content."""
    status = await reader.readline()
    headers = await _headers_read(reader)
    if not status.startswith(b"HTTP/1.1 200") or headers.get("transfer-encoding") != "chunked":
        raise ModelError(f"model server answered {status.strip()!r}")
    pending = b""
    while True:
        size = int((await reader.readline()).split(b";", 1)[0], 16)
        if size == 0:
            await reader.readline()  # the empty trailer
            return
        pending += (await reader.readexactly(size + 2))[:-2]
        *events, pending = pending.split(b"\n\n")
        for event in events:
            for line in event.split(b"\n"):
                if not line.startswith(b"data: "):
                    continue
                data = line[6:]
                if data == b"[DONE]":
                    continue  # the terminating zero-size chunk follows
                choices = json.loads(data).get("choices")
                if choices:
                    content = (choices[0].get("delta") or {}).get("content")
                    if content:
                        yield content


async def _headers_read(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip().lower()


class RelaySocket:
    """One widget socket: its sequence numbers and the answer streaming to it."""

    def __init__(self, send: Send, model: ModelClient) -> None:
        self._send = send
        self.model = model
        self.seq = 0
        self.answers: set[asyncio.Task[None]] = set()

    async def frame_send(self, frame: dict[str, Any]) -> None:
        await self._send({"type": "websocket.send", "text": json.dumps(frame)})

    async def receive(self, text: str) -> None:
        frame = json.loads(text)
        if frame.get("type") == "hello":
            await self.frame_send({"type": "ready", "conversation_id": "relay", "status": "bot", "last_seq": self.seq})
        elif frame.get("type") == "message":
            self.seq += 1
            await self.frame_send(
                {"type": "message", "seq": self.seq, "role": "customer", "kind": "text", "text": frame["text"]}
                | {"client_id": frame.get("client_id", "")}
            )
            # A task of its own, as the product answers: the socket keeps reading while it streams.
            task = asyncio.create_task(self.answer(frame["text"], reply_to=self.seq))
            self.answers.add(task)
            task.add_done_callback(self.answers.discard)
        elif frame.get("type") == "ping":
            await self.frame_send({"type": "pong"})

    async def answer(self, question: str, *, reply_to: int) -> None:
        await self.frame_send({"type": "typing", "reply_to": reply_to, "tier": "relay", "reason": "relay"})
        parts: list[str] = []
        async for content in self.model.stream(question):
            parts.append(content)
            await self.frame_send({"type": "token", "reply_to": reply_to, "i": len(parts), "text": content})
        self.seq += 1
        await self.frame_send(
            {"type": "message", "seq": self.seq, "role": "assistant", "kind": "text", "text": "".join(parts)}
            | {"reply_to": reply_to, "tier": "relay", "model": MODEL}
        )


class Relay:
    """The ASGI application; the model client is made on first use, on the server's event loop."""

    def __init__(self) -> None:
        self._model: ModelClient | None = None

    @property
    def model(self) -> ModelClient:
        if self._model is None:
            self._model = ModelClient(os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8100/v1"))
        return self._model

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(receive, send)
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"relay"})
        elif scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})

    async def _websocket(self, receive: Receive, send: Send) -> None:
        socket = RelaySocket(send, self.model)
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.connect":
                    await send({"type": "websocket.accept"})
                elif message["type"] == "websocket.receive" and message.get("text"):
                    await socket.receive(message["text"])
                elif message["type"] == "websocket.disconnect":
                    return
        finally:
            for task in socket.answers:
                task.cancel()


application = Relay()
