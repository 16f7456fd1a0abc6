"""An automatically assigned chat its agent has not opened in time is offered to the next online agent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from conversations import assignment, handoff, offers, tasks
from conversations.console import selectors as console_selectors
from conversations.models import AgentProfile, ChatOffer, ConsoleSettings, Conversation, Message
from conversations.services import conversation_open
from tests.conftest import frames_until
from tests.conversations.test_console import console_for

Offer = ChatOffer.Status


@pytest.fixture
def other_agent(django_user_model):
    return django_user_model.objects.create_user(
        username="alex", password="agent-pass-456", is_staff=True, first_name="Alex"
    )


@pytest.fixture
def kim(django_user_model):
    return django_user_model.objects.create_user(username="kim", password="agent-pass-789", is_staff=True)


def waiting_for(agent_id: int) -> Conversation:
    """A waiting chat reserved for ``agent_id`` as automatic assignment leaves it: with a pending offer."""
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    Conversation.objects.filter(pk=conversation.pk).update(
        status="waiting", waiting_since=timezone.now(), assigned_agent_id=agent_id
    )
    assignment.offer_make(conversation_id=conversation.pk, agent_id=agent_id)
    return conversation


def age(conversation: Conversation, seconds: int) -> None:
    ChatOffer.objects.filter(conversation=conversation).update(offered_at=timezone.now() - timedelta(seconds=seconds))


def assigned_to(conversation: Conversation) -> int | None:
    return Conversation.objects.values_list("assigned_agent_id", flat=True).get(pk=conversation.pk)


@pytest.mark.django_db
def test_automatic_assignment_makes_a_pending_offer(agent):
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    Conversation.objects.filter(pk=conversation.pk).update(status="waiting", waiting_since=timezone.now())
    AgentProfile.objects.create(user=agent, online=True)
    assert assignment.conversation_assign(conversation_id=conversation.pk) == agent.pk
    offer = ChatOffer.objects.get(conversation=conversation)
    assert offer.agent == agent and offer.status == Offer.PENDING


@pytest.mark.django_db
def test_an_unopened_assignment_goes_to_the_next_online_agent_after_two_minutes(agent, other_agent):
    AgentProfile.objects.create(user=agent, online=True)
    AgentProfile.objects.create(user=other_agent, online=True)
    conversation = waiting_for(agent.pk)
    assert ChatOffer.objects.get(conversation=conversation).status == Offer.PENDING

    age(conversation, 110)
    assert offers.offers_lapsed_move_on() == 0  # the default is 2 minutes
    age(conversation, 121)
    assert tasks.offers_move_on() == 1
    assert assigned_to(conversation) == other_agent.pk
    event = Message.objects.filter(conversation=conversation, kind="event").last()
    assert event.data["event"] == "reoffered" and event.data["status"] == "waiting"
    assert event.data["agent"] == "Alex" and event.data["previous_agent"] == "Sam"
    assert event.data["unopened_s"] >= 121
    statuses = dict(ChatOffer.objects.filter(conversation=conversation).values_list("agent_id", "status"))
    assert statuses == {agent.pk: Offer.LAPSED, other_agent.pk: Offer.PENDING}

    assert offers.offers_lapsed_move_on() == 0  # safe to run again: Alex's offer is new
    assert Message.objects.filter(conversation=conversation, data__event="reoffered").count() == 1


@pytest.mark.django_db
def test_the_timeout_is_the_admins_setting(agent, other_agent):
    AgentProfile.objects.create(user=other_agent, online=True)
    ConsoleSettings.objects.update_or_create(pk=1, defaults={"reoffer_after_s": 600})
    conversation = waiting_for(agent.pk)
    age(conversation, 300)
    assert offers.offers_lapsed_move_on() == 0
    age(conversation, 601)
    assert offers.offers_lapsed_move_on() == 1


@pytest.mark.django_db
def test_an_opened_or_claimed_chat_is_left_alone(agent, other_agent):
    AgentProfile.objects.create(user=other_agent, online=True)
    opened, claimed = waiting_for(agent.pk), waiting_for(agent.pk)
    assert offers.offer_opened(conversation_id=opened.pk, agent_id=agent.pk)
    assert not offers.offer_opened(conversation_id=opened.pk, agent_id=other_agent.pk)  # not offered to Alex
    handoff.conversation_claim(conversation_id=claimed.pk, agent_id=agent.pk)
    age(opened, 1000)
    age(claimed, 1000)
    assert offers.offers_lapsed_move_on() == 0
    assert assigned_to(opened) == agent.pk and assigned_to(claimed) == agent.pk
    assert ChatOffer.objects.get(conversation=claimed).status == Offer.OPENED


@pytest.mark.django_db
def test_with_nobody_else_online_it_stays_and_the_offer_goes_round_the_agents(agent, other_agent, kim):
    AgentProfile.objects.create(user=agent, online=True)
    conversation = waiting_for(agent.pk)
    age(conversation, 500)
    assert offers.offers_lapsed_move_on() == 0  # nobody else: Sam keeps it, nothing is written
    assert not Message.objects.filter(conversation=conversation, data__event="reoffered").exists()
    assert ChatOffer.objects.get(conversation=conversation).status == Offer.PENDING

    AgentProfile.objects.create(user=other_agent, online=True)
    AgentProfile.objects.create(user=kim, online=True)
    moved_to = []
    for _ in range(4):
        age(conversation, 500)
        assert offers.offers_lapsed_move_on() == 1
        moved_to.append(assigned_to(conversation))
    # Round the online agents: Alex and Kim before Sam has it again, then round once more.
    assert moved_to == [other_agent.pk, kim.pk, agent.pk, other_agent.pk]


@pytest.mark.django_db
def test_a_chat_claimed_by_someone_else_meanwhile_is_not_moved(agent, other_agent):
    AgentProfile.objects.create(user=other_agent, online=True)
    conversation = waiting_for(agent.pk)
    age(conversation, 500)
    lapsed = ChatOffer.objects.get(conversation=conversation)
    Conversation.objects.filter(pk=conversation.pk).update(status="agent", assigned_agent=other_agent)
    assert not offers.offer_move_on(offer_id=lapsed.pk, cutoff=timezone.now())
    assert ChatOffer.objects.get(pk=lapsed.pk).status == Offer.WITHDRAWN
    assert assigned_to(conversation) == other_agent.pk


@pytest.mark.django_db(transaction=True)
async def test_opening_the_chat_in_the_console_counts_and_a_reoffer_rings_the_next_console(agent, other_agent):
    alex, _, _ = await console_for(other_agent)
    sam, _, _ = await console_for(agent)
    seen, lapsing = await database_sync_to_async(lambda: (waiting_for(agent.pk), waiting_for(agent.pk)))()
    await sam.send_json_to({"type": "open", "conversation": seen.public_id, "last_seq": 0})
    await frames_until(sam, lambda f: f["type"] == "transcript")
    await database_sync_to_async(age)(seen, 500)
    await database_sync_to_async(age)(lapsing, 500)

    assert await database_sync_to_async(offers.offers_lapsed_move_on)() == 1
    told = await frames_until(alex, lambda f: f["type"] == "assigned")
    assert told[-1]["conversation"] == lapsing.public_id
    assert await database_sync_to_async(assigned_to)(seen) == agent.pk
    await sam.disconnect()
    await alex.disconnect()


def waiting_card(*, agent_id: int, conversation: Conversation) -> dict:
    cards = console_selectors.console_queue(agent_id=agent_id)["waiting"]
    return next(card for card in cards if card["conversation"] == conversation.public_id)


@pytest.mark.django_db
@pytest.mark.parametrize("leaves", ["stops_taking_chats", "signs_out"])
def test_a_chat_offered_to_an_agent_who_goes_offline_no_longer_waits_for_them(agent, other_agent, leaves):
    AgentProfile.objects.create(user=agent, online=True)
    AgentProfile.objects.create(user=other_agent, online=False)
    offered, opened = waiting_for(agent.pk), waiting_for(agent.pk)
    assert offers.offer_opened(conversation_id=opened.pk, agent_id=agent.pk)
    assert waiting_card(agent_id=other_agent.pk, conversation=offered)["assigned_to"] == "Sam"

    if leaves == "stops_taking_chats":
        handoff.agent_set_online(agent_id=agent.pk, online=False)
    else:
        handoff.agent_gone(agent_id=agent.pk)

    # Nobody else is online: back in the queue for anyone, and no card names Sam any more.
    assert assigned_to(offered) is None and assigned_to(opened) is None
    assert ChatOffer.objects.get(conversation=offered).status == Offer.WITHDRAWN
    for conversation in (offered, opened):
        card = waiting_card(agent_id=other_agent.pk, conversation=conversation)
        assert (card["assigned_to"], card["assigned_to_id"]) == ("", None)
    # The next agent to come online is offered them, as any chat nobody has.
    handoff.agent_set_online(agent_id=other_agent.pk, online=True)
    assert assignment.queue_assign() == 2
    assert assigned_to(offered) == other_agent.pk and assigned_to(opened) == other_agent.pk


@pytest.mark.django_db
def test_a_chat_offered_to_an_agent_who_goes_offline_goes_to_another_online_agent(agent, other_agent):
    AgentProfile.objects.create(user=agent, online=True)
    AgentProfile.objects.create(user=other_agent, online=True)
    conversation = waiting_for(agent.pk)
    handoff.agent_set_online(agent_id=agent.pk, online=False)
    assert assigned_to(conversation) == other_agent.pk
    assert waiting_card(agent_id=agent.pk, conversation=conversation)["assigned_to"] == "Alex"
