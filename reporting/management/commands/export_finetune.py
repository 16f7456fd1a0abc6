"""Write good, resolved conversations as Chat Completions fine-tuning JSONL, then validate the file.

python manage.py export_finetune --output train.jsonl --min-rating 4 --since 2026-01-01
python manage.py export_finetune --validate train.jsonl
"""

from __future__ import annotations

import argparse
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from reporting.finetune import DEFAULT_MIN_ESTIMATE, DEFAULT_MIN_RATING, finetune_export, finetune_validate


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-01-31") from None


def _estimate(value: str) -> Decimal:
    try:
        estimate = Decimal(value)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not Decimal(1) <= estimate <= Decimal(5):
        raise argparse.ArgumentTypeError("the estimate threshold is between 1 and 5")
    return estimate


class Command(BaseCommand):
    help = (
        "Export good resolved conversations as fine-tuning JSONL (PII redacted, agent names removed) and validate it."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--output", type=Path, help="Where to write the JSONL file.")
        parser.add_argument("--min-rating", type=int, default=DEFAULT_MIN_RATING, choices=range(1, 6))
        parser.add_argument(
            "--min-estimate", type=_estimate, default=DEFAULT_MIN_ESTIMATE, help="For unrated conversations."
        )
        parser.add_argument("--since", type=_day, help="First day (inclusive), YYYY-MM-DD.")
        parser.add_argument("--until", type=_day, help="Last day (inclusive), YYYY-MM-DD.")
        parser.add_argument("--validate", type=Path, metavar="FILE", help="Only validate an existing JSONL file.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["validate"] or options["output"]
        if path is None:
            raise CommandError("Give --output FILE to export, or --validate FILE to check a file.")
        if options["validate"] is None:
            with path.open("w", encoding="utf-8") as out:
                result = finetune_export(
                    out=out,
                    shop=settings.SUPPORTBOT_SHOP_NAME,
                    min_rating=options["min_rating"],
                    min_estimate=options["min_estimate"],
                    since=options["since"],
                    until=options["until"],
                )
            self.stdout.write(
                f"Wrote {result.written} conversations to {path} ({result.skipped} without a complete exchange)."
            )
        with path.open(encoding="utf-8") as lines:
            report = finetune_validate(lines=lines)
        for number, problem in report.rejected:
            self.stderr.write(f"line {number}: {problem}")
        self.stdout.write(report.summary())
        if report.rejected:
            raise CommandError(f"{len(report.rejected)} malformed lines")
