"""Route every message of a labelled CSV and report how the router did.

Columns: ``text,label``, optionally ``category`` (per-category recall is reported) and
``previous`` (a two-turn case: the customer's earlier message, routed first).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.classifier import classifier_load, labelled_messages_read
from routing.router_eval import evaluation_format, router_evaluate
from routing.tiers import default_catalogue


class Command(BaseCommand):
    help = (
        "Per-class precision/recall, per-category recall, confusion matrix, tier share and cost against all-Thinking "
        "for a labelled CSV (text,label[,category][,previous])."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file",
            type=Path,
            help="CSV with columns text,label (mini, instant, thinking, human), optionally category and previous",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
        parser.add_argument("--rules-only", action="store_true", help="ignore the trained classifier")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            rows = labelled_messages_read(path=path)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise CommandError(str(error)) from error
        if not rows:
            raise CommandError(f"{path}: no rows to evaluate")
        classifier = None if options["rules_only"] else classifier_load()
        evaluation = router_evaluate(rows=rows, catalogue=default_catalogue(), classifier=classifier)
        if options["json"]:
            self.stdout.write(json.dumps(evaluation.as_json()))
        else:
            router = "rules + classifier" if classifier else "rules only"
            self.stdout.write(f"router: {router}\n{evaluation_format(evaluation)}")
