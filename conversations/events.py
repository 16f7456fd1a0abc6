"""What happened to a conversation, told to whoever listens (the webhooks, conversations/integrations.py).

The services that change a conversation (open, handoff, claim, close, rating) call
:func:`conversation_event_send` inside their own transaction, after the change. Receivers record
what they need in that same transaction, so an event exists exactly when its change committed,
and act on it (send a webhook) only after the commit. A receiver that fails is logged and never
undoes the change: a customer's chat must not break because the shop's CRM is down.

This module sits at the bottom of the app (it imports no other module of it), so any service
can tell its events without an import cycle.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger(__name__)


class ConversationEvent(StrEnum):
    """Event types, as webhooks name them (docs/integrations.md)."""

    CREATED = "conversation.created"
    HANDED_OFF = "conversation.handed_off"
    ASSIGNED = "conversation.assigned"
    CLOSED = "conversation.closed"
    RATED = "conversation.rated"


# Receivers take ``event`` (a ConversationEvent), ``conversation_id`` and ``data`` (a JSON-able dict).
conversation_changed = Signal()


def conversation_event_send(*, event: ConversationEvent, conversation_id: int, **data: Any) -> None:
    """Tell the receivers, in the caller's transaction; ``data`` is the event's details (JSON-able)."""
    results = conversation_changed.send_robust(
        sender=ConversationEvent, event=event, conversation_id=conversation_id, data=data
    )
    for receiver, outcome in results:
        if isinstance(outcome, Exception):
            logger.error(
                "%s receiver %s failed for conversation %s",
                event,
                getattr(receiver, "__qualname__", receiver),
                conversation_id,
                exc_info=outcome,
            )
