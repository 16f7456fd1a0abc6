from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpcentre.management.commands._progress import ProgressBar
from helpcentre.services import ArticleImportError, articles_import


class Command(BaseCommand):
    help = (
        "Import help-centre articles from a folder of Markdown files (front matter + body) or a CSV file. "
        "All or nothing: any bad file or row means nothing is imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="Folder of .md files, one .md file, or a .csv file")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        try:
            result = articles_import(path=path, progress=ProgressBar(stream=self.stderr))
        except ArticleImportError as error:
            for message in error.errors:
                self.stderr.write(f"  {message}")
            raise CommandError(f"Nothing imported: {len(error.errors)} problem(s) found.") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported: {result.created} created, {result.updated} updated, {result.unchanged} unchanged."
            )
        )
