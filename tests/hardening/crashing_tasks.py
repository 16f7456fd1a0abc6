"""A task that kills the worker process running it, every time: the poison message of item 17."""

from __future__ import annotations

import os
import signal

from conversations.tasks import TASK_OPTIONS
from supportbot.celery import app


@app.task(name="hardening.always_crashes", **TASK_OPTIONS)
def always_crashes(*, label: str) -> None:
    os.kill(os.getpid(), signal.SIGKILL)
