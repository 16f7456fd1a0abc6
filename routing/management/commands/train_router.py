"""Train the router's complexity classifier from a ``text,label`` CSV into a small JSON model file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.classifier import DEFAULT_MODEL_PATH, classifier_save, classifier_train, labelled_rows_read

DEFAULT_TRAINING_FILE = Path(__file__).resolve().parents[2] / "data" / "router_train.csv"


class Command(BaseCommand):
    help = (
        "Train the router's complexity classifier (needs scikit-learn); tuned by cross-validation on the training file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", type=Path, default=DEFAULT_TRAINING_FILE, help="CSV with columns text,label")
        parser.add_argument("--output", type=Path, default=DEFAULT_MODEL_PATH, help="where to write the model")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rows = labelled_rows_read(path=options["data"])
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        try:
            classifier, report = classifier_train(rows=rows)
        except ImportError as error:
            raise CommandError("training needs scikit-learn: pip install scikit-learn") from error
        classifier_save(classifier=classifier, path=options["output"])
        self.stdout.write(
            f"trained on {report.rows} rows, {report.features} features, C={report.regularisation}, "
            f"thinking threshold {report.thinking_threshold:.3f}\n"
            f"cross-validated recall: {report.cross_validated_recall}\n"
            f"wrote {options['output']} ({options['output'].stat().st_size} bytes)"
        )
