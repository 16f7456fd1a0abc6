from __future__ import annotations

import threading
import time
from datetime import UTC

import pytest
from django.db import connection, connections
from django.utils import timezone

from conversations import business_hours, handoff, selectors, tickets
from conversations.models import Conversation, Message, Summary, Ticket
from conversations.services import conversation_open, message_record

Status = Conversation.Status
ALL_STATES = [Status.BOT, Status.WAITING, Status.AGENT, Status.CLOSED]
LEGAL = {
    (Status.BOT, Status.WAITING),
    (Status.WAITING, Status.AGENT),
    (Status.AGENT, Status.BOT),
    (Status.AGENT, Status.CLOSED),
    # transfers: to another agent, or back to the queue (tests/conversations/test_transfer.py)
    (Status.AGENT, Status.AGENT),
    (Status.AGENT, Status.WAITING),
}


@pytest.fixture
def conversation(db) -> Conversation:
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    message_record(conversation_id=conversation.pk, role="customer", text="My LiftBase shows E04", client_id="c1")
    return conversation


@pytest.fixture
def other_agent(django_user_model):
    return django_user_model.objects.create_user(
        username="alex", password="agent-pass-456", is_staff=True, first_name="Alex"
    )


def events(conversation: Conversation) -> list[str]:
    return list(
        Message.objects.filter(conversation=conversation, kind="event")
        .order_by("seq")
        .values_list("data__event", flat=True)
    )


def status_of(conversation: Conversation) -> str:
    return Conversation.objects.values_list("status", flat=True).get(pk=conversation.pk)


def move(conversation: Conversation, target: str, agent) -> None:
    """Ask for ``target`` the way the product does: the widget, or the agent's console."""
    if target == Status.WAITING:
        handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    elif target == Status.AGENT:
        handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent.pk)
    elif target == Status.BOT:
        handoff.conversation_hand_back(conversation_id=conversation.pk, agent_id=agent.pk)
    else:
        handoff.conversation_close(conversation_id=conversation.pk, agent_id=agent.pk)


def test_a_conversation_goes_through_every_legal_transition_with_one_event_each(conversation, agent):
    for target in [Status.WAITING, Status.AGENT, Status.BOT, Status.WAITING, Status.AGENT, Status.CLOSED]:
        move(conversation, target, agent)
        assert status_of(conversation) == target
    assert events(conversation) == [
        "handoff_requested",
        "agent_joined",
        "handed_back",
        "handoff_requested",
        "agent_joined",
        "closed",
    ]
    joined = Message.objects.filter(conversation=conversation, data__event="agent_joined").first()
    assert joined.text == "Sam joined the chat" and joined.role == "system"
    seqs = list(Message.objects.filter(conversation=conversation).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert Conversation.objects.get(pk=conversation.pk).closed_at is not None


ILLEGAL = [(current, target) for current in ALL_STATES for target in ALL_STATES if (current, target) not in LEGAL]


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_illegal_transition_is_refused_and_changes_nothing(conversation, agent, current, target):
    Conversation.objects.filter(pk=conversation.pk).update(status=current, assigned_agent=agent)
    before = Message.objects.count()
    with pytest.raises(handoff.IllegalTransition) as refused:
        move(conversation, target, agent)
    assert refused.value.current == current and refused.value.target == target
    assert status_of(conversation) == current
    assert Message.objects.count() == before
    assert Summary.objects.count() == 0


def test_the_transition_table_is_exactly_the_legal_set():
    table = {(source, target) for source, targets in handoff.TRANSITIONS.items() for target in targets}
    assert table == LEGAL
    assert handoff.TRANSITIONS[Status.CLOSED] == frozenset()


def test_of_two_claims_exactly_one_wins_and_the_other_is_told(conversation, agent, other_agent):
    move(conversation, Status.WAITING, agent)
    handoff.conversation_claim(conversation_id=conversation.pk, agent_id=other_agent.pk)
    with pytest.raises(handoff.ClaimLost):
        handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent.pk)
    assert Conversation.objects.get(pk=conversation.pk).assigned_agent == other_agent
    assert events(conversation).count("agent_joined") == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_from_threads_have_exactly_one_winner(agent, other_agent):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL; SQLite serialises them (see the sequential race above)")
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    agents = [agent, other_agent, agent, other_agent]

    def claim(agent_id: int) -> None:
        try:
            barrier.wait()
            handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent_id)
            outcomes.append("won")
        except handoff.ClaimLost:
            outcomes.append("lost")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(a.pk,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost", "lost", "lost", "won"]
    assert events(conversation).count("agent_joined") == 1


def test_only_the_owning_agent_replies_hands_back_or_closes(conversation, agent, other_agent):
    move(conversation, Status.WAITING, agent)
    move(conversation, Status.AGENT, agent)
    reply, created = handoff.agent_reply(
        conversation_id=conversation.pk, agent_id=agent.pk, text="Hi, I'm Sam", client_id="r1"
    )
    assert created and reply.role == "agent" and reply.data["author_name"] == "Sam"
    again, created_again = handoff.agent_reply(
        conversation_id=conversation.pk, agent_id=agent.pk, text="Hi, I'm Sam", client_id="r1"
    )
    assert not created_again and again.pk == reply.pk
    for action in (handoff.conversation_hand_back, handoff.conversation_close):
        with pytest.raises(handoff.NotYourConversation):
            action(conversation_id=conversation.pk, agent_id=other_agent.pk)
    with pytest.raises(handoff.NotYourConversation):
        handoff.agent_reply(conversation_id=conversation.pk, agent_id=other_agent.pk, text="me too")
    move(conversation, Status.CLOSED, agent)
    with pytest.raises(handoff.IllegalTransition):
        handoff.agent_reply(conversation_id=conversation.pk, agent_id=agent.pk, text="one more thing")


def test_queue_positions_follow_the_order_customers_asked_in(db, agent):
    conversations = [conversation_open(origin="http://127.0.0.1:8000")[0] for _ in range(3)]
    positions = [
        handoff.handoff_request(conversation_id=c.pk, reason="test", trigger="button").position for c in conversations
    ]
    assert positions == [1, 2, 3]
    handoff.conversation_claim(conversation_id=conversations[0].pk, agent_id=agent.pk)
    assert [handoff.queue_position(conversation_id=c.pk) for c in conversations] == [None, 1, 2]


def test_with_nobody_online_the_customer_keeps_a_place_and_may_leave_an_email(conversation, agent):
    result = handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    assert result.outcome == "queued" and status_of(conversation) == Status.WAITING
    assert result.message.data["nobody_online"] is True
    assert (
        result.message.text.startswith(handoff.QUEUED_TEXT) and "Nobody from the team is online" in result.message.text
    )
    tickets.ticket_create(conversation_id=conversation.pk, email="pat@example.com", text="Base stuck at E04")
    created = Message.objects.filter(conversation=conversation, data__event="ticket_created").get()
    assert "as soon as we can" in created.text  # the team works now: not "as soon as we open"
    # The ticket does not take the customer out of the line: an agent who signs in still gets the chat.
    handoff.agent_set_online(agent_id=agent.pk, online=True)
    handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent.pk)
    assert status_of(conversation) == Status.AGENT


def test_the_handoff_speaks_to_the_customer_in_the_language_they_write_in(agent):
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    message_record(
        conversation_id=conversation.pk, role="customer", text="¿Cuánto tarda el reembolso de mi devolución?"
    )
    handoff.agent_set_online(agent_id=agent.pk, online=True)
    queued = handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    joined = handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent.pk)
    assert queued.message.text == (
        "Te estoy poniendo en contacto con una persona de nuestro equipo de atención. Verá todo lo que has escrito."
    )
    assert joined.text == f"{selectors.agent_name(agent)} se ha unido al chat"
    assert queued.message.data["event"] == "handoff_requested"  # the event itself stays the same for every client


def test_with_an_agent_online_the_handoff_offers_no_email(conversation, agent):
    handoff.agent_set_online(agent_id=agent.pk, online=True)
    result = handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    assert result.message.data["nobody_online"] is False and result.message.text == handoff.QUEUED_TEXT


def test_an_agent_who_leaves_as_the_last_one_online_tells_the_customer_nobody_is_left(conversation, agent):
    handoff.agent_set_online(agent_id=agent.pk, online=True)
    handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent.pk)
    assert handoff.agent_gone(agent_id=agent.pk) == 1
    left = Message.objects.filter(conversation=conversation, data__event="agent_left").get()
    assert left.data["nobody_online"] is True and "Nobody from the team is online" in left.text


def _closed_today_settings(settings) -> None:
    today = timezone.now().astimezone(UTC).weekday()
    open_day = business_hours.DAYS[(today + 1) % 7]
    settings.TIME_ZONE = "UTC"
    settings.SUPPORTBOT_BUSINESS_HOURS = f"{open_day} 09:00-17:00"


def test_out_of_hours_the_customer_is_told_and_leaves_a_ticket(conversation, settings):
    _closed_today_settings(settings)
    result = handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    assert result.outcome == "out_of_hours"
    assert status_of(conversation) == Status.BOT
    assert "offline" in result.message.text and result.message.data["opens_at"]
    assert Summary.objects.count() == 0
    ticket = tickets.ticket_create(conversation_id=conversation.pk, email="pat@example.com", text="Base stuck at E04")
    twice = tickets.ticket_create(conversation_id=conversation.pk, email="pat@example.com", text="Base stuck at E04")
    assert twice.pk == ticket.pk and Ticket.objects.filter(status="open").count() == 1
    assert events(conversation) == ["out_of_hours", "ticket_created"]


def test_asked_again_out_of_hours_with_a_ticket_open_no_second_ticket_is_offered(conversation, settings):
    _closed_today_settings(settings)
    first = handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    assert first.message.data["ticket_open"] is False and "Leave your email" in first.message.text
    tickets.ticket_create(conversation_id=conversation.pk, email="pat@example.com", text="Base stuck at E04")
    again = handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    assert again.message.data["ticket_open"] is True
    assert "We already have your message" in again.message.text and "Leave your email" not in again.message.text


def test_a_request_for_a_person_out_of_hours_is_answered_once_not_again_on_each_reconnect(conversation, settings):
    _closed_today_settings(settings)
    question = message_record(
        conversation_id=conversation.pk, role="customer", text="I want to talk to a human", client_id="c2"
    )[0]
    assert selectors.unanswered_questions(conversation_id=conversation.pk)[-1] == question
    handoff.handoff_request(conversation_id=conversation.pk, reason="asks for a person", trigger="asked")
    # A reconnect resumes only a question still owed an answer: the offer of a ticket was the answer.
    assert selectors.unanswered_question(conversation_id=conversation.pk) is None
    again = message_record(
        conversation_id=conversation.pk, role="customer", text="what about delivery?", client_id="c3"
    )[0]
    assert selectors.unanswered_question(conversation_id=conversation.pk) == again


def test_chats_of_an_agent_whose_consoles_went_silent_go_back_to_the_queue_whatever_became_of_the_web_process(
    conversation, agent, settings
):
    """The web process that watched the agent leave restarted (the watch died with it, the embedded cache was
    emptied): beat's sweep still returns the chat, once the agent has been silent long enough."""
    from django.core.cache import cache

    from conversations import presence_tasks, tasks

    settings.SUPPORTBOT_AGENT_GONE_AFTER_S = 60
    handoff.agent_set_online(agent_id=agent.pk, online=True)
    handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent.pk)
    cache.delete(f"console-seen:{agent.pk}")
    now = time.time()

    # Never seen since the cache was emptied: counted as seen now, so a console reconnecting keeps its chats.
    assert handoff.agents_absent_return(now=now) == 0
    assert handoff.agents_absent_return(now=now + 60 + 2 * handoff.CONSOLE_PING_EVERY_S) == 0
    assert status_of(conversation) == Status.AGENT

    assert handoff.agents_absent_return(now=now + 61 + 2 * handoff.CONSOLE_PING_EVERY_S) == 1
    assert status_of(conversation) == Status.WAITING
    assert Message.objects.filter(conversation=conversation, data__event="agent_left").count() == 1
    assert presence_tasks.agents_absent_return.apply().get() == 0  # safe to run again: nothing is held any more
    assert tasks.TASK_QUEUES[presence_tasks.agents_absent_return.name] == tasks.Queue.HANDOFF


def test_an_agent_whose_console_pings_keeps_their_chats(conversation, agent, settings):
    settings.SUPPORTBOT_AGENT_GONE_AFTER_S = 60
    handoff.agent_set_online(agent_id=agent.pk, online=True)
    handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent.pk)
    handoff.agent_seen(agent_id=agent.pk)  # a ping

    assert handoff.agents_absent_return(now=time.time() + 100) == 0
    assert status_of(conversation) == Status.AGENT
