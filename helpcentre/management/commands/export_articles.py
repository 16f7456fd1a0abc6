from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from helpcentre.services import articles_export


class Command(BaseCommand):
    help = (
        "Export every help-centre article as a folder of Markdown files or one CSV file (import_articles reads both)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="Folder (md) or file (csv) to write")
        parser.add_argument("--format", choices=("md", "csv"), default="md")

    def handle(self, *args: Any, **options: Any) -> None:
        count = articles_export(path=options["path"], file_format=options["format"])
        self.stdout.write(self.style.SUCCESS(f"Exported {count} article(s) to {options['path']}."))
