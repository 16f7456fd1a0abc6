from __future__ import annotations

from dataclasses import dataclass

import pytest

from helpcentre.composer import compose_answer, conversation_topic
from helpcentre.conversation import history_turns


@dataclass
class StoredMessage:
    role: str
    text: str
    citations: list


def test_history_may_be_strings_mappings_or_stored_messages() -> None:
    turns = history_turns(
        [
            "how much is the ergo?",
            {"role": "assistant", "content": "Prices…", "citations": [{"key": "MATTRESS_COST"}]},
            StoredMessage(role="customer", text="and the queen?", citations=[]),
            {"role": "bot", "text": "Queen…", "cited_keys": ["MATTRESS_COST"]},
        ]
    )
    assert [(t.role, t.text, t.cited_keys) for t in turns] == [
        ("customer", "how much is the ergo?", ()),
        ("assistant", "Prices…", ("MATTRESS_COST",)),
        ("customer", "and the queen?", ()),
        ("assistant", "Queen…", ("MATTRESS_COST",)),
    ]


@pytest.mark.django_db
def test_the_topic_is_rebuilt_from_the_customers_messages(demo_helpcentre) -> None:
    assert conversation_topic(history=[]).key is None
    assert conversation_topic(history=["how much is the ergo?"]).key == "MATTRESS_COST"
    # Small talk and an off-topic message keep it.
    assert conversation_topic(history=["how much is the ergo?", "thanks", "what's the weather?"]).key == "MATTRESS_COST"


@pytest.mark.django_db
def test_an_answer_that_cited_another_article_moves_the_topic_there(demo_helpcentre) -> None:
    history = ["how much is the ergo?", {"role": "assistant", "text": "…", "citations": [{"key": "WARRANTY"}]}]
    assert conversation_topic(history=history).key == "WARRANTY"
    answer = compose_answer("and how do I claim?", history=history)
    assert answer.top_key == "WARRANTY" and "photos" in answer.text
