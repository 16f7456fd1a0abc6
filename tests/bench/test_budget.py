"""The daily-spend benchmark measures both reads on a ledger of the size asked, and they agree."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bench.bench_budget import measure, table
from routing.budgets import daily_spent
from routing.models import LedgerEntry


@pytest.mark.django_db
def test_both_reads_are_timed_on_a_ledger_of_each_size():
    results = measure(sizes=[40, 90], iterations=5, tag="bench-test")

    assert list(results) == [40, 90]
    assert {name: len(values) for name, values in results[90].items()} == {"sum": 5, "row": 5, "state": 5}
    assert LedgerEntry.objects.filter(attempt="bench-test").count() == 90
    assert daily_spent() == Decimal("0.00123456") * 90
    assert "| 90 | the day's kept row" in table(results)
