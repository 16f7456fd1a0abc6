"""A conversation an agent has taken, with an answer, its ledger rows and a rating; and tokens to read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client

from conversations import handoff
from conversations.api.tokens import api_token_create
from conversations.models import Conversation, Message, Rating
from conversations.services import conversation_open, message_record
from routing.models import LedgerEntry


@dataclass
class World:
    conversation: Conversation
    answer: Message

    @property
    def public_id(self) -> str:
        return self.conversation.public_id


@pytest.fixture
def world(db, agent) -> World:
    """A chat the agent claimed: question, answer (with two ledger rows), handoff, the agent joined; rated."""
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    message_record(conversation_id=conversation.pk, role="customer", text="Where is my order 1042?", client_id="c1")
    answer, _ = message_record(conversation_id=conversation.pk, role="assistant", text="Let me find a person.")
    for tier, cost in (("instant", "0.00120000"), ("thinking", "0.00340000")):
        LedgerEntry.objects.create(
            call_id=f"{tier:0<32}",
            conversation=conversation,
            message=answer,
            purpose="answer",
            tier=tier,
            model=f"gpt-5.5-{tier}",
            provider="openai",
            input_tokens=100,
            output_tokens=20,
            cost=Decimal(cost),
            outcome="ok",
        )
    handoff.handoff_request(conversation_id=conversation.pk, reason="asked for a person", trigger="button")
    handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent.pk)
    Rating.objects.create(conversation=conversation, score=4, comment="Quick")
    conversation.refresh_from_db()
    return World(conversation=conversation, answer=answer)


@pytest.fixture
def token_for(agent) -> Callable[..., str]:
    """A raw API token with these scopes, acting as ``user`` (the agent by default)."""

    def make(*scopes: str, user=None) -> str:
        _, raw = api_token_create(user_id=(user or agent).pk, name="test", scopes=scopes)
        return raw

    return make


def api(client: Client, method: str, path: str, token: str | None = None, **body) -> object:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(path, body, **headers)
    return client.post(path, body, content_type="application/json", **headers)
