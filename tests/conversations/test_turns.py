from __future__ import annotations

import pytest

from conversations import handoff, turns
from conversations.models import Conversation, Message
from conversations.services import conversation_open, message_record
from conversations.turns import TurnAction
from routing.types import RouteDecision, TierName

Status = Conversation.Status


@pytest.fixture
def conversation(db) -> Conversation:
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    return conversation


def status_of(conversation: Conversation) -> str:
    return Conversation.objects.values_list("status", flat=True).get(pk=conversation.pk)


def customer_turn(conversation: Conversation, text: str) -> bool:
    """The customer writes ``text`` and the bot takes its turn; True when it would now stream an answer."""
    question, _ = message_record(conversation_id=conversation.pk, role="customer", text=text)
    conversation.refresh_from_db()
    return turns.turn_take(turns.turn_plan_make(conversation=conversation, question=question))


def test_a_closed_conversation_never_re_enters_the_queue(conversation, agent):
    message_record(conversation_id=conversation.pk, role="customer", text="My LiftBase shows E04")
    handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent.pk)
    handoff.conversation_close(conversation_id=conversation.pk, agent_id=agent.pk)
    customer_turn(conversation, "I want to talk to a person")
    for _ in range(3):
        turns.turn_after_answer(conversation_id=conversation.pk, abstained=True, signals=(), tier="instant")
    assert status_of(conversation) == Status.CLOSED


def test_the_request_in_words_hands_off_at_once(conversation):
    assert not customer_turn(conversation, "I want to talk to a person please")
    assert status_of(conversation) == Status.WAITING
    event = Message.objects.get(conversation=conversation, data__event="handoff_requested")
    assert event.data["trigger"] == "asked" and event.data["position"] == 1


def test_the_engine_unsure_twice_in_a_row_hands_off(conversation):
    assert not turns.turn_after_answer(conversation_id=conversation.pk, abstained=True, signals=(), tier="instant")
    assert not turns.turn_after_answer(conversation_id=conversation.pk, abstained=False, signals=(), tier="instant")
    assert not turns.turn_after_answer(conversation_id=conversation.pk, abstained=True, signals=(), tier="instant")
    assert status_of(conversation) == Status.BOT  # a good answer in between reset the count
    assert turns.turn_after_answer(conversation_id=conversation.pk, abstained=True, signals=(), tier="instant")
    assert status_of(conversation) == Status.WAITING
    assert Message.objects.get(conversation=conversation, data__event="handoff_requested").data["trigger"] == "unsure"


@pytest.mark.parametrize(
    ("signal", "first", "again"),
    [
        ("repeated_question", "how do I pair the remote with the base", "how do I pair the remote with the base"),
        ("not_helped", "that didn't help at all", "that still didn't help"),
        ("frustration", "this is useless, nothing works", "this is ridiculous, still useless"),
    ],
)
def test_router_signals_twice_hand_off_before_the_bot_answers_again(conversation, signal, first, again):
    message_record(conversation_id=conversation.pk, role="customer", text="how do I pair the remote with the base")
    assert customer_turn(conversation, first)  # the first miss: the bot still answers
    assert Conversation.objects.get(pk=conversation.pk).bot_misses == 1
    assert not customer_turn(conversation, again)
    assert status_of(conversation) == Status.WAITING
    assert Message.objects.get(conversation=conversation, data__event="handoff_requested").data["trigger"] == "misses"


def _decision(*, handoff: bool = False, signals: tuple[str, ...] = ()) -> RouteDecision:
    return RouteDecision(tier=TierName.INSTANT, reason="routed", handoff=handoff, signals=signals)


@pytest.mark.parametrize(
    ("kwargs", "action"),
    [
        (dict(decision=_decision(handoff=True), has_image=True, model_configured=False), TurnAction.PHOTO_TO_PERSON),
        (dict(decision=_decision(signals=("image_unreadable",)), has_image=True), TurnAction.PHOTO_TO_PERSON),
        (dict(decision=_decision(handoff=True), refusal="daily budget"), TurnAction.HAND_OFF),
        (dict(decision=_decision(signals=("not_helped",)), bot_misses=1, refusal="daily budget"), TurnAction.HAND_OFF),
        (dict(decision=_decision(signals=("not_helped",)), refusal="daily budget"), TurnAction.REFUSE),
        (dict(decision=_decision(signals=("not_helped",))), TurnAction.ANSWER),
        (dict(decision=_decision(), has_image=True), TurnAction.ANSWER),
    ],
)
def test_one_action_per_turn_in_order_of_precedence(kwargs, action):
    arguments = dict(bot_misses=0, has_image=False, model_configured=True, refusal="") | kwargs
    assert turns.turn_action(**arguments)[0] == action


@pytest.mark.parametrize(("window", "summarised"), [(400, True), (10**6, False)])
def test_after_an_answer_the_window_of_the_planned_catalogue_decides_the_summary(
    conversation, django_capture_on_commit_callbacks, window, summarised
):
    from dataclasses import replace

    from conversations.models import Summary
    from routing.tiers import default_catalogue

    for index in range(12):
        message_record(conversation_id=conversation.pk, role="customer", text=f"Detail number {index}: " + "word " * 60)
    catalogue = default_catalogue()
    catalogue[TierName.INSTANT] = replace(catalogue[TierName.INSTANT], context_window=window)
    with django_capture_on_commit_callbacks(execute=False):
        turns.turn_after_answer(
            conversation_id=conversation.pk, abstained=False, signals=(), tier="instant", catalogue=catalogue
        )
    assert Summary.objects.filter(conversation=conversation, purpose="context").exists() is summarised


def test_planning_a_turn_reads_the_history_in_one_query_however_long_it_is(conversation):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def plan_queries() -> int:
        question, _ = message_record(conversation_id=conversation.pk, role="customer", text="what is the warranty?")
        conversation.refresh_from_db()
        with CaptureQueriesContext(connection) as queries:
            turns.turn_plan_make(conversation=conversation, question=question)
        return len(queries.captured_queries)

    def answer(text: str) -> None:
        message, _ = message_record(conversation_id=conversation.pk, role="assistant", text=text)
        Message.objects.filter(pk=message.pk).update(citations=[{"key": "WARRANTY", "title": "Warranty"}])

    answer("Ten years.")
    plan_queries()  # the first plan also fills the process's caches (tier table, help-centre index)
    short = plan_queries()
    for index in range(8):
        message_record(conversation_id=conversation.pk, role="customer", text=f"and the base {index}?")
        answer("Five years.")
    # Each earlier answer's citations come with the history's one query (they were fetched one by one).
    assert plan_queries() == short
