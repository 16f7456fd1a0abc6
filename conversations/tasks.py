"""Handoff tasks. Each takes ids, re-reads its rows, claims its work with a conditional update and
returns quietly when the world has moved on, so a redelivered message never writes twice.

Options are spelled out per task: ``acks_late`` with ``reject_on_worker_lost`` (a killed worker's
message is delivered again), a bounded number of deliveries, retries with backoff for transient
database errors only, and soft and hard time limits. Producers enqueue with
``transaction.on_commit`` through :func:`task_enqueue_after_commit`.

Tasks call the services below them (summaries, assignment, feedback, doorbells) and never the
modules that enqueue them (handoff, turns), so nothing here needs a task by its name.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django.utils.translation import gettext_noop

from conversations import assignment, contact_reasons, feedback, offers, services, summaries
from conversations.doorbells import after_commit, consoles_ring
from conversations.models import Conversation, Message, TaskFailure
from conversations.protocol import SERVER_ID_PREFIX
from conversations.queues import Queue

logger = logging.getLogger(__name__)


# A locked SQLite file or a dropped database connection pass; anything else is a bug to see, not retry.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
MAX_DELIVERIES = 3
DELIVERY_COUNT_TTL_S = 24 * 3600
# The server's own ids start with a prefix customers may not use, so no customer message can take them.
RATING_REQUEST_ID = SERVER_ID_PREFIX + "rating-request"
RATING_REQUEST_TEXT = gettext_noop("How did we do? Please rate this conversation.")


class BoundedTask(Task):
    """Refuses a message delivered more than ``MAX_DELIVERIES`` times (it keeps killing its worker)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = f"task-deliveries:{self.request.id}:{self.request.retries}"
        cache.add(key, 0, timeout=DELIVERY_COUNT_TTL_S)
        deliveries = cache.incr(key)
        if deliveries > MAX_DELIVERIES:
            logger.error(
                "task %s %s delivered more than %d times; giving up", self.name, self.request.id, MAX_DELIVERIES
            )
            task_failure_record(task=self, deliveries=deliveries - 1, kwargs=kwargs)
            return None
        return super().__call__(*args, **kwargs)


def task_failure_record(*, task: Task, deliveries: int, kwargs: dict[str, Any]) -> None:
    """Keep the given-up message where the admin shows it (once, however often it comes back)."""
    TaskFailure.objects.get_or_create(
        task_id=str(task.request.id),
        defaults={
            "task_name": task.name,
            "deliveries": deliveries,
            "arguments": {k: repr(v)[:200] for k, v in kwargs.items()},
        },
    )


TASK_OPTIONS: dict[str, Any] = dict(
    base=BoundedTask,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)


# The hard limit stays under the claim's lease (SUPPORTBOT_SUMMARY_LEASE_S, 45 s by default), so a
# lapsed claim means a dead worker, never a live one that is merely slow.
@shared_task(name="conversations.summary_make", soft_time_limit=30, time_limit=40, bind=True, **TASK_OPTIONS)
def summary_make(self: Task, *, summary_id: int) -> bool:
    """Write one handoff or context summary, then ring the consoles."""
    written = summaries.summary_run(summary_id=summary_id, delivery=self.request.id or "")
    if written:
        consoles_ring()
    return written


@shared_task(name="conversations.summaries_recover", soft_time_limit=20, time_limit=30, **TASK_OPTIONS)
def summaries_recover() -> int:
    """Beat: send the summary task again for summaries that were lost or whose worker died."""
    due = summaries.summaries_due_again()
    for summary_id in due:
        task_enqueue(summary_make, summary_id=summary_id)
    if due:
        logger.warning("sent %d summaries again (lost in the queue or their worker died): %s", len(due), due)
    return len(due)


@shared_task(name="conversations.conversation_assign", soft_time_limit=10, time_limit=20, **TASK_OPTIONS)
def conversation_assign(*, conversation_id: int) -> int | None:
    return assignment.conversation_assign(conversation_id=conversation_id)


@shared_task(name="conversations.queue_assign", soft_time_limit=20, time_limit=30, **TASK_OPTIONS)
def queue_assign() -> int:
    return assignment.queue_assign()


@shared_task(name="conversations.satisfaction_request", soft_time_limit=10, time_limit=20, **TASK_OPTIONS)
def satisfaction_request(*, conversation_id: int) -> bool:
    """Ask a closed conversation's customer for a rating, once: the fixed client_id is unique per conversation."""
    if not Conversation.objects.filter(pk=conversation_id, status=Conversation.Status.CLOSED).exists():
        return False
    _, created = services.message_record(
        conversation_id=conversation_id,
        role=Message.Role.SYSTEM,
        kind="event",
        text=services.customer_text(conversation_id=conversation_id, text=RATING_REQUEST_TEXT),
        client_id=RATING_REQUEST_ID,
        data={"event": "rating_requested", "status": Conversation.Status.CLOSED},
    )
    feedback.satisfaction_estimate_update(conversation_id=conversation_id)
    return created


@shared_task(name="conversations.satisfaction_estimates_refresh", soft_time_limit=120, time_limit=180, **TASK_OPTIONS)
def satisfaction_estimates_refresh(*, hours: int = 24) -> int:
    """Re-estimate recent conversations, so one that simply went quiet counts as abandoned."""
    return feedback.satisfaction_estimates_refresh(since=timezone.now() - timedelta(hours=hours))


@shared_task(name="conversations.offers_move_on", soft_time_limit=20, time_limit=30, **TASK_OPTIONS)
def offers_move_on() -> int:
    """Beat: chats assigned automatically and not opened in time go to the next online agent."""
    return offers.offers_lapsed_move_on()


# One batch is one model call; a run stops after a few so that beat's next run is never stacked up.
CONTACT_REASON_BATCHES_PER_RUN = 10


@shared_task(name="conversations.contact_reasons_tag", soft_time_limit=240, time_limit=300, bind=True, **TASK_OPTIONS)
def contact_reasons_tag(self: Task) -> int:
    """Beat: tag closed conversations with contact reasons, a batch per model call; how many were tagged."""
    _, tagged = contact_reasons.reasons_tag_all(
        delivery=self.request.id or "", max_batches=CONTACT_REASON_BATCHES_PER_RUN
    )
    return tagged


# Queues per task, given at enqueue time (Celery 6 drops the per-task ``queue`` attribute).
TASK_QUEUES: dict[str, Queue] = {
    summary_make.name: Queue.SUMMARY,
    summaries_recover.name: Queue.DEFAULT,
    conversation_assign.name: Queue.HANDOFF,
    queue_assign.name: Queue.HANDOFF,
    satisfaction_request.name: Queue.DEFAULT,
    satisfaction_estimates_refresh.name: Queue.DEFAULT,
    # conversations/integration_tasks.py (it imports this module, so by name)
    "conversations.email_send": Queue.INTEGRATIONS,
    "conversations.webhook_deliver": Queue.INTEGRATIONS,
    "conversations.integrations_due": Queue.INTEGRATIONS,
    offers_move_on.name: Queue.HANDOFF,
    "conversations.agents_absent_return": Queue.HANDOFF,  # conversations/presence_tasks.py (by name, as above)
    contact_reasons_tag.name: Queue.SUMMARY,
}


def task_enqueue(task: Task, **kwargs: Any) -> None:
    """Send ``task`` to its queue now (outside a transaction, or from an after-commit action)."""
    task.apply_async(kwargs=kwargs, queue=TASK_QUEUES[task.name])


def task_enqueue_after_commit(task: Task, **kwargs: Any) -> None:
    """Send ``task`` once the current transaction commits, so the worker sees the rows it names."""
    after_commit(lambda: task_enqueue(task, **kwargs))
