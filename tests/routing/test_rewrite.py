"""The model path's follow-up rewrite, through the real widget socket and a real local model server."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from conversations.models import Conversation, Message
from helpcentre.models import Article
from helpcentre.services import demo_helpcentre_load
from routing.models import LedgerEntry
from routing.rewrite import REWRITE_INSTRUCTION, rewrite_request
from tests.conftest import frames_until

pytestmark = pytest.mark.django_db(transaction=True)


def is_answer(frame: dict) -> bool:
    return frame["type"] == "message" and frame["role"] == "assistant"


async def ask(widget, text: str, client_id: str) -> dict:
    await widget.send_json_to({"type": "message", "text": text, "client_id": client_id})
    return (await frames_until(widget, is_answer, timeout=15))[-1]


def rewrites(server) -> list[dict]:
    return [
        request.body for request in server.requests if request.body["messages"][0]["content"] == REWRITE_INSTRUCTION
    ]


def ledger_by_purpose() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for purpose, tier in LedgerEntry.objects.values_list("purpose", "tier").order_by("id"):
        rows.setdefault(purpose, []).append(tier)
    return rows


async def test_a_follow_up_is_rewritten_by_mini_for_retrieval_and_the_call_is_in_the_ledger(widget, llm, settings):
    settings.SUPPORTBOT_MODELS = {**settings.SUPPORTBOT_MODELS, "mini": "test-mini"}
    await database_sync_to_async(demo_helpcentre_load)()
    await ask(widget, "How much does the Ergo mattress cost?", "q1")
    assert rewrites(llm) == []  # the first question stands alone: no rewrite

    llm.text = "How much does the Ergo mattress cost in Queen size, 8 inch?"
    await ask(widget, "and for the queen in 8 inch?", "q2")
    (rewrite,) = rewrites(llm)
    assert rewrite["model"] == "test-mini"
    turns = json.loads(rewrite["messages"][1]["content"])
    assert turns[-1] == {"role": "customer", "text": "and for the queen in 8 inch?"}
    assert turns[0] == {"role": "customer", "text": "How much does the Ergo mattress cost?"}
    # The answer's prompt holds the passages found for the rewritten question.
    answer_prompt = llm.requests[-1].body["messages"][0]["content"]
    assert "Help-centre passages:" in answer_prompt and "(none found" not in answer_prompt

    rows = await database_sync_to_async(ledger_by_purpose)()
    assert rows["rewrite"] == ["mini"] and rows["answer"] == ["instant", "instant"]
    conversation = await database_sync_to_async(Conversation.objects.get)()
    ledger_sum = await database_sync_to_async(
        lambda: sum((row.cost for row in LedgerEntry.objects.all()), Decimal(0))
    )()
    assert conversation.total_cost == ledger_sum > 0


async def test_a_new_question_after_an_answer_is_not_rewritten(widget, llm):
    await database_sync_to_async(demo_helpcentre_load)()
    await ask(widget, "How much does the Ergo mattress cost?", "q1")
    await ask(widget, "How long is the 100-night trial?", "q2")
    assert rewrites(llm) == []
    assert "rewrite" not in await database_sync_to_async(ledger_by_purpose)()


async def test_a_question_from_an_article_page_is_rewritten_with_that_article_and_its_passage_leads(widget, llm):
    await database_sync_to_async(demo_helpcentre_load)()
    llm.text = "How long does a LiftBase firmware update take?"
    await widget.send_json_to(
        {"type": "message", "text": "how long does it take?", "client_id": "q1", "article": "LIFTBASE_FIRMWARE_UPDATE"}
    )
    await frames_until(widget, is_answer, timeout=15)

    (rewrite,) = rewrites(llm)  # alone the question means nothing: read with the article, it is a follow-up
    turns = json.loads(rewrite["messages"][1]["content"])
    assert "LiftBase: updating the firmware" in turns[-2]["text"] and turns[-2]["role"] == "assistant"
    assert turns[-1] == {"role": "customer", "text": "how long does it take?"}
    answer_prompt = llm.requests[-1].body["messages"][0]["content"]
    first_passage = answer_prompt.split("--- ", 1)[1]
    assert first_passage.startswith("[LiftBase: updating the firmware](/help/liftbase-firmware-update/)")


async def test_a_spanish_question_is_rewritten_in_english_and_answered_in_spanish_citing_the_spanish_article(
    widget, llm, settings
):
    settings.SUPPORTBOT_MODELS = {**settings.SUPPORTBOT_MODELS, "mini": "test-mini"}
    await database_sync_to_async(demo_helpcentre_load)()
    english, spanish = await database_sync_to_async(
        lambda: [Article.objects.get(key="RETURN_EXCHANGE", language=code).url for code in ("en", "es")]
    )()
    # The local server gives every call this text: as the rewrite, an English question; as the
    # answer, one that links the English article.
    llm.text = f"How do I return the mattress and get a refund? [Returns]({english})"
    answer = await ask(widget, "¿Cómo devuelvo el colchón y cuánto tarda el reembolso?", "q1")

    (rewrite,) = [
        request.body
        for request in llm.requests
        if request.body["messages"][0]["content"].startswith("Rewrite the customer's last message, written in Spanish")
    ]
    assert "as one short question in English" in rewrite["messages"][0]["content"]
    assert rewrite["model"] == "test-mini"
    prompt = llm.requests[-1].body["messages"][0]["content"]
    assert "answer in Spanish" in prompt
    assert f"]({spanish})" in prompt and f"]({english})" in prompt
    assert prompt.index(f"]({spanish})") < prompt.index(f"]({english})")
    assert [citation["url"] for citation in answer["citations"]] == [spanish]
    stored = await database_sync_to_async(lambda: Message.objects.get(role="assistant").citations)()
    assert [citation["url"] for citation in stored] == [spanish]
    rows = await database_sync_to_async(ledger_by_purpose)()
    assert rows["rewrite"] == ["mini"]


async def test_an_english_question_asks_for_no_language_and_stands_alone_without_a_rewrite(widget, llm):
    await database_sync_to_async(demo_helpcentre_load)()
    await ask(widget, "How do I return the mattress and get a refund?", "q1")
    assert rewrites(llm) == [] and len(llm.requests) == 1
    assert "answer in" not in llm.requests[-1].body["messages"][0]["content"]


def test_the_rewrite_names_the_customer_language_and_the_shop_language(settings):
    settings.LANGUAGE_CODE = "en"
    request = rewrite_request(question="गद्दा कैसे लौटाऊं?", history=[], language="hi")
    assert request.messages[0]["content"].startswith(
        "Rewrite the customer's last message, written in Hindi, as one short question in English"
    )
    assert rewrite_request(question="q", history=[]).messages[0]["content"] == REWRITE_INSTRUCTION
