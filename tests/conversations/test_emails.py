"""Email to customers through Django's locmem backend: a ticket's reply and a transcript, each sent once."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from conversations import integration_tasks, tickets
from conversations.models import Conversation, Message, OutboundEmail, Ticket
from conversations.services import answer_record, conversation_open, message_record
from tests.conftest import frames_until
from tests.conversations.test_console import console_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(db):
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    return conversation


@pytest.fixture
def ticket(conversation) -> Ticket:
    return tickets.ticket_create(conversation_id=conversation.pk, email="pat@example.com", text="My base beeps E04")


def run_twice(email: OutboundEmail) -> list[str | None]:
    """The same task message delivered again (a worker's redelivery), then once more."""
    return [integration_tasks.email_send.delay(email_id=email.pk).get() for _ in range(2)]


# --- the ticket's reply -----------------------------------------------------------------------


def test_a_ticket_answered_in_the_console_is_emailed_once(
    ticket, agent, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SUPPORTBOT_SHOP_NAME = "Lullmoor Sleep Co."
    settings.DEFAULT_FROM_EMAIL = "Lullmoor Support <support@lullmoor.example>"
    with django_capture_on_commit_callbacks(execute=True):
        assert tickets.ticket_resolve(ticket_id=ticket.pk, agent_id=agent.pk, reply="Unplug it for ten seconds.")
    [sent] = mailoutbox
    assert sent.to == ["pat@example.com"] and sent.from_email == "Lullmoor Support <support@lullmoor.example>"
    assert sent.subject == "Re: your message to Lullmoor Sleep Co."
    assert sent.body.startswith("Unplug it for ten seconds.\n") and "> My base beeps E04" in sent.body
    email = OutboundEmail.objects.get()
    assert (
        sent.extra_headers["Message-ID"]
        == f"<supportbot-email-{email.pk}-{email.created_at:%Y%m%d%H%M%S}@lullmoor.example>"
    )
    assert (email.status, email.attempts) == ("sent", 1)

    assert run_twice(email) == [None, None]
    assert len(mailoutbox) == 1
    ticket.refresh_from_db()
    assert (ticket.status, ticket.reply) == ("done", "Unplug it for ten seconds.")
    told = Message.objects.filter(conversation=ticket.conversation, data__event="ticket_answered").get()
    assert told.text == "Our team replied to pat@example.com by email."


def test_marking_a_ticket_done_twice_sends_one_email_and_no_reply_sends_none(
    conversation, ticket, agent, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert tickets.ticket_resolve(ticket_id=ticket.pk, agent_id=agent.pk, reply="On its way.")
        assert not tickets.ticket_resolve(ticket_id=ticket.pk, agent_id=agent.pk, reply="On its way.")
    assert len(mailoutbox) == 1
    second = tickets.ticket_create(conversation_id=conversation.pk, email="pat@example.com", text="Thanks!")
    with django_capture_on_commit_callbacks(execute=True):
        assert tickets.ticket_resolve(ticket_id=second.pk, agent_id=agent.pk)
    assert len(mailoutbox) == 1 and OutboundEmail.objects.count() == 1


class FlakyBackend(EmailBackend):
    """The locmem backend behind an SMTP server that drops the first connection."""

    failures = 1

    def send_messages(self, messages):
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


class RefusingBackend(EmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"pat@example.com": (550, b"No such user")})


def test_a_dropped_smtp_connection_is_retried_later_and_sent_once(
    ticket, agent, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.conversations.test_emails.FlakyBackend"
    FlakyBackend.failures = 1
    with django_capture_on_commit_callbacks(execute=True):
        tickets.ticket_resolve(ticket_id=ticket.pk, agent_id=agent.pk, reply="Unplug it.")
    email = OutboundEmail.objects.get()
    assert (email.status, email.attempts, len(mailoutbox)) == ("pending", 1, 0)
    assert "SMTPServerDisconnected" in email.last_error
    assert timedelta(seconds=55) < email.next_attempt_at - timezone.now() < timedelta(seconds=65)
    assert integration_tasks.integrations_due.delay().get() == 0  # not due yet

    OutboundEmail.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert integration_tasks.integrations_due.delay().get() == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, len(mailoutbox)) == ("sent", 2, 1)
    assert run_twice(email) == [None, None] and len(mailoutbox) == 1


def test_an_address_the_server_refuses_is_not_tried_again(ticket, agent, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.conversations.test_emails.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        tickets.ticket_resolve(ticket_id=ticket.pk, agent_id=agent.pk, reply="Unplug it.")
    email = OutboundEmail.objects.get()
    assert (email.status, email.attempts) == ("failed", 1) and "SMTPRecipientsRefused" in email.last_error
    OutboundEmail.objects.update(next_attempt_at=timezone.now() - timedelta(hours=1))
    assert integration_tasks.integrations_due.delay().get() == 0


# --- the transcript, asked for in the widget ----------------------------------------------------


def chat(conversation) -> None:
    """A question, the bot's answer (with staff-only details), and an agent's reply."""
    question, _ = message_record(conversation_id=conversation.pk, role="customer", text="How long is the trial?")
    answer_record(
        conversation_id=conversation.pk,
        reply_to_seq=question.seq,
        text="Our trial lasts 100 nights.",
        tier="thinking",
        model="gpt-5.5-thinking",
        route_reason="SECRET-ROUTING-REASON",
        calls=[],
    )


async def transcript_request(widget, **frame) -> dict:
    await widget.send_json_to({"type": "transcript_email", **frame})
    return (await frames_until(widget, lambda f: f["type"] in {"transcript_email_queued", "error"}))[-1]


@pytest.mark.django_db(transaction=True)
async def test_a_transcript_asked_for_in_the_widget_is_emailed_once(widget, customer_session, mailoutbox, settings):
    settings.SUPPORTBOT_SHOP_NAME = "Lullmoor Sleep Co."
    public_id, _ = customer_session
    conversation = await database_sync_to_async(Conversation.objects.get)(public_id=public_id)
    await database_sync_to_async(chat)(conversation)

    ack = await transcript_request(widget, email="pat@example.com", request_id="r1")
    assert ack == {"type": "transcript_email_queued", "request_id": "r1", "email": "pat@example.com"}
    [sent] = mailoutbox
    assert sent.to == ["pat@example.com"] and sent.subject == "Your conversation with Lullmoor Sleep Co."
    assert "] You: How long is the trial?" in sent.body and "] Assistant: Our trial lasts 100 nights." in sent.body
    for staff_only in ("SECRET-ROUTING-REASON", "thinking", "gpt-5.5", "cost"):
        assert staff_only not in sent.body

    email = await database_sync_to_async(OutboundEmail.objects.get)()
    assert await database_sync_to_async(run_twice)(email) == [None, None]
    # The same request again (a reconnect, a double click): acknowledged, not sent again.
    again = await transcript_request(widget, email="pat@example.com", request_id="r1")
    assert again["type"] == "transcript_email_queued" and len(mailoutbox) == 1
    assert await database_sync_to_async(OutboundEmail.objects.count)() == 1
    # A new request is a new email.
    await transcript_request(widget, email="pat@example.com", request_id="r2")
    assert len(mailoutbox) == 2


@pytest.mark.django_db(transaction=True)
async def test_transcript_requests_are_checked_and_rate_limited(widget, mailoutbox, settings):
    settings.SUPPORTBOT_TRANSCRIPT_EMAILS_PER_HOUR = 2
    refused = await transcript_request(widget, email="not-an-email", request_id="r0")
    assert (refused["code"], refused["request_id"]) == ("bad_email", "r0")
    refused = await transcript_request(widget, email="pat@example.com", request_id="")
    assert refused["code"] == "bad_request_id"
    for request_id in ("r1", "r2"):
        assert (await transcript_request(widget, email="pat@example.com", request_id=request_id))["type"] != "error"
    limited = await transcript_request(widget, email="pat@example.com", request_id="r3")
    assert (limited["code"], limited["request_id"]) == ("rate_limited", "r3")
    assert 1 <= limited["retry_after"] <= 3600 and f"{limited['retry_after']} s" in limited["message"]
    # A repeat of an accepted request is not a new one: still acknowledged.
    assert (await transcript_request(widget, email="pat@example.com", request_id="r2"))["type"] != "error"
    assert len(mailoutbox) == 2


def test_one_address_gets_a_bounded_number_of_transcripts_across_conversations(settings, mailoutbox):
    from conversations.integrations import transcript_email_request
    from conversations.ratelimit import RateLimited

    settings.SUPPORTBOT_TRANSCRIPT_EMAILS_PER_ADDRESS_PER_DAY = 2
    for n in range(2):
        conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
        transcript_email_request(conversation_id=conversation.pk, to="victim@example.com", request_id=f"r{n}")
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    with pytest.raises(RateLimited):
        transcript_email_request(conversation_id=conversation.pk, to="Victim@Example.com", request_id="r9")
    transcript_email_request(conversation_id=conversation.pk, to="someone-else@example.com", request_id="r9")
    assert sorted(OutboundEmail.objects.values_list("to", flat=True)) == [
        "someone-else@example.com",
        "victim@example.com",
        "victim@example.com",
    ]


# --- the console ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_agent_writes_the_reply_on_the_ticket_card(agent, conversation, mailoutbox):
    ticket = await database_sync_to_async(tickets.ticket_create)(
        conversation_id=conversation.pk, email="pat@example.com", text="Base stuck at E04"
    )
    console, _, snapshot = await console_for(agent)
    assert [t["ticket"] for t in snapshot["tickets"]] == [ticket.pk]
    await console.send_json_to({"type": "ticket_done", "ticket": ticket.pk, "reply": ["not", "text"]})
    assert (await console.receive_json_from())["code"] == "bad_reply"
    await console.send_json_to({"type": "ticket_done", "ticket": ticket.pk, "reply": "Unplug it for ten seconds."})
    emptied = await frames_until(console, lambda f: f["type"] == "queue")
    assert emptied[-1]["tickets"] == []
    assert len(mail.outbox) == 1 and mail.outbox[0].body.startswith("Unplug it for ten seconds.")
    await console.send_json_to({"type": "ticket_done", "ticket": ticket.pk, "reply": "Again?"})
    assert (await frames_until(console, lambda f: f["type"] == "error"))[-1]["code"] == "ticket_not_open"
    assert len(mail.outbox) == 1
    await console.disconnect()
