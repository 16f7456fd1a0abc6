"""Tasks that talk to the outside world: emails to customers and webhooks to the shop.

Each takes a row's id and sends it at most once (the row is claimed first, conversations/outbox.py);
retries are the rows' own ``next_attempt_at``, picked up by :func:`integrations_due` every 15
seconds (beat), which also resends what a lost enqueue or a dead worker left behind. They run on
the ``integrations`` queue, so a slow receiver never holds up handoffs or summaries. Options are
``conversations.tasks``'s own: late acks, bounded deliveries, retries for database blips only.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from conversations import emails, tasks, webhooks

logger = logging.getLogger(__name__)

# Longer than the webhook timeout and an SMTP conversation, shorter than the send lease.
SEND_SOFT_TIME_LIMIT_S = 90
SEND_TIME_LIMIT_S = 120


@shared_task(
    name="conversations.email_send",
    soft_time_limit=SEND_SOFT_TIME_LIMIT_S,
    time_limit=SEND_TIME_LIMIT_S,
    **tasks.TASK_OPTIONS,
)
def email_send(*, email_id: int) -> str | None:
    """Send one email to a customer if it is still due; its status after, or None when not ours to send."""
    return emails.email_attempt(email_id=email_id)


@shared_task(
    name="conversations.webhook_deliver",
    soft_time_limit=SEND_SOFT_TIME_LIMIT_S,
    time_limit=SEND_TIME_LIMIT_S,
    **tasks.TASK_OPTIONS,
)
def webhook_deliver(*, delivery_id: int) -> str | None:
    """POST one webhook delivery if it is still due; its status after, or None when not ours to send."""
    return webhooks.webhook_attempt(delivery_id=delivery_id)


@shared_task(name="conversations.integrations_due", soft_time_limit=20, time_limit=30, **tasks.TASK_OPTIONS)
def integrations_due() -> int:
    """Enqueue every email and webhook delivery that is due; how many."""
    now = timezone.now()
    email_ids = emails.emails_due(now=now)
    delivery_ids = webhooks.webhook_deliveries_due(now=now)
    for email_id in email_ids:
        tasks.task_enqueue(email_send, email_id=email_id)
    for delivery_id in delivery_ids:
        tasks.task_enqueue(webhook_deliver, delivery_id=delivery_id)
    return len(email_ids) + len(delivery_ids)
