from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpcentre.evaluation import (
    EvaluationInputError,
    EvaluationReport,
    knowledge_evaluate,
    labelled_questions_read,
)
from helpcentre.models import Article
from helpcentre.services import demo_helpcentre_load


class Command(BaseCommand):
    help = (
        "Measure the help centre on a CSV 'sentence,label' (label: an article key, or NO_NODES_DETECTED for "
        "out of scope), with an optional 'language' column: each question is then searched in its language "
        "and the figures are given per language too. Loads the demo help centre first if there are no articles."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        if not Article.objects.exists():
            demo_helpcentre_load()
        keys = set(Article.objects.filter(published=True).values_list("key", flat=True))
        try:
            questions = labelled_questions_read(path=path, known_keys=keys)
        except (EvaluationInputError, UnicodeDecodeError) as error:
            raise CommandError(str(error)) from error
        report = knowledge_evaluate(questions=questions)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
        else:
            self._print(report)

    def _print(self, report: EvaluationReport) -> None:
        for name, value in report.as_dict().items():
            if name != "languages":
                self.stdout.write(f"{name:24} {value}")
        for language, by_language in sorted(report.languages.items()):
            self.stdout.write(f"\nLanguage {language}:")
            for name, value in by_language.as_dict().items():
                self.stdout.write(f"  {name:22} {value}")
        if report.errors:
            self.stdout.write("\nIn-scope errors (label: wrong top article x count):")
        for label, wrong in sorted(report.errors.items(), key=lambda item: -sum(item[1].values())):
            details = ", ".join(f"{key} x{count}" for key, count in wrong.most_common())
            self.stdout.write(f"  {label} ({sum(wrong.values())}): {details}")
