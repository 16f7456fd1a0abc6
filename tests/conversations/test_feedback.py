"""Ratings (stored once, only when there is an outcome) and the automatic satisfaction estimate."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from conversations import feedback
from conversations.feedback import (
    RatingRefused,
    TranscriptLine,
    rating_record,
    satisfaction_estimate_update,
    satisfaction_estimates_refresh,
    satisfaction_score,
    satisfaction_signals,
)
from conversations.models import Conversation, Message, Rating
from conversations.services import conversation_open, message_record
from tests.conftest import frames_until


def customer(text: str) -> TranscriptLine:
    return TranscriptLine(role="customer", kind="text", text=text)


def bot(text: str = "Here is how to do that.") -> TranscriptLine:
    return TranscriptLine(role="assistant", kind="text", text=text)


def estimate(*lines: TranscriptLine, finished: bool = True) -> Decimal:
    return satisfaction_score(found=satisfaction_signals(lines=lines, finished=finished))


# --- the estimate, from the transcript alone -----------------------------------------------------


def test_resolved_with_thanks_scores_highest():
    lines = (customer("How do I return a mattress?"), bot(), customer("Thanks, that helped!"), bot("You're welcome!"))
    found = satisfaction_signals(lines=lines, finished=True)
    assert found.thanked and found.resolved_without_handoff and not found.abandoned
    assert estimate(*lines) == Decimal("5.00")


def test_answered_without_follow_up_is_fairly_good():
    assert estimate(customer("Do you deliver on Saturdays?"), bot()) == Decimal("4.00")


def test_not_helped_repeated_and_frustrated_score_low():
    lines = (
        customer("How do I change the firmness of my mattress?"),
        bot(),
        customer("How do I change the firmness of my mattress?"),
        bot(),
        customer("That didn't help, this is useless!!!"),
        bot(),
    )
    found = satisfaction_signals(lines=lines, finished=True)
    assert (found.repeated_questions, found.not_helped, found.frustrated, found.thanked) == (1, 1, True, False)
    assert estimate(*lines) < Decimal("2")


def test_thanks_that_did_not_help_is_not_thanks():
    found = satisfaction_signals(
        lines=(customer("Where is my order?"), bot(), customer("thanks but that didn't help")), finished=True
    )
    assert not found.thanked and found.not_helped == 1


def test_silence_after_an_unanswered_message_is_abandonment_only_once_finished():
    lines = (customer("Can I pay with two cards?"), bot(), customer("and what about"))
    assert satisfaction_signals(lines=lines, finished=True).abandoned
    assert not satisfaction_signals(lines=lines, finished=False).abandoned
    assert estimate(*lines) < estimate(*lines, finished=False)


def test_a_handoff_no_agent_answered_is_abandonment():
    handoff = TranscriptLine(role="system", kind="event", text="Connecting you", event="handoff_requested")
    waiting = (customer("I want a person"), handoff)
    helped = waiting + (TranscriptLine(role="agent", kind="text", text="Hi, Sam here."), customer("thank you!"))
    assert satisfaction_signals(lines=waiting, finished=True).abandoned
    assert not satisfaction_signals(lines=helped, finished=True).abandoned
    assert estimate(*helped) > estimate(*waiting)


def test_the_estimate_stays_on_the_rating_scale():
    worst = (customer("useless!!!"), bot()) + (customer("still not working, useless"), bot()) * 4 + (customer("?"),)
    assert estimate(*worst) == Decimal("1.00")


@pytest.mark.django_db
def test_estimate_is_stored_on_the_conversation():
    conversation, _ = conversation_open(origin="https://shop.example")
    assert satisfaction_estimate_update(conversation_id=conversation.pk) is None  # nothing said yet
    message_record(conversation_id=conversation.pk, role="customer", text="Where is my order?")
    message_record(conversation_id=conversation.pk, role="assistant", text="On its way.")
    message_record(conversation_id=conversation.pk, role="customer", text="Great, thanks!")
    assert satisfaction_estimate_update(conversation_id=conversation.pk) == Decimal("5.00")
    conversation.refresh_from_db()
    assert conversation.satisfaction_estimate == Decimal("5.00")


@pytest.mark.django_db
def test_an_idle_conversation_counts_as_finished():
    conversation, _ = conversation_open(origin="https://shop.example")
    message_record(conversation_id=conversation.pk, role="customer", text="Is the sofa in stock?")
    fresh = satisfaction_estimate_update(conversation_id=conversation.pk)
    Message.objects.update(created_at=timezone.now() - feedback.IDLE_AFTER - timedelta(minutes=1))
    assert satisfaction_estimate_update(conversation_id=conversation.pk) < fresh


# --- ratings ------------------------------------------------------------------------------------


@pytest.fixture
def answered(db) -> Conversation:
    conversation, _ = conversation_open(origin="https://shop.example")
    message_record(conversation_id=conversation.pk, role="customer", text="Where is my order?")
    message_record(conversation_id=conversation.pk, role="assistant", text="On its way.")
    return conversation


@pytest.mark.django_db
def test_no_rating_before_the_bot_answered():
    conversation, _ = conversation_open(origin="https://shop.example")
    with pytest.raises(RatingRefused) as refused:
        rating_record(conversation_id=conversation.pk, score=5)
    assert refused.value.code == "rating_not_open"


def test_rating_is_stored_once_with_an_event_for_every_widget(answered):
    rating = rating_record(conversation_id=answered.pk, score=4, comment="  Quick answer  ")
    assert (rating.score, rating.comment) == (4, "Quick answer")
    with pytest.raises(RatingRefused) as refused:
        rating_record(conversation_id=answered.pk, score=1)
    assert refused.value.code == "already_rated"
    assert Rating.objects.get().score == 4
    event = Message.objects.filter(kind="event").get()
    assert event.data == {"event": "rated", "score": 4}


@pytest.mark.parametrize("score", [0, 6, "5", 4.5, True, None])
def test_bad_scores_are_refused(answered, score):
    with pytest.raises(RatingRefused) as refused:
        rating_record(conversation_id=answered.pk, score=score)
    assert refused.value.code == "bad_rating"
    assert not Rating.objects.exists()


def test_no_rating_while_a_person_is_being_found_but_after_close(answered):
    Conversation.objects.filter(pk=answered.pk).update(status=Conversation.Status.WAITING)
    with pytest.raises(RatingRefused):
        rating_record(conversation_id=answered.pk, score=2)
    Conversation.objects.filter(pk=answered.pk).update(status=Conversation.Status.CLOSED)
    assert rating_record(conversation_id=answered.pk, score=2).score == 2


def test_a_rating_request_opens_rating_with_an_agent(answered):
    Conversation.objects.filter(pk=answered.pk).update(status=Conversation.Status.AGENT)
    with pytest.raises(RatingRefused):
        rating_record(conversation_id=answered.pk, score=3)
    message_record(
        conversation_id=answered.pk, role="system", kind="event", text="Rate us", data={"event": "rating_requested"}
    )
    assert rating_record(conversation_id=answered.pk, score=3).score == 3


def test_refresh_estimates_closed_and_active_conversations_only(answered):
    quiet, _ = conversation_open(origin="https://shop.example")
    message_record(conversation_id=quiet.pk, role="customer", text="Hello?")
    Message.objects.filter(conversation=quiet).update(created_at=timezone.now() - timedelta(days=2))
    Conversation.objects.update(satisfaction_estimate=None)

    assert satisfaction_estimates_refresh(since=timezone.now() - timedelta(hours=1)) == 1
    answered.refresh_from_db()
    quiet.refresh_from_db()
    assert answered.satisfaction_estimate == Decimal("4.00") and quiet.satisfaction_estimate is None


# --- over the widget socket ---------------------------------------------------------------------


def is_answer(frame: dict) -> bool:
    return frame["type"] == "message" and frame["role"] == "assistant"


@pytest.mark.django_db(transaction=True)
async def test_rating_frame_after_an_answer_then_a_second_is_refused(widget, llm):
    await widget.send_json_to({"type": "message", "text": "Where is my order?", "client_id": "c-1"})
    await frames_until(widget, is_answer)
    conversation = await database_sync_to_async(Conversation.objects.get)()
    assert conversation.satisfaction_estimate is not None  # refreshed after the answer was saved

    await widget.send_json_to({"type": "rating", "score": 5, "comment": "Spot on"})
    rated = (await frames_until(widget, lambda f: f["type"] == "message" and f["kind"] == "event"))[-1]
    assert rated["data"] == {"event": "rated", "score": 5}

    await widget.send_json_to({"type": "rating", "score": 1})
    error = await widget.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "already_rated")
    stored = await database_sync_to_async(Rating.objects.get)()
    assert (stored.score, stored.comment) == (5, "Spot on")


@pytest.mark.django_db(transaction=True)
async def test_rating_frame_before_any_answer_is_refused(widget):
    await widget.send_json_to({"type": "rating", "score": 4})
    error = await widget.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "rating_not_open")
    assert not await database_sync_to_async(Rating.objects.exists)()
