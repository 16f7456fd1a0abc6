"""Warm-up of a web process: everything the first answer would otherwise load while a customer waits.

Without it the first answer after a restart waited about a second (up to 3.7 s on a busy machine)
for its first token, against 30-60 ms warm: importing the retrieval and embedding modules, loading
the sentence encoder, building the help-centre index, and importing the ``openai`` SDK on the first
model call, on the event loop, where it also stalled every other socket of the process
(docs/benchmarks.md, "Findings"). ``supportbot/asgi.py`` starts :func:`warm_up_start` in a thread
when the web server loads the application (uvicorn and daphne alike; ``SUPPORTBOT_WARM_UP=0``
turns it off, as the test suite does), and ``/readyz`` reports not ready until it has finished, so
a load balancer sends the first customer to a warm process.

The model client is bound to the event loop that streams the answers, which a thread cannot
reach at import (daphne starts its loop later). :class:`WarmUpMiddleware` hears the server's first
ASGI call (uvicorn's lifespan, or the first probe) and builds the client there once the thread's
part is done; ``/readyz`` waits for that too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

logger = logging.getLogger(__name__)

# Asked of the planner and the offline engine once, so every lazy step of an answer runs: routing
# (classifier, token estimate, budgets), retrieval (index, encoder, one embedding), the composer.
WARM_UP_QUESTION = "How long does delivery take?"


@dataclass
class WarmUpState:
    started: bool = False
    finished: bool = False
    failed: str = ""
    ms: float = 0.0
    # The thread's part is done; the loop's part (the model client) runs once the loop is known.
    thread_done: bool = False
    loop: asyncio.AbstractEventLoop | None = None


_state = WarmUpState()
_lock = threading.Lock()
_tasks: set[asyncio.Task[None]] = set()


def warm_up_run() -> None:
    """Load and build, in this thread, what the first answer needs; then the loop's part.

    A failure is logged and reported (``/readyz`` names it) but does not stop the process: the
    first answer then loads what is missing itself, as it did before.
    """
    from django.db import connection

    started = time.perf_counter()
    try:
        _warm_up_steps()
    except Exception as error:  # whatever a step raises, the process can still answer
        logger.exception("warm-up failed")
        _state.failed = type(error).__name__
    finally:
        connection.close()  # this thread's connection; the answers use their own threads'
        _state.ms = (time.perf_counter() - started) * 1000
    with _lock:
        _state.thread_done = True
        loop = _state.loop
    if loop is not None:
        loop.call_soon_threadsafe(_loop_part_start)


def warm_up_loop_seen(loop: asyncio.AbstractEventLoop) -> None:
    """The server's event loop, from its first ASGI call; the model client is built there."""
    with _lock:
        if _state.loop is not None:
            return
        _state.loop = loop
        thread_done = _state.thread_done
    if thread_done:
        loop.call_soon_threadsafe(_loop_part_start)


def _loop_part_start() -> None:
    # Runs on the loop (call_soon_threadsafe); keep a reference so the task is not collected.
    task = asyncio.get_running_loop().create_task(_loop_part())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _loop_part() -> None:
    from routing.services import gateway_warm_up_on_loop

    started = time.perf_counter()
    failed = ""
    try:
        await gateway_warm_up_on_loop()
    except Exception as error:  # the first answer builds the client itself
        logger.exception("warm-up on the event loop failed")
        failed = type(error).__name__
    _finish(failed=failed, started=started)


def _finish(*, failed: str, started: float) -> None:
    _state.failed = _state.failed or failed
    _state.ms += (time.perf_counter() - started) * 1000
    _state.finished = True
    logger.info("warm-up finished in %.0f ms", _state.ms)


def _warm_up_steps() -> None:
    from conversations.selectors import language_detector_warm
    from helpcentre.selectors import answer_compose, help_centre_index_status, passages_for_prompt
    from routing.services import answer_plan_make, gateway_warm_up

    gateway_warm_up()  # the provider: imports the openai SDK when a key is set
    help_centre_index_status()  # the index, and the encoder when search by meaning is on
    passages_for_prompt(question=WARM_UP_QUESTION, limit=3)  # one query embedding through the encoder
    answer_plan_make(question=WARM_UP_QUESTION, history=[], conversation_spent=Decimal("0"))
    answer_compose(question=WARM_UP_QUESTION)
    language_detector_warm()  # lingua's models, else the first customer message waits for them


def warm_up_start() -> None:
    """Warm this process up in a background thread (once); the server binds its port meanwhile."""
    with _lock:
        if _state.started:
            return
        _state.started = True
    threading.Thread(target=warm_up_run, name="warm-up", daemon=True).start()


def warm_up_status() -> WarmUpState:
    return _state


class WarmUpMiddleware:
    """Hands the server's event loop to the warm-up on its first ASGI call; otherwise a pass-through."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop_seen = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not self.loop_seen:
            self.loop_seen = True
            warm_up_loop_seen(asyncio.get_running_loop())
        await self.app(scope, receive, send)
