"""Where conversations meet the shop's systems: events become webhooks, requests become emails.

The services of this app tell their events (conversations/events.py) and ask for emails here;
this module records what to send in their transaction and enqueues the sending after the commit.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver

from conversations import emails, integration_tasks, ratelimit, tasks, webhooks
from conversations.events import ConversationEvent, conversation_changed
from conversations.models import OutboundEmail, Ticket

logger = logging.getLogger(__name__)

TRANSCRIPT_WINDOW_S = 3600
TRANSCRIPT_ADDRESS_WINDOW_S = 24 * 3600


@receiver(conversation_changed, dispatch_uid="webhooks_on_conversation_event")
def webhooks_on_conversation_event(
    sender: Any, *, event: ConversationEvent, conversation_id: int, data: dict[str, Any], **kwargs: Any
) -> None:
    """Record the event's deliveries with the change that caused it; send them once it commits."""
    # A savepoint: should recording fail, the caller's transaction (a customer's handoff) carries on.
    with transaction.atomic():
        delivery_ids = webhooks.webhook_deliveries_record(event=event, conversation_id=conversation_id, data=data)
    for delivery_id in delivery_ids:
        tasks.task_enqueue_after_commit(integration_tasks.webhook_deliver, delivery_id=delivery_id)


def webhooks_redeliver(*, delivery_ids: list[int]) -> int:
    """Send deliveries again (the admin's action), each as a fresh first attempt; how many."""
    with transaction.atomic():
        again = webhooks.webhook_deliveries_again(delivery_ids=delivery_ids)
        for delivery_id in again:
            tasks.task_enqueue_after_commit(integration_tasks.webhook_deliver, delivery_id=delivery_id)
    return len(again)


def ticket_reply_email_send(*, ticket: Ticket, reply: str) -> OutboundEmail:
    """Email an agent's reply to a ticket's customer, once per ticket; call in the resolving transaction."""
    email = emails.ticket_reply_email_record(ticket=ticket, reply=reply)
    tasks.task_enqueue_after_commit(integration_tasks.email_send, email_id=email.pk)
    return email


def transcript_email_request(*, conversation_id: int, to: str, request_id: str) -> OutboundEmail:
    """Email the conversation's transcript to ``to``, once per ``request_id``; raises RateLimited.

    A request sent again (a reconnect, a double click) returns the first one's email and counts
    nothing; new requests count against the conversation's and the address's limits.
    """
    existing = emails.transcript_email_find(conversation_id=conversation_id, request_id=request_id)
    if existing is not None:
        return existing
    _transcript_limits_hit(conversation_id=conversation_id, to=to)
    email, created = emails.transcript_email_record(conversation_id=conversation_id, to=to, request_id=request_id)
    if created:
        tasks.task_enqueue_after_commit(integration_tasks.email_send, email_id=email.pk)
    return email


def _transcript_limits_hit(*, conversation_id: int, to: str) -> None:
    ratelimit.rate_limit_hit(
        scope="transcript-emails",
        key=str(conversation_id),
        limit=settings.SUPPORTBOT_TRANSCRIPT_EMAILS_PER_HOUR,
        window_s=TRANSCRIPT_WINDOW_S,
    )
    # Keyed by a hash: the cache need not hold customers' addresses.
    address = hashlib.sha256(to.strip().lower().encode()).hexdigest()[:32]
    ratelimit.rate_limit_hit(
        scope="transcript-address",
        key=address,
        limit=settings.SUPPORTBOT_TRANSCRIPT_EMAILS_PER_ADDRESS_PER_DAY,
        window_s=TRANSCRIPT_ADDRESS_WINDOW_S,
    )
