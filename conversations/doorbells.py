"""Doorbells: tell open sockets that something changed, always after the change has committed.

The database is the record; a doorbell only says "look". A lost doorbell loses nothing: a
widget or console that sees a gap in ``seq`` reads the database, and consoles re-read the
queue on the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from conversations.models import Conversation
from conversations.protocol import (
    CONSOLE_QUEUE_GROUP,
    Event,
    console_agent_group,
    console_conversation_group,
    conversation_group,
)

logger = logging.getLogger(__name__)


def after_commit(action: Callable[[], None]) -> None:
    """Run ``action`` once the current transaction commits; its failure is logged, never raised."""

    def run() -> None:
        try:
            action()
        except Exception:  # the rows are committed; clients resync by seq or on the next doorbell
            logger.warning("after-commit action failed", exc_info=True)

    transaction.on_commit(run)


def group_send(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, event)


def conversation_broadcast(*, conversation: Conversation, frame: dict[str, Any]) -> None:
    """After commit: the conversation's sockets get the stored message's frame.

    The frame rides along so an up-to-date client needs no database read; a client that
    sees a gap in ``seq`` reads the database instead.
    """
    # "conversation" lets a console watching several conversations tell them apart.
    event = {"type": Event.CONVERSATION, "frame": frame, "conversation": conversation.public_id}
    group = conversation_group(conversation.public_id)
    after_commit(lambda: group_send(group, event))


def consoles_ring(*, assigned_to: int | None = None, conversation_public_id: str = "") -> None:
    """After commit: every console re-reads the queue; an assigned agent's console is told at once."""

    def ring() -> None:
        group_send(CONSOLE_QUEUE_GROUP, {"type": Event.QUEUE_CHANGED})
        if assigned_to is not None:
            group_send(
                console_agent_group(assigned_to), {"type": Event.ASSIGNED, "conversation": conversation_public_id}
            )
        queue_positions_broadcast()

    after_commit(ring)


def consoles_queue_ring() -> None:
    """After commit: every console re-reads the queue, e.g. for a card's newest customer message.

    Unlike ``consoles_ring`` nobody moved in line, so waiting customers are not told their places again.
    """
    after_commit(lambda: group_send(CONSOLE_QUEUE_GROUP, {"type": Event.QUEUE_CHANGED}))


def queue_positions_broadcast() -> None:
    """Tell each waiting customer their place in the queue (not stored: it changes all the time)."""
    waiting = (
        Conversation.objects.filter(status=Conversation.Status.WAITING)
        .order_by("waiting_since", "pk")
        .values_list("public_id", flat=True)
    )
    for position, public_id in enumerate(waiting, start=1):
        group_send(conversation_group(public_id), {"type": Event.QUEUE_POSITION, "position": position})


def console_logout_ring(*, agent_id: int) -> None:
    """Close the agent's open console sockets, on every process."""
    group_send(console_agent_group(agent_id), {"type": Event.LOGOUT})


def console_note_broadcast(*, public_id: str, frame: dict[str, Any]) -> None:
    """After commit: an internal note reaches the consoles that opened the conversation.

    It rides on the staff-only group, which no widget ever joins, never on the conversation's.
    """
    event = {"type": Event.NOTE, "conversation": public_id, "frame": frame}
    group = console_conversation_group(public_id)
    after_commit(lambda: group_send(group, event))


def console_summary_ring(*, public_id: str) -> None:
    """After commit: the consoles that opened the conversation re-read its handoff summary.

    The queue's doorbell brings it to the cards of the waiting chats and each agent's own; a console
    following a chat in none of its lists (a colleague's) hears of it only here.
    """
    event = {"type": Event.SUMMARY, "conversation": public_id}
    group = console_conversation_group(public_id)
    after_commit(lambda: group_send(group, event))


def console_labels_ring(*, public_id: str) -> None:
    """After commit: consoles re-read a conversation's tags and contact reasons (and the queue's cards)."""
    event = {"type": Event.STAFF_CHANGED, "conversation": public_id}
    group = console_conversation_group(public_id)

    def ring() -> None:
        group_send(group, event)
        group_send(CONSOLE_QUEUE_GROUP, {"type": Event.QUEUE_CHANGED})

    after_commit(ring)
