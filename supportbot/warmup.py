"""Warm-up of a web process: everything the first answer would otherwise load while a customer waits.

Without it the first answer after a restart waited about a second (up to 3.7 s on a busy machine)
for its first token, against 30-60 ms warm: importing the retrieval and embedding modules, loading
the sentence encoder, building the help-centre index, and importing the ``openai`` SDK on the first
model call, on the event loop, where it also stalled every other socket of the process
(docs/benchmarks.md, "Findings"). ``supportbot/asgi.py`` starts :func:`warm_up_start` in a thread
when the web server loads the application (uvicorn and daphne alike; ``SUPPORTBOT_WARM_UP=0``
turns it off, as the test suite does), and ``/readyz`` reports not ready until it has finished, so
a load balancer sends the first customer to a warm process.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

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


_state = WarmUpState()
_lock = threading.Lock()


def warm_up_run() -> None:
    """Load and build, in this thread, what the first answer needs; then mark the process warm.

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
        _state.finished = True
    logger.info("warm-up finished in %.0f ms", _state.ms)


def _warm_up_steps() -> None:
    from helpcentre.selectors import answer_compose, help_centre_index_status, passages_for_prompt
    from routing.services import answer_plan_make, gateway_get

    gateway_get()  # the provider: imports the openai SDK when a key is set
    help_centre_index_status()  # the index, and the encoder when search by meaning is on
    passages_for_prompt(question=WARM_UP_QUESTION, limit=3)  # one query embedding through the encoder
    answer_plan_make(question=WARM_UP_QUESTION, history=[], conversation_spent=Decimal("0"))
    answer_compose(question=WARM_UP_QUESTION)


def warm_up_start() -> None:
    """Warm this process up in a background thread (once); the server binds its port meanwhile."""
    with _lock:
        if _state.started:
            return
        _state.started = True
    threading.Thread(target=warm_up_run, name="warm-up", daemon=True).start()


def warm_up_status() -> WarmUpState:
    return _state
