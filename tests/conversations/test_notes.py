"""Internal notes: every console that opened the chat sees them; no path to a customer ever carries one."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from conversations import handoff, selectors
from conversations.console.selectors import console_transcript
from conversations.console.services import note_add
from conversations.models import Conversation, InternalNote, Message, Rating
from conversations.services import message_record
from conversations.summaries import _transcript, summary_extractive
from reporting.finetune import finetune_example
from tests.conftest import frames_until, widget_communicator
from tests.conversations.test_console import console_for

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "Customer was rude on the phone last week; refund already approved by Kim"


async def widget_frames_after_ping(widget) -> list[dict]:
    """Everything the widget socket received until the pong: what it was sent meanwhile."""
    await widget.send_json_to({"type": "ping"})
    return await frames_until(widget, lambda f: f["type"] == "pong")


async def test_a_note_reaches_the_consoles_and_never_the_widget_live_or_on_replay(widget, agent, customer_session):
    public_id, token = customer_session
    await widget.send_json_to({"type": "handoff"})
    await frames_until(widget, lambda f: f["type"] == "queue")
    console, _, _ = await console_for(agent)
    await console.send_json_to({"type": "open", "conversation": public_id, "last_seq": 0})
    transcript = (await frames_until(console, lambda f: f["type"] == "transcript"))[-1]
    assert transcript["notes"] == []

    await console.send_json_to({"type": "note", "conversation": public_id, "text": SECRET, "client_id": "n1"})
    note = (await frames_until(console, lambda f: f["type"] == "note"))[-1]
    assert note["text"] == SECRET and note["author"] == "Sam" and note["conversation"] == public_id
    assert note["after_seq"] == transcript["messages"][-1]["seq"]

    # The widget socket is inspected: not the note, nor its words, in anything it was sent.
    seen = await widget_frames_after_ping(widget)
    assert all(SECRET not in json.dumps(frame) and frame["type"] != "note" for frame in seen)

    # A message after the note: the widget sees no gap in seq (the note took none).
    conversation_id = await database_sync_to_async(Conversation.objects.values_list("pk", flat=True).get)(
        public_id=public_id
    )
    await database_sync_to_async(handoff.conversation_claim)(conversation_id=conversation_id, agent_id=agent.pk)
    joined = (await frames_until(widget, lambda f: f.get("data", {}).get("event") == "agent_joined"))[-1]
    assert joined["seq"] == note["after_seq"] + 1

    # Replay from the start on a fresh widget socket: every seq, once, in order, and no note.
    again = widget_communicator()
    await again.connect()
    await again.send_json_to({"type": "hello", "token": token, "last_seq": 0})
    replay = await frames_until(again, lambda f: f.get("seq") == joined["seq"])
    seqs = [f["seq"] for f in replay if f["type"] == "message"]
    assert seqs == list(range(1, joined["seq"] + 1))
    assert SECRET not in json.dumps(replay)
    await again.disconnect()

    # The console that reconnects gets the note again (by id, whatever its last seq).
    await console.send_json_to({"type": "open", "conversation": public_id, "last_seq": joined["seq"]})
    caught_up = (await frames_until(console, lambda f: f["type"] == "transcript"))[-1]
    assert caught_up["messages"] == [] and [n["id"] for n in caught_up["notes"]] == [note["id"]]
    await console.disconnect()


async def test_a_console_that_has_not_opened_the_chat_does_not_get_its_notes(widget, agent, customer_session):
    public_id, _ = customer_session
    console, _, _ = await console_for(agent)
    conversation_id = await database_sync_to_async(Conversation.objects.values_list("pk", flat=True).get)(
        public_id=public_id
    )
    await database_sync_to_async(note_add)(conversation_id=conversation_id, author_id=agent.pk, text=SECRET)
    await console.send_json_to({"type": "ping"})
    frames = await frames_until(console, lambda f: f["type"] == "pong")
    assert not any(f["type"] == "note" for f in frames)
    await console.disconnect()


def test_notes_are_in_no_customer_path_summary_or_training_export(agent):
    from conversations.services import conversation_open

    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    message_record(conversation_id=conversation.pk, role="customer", text="My order never arrived")
    note, created = note_add(conversation_id=conversation.pk, author_id=agent.pk, text=SECRET, client_id="n1")
    again, created_again = note_add(conversation_id=conversation.pk, author_id=agent.pk, text=SECRET, client_id="n1")
    assert created and not created_again and again.pk == note.pk  # a re-sent note is stored once
    Message.objects.create(
        conversation=conversation, seq=2, role="assistant", text="Let me check that for you.", tier="instant"
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=2, status="closed")
    Rating.objects.create(conversation=conversation, score=5)

    assert Conversation.objects.get(pk=conversation.pk).last_seq == 2  # the note took no seq
    rows = list(Message.objects.filter(conversation=conversation).order_by("seq"))
    example = finetune_example(conversation=conversation, shop="Shop")
    assert example is not None and len(example["messages"]) == 3  # system, the customer, the answer
    paths = {
        "widget replay": json.dumps(selectors.messages_after(conversation_id=conversation.pk, after_seq=0)),
        "summary prompt": _transcript(rows),
        "extractive summary": summary_extractive(messages=rows).text,
        "fine-tuning export": json.dumps(example),
    }
    for path, text in paths.items():
        assert "refund already approved" not in text, path
    staff = console_transcript(public_id=conversation.public_id, after_seq=0)
    assert staff is not None and [n["text"] for n in staff["notes"]] == [SECRET]
    assert InternalNote.objects.filter(conversation=conversation).count() == 1


async def test_bad_notes_are_refused(widget, agent, customer_session):
    public_id, _ = customer_session
    console, _, _ = await console_for(agent)
    for frame, code in [
        ({"type": "note", "conversation": public_id, "text": "  "}, "bad_note"),
        ({"type": "note", "conversation": public_id, "text": "x" * 5000}, "bad_note"),
        ({"type": "note", "conversation": public_id, "text": "ok", "client_id": 5}, "bad_client_id"),
        ({"type": "note", "conversation": "nope", "text": "ok"}, "not_found"),
    ]:
        await console.send_json_to(frame)
        error = (await frames_until(console, lambda f: f["type"] == "error"))[-1]
        assert error["code"] == code
    await asyncio.sleep(0)
    assert await database_sync_to_async(InternalNote.objects.count)() == 0
    await console.disconnect()
