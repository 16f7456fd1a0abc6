from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from conversations import business_hours, summaries
from conversations.models import Conversation, Message, Summary
from conversations.services import BotSilenced, answer_record, message_record
from tests.conftest import ALLOWED_ORIGIN, frames_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_agent(django_user_model):
    return django_user_model.objects.create_user(
        username="alex", password="agent-pass-456", is_staff=True, first_name="Alex"
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def console_communicator(client: Client | None = None, *, origin: str = ALLOWED_ORIGIN) -> WebsocketCommunicator:
    from supportbot.asgi import application

    headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1:8000")]
    if client is not None:
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return WebsocketCommunicator(application, "/ws/console/", headers=headers)


async def console_for(user) -> tuple[WebsocketCommunicator, Client, dict]:
    client = await database_sync_to_async(signed_in)(user)
    communicator = console_communicator(client)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    snapshot = await communicator.receive_json_from()
    assert snapshot["type"] == "queue"
    return communicator, client, snapshot


def test_console_page_is_for_staff_only(client, agent, django_user_model):
    response = client.get("/console/")
    assert response.status_code == 302 and response["Location"] == "/console/login/?next=/console/"
    customer = django_user_model.objects.create_user(username="pat", password="customer-pass-1")
    assert signed_in(customer).get("/console/").status_code == 403
    page = signed_in(agent).get("/console/")
    assert page.status_code == 200
    assert (
        b"Agent console" in page.content
        and b"Canned responses" in page.content
        and b"console/console.js" in page.content
    )


def test_the_login_form_is_csrf_checked(agent):
    client = Client(enforce_csrf_checks=True)
    credentials = {"username": "sam", "password": "agent-pass-123"}
    assert client.post("/console/login/", credentials).status_code == 403
    form = client.get("/console/login/")
    token = form.context["csrf_token"]
    response = client.post("/console/login/", {**credentials, "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302 and response["Location"] == "/console/"


async def test_console_socket_refuses_anonymous_customers_and_other_origins(agent, django_user_model):
    anonymous = console_communicator()
    assert (await anonymous.connect()) == (False, 4403)
    customer = await database_sync_to_async(django_user_model.objects.create_user)(
        username="pat", password="customer-pass-1"
    )
    not_staff = console_communicator(await database_sync_to_async(signed_in)(customer))
    assert (await not_staff.connect()) == (False, 4403)
    staff_client = await database_sync_to_async(signed_in)(agent)
    # The origin is on the widget allow-list, but it is not the console's own origin.
    cross_site = console_communicator(staff_client, origin="http://localhost:8000")
    assert (await cross_site.connect())[0] is False


async def test_customer_asks_for_a_person_and_the_agent_takes_over_live(widget, agent):
    console, _, snapshot = await console_for(agent)
    assert snapshot["waiting"] == [] and snapshot["agent"]["online"] is True
    await widget.send_json_to({"type": "message", "text": "My LiftBase shows E04", "client_id": "c1"})
    await frames_until(widget, lambda f: f["type"] == "message" and f["role"] == "assistant")
    await widget.send_json_to({"type": "handoff"})
    queued = await frames_until(widget, lambda f: f["type"] == "queue")
    assert any(f.get("data", {}).get("event") == "handoff_requested" for f in queued)
    assert queued[-1]["position"] == 1

    assigned = await frames_until(console, lambda f: f["type"] == "assigned")
    public_id = assigned[-1]["conversation"]
    snapshot = await frames_until(
        console, lambda f: f["type"] == "queue" and f["waiting"] and f["waiting"][0]["summary"]["status"] == "done"
    )
    card = snapshot[-1]["waiting"][0]
    assert card["conversation"] == public_id and card["assigned_to"] == "Sam" and card["position"] == 1
    assert "Problem: My LiftBase shows E04" in card["summary"]["text"] and card["tier"]

    await console.send_json_to({"type": "open", "conversation": public_id, "last_seq": 0})
    transcript = await frames_until(console, lambda f: f["type"] == "transcript")
    roles = [m["role"] for m in transcript[-1]["messages"]]
    assert roles[:2] == ["customer", "assistant"] and "citations" in transcript[-1]["messages"][1]

    await console.send_json_to({"type": "claim", "conversation": public_id})
    joined = await frames_until(
        widget, lambda f: f["type"] == "message" and f.get("data", {}).get("event") == "agent_joined"
    )
    assert joined[-1]["text"] == "Sam joined the chat" and joined[-1]["data"]["status"] == "agent"

    await console.send_json_to(
        {"type": "reply", "conversation": public_id, "text": "Hi, I'm Sam. Let's fix that.", "client_id": "a1"}
    )
    reply = await frames_until(widget, lambda f: f["type"] == "message" and f["role"] == "agent")
    assert reply[-1]["text"] == "Hi, I'm Sam. Let's fix that." and reply[-1]["author"] == "Sam"

    await widget.send_json_to({"type": "message", "text": "Thanks, it still beeps", "client_id": "c2"})
    seen = await frames_until(console, lambda f: f["type"] == "message" and f.get("client_id") == "c2")
    assert seen[-1]["conversation"] == public_id

    await console.send_json_to({"type": "hand_back", "conversation": public_id})
    back = await frames_until(
        widget, lambda f: f["type"] == "message" and f.get("data", {}).get("event") == "handed_back"
    )
    assert back[-1]["data"]["status"] == "bot"
    status = await database_sync_to_async(Conversation.objects.values_list("status", flat=True).get)(
        public_id=public_id
    )
    assert status == "bot"
    await console.disconnect()


async def test_two_agents_claim_at_the_same_moment_and_exactly_one_wins(widget, agent, other_agent):
    sam, _, _ = await console_for(agent)
    alex, _, _ = await console_for(other_agent)
    await widget.send_json_to({"type": "handoff"})
    public_id = (await frames_until(sam, lambda f: f["type"] == "queue" and f["waiting"]))[-1]["waiting"][0][
        "conversation"
    ]
    await asyncio.gather(
        sam.send_json_to({"type": "claim", "conversation": public_id}),
        alex.send_json_to({"type": "claim", "conversation": public_id}),
    )
    outcomes = []
    for console in (sam, alex):
        frames = await frames_until(console, lambda f: f["type"] in {"done", "claim_lost"})
        outcomes.append(frames[-1]["type"])
    assert sorted(outcomes) == ["claim_lost", "done"]
    joined = await database_sync_to_async(Message.objects.filter(data__event="agent_joined").count)()
    assert joined == 1
    await sam.disconnect()
    await alex.disconnect()


async def test_console_catches_up_by_seq_after_a_reconnect(widget, agent, customer_session):
    public_id, _ = customer_session
    await widget.send_json_to({"type": "handoff"})
    console, _, _ = await console_for(agent)
    await console.send_json_to({"type": "open", "conversation": public_id, "last_seq": 0})
    first = (await frames_until(console, lambda f: f["type"] == "transcript"))[-1]
    last_seq = first["messages"][-1]["seq"]
    await console.disconnect()

    conversation_id = await database_sync_to_async(Conversation.objects.values_list("pk", flat=True).get)(
        public_id=public_id
    )
    for text in ("Anyone there?", "Hello?"):
        await database_sync_to_async(message_record)(conversation_id=conversation_id, role="customer", text=text)

    again, _, _ = await console_for(agent)
    await again.send_json_to({"type": "open", "conversation": public_id, "last_seq": last_seq})
    caught_up = (await frames_until(again, lambda f: f["type"] == "transcript"))[-1]
    assert [m["text"] for m in caught_up["messages"]] == ["Anyone there?", "Hello?"]
    assert [m["seq"] for m in caught_up["messages"]] == [last_seq + 1, last_seq + 2]
    await again.disconnect()


async def test_signing_out_closes_the_agents_open_console(agent):
    console, client, _ = await console_for(agent)
    response = await database_sync_to_async(client.post)("/console/logout/")
    assert response.status_code == 302
    closed = await console.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_the_bot_never_answers_while_an_agent_owns_the_conversation(widget, agent, customer_session):
    public_id, _ = customer_session
    await widget.send_json_to({"type": "handoff"})
    console, _, _ = await console_for(agent)
    await console.send_json_to({"type": "claim", "conversation": public_id})
    await frames_until(widget, lambda f: f.get("data", {}).get("event") == "agent_joined")
    await widget.send_json_to({"type": "message", "text": "Where is my order?", "client_id": "q"})
    await frames_until(widget, lambda f: f["type"] == "message" and f.get("client_id") == "q")
    assert await widget.receive_nothing(timeout=0.5)
    conversation_id = await database_sync_to_async(Conversation.objects.values_list("pk", flat=True).get)(
        public_id=public_id
    )
    # An answer that was already streaming when the agent joined is dropped, not stored.
    with pytest.raises(BotSilenced):
        await database_sync_to_async(answer_record)(
            conversation_id=conversation_id,
            reply_to_seq=1,
            text="late",
            tier="instant",
            model="m",
            route_reason="r",
            calls=[],
        )
    assistant = await database_sync_to_async(Message.objects.filter(role="assistant").count)()
    assert assistant == 0
    await console.disconnect()


async def test_out_of_hours_the_widget_takes_an_email_and_a_message(widget, settings):
    tomorrow = business_hours.DAYS[(timezone.now().weekday() + 1) % 7]
    settings.TIME_ZONE = "UTC"
    settings.SUPPORTBOT_BUSINESS_HOURS = f"{tomorrow} 09:00-17:00"
    await widget.send_json_to({"type": "handoff"})
    told = await frames_until(widget, lambda f: f["type"] == "message")
    assert told[-1]["data"]["event"] == "out_of_hours"
    await widget.send_json_to({"type": "ticket", "email": "not-an-email", "text": "help"})
    assert (await widget.receive_json_from())["code"] == "bad_email"
    await widget.send_json_to({"type": "ticket", "email": "pat@example.com", "text": "x" * 5000})
    too_long = await widget.receive_json_from()
    assert too_long["code"] == "bad_ticket" and "limited to" in too_long["message"]
    await widget.send_json_to({"type": "ticket", "email": "pat@example.com", "text": "My base is stuck at E04"})
    thanks = await frames_until(widget, lambda f: f["type"] == "message")
    assert thanks[-1]["data"]["event"] == "ticket_created" and "pat@example.com" in thanks[-1]["text"]
    # One open ticket per conversation: a second, different one is refused out loud, never dropped silently.
    await widget.send_json_to({"type": "ticket", "email": "sam@example.com", "text": "Also the remote"})
    second = await widget.receive_json_from()
    assert second["code"] == "ticket_open" and "pat@example.com" in second["message"]


# --- an agent who leaves ----------------------------------------------------------------------


async def _held_by(agent, widget) -> Conversation:
    from conversations import handoff

    await widget.send_json_to({"type": "handoff"})
    await frames_until(widget, lambda f: f["type"] == "queue")
    conversation = await database_sync_to_async(Conversation.objects.get)()
    await database_sync_to_async(handoff.conversation_claim)(conversation_id=conversation.pk, agent_id=agent.pk)
    await frames_until(widget, lambda f: f["type"] == "message" and f.get("data", {}).get("event") == "agent_joined")
    return conversation


async def _back_in_line(widget, conversation: Conversation, *, timeout: float = 5.0) -> dict:
    left = await frames_until(
        widget, lambda f: f["type"] == "message" and f.get("data", {}).get("event") == "agent_left", timeout=timeout
    )
    await database_sync_to_async(conversation.refresh_from_db)()
    assert (conversation.status, conversation.assigned_agent_id) == ("waiting", None)
    return left[-1]


async def test_an_agent_who_signs_out_puts_their_chats_back_in_line_and_goes_offline(widget, agent):
    from conversations.models import AgentProfile

    console, client, _ = await console_for(agent)
    conversation = await _held_by(agent, widget)

    await database_sync_to_async(client.post)("/console/logout/")

    left = await _back_in_line(widget, conversation)
    assert left["text"].startswith("Sam had to leave") and left["data"]["status"] == "waiting"
    profile = await database_sync_to_async(AgentProfile.objects.get)(user=agent)
    assert profile.online is False  # no new chat is offered to someone who is not there
    # Back at the console, they are online again: they were offline for leaving, not by choice.
    returned, _, snapshot = await console_for(agent)
    assert snapshot["agent"]["online"] is True
    await returned.disconnect()


async def test_an_agent_whose_console_stays_closed_puts_their_chats_back_in_line(widget, agent, settings):
    settings.SUPPORTBOT_AGENT_GONE_AFTER_S = 1
    console, _, _ = await console_for(agent)
    conversation = await _held_by(agent, widget)

    await console.disconnect()  # the tab closed, and no other console of theirs is open

    await _back_in_line(widget, conversation, timeout=5)


async def test_an_agent_who_reloads_the_console_keeps_their_chats(widget, agent, settings):
    settings.SUPPORTBOT_AGENT_GONE_AFTER_S = 1
    console, _, _ = await console_for(agent)
    conversation = await _held_by(agent, widget)

    await console.disconnect()
    reloaded, _, _ = await console_for(agent)  # back within the grace: a reload, not a departure
    await asyncio.sleep(1.5)

    await database_sync_to_async(conversation.refresh_from_db)()
    assert (conversation.status, conversation.assigned_agent_id) == ("agent", agent.pk)
    await reloaded.disconnect()


async def test_a_console_reply_that_shows_nothing_is_refused(widget, agent):
    console, _, _ = await console_for(agent)
    conversation = await _held_by(agent, widget)
    for text in ("\u200b\u200b", " \ufeff\n", ""):
        await console.send_json_to(
            {"type": "reply", "conversation": conversation.public_id, "text": text, "client_id": "z"}
        )
        refused = await frames_until(console, lambda f: f["type"] == "error")
        assert refused[-1]["code"] == "bad_reply", text
    stored = await database_sync_to_async(Message.objects.filter(role="agent").count)()
    assert stored == 0
    await console.disconnect()


async def test_a_different_reply_under_a_used_client_id_is_refused(widget, agent):
    console, _, _ = await console_for(agent)
    conversation = await _held_by(agent, widget)
    public_id = conversation.public_id
    for text in ("Your order ships today.", "Your order ships today."):  # the same reply again: done, once
        await console.send_json_to({"type": "reply", "conversation": public_id, "text": text, "client_id": "r1"})
        done = await frames_until(console, lambda f: f["type"] in ("done", "error"))
        assert done[-1]["type"] == "done"
    await console.send_json_to(
        {"type": "reply", "conversation": public_id, "text": "Sorry, it ships tomorrow.", "client_id": "r1"}
    )
    refused = await frames_until(console, lambda f: f["type"] in ("done", "error"))
    assert refused[-1]["code"] == "client_id_used" and refused[-1]["conversation"] == public_id
    stored = await database_sync_to_async(
        lambda: list(Message.objects.filter(role="agent").values_list("text", flat=True))
    )()
    assert stored == ["Your order ships today."]
    await console.disconnect()


async def test_console_frames_of_the_wrong_type_are_refused_by_name(widget, agent):
    from conversations.models import AgentProfile

    console, _, _ = await console_for(agent)
    conversation = await _held_by(agent, widget)
    online_before = await database_sync_to_async(AgentProfile.objects.values_list("online", flat=True).get)(user=agent)
    for frame, code in (
        ({"type": "online", "online": "yes"}, "bad_online"),
        ({"type": "online", "online": 0}, "bad_online"),
        ({"type": "ticket_done", "ticket": "x"}, "bad_ticket"),
        ({"type": "ticket_done", "ticket": None}, "bad_ticket"),
        ({"type": "ticket_done", "ticket": True}, "bad_ticket"),
    ):
        await console.send_json_to(frame)
        refused = await frames_until(console, lambda f: f["type"] == "error")
        assert refused[-1]["code"] == code, frame
    online_after = await database_sync_to_async(AgentProfile.objects.values_list("online", flat=True).get)(user=agent)
    assert online_after == online_before

    await console.send_json_to({"type": "open", "conversation": conversation.public_id, "last_seq": -3})
    frames = await frames_until(console, lambda f: f["type"] == "transcript")
    assert [f["code"] for f in frames if f["type"] == "error"] == ["bad_seq"]
    assert frames[-1]["messages"][0]["seq"] == 1  # the whole transcript all the same
    await console.disconnect()


def _newer_summary_written(public_id: str) -> None:
    """A later handoff summary of the conversation, up to its newest message, written as the task writes it."""
    conversation = Conversation.objects.get(public_id=public_id)
    summary = Summary.objects.create(
        conversation=conversation, purpose=Summary.Purpose.HANDOFF, upto_seq=conversation.last_seq
    )
    assert summaries.summary_run(summary_id=summary.pk, delivery="newer") is True


async def test_a_console_following_a_chat_gets_its_newer_summary_when_it_is_written(widget, agent, other_agent):
    sam, _, _ = await console_for(agent)
    await widget.send_json_to({"type": "message", "text": "My LiftBase shows E04", "client_id": "c1"})
    await frames_until(widget, lambda f: f["type"] == "message" and f["role"] == "assistant")
    await widget.send_json_to({"type": "handoff"})
    public_id = (await frames_until(sam, lambda f: f["type"] == "assigned"))[-1]["conversation"]
    await sam.send_json_to({"type": "claim", "conversation": public_id})
    await frames_until(widget, lambda f: f["type"] == "message" and f.get("data", {}).get("event") == "agent_joined")
    # Alex follows Sam's chat: it is in none of Alex's lists, so no queue snapshot brings its card up to date.
    alex, _, _ = await console_for(other_agent)
    await alex.send_json_to({"type": "open", "conversation": public_id, "last_seq": 0})
    opened = (await frames_until(alex, lambda f: f["type"] == "transcript"))[-1]
    assert "E04" in opened["card"]["summary"]["text"]
    await widget.send_json_to(
        {"type": "message", "text": "Order 4411 was delivered to the wrong address", "client_id": "c2"}
    )
    await frames_until(alex, lambda f: f["type"] == "message" and f.get("client_id") == "c2")
    await frames_until(widget, lambda f: f["type"] == "message" and f.get("client_id") == "c2")

    await database_sync_to_async(_newer_summary_written)(public_id)
    told = (await frames_until(alex, lambda f: f["type"] == "summary"))[-1]
    assert told["conversation"] == public_id and told["summary"]["status"] == "done"
    assert "4411" in told["summary"]["text"], told
    # The summary rides on the consoles' own group: a widget never sees what is written for staff.
    assert await widget.receive_nothing(timeout=0.3)
    await alex.disconnect()
    await sam.disconnect()
