"""Answering on the model path, through the real widget socket and a real local model server."""

from __future__ import annotations

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
