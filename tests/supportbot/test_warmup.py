from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from routing import runtime
from routing.providers import openai_compat
from supportbot import warmup
from supportbot.warmup import WarmUpMiddleware, WarmUpState


@pytest.fixture
def fresh_warm_up(monkeypatch, settings) -> WarmUpState:
    settings.KNOWLEDGE_EMBEDDINGS = False  # the index without loading the encoder here
    state = WarmUpState()
    monkeypatch.setattr(warmup, "_state", state)
    return state


@pytest.fixture
def server_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in its own thread, as the ASGI server's."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def _run_in_a_thread() -> None:
    # As in a web process: its own thread, so its own database connection.
    thread = threading.Thread(target=warmup.warm_up_run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()


def _wait_finished(state: WarmUpState) -> None:
    deadline = time.monotonic() + 10
    while not state.finished and time.monotonic() < deadline:
        time.sleep(0.01)


def test_readyz_is_unavailable_until_the_warm_up_has_finished(
    transactional_db, client, fresh_warm_up, llm, server_loop
):
    fresh_warm_up.started = True  # as warm_up_start() marks it before its thread runs
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["warm_up"]["error"] == "warming up"

    runtime.runtime_reset()
    _run_in_a_thread()
    assert fresh_warm_up.thread_done
    assert runtime._runtime is not None  # the provider and gateway are built before any answer
    assert client.get("/readyz").status_code == 503  # the server's loop has not been seen yet

    warmup.warm_up_loop_seen(server_loop)
    _wait_finished(fresh_warm_up)

    assert fresh_warm_up.finished and not fresh_warm_up.failed
    # The model client the first answer will use on that loop is built already.
    assert list(openai_compat._clients[server_loop]) == [(llm.url, "sk-test")]
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["warm_up"]["ok"] is True


def test_the_loop_seen_first_gets_its_part_after_the_thread(transactional_db, fresh_warm_up, server_loop):
    fresh_warm_up.started = True
    warmup.warm_up_loop_seen(server_loop)  # uvicorn's lifespan call comes before the thread is done
    assert not fresh_warm_up.finished
    _run_in_a_thread()
    _wait_finished(fresh_warm_up)
    assert fresh_warm_up.finished and not fresh_warm_up.failed


def test_a_failed_warm_up_is_named_but_does_not_hold_readiness_back(
    transactional_db, client, fresh_warm_up, monkeypatch, server_loop
):
    def broken() -> None:
        raise RuntimeError("no index")

    monkeypatch.setattr(warmup, "_warm_up_steps", broken)
    fresh_warm_up.started = True
    warmup.warm_up_loop_seen(server_loop)
    _run_in_a_thread()
    _wait_finished(fresh_warm_up)

    check = client.get("/readyz").json()["checks"]["warm_up"]
    assert check["ok"] is True
    assert check["failed"] == "RuntimeError"


def test_warm_up_starts_once_per_process(fresh_warm_up, monkeypatch):
    runs: list[str] = []
    monkeypatch.setattr(warmup, "warm_up_run", lambda: runs.append(threading.current_thread().name))
    warmup.warm_up_start()
    warmup.warm_up_start()
    for thread in threading.enumerate():
        if thread.name == "warm-up":
            thread.join(timeout=10)
    assert runs == ["warm-up"]


async def test_the_middleware_hands_over_the_servers_loop_once_and_passes_every_call_on(fresh_warm_up):
    calls: list[str] = []

    async def app(scope, receive, send) -> None:
        calls.append(scope["type"])

    middleware = WarmUpMiddleware(app)
    await middleware({"type": "lifespan"}, None, None)
    await middleware({"type": "http"}, None, None)
    assert calls == ["lifespan", "http"]
    assert fresh_warm_up.loop is asyncio.get_running_loop()


def test_a_process_without_warm_up_is_ready_without_waiting(db, client, fresh_warm_up):
    response = client.get("/readyz")
    assert response.json()["checks"]["warm_up"] == {"ok": True, "ms": pytest.approx(0, abs=50), "started": False}
