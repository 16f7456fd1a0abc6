from __future__ import annotations

import threading

import pytest

from routing import runtime
from supportbot import warmup
from supportbot.warmup import WarmUpState


@pytest.fixture
def fresh_warm_up(monkeypatch, settings) -> WarmUpState:
    settings.KNOWLEDGE_EMBEDDINGS = False  # the index without loading the encoder here
    state = WarmUpState()
    monkeypatch.setattr(warmup, "_state", state)
    return state


def _run_in_a_thread() -> None:
    # As in a web process: its own thread, so its own database connection.
    thread = threading.Thread(target=warmup.warm_up_run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()


def test_readyz_is_unavailable_until_the_warm_up_has_finished(transactional_db, client, fresh_warm_up):
    fresh_warm_up.started = True  # as warm_up_start() marks it before its thread runs
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["warm_up"] == {"ok": False, "ms": pytest.approx(0, abs=50), "error": "warming up"}

    runtime.runtime_reset()
    _run_in_a_thread()

    assert fresh_warm_up.finished and not fresh_warm_up.failed
    assert runtime._runtime is not None  # the provider and gateway are built before any answer
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["warm_up"]["ok"] is True


def test_a_failed_warm_up_is_named_but_does_not_hold_readiness_back(transactional_db, client, fresh_warm_up, monkeypatch):
    def broken() -> None:
        raise RuntimeError("no index")

    monkeypatch.setattr(warmup, "_warm_up_steps", broken)
    fresh_warm_up.started = True
    _run_in_a_thread()

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


def test_a_process_without_warm_up_is_ready_without_waiting(db, client, fresh_warm_up):
    response = client.get("/readyz")
    assert response.json()["checks"]["warm_up"] == {"ok": True, "ms": pytest.approx(0, abs=50), "started": False}
