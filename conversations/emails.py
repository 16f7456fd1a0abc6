"""Email to customers: a ticket's reply, and a conversation's transcript on request. Each is sent once.

An email is an ``OutboundEmail`` row, written (subject and body included) in the transaction of
the request, with a key that makes a repeated request the same row: the ticket for a reply, the
widget's request id for a transcript. A task sends it after the commit through Django's email
backend, claiming the row first (conversations/outbox.py), so a task that runs twice sends once;
a failure the server may get over (a dropped connection, a 4xx from SMTP) is tried again later.
The Message-ID is the row's own, so even the rare resend after a worker died mid-send reaches the
customer's mailbox as the same message.

A transcript is built from what the widget replays (``selectors.messages_after``), never from the
table directly: anything the customer's widget does not show (staff-only notes, costs, routing
reasons) cannot reach the email either.
"""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from conversations import outbox, selectors
from conversations.models import Conversation, OutboundEmail, Ticket

Kind = OutboundEmail.Kind
TRANSCRIPT_PAGE = 500
# 1, 2, 4 ... minutes, at most an hour apart: eight attempts span about two hours.
RETRY_POLICY = outbox.RetryPolicy(base_s=60, cap_s=3600, max_attempts=8)
SEND_LEASE = timedelta(minutes=5)


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def ticket_reply_email_record(*, ticket: Ticket, reply: str) -> OutboundEmail:
    """The email answering ``ticket`` (one per ticket, whoever asks how often); sent by a task."""
    shop = settings.SUPPORTBOT_SHOP_NAME
    body = (
        f"{reply}\n\n"
        f"-- \n{shop} support\n\n"
        f"On {_when(ticket.created_at)} ({settings.TIME_ZONE}) you wrote:\n{_quoted(ticket.message)}\n"
    )
    email, _ = OutboundEmail.objects.get_or_create(
        conversation_id=ticket.conversation_id,
        kind=Kind.TICKET_REPLY,
        key=f"ticket-{ticket.pk}",
        defaults={"to": ticket.email, "subject": f"Re: your message to {shop}", "body": body},
    )
    return email


def _speaker(frame: dict[str, Any]) -> str:
    if frame["role"] == "customer":
        return "You"
    if frame["role"] == "agent":
        return f"{frame.get('author') or 'Support agent'} (support team)"
    return "Assistant"


def transcript_line(frame: dict[str, Any]) -> str:
    """One message as a line of the email, from the frame the widget shows."""
    when = _when(datetime.fromisoformat(frame["created_at"]))
    if frame["kind"] == "event" or frame["role"] == "system":
        return f"[{when}] -- {frame['text']}"
    text = frame["text"].replace("\n", "\n    ")
    if frame.get("attachment"):
        text = f"{text} [photo]".strip()
    return f"[{when}] {_speaker(frame)}: {text}"


def transcript_text(*, conversation: Conversation) -> str:
    """The conversation as the customer saw it, as plain text."""
    lines: list[str] = []
    after_seq = 0
    while True:
        frames = selectors.messages_after(conversation_id=conversation.pk, after_seq=after_seq, limit=TRANSCRIPT_PAGE)
        lines.extend(transcript_line(frame) for frame in frames)
        if len(frames) < TRANSCRIPT_PAGE:
            break
        after_seq = frames[-1]["seq"]
    shop = settings.SUPPORTBOT_SHOP_NAME
    heading = (
        f"Your conversation with {shop}, as of {_when(timezone.now())} ({settings.TIME_ZONE}).\n"
        f"Conversation {conversation.public_id}\n"
    )
    return heading + "\n" + "\n".join(lines) + "\n"


def transcript_email_find(*, conversation_id: int, request_id: str) -> OutboundEmail | None:
    return OutboundEmail.objects.filter(conversation_id=conversation_id, kind=Kind.TRANSCRIPT, key=request_id).first()


def transcript_email_record(*, conversation_id: int, to: str, request_id: str) -> tuple[OutboundEmail, bool]:
    """The transcript email for the widget's ``request_id``: (email, created). A repeated request is the same row."""
    existing = OutboundEmail.objects.filter(conversation_id=conversation_id, kind=Kind.TRANSCRIPT, key=request_id)
    if (found := existing.first()) is not None:
        return found, False
    conversation = Conversation.objects.get(pk=conversation_id)
    subject = f"Your conversation with {settings.SUPPORTBOT_SHOP_NAME}"
    try:
        with transaction.atomic():
            email = OutboundEmail.objects.create(
                conversation=conversation,
                kind=Kind.TRANSCRIPT,
                key=request_id,
                to=to,
                subject=subject,
                body=transcript_text(conversation=conversation),
            )
    except IntegrityError:  # the same request on two sockets at once: the other stored it
        return existing.get(), False
    return email, True


def _message_id(email: OutboundEmail) -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<supportbot-email-{email.pk}-{email.created_at:%Y%m%d%H%M%S}@{domain}>"


def email_message(email: OutboundEmail) -> EmailMessage:
    auto = "auto-replied" if email.kind == Kind.TICKET_REPLY else "auto-generated"
    return EmailMessage(
        subject=email.subject,
        body=email.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={"Message-ID": _message_id(email), "Auto-Submitted": auto},
    )


def email_attempt(*, email_id: int, now: datetime | None = None) -> str | None:
    """Send one email if it is due and nobody else is sending it; its status after, or None."""
    now = now or timezone.now()
    rows = OutboundEmail.objects.all()
    claim = outbox.outbox_claim(rows, pk=email_id, now=now, lease=SEND_LEASE)
    if claim is None:
        return None  # sent, failed for good, not due yet, or being sent by another worker
    email = OutboundEmail.objects.get(pk=email_id)
    try:
        email_message(email).send(fail_silently=False)
    except (smtplib.SMTPRecipientsRefused, ValueError) as refused:
        # The address is refused, or a header is malformed: sending again would fail the same way.
        return outbox.outbox_failed(
            rows, pk=email_id, claim=claim, now=timezone.now(), error=repr(refused), retry=False, policy=RETRY_POLICY
        )
    except (smtplib.SMTPException, OSError) as error:
        return outbox.outbox_failed(
            rows, pk=email_id, claim=claim, now=timezone.now(), error=repr(error), retry=True, policy=RETRY_POLICY
        )
    outbox.outbox_sent(rows, pk=email_id, claim=claim, now=timezone.now())
    return OutboundEmail.Status.SENT


def emails_due(*, now: datetime, limit: int = 200) -> list[int]:
    due = outbox.outbox_due(OutboundEmail.objects.all(), now=now).order_by("next_attempt_at")
    return list(due.values_list("pk", flat=True)[:limit])
