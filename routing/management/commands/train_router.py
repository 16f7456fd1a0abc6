"""Train the router's complexity classifier into a small JSON model file.

Two kinds of training data: labels derived from public datasets (``router_train.csv``)
and support messages written for this project (``written_train.csv``), which weigh more
because they carry the kinds of complexity the derived labels lack. Settings,
calibration and the Thinking threshold are chosen on the two development splits
(``router_dev.csv``, ``written_dev.csv``); the final weights are then fitted on training
and development rows together (``--no-refit`` keeps the training rows only). The
held-out splits are never read here.
Two-turn rows (with a ``previous`` message) are left out: their label depends on the
conversation, which the router's escalation handles, not the classifier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.classifier import (
    DEFAULT_MODEL_PATH,
    DevSet,
    LabelledMessage,
    classifier_save,
    classifier_train,
    labelled_messages_read,
)
from routing.router import rule_complexity

DATA = Path(__file__).resolve().parents[2] / "data"
DEFAULT_TRAINING_FILE = DATA / "router_train.csv"


class Command(BaseCommand):
    help = (
        "Train the router's complexity classifier (needs scikit-learn); settings and the Thinking threshold are "
        "chosen on the development splits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", type=Path, default=DEFAULT_TRAINING_FILE, help="derived labels to train on")
        parser.add_argument("--written", type=Path, default=DATA / "written_train.csv", help="written messages")
        parser.add_argument("--written-weight", type=float, default=4.0, help="weight of a written training row")
        parser.add_argument("--dev", type=Path, default=DATA / "router_dev.csv", help="derived development split")
        parser.add_argument("--written-dev", type=Path, default=DATA / "written_dev.csv", help="written dev split")
        parser.add_argument(
            "--dev-recall", type=float, default=0.93, help="Thinking recall the threshold must reach on --dev"
        )
        parser.add_argument(
            "--written-dev-recall",
            type=float,
            default=0.95,
            help="Thinking recall the threshold must reach on --written-dev",
        )
        parser.add_argument(
            "--no-refit", action="store_true", help="keep the model fitted on training rows only (dev stays unseen)"
        )
        parser.add_argument("--output", type=Path, default=DEFAULT_MODEL_PATH, help="where to write the model")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            derived = _single_turn(labelled_messages_read(path=options["data"]))
            written = _single_turn(labelled_messages_read(path=options["written"]))
            dev = [
                DevSet("derived", _single_turn(labelled_messages_read(path=options["dev"])), options["dev_recall"]),
                DevSet(
                    "written",
                    _single_turn(labelled_messages_read(path=options["written_dev"])),
                    options["written_dev_recall"],
                    weight=options["written_weight"],
                ),
            ]
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        weights = [1.0] * len(derived) + [options["written_weight"]] * len(written)
        try:
            classifier, report = classifier_train(
                rows=derived + written,
                dev=dev,
                weights=weights,
                rule_label=_rule_label,
                refit_with_dev=not options["no_refit"],
            )
        except ImportError as error:
            raise CommandError("training needs scikit-learn: pip install scikit-learn") from error
        classifier_save(classifier=classifier, path=options["output"])
        self.stdout.write(
            f"trained on {report.rows} rows ({len(derived)} derived, {len(written)} written x "
            f"{options['written_weight']:g}), {report.features} n-grams + {report.signal_features} named features, "
            f"C={report.regularisation:g}, feature scale {report.signal_scale:g}\n"
            f"calibration: temperature {report.temperature:.3f}, dev log loss {report.dev_log_loss[0]:.4f} -> "
            f"{report.dev_log_loss[1]:.4f}\n"
            f"thinking threshold {report.thinking_threshold:.4f}\n"
            f"dev recall (rules + classifier, before the refit): {report.dev_recall}\n"
            f"final weights fitted on {'training + dev' if report.refitted else 'training'} rows\n"
            f"wrote {options['output']} ({options['output'].stat().st_size} bytes)"
        )


def _single_turn(rows: list[LabelledMessage]) -> list[tuple[str, str]]:
    return [(row.text, row.label) for row in rows if not row.previous]


def _rule_label(text: str) -> str | None:
    ruled = rule_complexity(text)
    return ruled[0] if ruled else None
