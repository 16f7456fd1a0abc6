"""Transfers: the owning agent moves a chat to another online agent under their cap, or back to the queue."""

from __future__ import annotations

import pytest

from conversations import assignment, handoff
from conversations.models import AgentProfile, ChatOffer, Conversation, Message
from conversations.services import conversation_open, message_record
from tests.conftest import frames_until
from tests.conversations.test_console import console_for

Status = Conversation.Status


@pytest.fixture
def other_agent(django_user_model):
    return django_user_model.objects.create_user(
        username="alex", password="agent-pass-456", is_staff=True, first_name="Alex"
    )


def with_agent(agent) -> Conversation:
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    message_record(conversation_id=conversation.pk, role="customer", text="My base is stuck")
    handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent.pk)
    return conversation


def last_event(conversation: Conversation) -> Message:
    return Message.objects.filter(conversation=conversation, kind="event").order_by("-seq").first()


@pytest.mark.django_db
def test_a_transfer_to_an_online_agent_makes_the_chat_theirs_with_an_event(agent, other_agent):
    AgentProfile.objects.create(user=other_agent, online=True)
    conversation = with_agent(agent)
    handoff.conversation_transfer(conversation_id=conversation.pk, agent_id=agent.pk, to_agent_id=other_agent.pk)
    row = Conversation.objects.get(pk=conversation.pk)
    assert row.status == Status.AGENT and row.assigned_agent == other_agent
    event = last_event(conversation)
    assert event.text == "Sam transferred the chat to Alex." and event.data["event"] == "transferred"
    assert event.data["status"] == Status.AGENT and event.data["agent"] == "Alex"
    # Only the owner may transfer: Sam no longer is.
    with pytest.raises(handoff.NotYourConversation):
        handoff.conversation_transfer(conversation_id=conversation.pk, agent_id=agent.pk, to_agent_id=agent.pk)


@pytest.mark.django_db
def test_only_online_agents_under_their_cap_and_not_oneself_can_receive(agent, other_agent, django_user_model):
    conversation = with_agent(agent)
    before = Message.objects.filter(conversation=conversation).count()
    profile = AgentProfile.objects.create(user=other_agent, online=False, max_concurrent_chats=1)
    refusals = []
    for setup in ("offline", "full", "self", "customer"):
        if setup == "full":
            AgentProfile.objects.filter(pk=profile.pk).update(online=True)
            with_agent(other_agent)  # Alex's one chat
        target = {"self": agent.pk, "customer": None}.get(setup, other_agent.pk)
        if setup == "customer":
            target = django_user_model.objects.create_user(username="pat", password="customer-pass-1").pk
        with pytest.raises(handoff.TransferRefused) as refused:
            handoff.conversation_transfer(conversation_id=conversation.pk, agent_id=agent.pk, to_agent_id=target)
        refusals.append(str(refused.value))
    assert refusals == [
        "that agent is not online",
        "that agent has no room for another chat",
        "the chat is already yours",
        "that agent is not online",
    ]
    assert Conversation.objects.get(pk=conversation.pk).assigned_agent == agent
    assert Message.objects.filter(conversation=conversation).count() == before


@pytest.mark.django_db
def test_back_to_the_queue_the_chat_waits_for_anyone_but_the_sender(agent, other_agent):
    AgentProfile.objects.create(user=agent, online=True)
    AgentProfile.objects.create(user=other_agent, online=False)
    conversation = with_agent(agent)
    # With only the sender online, nobody else can take it yet.
    handoff.conversation_transfer(conversation_id=conversation.pk, agent_id=agent.pk, to_agent_id=None)
    row = Conversation.objects.get(pk=conversation.pk)
    assert row.status == Status.WAITING and row.assigned_agent is None and row.waiting_since is not None
    event = last_event(conversation)
    assert event.data == {
        "event": "transferred",
        "status": "waiting",
        "previous_agent": "Sam",
        "position": 1,
        "nobody_online": True,  # the sender is passed over, and nobody else is signed in
        "ticket_open": False,
    }
    assert ChatOffer.objects.get(conversation=conversation, agent=agent).status == ChatOffer.Status.DECLINED
    assert assignment.conversation_assign(conversation_id=conversation.pk) is None

    AgentProfile.objects.filter(user=other_agent).update(online=True)
    assert assignment.conversation_assign(conversation_id=conversation.pk) == other_agent.pk
    # Alex claims it and hands it back to the bot; next time it waits, Sam may have it again.
    handoff.conversation_claim(conversation_id=conversation.pk, agent_id=other_agent.pk)
    handoff.conversation_hand_back(conversation_id=conversation.pk, agent_id=other_agent.pk)
    handoff.handoff_request(conversation_id=conversation.pk, reason="again", trigger="button")
    AgentProfile.objects.filter(user=other_agent).update(online=False)
    assert assignment.conversation_assign(conversation_id=conversation.pk) == agent.pk


@pytest.mark.django_db(transaction=True)
async def test_a_transfer_moves_the_chat_to_the_other_agents_console(widget, agent, other_agent, customer_session):
    public_id, _ = customer_session
    sam, _, _ = await console_for(agent)
    alex, _, first = await console_for(other_agent)
    await widget.send_json_to({"type": "handoff"})
    await frames_until(sam, lambda f: f["type"] == "assigned" or (f["type"] == "queue" and f["waiting"]))
    await sam.send_json_to({"type": "claim", "conversation": public_id})
    await frames_until(sam, lambda f: f["type"] == "done")
    snapshot = (await frames_until(sam, lambda f: f["type"] == "queue" and f["mine"]))[-1]
    assert [a["name"] for a in snapshot["agents"]] == ["Alex"]  # who the chat can go to

    await sam.send_json_to({"type": "transfer", "conversation": public_id, "to": other_agent.pk})
    await frames_until(sam, lambda f: f["type"] == "done" and f["action"] == "transfer")
    # The queue doorbell and the "assigned" frame may come in either order.
    told = await frames_until(alex, lambda f: f["type"] == "assigned")
    assert told[-1]["conversation"] == public_id
    snapshots = [f for f in told if f["type"] == "queue" and f["mine"]]
    if not snapshots:
        snapshots = await frames_until(alex, lambda f: f["type"] == "queue" and f["mine"])
    mine = snapshots[-1]["mine"]
    assert [card["conversation"] for card in mine] == [public_id] and mine[0]["assigned_to"] == "Alex"
    moved = (await frames_until(widget, lambda f: f.get("data", {}).get("event") == "transferred"))[-1]
    assert moved["text"] == "Sam transferred the chat to Alex." and moved["data"]["status"] == "agent"

    # Sam is no longer the owner: a reply or another transfer is refused.
    await sam.send_json_to({"type": "transfer", "conversation": public_id, "to": None})
    assert (await frames_until(sam, lambda f: f["type"] == "error"))[-1]["code"] == "not_yours"
    await alex.send_json_to({"type": "transfer", "conversation": public_id, "to": "Sam"})
    assert (await frames_until(alex, lambda f: f["type"] == "error"))[-1]["code"] == "bad_transfer"
    await alex.send_json_to({"type": "transfer", "conversation": public_id, "to": other_agent.pk})
    refused = (await frames_until(alex, lambda f: f["type"] == "error"))[-1]
    assert refused["code"] == "transfer_refused"
    assert first["agents"] == [{"id": agent.pk, "name": "Sam", "load": 0}]
    await sam.disconnect()
    await alex.disconnect()


@pytest.mark.django_db
def test_a_chat_nobody_with_room_may_take_does_not_hold_up_the_line(agent, other_agent):
    """Sam sends A back to the queue and steps away; B asks for a person; Sam is back. B was never given out:
    assignment stopped at A, the oldest, which Sam may not have again."""
    AgentProfile.objects.create(user=agent, online=True)
    first = with_agent(agent)
    handoff.conversation_transfer(conversation_id=first.pk, agent_id=agent.pk, to_agent_id=None)
    AgentProfile.objects.filter(user=agent).update(online=False)
    second, _ = conversation_open(origin="http://127.0.0.1:8000")
    message_record(conversation_id=second.pk, role="customer", text="I need a person")
    handoff.handoff_request(conversation_id=second.pk, reason="test", trigger="button")
    AgentProfile.objects.filter(user=agent).update(online=True)

    assert assignment.queue_assign() == 1
    assert Conversation.objects.get(pk=second.pk).assigned_agent_id == agent.pk
    assert Conversation.objects.get(pk=first.pk).assigned_agent_id is None  # still passed over for Sam


@pytest.mark.django_db
def test_an_agent_who_had_to_leave_may_have_their_chat_again_on_return(agent):
    AgentProfile.objects.create(user=agent, online=True)
    conversation = with_agent(agent)
    assert handoff.agent_gone(agent_id=agent.pk) == 1
    assert not ChatOffer.objects.filter(conversation=conversation, status=ChatOffer.Status.DECLINED).exists()

    handoff.agent_seen(agent_id=agent.pk)  # the console is open again: online
    assert assignment.queue_assign() == 1
    assert Conversation.objects.get(pk=conversation.pk).assigned_agent_id == agent.pk
