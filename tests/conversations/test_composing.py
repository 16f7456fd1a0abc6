"""Typing indicators both ways: passed on through the channel layer, throttled, never stored or replayed."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from conversations import handoff
from conversations.models import Conversation, Message
from tests.conftest import frames_until, widget_communicator
from tests.conversations.test_console import console_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_agent(django_user_model):
    return django_user_model.objects.create_user(
        username="alex", password="agent-pass-456", is_staff=True, first_name="Alex"
    )


async def until_pong(communicator) -> list[dict]:
    await communicator.send_json_to({"type": "ping"})
    return await frames_until(communicator, lambda f: f["type"] == "pong")


async def claimed(widget, agent, public_id: str):
    """The customer asked for a person and ``agent`` took the chat, with the chat open in their console."""
    await widget.send_json_to({"type": "handoff"})
    await frames_until(widget, lambda f: f["type"] == "queue")
    console, _, _ = await console_for(agent)
    await console.send_json_to({"type": "open", "conversation": public_id, "last_seq": 0})
    await frames_until(console, lambda f: f["type"] == "transcript")
    conversation_id = await database_sync_to_async(Conversation.objects.values_list("pk", flat=True).get)(
        public_id=public_id
    )
    await database_sync_to_async(handoff.conversation_claim)(conversation_id=conversation_id, agent_id=agent.pk)
    await frames_until(widget, lambda f: f.get("data", {}).get("event") == "agent_joined")
    return console


async def test_the_customer_sees_the_agent_typing_and_the_agent_sees_the_customer(widget, agent, customer_session):
    public_id, token = customer_session
    console = await claimed(widget, agent, public_id)
    messages_before = await database_sync_to_async(Message.objects.count)()

    await console.send_json_to({"type": "composing", "conversation": public_id})
    typing = (await frames_until(widget, lambda f: f["type"] == "composing"))[-1]
    assert typing == {"type": "composing", "role": "agent", "author": "Sam"}

    await widget.send_json_to({"type": "composing"})
    seen = (await frames_until(console, lambda f: f["type"] == "composing"))[-1]
    assert seen == {"type": "composing", "role": "customer", "conversation": public_id}
    # Neither is echoed to its own side.
    assert not any(f["type"] == "composing" for f in await until_pong(widget))
    assert not any(f["type"] == "composing" for f in await until_pong(console))

    # Never stored, so never replayed: a new socket from seq 0 gets messages only.
    assert await database_sync_to_async(Message.objects.count)() == messages_before
    again = widget_communicator()
    await again.connect()
    await again.send_json_to({"type": "hello", "token": token, "last_seq": 0})
    await again.send_json_to({"type": "ping"})
    replay = await frames_until(again, lambda f: f["type"] == "pong")
    assert not any(f["type"] == "composing" for f in replay)
    await again.disconnect()
    await console.disconnect()


async def test_typing_is_throttled_to_one_frame_a_second_per_socket(widget, agent, customer_session):
    public_id, _ = customer_session
    console = await claimed(widget, agent, public_id)
    for _ in range(5):
        await widget.send_json_to({"type": "composing"})
        await console.send_json_to({"type": "composing", "conversation": public_id})
    widget_seen = [f for f in await until_pong(widget) if f["type"] == "composing"]
    console_seen = [f for f in await until_pong(console) if f["type"] == "composing"]
    assert len(widget_seen) == 1 and len(console_seen) == 1
    await console.disconnect()


async def test_only_the_agent_who_has_the_chat_is_shown_typing(widget, agent, other_agent, customer_session):
    public_id, _ = customer_session
    console = await claimed(widget, agent, public_id)
    alex, _, _ = await console_for(other_agent)
    await alex.send_json_to({"type": "open", "conversation": public_id, "last_seq": 0})
    await frames_until(alex, lambda f: f["type"] == "transcript")
    await alex.send_json_to({"type": "composing", "conversation": public_id})
    assert not any(f["type"] == "composing" for f in await until_pong(widget))
    # Every console that opened the chat sees the customer typing.
    await widget.send_json_to({"type": "composing"})
    await frames_until(alex, lambda f: f["type"] == "composing")
    await frames_until(console, lambda f: f["type"] == "composing")
    await alex.disconnect()
    await console.disconnect()


async def test_while_the_bot_has_the_chat_the_customers_typing_goes_nowhere(widget, agent, customer_session):
    public_id, _ = customer_session
    console, _, _ = await console_for(agent)
    await console.send_json_to({"type": "open", "conversation": public_id, "last_seq": 0})
    await frames_until(console, lambda f: f["type"] == "transcript")
    await widget.send_json_to({"type": "composing"})
    assert not any(f["type"] == "composing" for f in await until_pong(console))
    await console.disconnect()
