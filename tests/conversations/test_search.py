"""Console search over conversations and messages, in the database's full text (FTS5 or tsvector)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from conversations.console.search import conversation_search, search_words, snippet
from conversations.console.services import conversation_tag_set, note_add
from conversations.models import Conversation, ConversationTag
from conversations.services import conversation_open, message_record
from tests.conftest import frames_until
from tests.conversations.test_console import console_for


def chat(*texts: str) -> Conversation:
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    for text in texts:
        message_record(conversation_id=conversation.pk, role="customer", text=text)
    return conversation


def found(query: str, **kwargs) -> list[str]:
    return [result["conversation"] for result in conversation_search(query=query, **kwargs)["results"]]


@pytest.mark.django_db
def test_every_word_must_match_the_last_as_a_prefix_newest_first(agent):
    old = chat("My LiftBase shows error E21", "The remote is dead too")
    new = chat("Error E21 again on my liftbase")
    other = chat("Where is my delivery?")
    assert found("liftbase e21") == [new.public_id, old.public_id]
    assert found("dead remo") == [old.public_id]  # "remo" as a prefix of "remote"
    assert found("liftbase remote") == []  # one message must have every word
    assert found("liftbase delivery") == []
    assert found("deliveries") == [other.public_id]  # stemmed: deliveries ~ delivery
    result = conversation_search(query="remote dead")["results"][0]
    assert result["match"]["seq"] == 2 and result["match"]["role"] == "customer"
    assert result["match"]["text"] == "The remote is dead too"


@pytest.mark.django_db
def test_a_conversation_is_listed_once_with_its_newest_match(agent):
    conversation = chat("refund please", "still waiting for my refund", "refund refund")
    results = conversation_search(query="refund")["results"]
    assert [r["conversation"] for r in results] == [conversation.public_id]
    assert results[0]["match"]["seq"] == 3


@pytest.mark.django_db
def test_the_tag_filter_and_a_conversations_id(agent):
    tagged, untagged = chat("refund for a damaged base"), chat("refund for my pillow")
    vip = ConversationTag.objects.create(name="vip")
    conversation_tag_set(conversation_id=tagged.pk, tag_id=vip.pk, on=True)
    assert found("refund", tag_id=vip.pk) == [tagged.public_id]
    assert found("", tag_id=vip.pk) == [tagged.public_id]  # the tag alone lists its conversations
    assert found("") == []
    assert found(untagged.public_id[:10]) == [untagged.public_id]
    assert conversation_search(query="refund")["results"][0]["tags"] == []
    assert conversation_search(query="damaged")["results"][0]["tags"] == [vip.pk]


@pytest.mark.django_db
def test_notes_are_not_searched_and_query_syntax_is_only_words(agent):
    conversation = chat("The base beeps three times")
    note_add(conversation_id=conversation.pk, author_id=agent.pk, text="escalate to the warehouse manager")
    assert found("warehouse") == []
    for hostile in ['"', "beeps OR x", "beeps*", "-beeps", "beeps:*", "beeps & !x", "NEAR(beeps)", "(", "'"]:
        conversation_search(query=hostile)  # never a database error
    assert found('"beeps" *') == [conversation.public_id]
    assert search_words("Beeps, BEEPS! three-times ") == ["beeps", "three", "times"]


def test_a_snippet_is_cut_around_the_first_word_found():
    text = "word " * 60 + "the control box clicks " + "word " * 60
    shown = snippet(text, ["control"])
    assert "control box clicks" in shown and shown.startswith("…") and shown.endswith("…") and len(shown) <= 162
    assert snippet("short text", ["x"]) == "short text"


@pytest.mark.django_db(transaction=True)
async def test_the_console_searches_over_its_socket(agent, customer_session):
    conversation = await database_sync_to_async(chat)("The seam of my mattress tore")
    console, _, _ = await console_for(agent)
    await console.send_json_to({"type": "search", "query": "seam tore", "tag": None})
    results = (await frames_until(console, lambda f: f["type"] == "search_results"))[-1]
    assert results["query"] == "seam tore" and [r["conversation"] for r in results["results"]] == [
        conversation.public_id
    ]
    for frame in ({"type": "search", "query": "x" * 201}, {"type": "search", "query": "x", "tag": "vip"}):
        await console.send_json_to(frame)
        assert (await frames_until(console, lambda f: f["type"] == "error"))[-1]["code"] == "bad_search"
    await console.disconnect()
