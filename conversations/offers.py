"""Chats offered to agents: opened in time, or offered to the next online agent.

Automatic assignment reserves a waiting chat for one agent (``conversations.assignment``). If that
agent does not open it within ``ConsoleSettings.reoffer_after_s`` (2 minutes unless an admin
changes it), :func:`offers_lapsed_move_on` offers it to the next online agent with room, with an
event in the transcript, instead of leaving the customer waiting for someone who is not looking.
It runs from beat, claims each offer with a conditional update and re-reads the conversation
under its row lock, so running it twice (or alongside a claim) moves each chat at most once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from conversations import services
from conversations.assignment import agent_next_available, agents_declined, offer_make
from conversations.doorbells import consoles_ring
from conversations.models import ChatOffer, ConsoleSettings, Conversation
from conversations.selectors import agent_name

logger = logging.getLogger(__name__)

CONSOLE_SETTINGS_PK = 1
REOFFERED_TEXT = gettext_noop("We're passing your chat to the next person available on our team.")
Offer = ChatOffer.Status


def console_settings_get() -> ConsoleSettings:
    """The single settings row, created with the defaults on first use."""
    row, _ = ConsoleSettings.objects.get_or_create(pk=CONSOLE_SETTINGS_PK)
    return row


def offer_opened(*, conversation_id: int, agent_id: int) -> bool:
    """The agent opened a chat offered to them: it is theirs to claim, and no longer re-offered."""
    opened = ChatOffer.objects.filter(conversation_id=conversation_id, agent_id=agent_id, status=Offer.PENDING).update(
        status=Offer.OPENED
    )
    return opened == 1


def offers_settle(*, conversation_id: int, agent_id: int) -> None:
    """The chat left the queue to ``agent_id`` (a claim): their offer counts as opened, anyone else's is moot."""
    pending = ChatOffer.objects.filter(conversation_id=conversation_id, status=Offer.PENDING)
    pending.filter(agent_id=agent_id).update(status=Offer.OPENED)
    pending.exclude(agent_id=agent_id).update(status=Offer.WITHDRAWN)


def offers_withdraw(*, agent_id: int) -> int:
    """The agent went offline: each waiting chat still reserved for them is offered to the next online
    agent with room, or, with nobody, goes back to the queue reserved for no one, where the next agent to
    come online is offered it. No console names, and no customer waits for, someone who is not there.
    How many went back to the queue."""
    later = timezone.now() + timedelta(seconds=1)
    for offer_id in ChatOffer.objects.filter(agent_id=agent_id, status=Offer.PENDING).values_list("pk", flat=True):
        offer_move_on(offer_id=offer_id, cutoff=later)
    with transaction.atomic():
        # Opened offers too: opening a chat reserves it only for an agent who is still there to claim it.
        released = Conversation.objects.filter(status=Conversation.Status.WAITING, assigned_agent_id=agent_id).update(
            assigned_agent=None
        )
        ChatOffer.objects.filter(
            agent_id=agent_id, status=Offer.PENDING, conversation__status=Conversation.Status.WAITING
        ).update(status=Offer.WITHDRAWN)
        if released:
            consoles_ring()
    return released


def offers_lapsed_move_on() -> int:
    """Beat: offer each chat whose agent has not opened it in time to the next online agent; how many moved."""
    cutoff = timezone.now() - timedelta(seconds=console_settings_get().reoffer_after_s)
    lapsed = ChatOffer.objects.filter(
        status=Offer.PENDING, offered_at__lt=cutoff, conversation__status=Conversation.Status.WAITING
    )
    moved = 0
    for offer_id in lapsed.order_by("offered_at", "pk").values_list("pk", flat=True)[:200]:
        moved += offer_move_on(offer_id=offer_id, cutoff=cutoff)
    return moved


def offer_move_on(*, offer_id: int, cutoff: datetime) -> bool:
    """Move one lapsed offer to the next agent; False when the world moved first or nobody else has room."""
    with transaction.atomic():
        offer = ChatOffer.objects.filter(pk=offer_id, status=Offer.PENDING, offered_at__lt=cutoff).first()
        if offer is None:
            return False
        conversation = Conversation.objects.select_for_update().get(pk=offer.conversation_id)
        if conversation.status != Conversation.Status.WAITING or conversation.assigned_agent_id != offer.agent_id:
            ChatOffer.objects.filter(pk=offer.pk, status=Offer.PENDING).update(status=Offer.WITHDRAWN)
            return False
        already_offered = set(
            ChatOffer.objects.filter(conversation_id=conversation.pk, status=Offer.LAPSED).values_list(
                "agent_id", flat=True
            )
        )
        exclude = {offer.agent_id} | agents_declined(conversation_id=conversation.pk)
        # Everyone who let it lapse before comes last: round the online agents, not back and forth.
        next_agent_id = agent_next_available(exclude=exclude, last=already_offered)
        if next_agent_id is None:
            return False  # nobody else has room: it stays offered, and is looked at again next run
        if ChatOffer.objects.filter(pk=offer.pk, status=Offer.PENDING).update(status=Offer.LAPSED) != 1:
            return False
        Conversation.objects.filter(pk=conversation.pk).update(assigned_agent_id=next_agent_id)
        offer_make(conversation_id=conversation.pk, agent_id=next_agent_id)
        users = get_user_model().objects.in_bulk([offer.agent_id, next_agent_id])
        waited_s = int((timezone.now() - offer.offered_at).total_seconds())
        services.event_record(
            conversation_id=conversation.pk,
            text=services.customer_text(conversation_id=conversation.pk, text=REOFFERED_TEXT),
            event="reoffered",
            status=Conversation.Status.WAITING,
            agent=agent_name(users[next_agent_id]),
            previous_agent=agent_name(users[offer.agent_id]),
            unopened_s=waited_s,
        )
        consoles_ring(assigned_to=next_agent_id, conversation_public_id=conversation.public_id)
    logger.info(
        "chat %s offered to agent %s: agent %s had not opened it", conversation.public_id, next_agent_id, offer.agent_id
    )
    return True
