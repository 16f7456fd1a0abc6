"""The Celery application. Queue names live in one enum so producers and workers agree."""

from __future__ import annotations

import os
from enum import StrEnum

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportbot.settings")


class Queue(StrEnum):
    DEFAULT = "celery"
    HANDOFF = "handoff"
    SUMMARY = "summary"


app = Celery("supportbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
