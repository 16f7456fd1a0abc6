"""Answering on the model path, through the real widget socket and a real local model server."""

from __future__ import annotations

import asyncio
import logging

import pytest
from channels.db import database_sync_to_async

from conversations.models import Message
from helpcentre.services import demo_helpcentre_load
from tests.conftest import frames_until

pytestmark = pytest.mark.django_db(transaction=True)

TRIAL_LINK = "[The 100-night sleep trial](/help/100-night-trial/)"
FOREIGN = "[claim a refund here](https://refunds.example/claim) or https://refunds.example/now"


def is_answer(frame: dict) -> bool:
    return frame["type"] == "message" and frame["role"] == "assistant"


async def test_a_models_links_to_its_passages_become_citations_and_no_other_link_is_kept(widget, llm, caplog):
    await database_sync_to_async(demo_helpcentre_load)()
    llm.text = f"You have 100 nights to try it, see {TRIAL_LINK}. Or {FOREIGN}."
    await widget.send_json_to({"type": "message", "text": "How long is the trial?", "client_id": "q"})
    answer = (await frames_until(widget, is_answer, timeout=15))[-1]

    prompt = llm.requests[-1].body["messages"][0]["content"]
    assert "(/help/100-night-trial/)" in prompt  # the passage was in the prompt
    assert answer["citations"] == [
        {"key": "100_NIGHT_TRIAL_OFFER", "title": "The 100-night sleep trial", "url": "/help/100-night-trial/"}
    ]
    assert TRIAL_LINK in answer["text"]
    assert "refunds.example" not in answer["text"] and "claim a refund here" in answer["text"]
    stored = await database_sync_to_async(Message.objects.get)(role="assistant")
    assert stored.text == answer["text"] and stored.citations == answer["citations"]
    assert "ungrounded" not in caplog.text


async def test_an_answer_that_cites_none_of_its_passages_is_logged_as_ungrounded(widget, llm, caplog):
    await database_sync_to_async(demo_helpcentre_load)()
    llm.text = "Our trial lasts a while; ask us anything."
    caplog.set_level(logging.WARNING, logger="conversations.answering")
    await widget.send_json_to({"type": "message", "text": "How long is the trial?", "client_id": "q"})
    answer = (await frames_until(widget, is_answer, timeout=15))[-1]
    assert answer["citations"] == []
    [line] = [record.getMessage() for record in caplog.records if "ungrounded" in record.getMessage()]
    assert "passages given, none cited" in line


async def test_reasoning_before_a_bare_closing_tag_is_taken_back_from_the_draft_and_never_stored(widget, llm):
    # A model served with "<think>" in its prompt (DeepSeek-R1 templates) streams its reasoning, then "</think>".
    llm.text = (
        "Okay, the customer asks about the trial. SECRET_REASONING I should answer.\n</think>\n\n"
        "Our trial lasts 100 nights."
    )
    await widget.send_json_to({"type": "message", "text": "How long is the trial?", "client_id": "q"})
    frames = await frames_until(widget, is_answer, timeout=15)

    # The draft as docs/protocol.md tells a client to keep it: a second typing frame starts it over.
    draft: list[str] = []
    typing = 0
    for frame in frames:
        if frame["type"] == "typing":
            typing += 1
            draft.clear()
        elif frame["type"] == "token" and frame["i"] == len(draft) + 1:
            draft.append(frame["text"])
    answer = frames[-1]
    assert typing == 2  # the reasoning was shown, then taken back
    assert "".join(draft) == answer["text"] == "Our trial lasts 100 nights."
    stored = await database_sync_to_async(Message.objects.get)(role="assistant")
    assert stored.text == "Our trial lasts 100 nights." and "outcome" not in (stored.data or {})


def _third_token_frame_fails(monkeypatch) -> None:
    """A bug on the token path: building the answer's third token frame raises."""
    from conversations import answering

    built = []
    real_frame_token = answering.frame_token

    def frame_token_failing_third(**fields):
        built.append(fields)
        if len(built) == 3:
            raise RuntimeError("a bug on the token path")
        return real_frame_token(**fields)

    monkeypatch.setattr(answering, "frame_token", frame_token_failing_third)


async def test_a_failure_while_the_answer_streams_still_leaves_the_customer_an_answer(widget, llm, monkeypatch):
    """A bug on the way (here: building the third token's frame fails) ends the answer as incomplete,
    with the text shown so far; the customer is never left waiting for an answer that never comes."""
    from conversations import answering

    _third_token_frame_fails(monkeypatch)
    await widget.send_json_to({"type": "message", "text": "Where is my parcel?", "client_id": "q"})
    frames = await frames_until(widget, is_answer, timeout=15)

    shown = "".join(frame["text"] for frame in frames if frame["type"] == "token")
    answer = frames[-1]
    assert shown and answer["text"].startswith(shown) and answer["text"] != llm.text
    assert answering.INCOMPLETE_TEXT in answer["text"]
    stored = await database_sync_to_async(Message.objects.get)(role="assistant")
    assert stored.text == answer["text"] and stored.data == {"outcome": "incomplete"}


async def test_an_answer_whose_ledger_rows_cannot_be_stored_is_stored_without_them(widget, llm, monkeypatch, caplog):
    from django.db import IntegrityError

    from conversations import services
    from routing.models import LedgerEntry

    real_ledger_record = services.ledger_record

    def ledger_record_refusing_the_answers_rows(**fields):
        if fields["message_id"] is not None and fields["calls"]:
            raise IntegrityError("CHECK constraint failed: input_tokens")
        return real_ledger_record(**fields)

    monkeypatch.setattr(services, "ledger_record", ledger_record_refusing_the_answers_rows)
    await widget.send_json_to({"type": "message", "text": "Where is my parcel?", "client_id": "q"})
    answer = (await frames_until(widget, is_answer, timeout=15))[-1]

    assert answer["text"] == llm.text
    assert "saving the answer" in caplog.text and "without its ledger rows" in caplog.text
    rows = await database_sync_to_async(lambda: list(LedgerEntry.objects.values_list("outcome", "message_id")))()
    # The call's row, written by the gateway as the call went and ended, stays: the ledger loses nothing.
    assert rows == [("ok", None)]


async def test_a_failure_before_the_model_is_asked_still_answers_with_the_apology(widget, llm, monkeypatch):
    from conversations import answering, turns

    def plan_failing(**fields):
        raise RuntimeError("a bug while planning the turn")

    monkeypatch.setattr(turns, "turn_plan_make", plan_failing)
    await widget.send_json_to({"type": "message", "text": "Where is my parcel?", "client_id": "q"})
    answer = (await frames_until(widget, is_answer, timeout=15))[-1]

    assert answer["text"] == answering.UNAVAILABLE_TEXT and answer["reply_to"] == 1
    assert llm.requests == []
    stored = await database_sync_to_async(Message.objects.get)(role="assistant")
    assert stored.data == {"outcome": "unavailable"} and stored.tier == ""


SLOW_ANSWER = "Your parcel is on its way. " * 100  # 400 chunks 10 ms apart: four seconds, were it left to run


async def _answer_calls_once_ended() -> list[tuple[str, int]]:
    """The answer's ledger rows (outcome, output tokens), once none is still running (at most 5 s)."""
    from routing.models import LedgerEntry

    def rows() -> list[tuple[str, int]]:
        return list(LedgerEntry.objects.filter(purpose="answer").values_list("outcome", "output_tokens"))

    found = await database_sync_to_async(rows)()
    for _ in range(100):
        if found and all(outcome != "running" for outcome, _ in found):
            break
        await asyncio.sleep(0.05)
        found = await database_sync_to_async(rows)()
    return found


async def test_a_handoff_while_the_answer_streams_stops_the_model_call_and_stores_no_draft(widget, llm, monkeypatch):
    """The draft of a conversation that left the bot is void: its model call is closed at the next
    token (recorded as stopped, with what it produced), not left to stream to its end."""
    from conversations import tasks
    from conversations.models import Conversation

    # The handoff's worker tasks are only queued: run inline (eager) here, the summary would ask the
    # same slow model on the socket's database thread, which a worker process never does.
    queued: list[str] = []
    monkeypatch.setattr(tasks, "task_enqueue", lambda task, **kwargs: queued.append(task.name))
    llm.text, llm.chunks, llm.interval_ms = SLOW_ANSWER, 400, 10
    await widget.send_json_to({"type": "message", "text": "Where is my parcel?", "client_id": "q"})
    await frames_until(widget, lambda frame: frame["type"] == "token", timeout=15)
    await widget.send_json_to({"type": "handoff"})
    await frames_until(widget, lambda frame: (frame.get("data") or {}).get("status") == "waiting", timeout=5)

    [(outcome, output_tokens)] = await _answer_calls_once_ended()
    assert outcome == "stopped" and output_tokens > 0
    assert await database_sync_to_async(Message.objects.filter(role="assistant").count)() == 0
    status = await database_sync_to_async(lambda: Conversation.objects.get().status)()
    assert status == Conversation.Status.WAITING and "conversations.summary_make" in queued


async def test_a_takeover_no_socket_here_heard_stops_the_answer_at_its_next_lease_renewal(widget, llm, monkeypatch):
    """The customer's socket is gone (or on another process) when a person takes over: the answer's
    lease renewal finds the conversation has left the bot and stops its model call all the same."""
    from conversations import answering, handoff, tasks
    from conversations.models import Conversation

    monkeypatch.setattr(answering, "LEASE_RENEW_S", 0.1)
    monkeypatch.setattr(tasks, "task_enqueue", lambda task, **kwargs: None)  # see the test above
    llm.text, llm.chunks, llm.interval_ms = SLOW_ANSWER, 400, 10
    await widget.send_json_to({"type": "message", "text": "Where is my parcel?", "client_id": "q"})
    await frames_until(widget, lambda frame: frame["type"] == "token", timeout=15)
    await widget.disconnect()
    conversation_id = await database_sync_to_async(lambda: Conversation.objects.get().pk)()
    await database_sync_to_async(handoff.handoff_request)(
        conversation_id=conversation_id, reason="agent console", trigger="button"
    )

    assert [outcome for outcome, _ in await _answer_calls_once_ended()] == ["stopped"]
    assert await database_sync_to_async(Message.objects.filter(role="assistant").count)() == 0


SPANISH_QUESTION = "¿Dónde está mi paquete? Lo pedí hace una semana y todavía no ha llegado."


async def test_the_apology_is_written_in_the_language_the_customer_asked_in(widget, llm, monkeypatch):
    from conversations import answering, turns

    def plan_failing(**fields):
        raise RuntimeError("a bug while planning the turn")

    monkeypatch.setattr(turns, "turn_plan_make", plan_failing)
    await widget.send_json_to({"type": "message", "text": SPANISH_QUESTION, "client_id": "q"})
    answer = (await frames_until(widget, is_answer, timeout=15))[-1]

    assert answer["text"].startswith("Lo siento, ahora no puedo responder")
    assert answer["text"] != answering.UNAVAILABLE_TEXT


async def test_the_line_under_a_cut_off_answer_is_in_the_customers_language(widget, llm, monkeypatch):
    from conversations import answering

    _third_token_frame_fails(monkeypatch)
    await widget.send_json_to({"type": "message", "text": SPANISH_QUESTION, "client_id": "q"})
    answer = (await frames_until(widget, is_answer, timeout=15))[-1]

    assert answer["text"].endswith(
        "(Esta respuesta se cortó porque nuestro asistente dejó de estar disponible. "
        "Puedes volver a preguntar en un momento o pedir hablar con una persona.)"
    )
    assert answering.INCOMPLETE_TEXT not in answer["text"] and answer["outcome"] == "incomplete"
