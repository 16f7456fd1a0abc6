from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from conversations.models import Message
from conversations.services import conversation_open
from helpcentre.models import Article
from routing import cache as answer_cache
from routing.models import LedgerEntry
from tests.conftest import ALLOWED_ORIGIN, frames_until, widget_communicator


@dataclass(frozen=True)
class Line:
    role: str
    text: str


def key(question: str, *, tier: str = "instant", version: str = "3-abc", history=(), **options) -> str | None:
    return answer_cache.answer_cache_key(
        question=question, tier=tier, help_centre_version=version, history=history, **options
    )


# --- keys ---------------------------------------------------------------------------------


def test_case_punctuation_and_stop_words_do_not_change_the_key():
    first = key("How long is the trial?")
    assert first is not None
    assert key("how long is the TRIAL") == key("Hi! How long the trial, please??") == first
    assert key("How long is the warranty?") != first


def test_negation_is_kept():
    assert key("Can I return a used mattress?") != key("Can't I return a used mattress?")


def test_key_includes_the_help_centre_version_and_the_tier():
    question = "What sizes do you make?"
    assert key(question, version="3-abc") != key(question, version="4-def")
    assert key(question, tier="instant") != key(question, tier="thinking")


@pytest.mark.parametrize(
    "question",
    [
        "Where is my order?",
        "When will my mattress order arrive?",
        "I paid twice, can you refund?",
        "Status of order #48213?",
        "order number 1234567 not delivered",
        "Can you check 560001 for delivery?",
        "Email me at sam@example.com",
        "What is my refund status",
    ],
)
def test_questions_about_the_customers_own_order_are_never_cached(question):
    assert key(question) is None


def test_a_follow_up_that_points_back_is_not_cached_but_an_opening_question_is():
    history = [Line("customer", "Tell me about the Ergo mattress"), Line("assistant", "It is firm.")]
    assert key("Does it come in king size?", history=history) is None
    assert key("Does it come in king size?") is not None
    assert key("Do you deliver on Sundays?", history=history) is not None


def test_photos_and_conversations_owned_by_an_agent_are_not_cached():
    assert key("How long is the trial?", has_image=True) is None
    assert key("How long is the trial?", conversation_status="agent") is None
    assert key("How long is the trial?", conversation_status="waiting") is None


def test_small_talk_alone_has_no_key():
    assert key("Hi there, thanks!") is None


# --- the store ------------------------------------------------------------------------------


def test_written_answer_is_read_back_and_a_stale_shape_is_a_miss():
    stored = answer_cache.CachedAnswer(
        text="100 nights.", tier="instant", model="m", cost="0.00100000", duration_ms=900, source_message_id=7
    )
    cache_key = key("How long is the trial?")
    assert answer_cache.answer_cache_write(key=cache_key, answer=stored)
    assert answer_cache.answer_cache_read(key=cache_key) == stored
    from django.core.cache import cache

    cache.set(cache_key, {"text": "old", "unknown_field": 1})
    assert answer_cache.answer_cache_read(key=cache_key) is None
    assert answer_cache.answer_cache_write(key=None, answer=stored) is False


# --- end to end: one model call for two asks, and again after an edit ------------------------

pytest_socket = pytest.mark.django_db(transaction=True)
FAQ = "How long is the trial period?"


def is_answer(frame: dict) -> bool:
    return frame["type"] == "message" and frame["role"] == "assistant"


async def ask(question: str) -> dict:
    """A new visitor asks ``question`` in a conversation of their own; returns the stored answer frame."""
    _, token = await database_sync_to_async(conversation_open)(origin=ALLOWED_ORIGIN)
    widget = widget_communicator()
    connected, _ = await widget.connect()
    assert connected
    await widget.send_json_to({"type": "hello", "token": token, "last_seq": 0})
    await widget.receive_json_from()
    await widget.send_json_to({"type": "message", "text": question, "client_id": "q"})
    answer = (await frames_until(widget, is_answer))[-1]
    await widget.disconnect()
    return answer


def _article_create() -> Article:
    return Article.objects.create(
        key="trial", title="100-night trial", slug="trial", body="Sleep on it for 100 nights.", tags="trial"
    )


def _article_edit() -> None:
    article = Article.objects.get(key="trial")
    article.body = "Sleep on it for 120 nights."
    article.save()


@pytest_socket
async def test_same_faq_twice_makes_one_model_call_and_an_article_edit_makes_the_next_call(llm):
    await database_sync_to_async(_article_create)()

    first = await ask(FAQ)
    assert len(llm.requests) == 1
    second = await ask(FAQ.lower().rstrip("?"))
    assert len(llm.requests) == 1, "the repeat was answered by the model, not the cache"
    assert second["text"] == first["text"] and second["tier"] == first["tier"]

    original = await database_sync_to_async(lambda: Message.objects.filter(role="assistant").order_by("pk").first())()
    hit = await database_sync_to_async(lambda: LedgerEntry.objects.get(outcome=LedgerEntry.Outcome.CACHE_HIT))()
    assert hit.cost == Decimal(0) and hit.input_tokens == hit.output_tokens == 0
    assert original.cost > 0
    hit_message = await database_sync_to_async(Message.objects.get)(pk=hit.message_id)
    assert hit_message.cost == 0
    assert hit_message.data["cache_hit"]["source_message"] == original.pk
    assert Decimal(hit_message.data["cache_hit"]["saved_cost"]) == original.cost

    savings = await database_sync_to_async(answer_cache.cache_savings)()
    assert (savings.hits, savings.cost) == (1, original.cost)

    await database_sync_to_async(_article_edit)()
    await ask(FAQ)
    assert len(llm.requests) == 2, "an edited help centre must not serve the old answer"


@pytest_socket
async def test_questions_about_an_order_always_reach_the_model(llm):
    await ask("Where is my order 4821337?")
    await ask("Where is my order 4821337?")
    assert len(llm.requests) == 2
    assert not await database_sync_to_async(LedgerEntry.objects.filter(outcome="cache_hit").exists)()


def test_ledger_admin_shows_the_money_and_time_the_cache_saved(db, admin_user):
    conversation, _ = conversation_open(origin=ALLOWED_ORIGIN)
    message = Message.objects.create(
        conversation=conversation,
        seq=1,
        role="assistant",
        text="100 nights.",
        data={"cache_hit": {"source_message": 1, "saved_cost": "0.01250000", "saved_ms": 2400}},
    )
    hits = [
        answer_cache.cache_hit_call(
            hit=answer_cache.CachedAnswer(
                text="", tier="instant", model="m", cost="0", duration_ms=0, source_message_id=1
            ),
            latency_ms=3,
        )
        for _ in range(2)
    ]
    from routing.services import ledger_record

    ledger_record(conversation_id=conversation.pk, message_id=message.pk, calls=hits)
    client = Client()
    client.force_login(admin_user)
    page = client.get("/admin/routing/ledgerentry/")
    assert page.status_code == 200
    totals = dict(page.context["totals"])
    assert totals["answers from cache"] == 2
    assert totals["cost saved by the cache"] == Decimal("0.02500000")
    assert totals["time saved by the cache (s)"] == Decimal("4.8")
