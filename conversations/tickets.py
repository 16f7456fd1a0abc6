"""Out-of-hours tickets: a customer's message kept for the morning, and its resolution by an agent."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from conversations import business_hours, integrations
from conversations.doorbells import consoles_ring
from conversations.models import Conversation, Ticket
from conversations.services import customer_text, event_record

# Written to the customer, in the language they write in (services.customer_text).
TICKET_TAKEN_OPEN_TEXT = gettext_noop("Thanks! We'll reply to {email} as soon as we can.")
TICKET_TAKEN_CLOSED_TEXT = gettext_noop("Thanks! We'll reply to {email} as soon as we open.")
TICKET_ANSWERED_TEXT = gettext_noop("Our team replied to {email} by email.")


def ticket_create(*, conversation_id: int, email: str, text: str) -> Ticket:
    """Keep a message for the team (out of hours, or nobody online); a second submit returns the open ticket."""
    taken = (
        TICKET_TAKEN_OPEN_TEXT if business_hours.business_hours_open(at=timezone.now()) else TICKET_TAKEN_CLOSED_TEXT
    )
    try:
        with transaction.atomic():
            ticket = Ticket.objects.create(conversation_id=conversation_id, email=email, message=text)
            event_record(
                conversation_id=conversation_id,
                text=customer_text(conversation_id=conversation_id, text=taken, email=email),
                event="ticket_created",
                status=Conversation.objects.values_list("status", flat=True).get(pk=conversation_id),
            )
            consoles_ring()
    except IntegrityError:
        return Ticket.objects.get(conversation_id=conversation_id, status=Ticket.Status.OPEN)
    return ticket


def ticket_resolve(*, ticket_id: int, agent_id: int, reply: str = "") -> bool:
    """Mark an open ticket answered; with a ``reply``, email it to the customer (once, after commit)."""
    with transaction.atomic():
        resolved = Ticket.objects.filter(pk=ticket_id, status=Ticket.Status.OPEN).update(
            status=Ticket.Status.DONE, resolved_by_id=agent_id, resolved_at=timezone.now(), reply=reply
        )
        if resolved and reply:
            ticket_reply_sent(ticket=Ticket.objects.get(pk=ticket_id), reply=reply)
    if resolved:
        consoles_ring()
    return bool(resolved)


def ticket_reply_sent(*, ticket: Ticket, reply: str) -> None:
    """The reply goes out by email; the customer's chat says so, in case they come back to it first."""
    integrations.ticket_reply_email_send(ticket=ticket, reply=reply)
    event_record(
        conversation_id=ticket.conversation_id,
        text=customer_text(conversation_id=ticket.conversation_id, text=TICKET_ANSWERED_TEXT, email=ticket.email),
        event="ticket_answered",
        status=Conversation.objects.values_list("status", flat=True).get(pk=ticket.conversation_id),
    )
