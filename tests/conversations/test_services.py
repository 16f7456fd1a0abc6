from __future__ import annotations

import dataclasses
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations import contact_reasons
from conversations.models import Conversation
from conversations.services import answer_record, conversation_open, ledger_call_note, message_record
from routing.budgets import daily_spent
from routing.models import DailySpend, LedgerEntry
from routing.providers.base import Usage
from tests.conftest import ledger_call

# Committed transactions, as the answer path has them (a test transaction would add a savepoint of its own).
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_calls_ledger_note_writes_its_row_and_the_totals_without_a_savepoint() -> None:
    """The gateway notes every call twice (sent, ended) on the answer's path: one transaction each,
    with no savepoint inside it, and the conversation's totals stay the sum of its rows."""
    conversation, _ = conversation_open(origin="https://shop.example")
    call = ledger_call()
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


def test_the_days_spend_stays_the_sum_of_its_ledger_rows_through_the_answer_path() -> None:
    """Every writer of ledger rows (the call noted as sent and as ended, the answer's save, a batch call
    that belongs to no conversation) adds to the day's spend in the same transaction, exactly once."""
    conversation, _ = conversation_open(origin="https://shop.example")
    question, _ = message_record(conversation_id=conversation.pk, role="customer", text="How long is the trial?")
    call = ledger_call(cost="0.0001")  # the prompt's estimate while it runs
    ended = dataclasses.replace(call, outcome="ok", cost=Decimal("0.0012"))
    ledger_call_note(conversation_id=conversation.pk, attempt="a1", call=call)
    ledger_call_note(conversation_id=conversation.pk, attempt="a1", call=ended)
    answer_record(
        conversation_id=conversation.pk,
        reply_to_seq=question.seq,
        text="100 nights.",
        tier="instant",
        model="m",
        route_reason="",
        calls=[ended],
    )
    tagging = dataclasses.replace(call, purpose="tagging", outcome="ok", cost=Decimal("0.0003"), call_id="t1")
    contact_reasons._ledger_write(calls=[tagging], attempt="batch")

    ledger_sum = LedgerEntry.objects.aggregate(total=Sum("cost"))["total"]
    assert ledger_sum == Decimal("0.0015")
    assert DailySpend.objects.get(day=timezone.localdate()).cost == ledger_sum
    assert daily_spent() == ledger_sum


def test_concurrent_writers_of_the_first_calls_of_a_day_count_each_call_once() -> None:
    """Four writers race for the day's first row, then keep writing calls of two conversations at once."""
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL; SQLite serialises them (see the test above)")
    conversations = [conversation_open(origin="https://shop.example")[0] for _ in range(2)]
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            barrier.wait()
            for index in range(20):
                call = ledger_call(cost="0.0001")
                conversation_id = conversations[(worker + index) % 2].pk
                ledger_call_note(conversation_id=conversation_id, attempt=f"w{worker}", call=call)
                ended = dataclasses.replace(call, outcome="ok", cost=Decimal("0.00125"))
                ledger_call_note(conversation_id=conversation_id, attempt=f"w{worker}", call=ended)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert LedgerEntry.objects.count() == 80
    assert DailySpend.objects.get(day=timezone.localdate()).cost == Decimal("0.00125") * 80
    totals = sum((Conversation.objects.get(pk=c.pk).total_cost for c in conversations), Decimal("0"))
    assert totals == Decimal("0.00125") * 80
