from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import Conversation
from conversations.services import conversation_open, ledger_call_note
from routing.models import LedgerEntry
from routing.providers.base import CallRecord, Usage

# Committed transactions, as the answer path has them (a test transaction would add a savepoint of its own).
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_calls_ledger_note_writes_its_row_and_the_totals_without_a_savepoint() -> None:
    """The gateway notes every call twice (sent, ended) on the answer's path: one transaction each,
    with no savepoint inside it, and the conversation's totals stay the sum of its rows."""
    conversation, _ = conversation_open(origin="https://shop.example")
    call = CallRecord(
        tier="instant",
        model="m",
        provider="openai",
        purpose="answer",
        usage=Usage(input_tokens=0, cached_input_tokens=0, output_tokens=0, estimated=False),
        latency_ms=0,
        time_to_first_token_ms=None,
        outcome="running",
    )
    ended = dataclasses.replace(
        call,
        usage=Usage(input_tokens=120, cached_input_tokens=0, output_tokens=30, estimated=False),
        outcome="ok",
        cost=Decimal("0.0012"),
    )
    with CaptureQueriesContext(connection) as queries:
        ledger_call_note(conversation_id=conversation.pk, attempt="a1", call=call)
        ledger_call_note(conversation_id=conversation.pk, attempt="a1", call=ended)

    assert not [q["sql"] for q in queries.captured_queries if "SAVEPOINT" in q["sql"].upper()]
    row = LedgerEntry.objects.get(call_id=call.call_id)
    assert (row.outcome, row.input_tokens, row.output_tokens, row.attempt) == ("ok", 120, 30, "a1")
    conversation = Conversation.objects.get(pk=conversation.pk)
    assert (conversation.total_input_tokens, conversation.total_output_tokens) == (120, 30)
    assert conversation.total_cost == Decimal("0.0012")
