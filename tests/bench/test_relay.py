"""The bare relay against the real local model server: what the benchmark's baseline sends a widget."""

from __future__ import annotations

import asyncio
import json

import pytest

from bench.openai_server import OpenAICompatServer
from bench.relay import ModelClient, ModelError, Relay


async def test_model_client_yields_each_chunk_and_reuses_the_connection(openai_server: OpenAICompatServer) -> None:
    client = ModelClient(openai_server.url)

    first = [content async for content in client.stream("how long is the trial?")]
    second = [content async for content in client.stream("and the warranty?")]

    assert "".join(first) == openai_server.text == "".join(second)
    assert len(first) == openai_server.chunks
    assert openai_server.requests[0].body["messages"][-1]["content"] == "how long is the trial?"
    assert len(client._idle) == 1  # one connection, kept between the two answers


async def test_model_client_refuses_an_error_status(openai_server: OpenAICompatServer) -> None:
    from bench.openai_server import Fault

    openai_server.script(Fault.http_error(status=500))

    with pytest.raises(ModelError):
        [content async for content in ModelClient(openai_server.url).stream("hello")]


async def test_relay_socket_acknowledges_streams_one_frame_per_chunk_and_sends_the_whole_answer(
    openai_server: OpenAICompatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.url)
    inbound: asyncio.Queue[dict] = asyncio.Queue()
    sent: list[dict] = []
    answered = asyncio.Event()

    async def send(message: dict) -> None:
        if message["type"] == "websocket.send":
            frame = json.loads(message["text"])
            sent.append(frame)
            if frame["type"] == "message" and frame["role"] == "assistant":
                answered.set()
        else:
            sent.append(message)

    for message in (
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": json.dumps({"type": "hello", "token": "any", "last_seq": 0})},
        {"type": "websocket.receive", "text": json.dumps({"type": "message", "text": "hi", "client_id": "c1"})},
    ):
        inbound.put_nowait(message)
    relay = asyncio.create_task(Relay()({"type": "websocket"}, inbound.get, send))
    await asyncio.wait_for(answered.wait(), 5)
    inbound.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await relay

    kinds = [frame["type"] for frame in sent]
    assert kinds[:4] == ["websocket.accept", "ready", "message", "typing"]
    assert sent[2]["client_id"] == "c1" and sent[2]["role"] == "customer"
    tokens = [frame for frame in sent if frame["type"] == "token"]
    assert [token["i"] for token in tokens] == list(range(1, openai_server.chunks + 1))
    assert sent[-1]["text"] == "".join(token["text"] for token in tokens) == openai_server.text
    assert sent[-1]["reply_to"] == 1 and sent[-1]["seq"] == 2
