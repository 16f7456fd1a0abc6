"""The day's spend read before every answer: one kept row, against summing the day's ledger rows.

    python -m bench.bench_budget [--rows 1000,10000,50000] [--iterations 300]

Every answer checks the daily budget before its model request (the spend limits and the router's
caps). The day's spend used to be summed from the ledger, a row per upstream call, so the check
grew with the day's traffic; it is now read from the day's ``DailySpend`` row, kept in the same
transaction as every ledger write. For each size the ledger is filled with that many of today's
calls (through ``bulk_create``, then the day's row rebuilt), and the two reads are timed in
alternation on the same database: the former sum (``ledger_spent(since=start of today)``) and the
kept row (``daily_spent()``), with ``budget_state`` (all an answer reads for the caps) beside them.
SQLite in a temporary directory by default; ``DATABASE_URL`` points it at PostgreSQL (the rows it
adds are deleted at the end).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

LABELS = {
    "sum": "sum of today's ledger rows (before)",
    "row": "the day's kept row (`daily_spent`)",
    "state": "`budget_state`: everything the caps read",
}


def django_start(*, workdir: Path) -> None:
    os.environ.update(
        SUPPORTBOT_DATA_DIR=str(workdir),
        SECRET_KEY="bench-secret-key-that-is-long-enough-0123456789",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="supportbot.settings",
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def timed_ms(action: Callable[[], object]) -> float:
    started = time.perf_counter_ns()
    action()
    return (time.perf_counter_ns() - started) / 1e6


def percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def ledger_fill(*, rows: int, tag: str) -> None:
    """Today's ledger up to ``rows`` calls of this run, and the day's total summed again."""
    from routing.models import LedgerEntry
    from routing.services import daily_spend_rebuild

    have = LedgerEntry.objects.filter(attempt=tag).count()
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                call_id=uuid.uuid4().hex,
                attempt=tag,
                purpose="answer",
                tier="instant",
                model="bench",
                provider="bench",
                input_tokens=900,
                output_tokens=120,
                cost=Decimal("0.00123456"),
                outcome="ok",
            )
            for _ in range(max(0, rows - have))
        ],
        batch_size=2000,
    )
    daily_spend_rebuild()


def measure(*, sizes: list[int], iterations: int, tag: str) -> dict[int, dict[str, list[float]]]:
    from routing.budgets import budget_state, daily_spent, day_bounds, ledger_spent

    start, _ = day_bounds()
    results: dict[int, dict[str, list[float]]] = {}
    for rows in sizes:
        ledger_fill(rows=rows, tag=tag)
        assert ledger_spent(since=start) == daily_spent(), "the kept row must equal the sum it replaces"
        reads: dict[str, Callable[[], object]] = {
            "sum": lambda: ledger_spent(since=start),
            "row": daily_spent,
            "state": lambda: budget_state(conversation_id=None, conversation_spent=Decimal("0")),
        }
        for read in reads.values():  # warm the connection and the statement caches
            for _ in range(20):
                read()
        samples: dict[str, list[float]] = {name: [] for name in reads}
        for _ in range(iterations):
            for name, read in reads.items():
                samples[name].append(timed_ms(read))
        results[rows] = samples
    return results


def table(results: dict[int, dict[str, list[float]]]) -> str:
    lines = [
        "| today's ledger rows | read | reads | p50 ms | p99 ms |",
        "|---:|---|---:|---:|---:|",
    ]
    for rows, samples in results.items():
        for name, values in samples.items():
            lines.append(
                f"| {rows:,} | {LABELS[name]} | {len(values)} | {percentile(values, 50):.3f} | "
                f"{percentile(values, 99):.3f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000,10000,50000", help="today's ledger sizes, comma-separated")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.rows.split(","))
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="supportbot-bench-") as directory:
        django_start(workdir=Path(directory))
        from django.db import connection

        from routing.models import LedgerEntry
        from routing.services import daily_spend_rebuild

        try:
            results = measure(sizes=sizes, iterations=args.iterations, tag=tag)
        finally:
            LedgerEntry.objects.filter(attempt=tag).delete()
            daily_spend_rebuild()
        vendor = connection.vendor
    body = "\n".join(
        [
            f"Database: {vendor}. Each size: {args.iterations} reads of each kind, in alternation, after 20 "
            "unmeasured ones; the ledger holds only today's calls of this run. Every answer makes one daily-spend "
            "read before its model request, on the process's database thread, where every other conversation's "
            "database work waits behind it.",
            "",
            table(results),
        ]
    )
    print(body)
    if not args.no_report:
        from bench.report import section_write

        section_write(
            "budget",
            title="The day's spend read before every answer",
            command=f"python -m bench.bench_budget --rows {args.rows} --iterations {args.iterations}",
            body=body,
        )


if __name__ == "__main__":
    main()
