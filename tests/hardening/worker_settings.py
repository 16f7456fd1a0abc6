"""The product's worker settings on the test database, plus the task that always crashes."""

from __future__ import annotations

from tests.conversations.worker_settings import *  # noqa: F403

CELERY_IMPORTS = ["tests.hardening.crashing_tasks"]
