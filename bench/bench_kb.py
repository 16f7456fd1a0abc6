"""Help-centre answers on a labelled CSV, written to the ``kb-eval`` section of docs/benchmarks.md.

    python -m bench.bench_kb ../data/hint3/test/sofmattress_test.csv

The figures come from the same evaluation as ``manage.py evaluate_kb FILE --json``, which prints
them without touching the documentation.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bench.report import REPORT, section_write


def kb_report_write(*, path: Path, destination: Path = REPORT) -> dict[str, object]:
    """Evaluate the help centre on ``path`` and write its section; returns the figures."""
    from helpcentre.evaluation import (
        evaluation_file_shown,
        evaluation_report_markdown,
        knowledge_evaluate,
        labelled_questions_read,
    )
    from helpcentre.models import Article
    from helpcentre.services import demo_helpcentre_load

    if not Article.objects.exists():
        demo_helpcentre_load()
    keys = set(Article.objects.filter(published=True).values_list("key", flat=True))
    report = knowledge_evaluate(questions=labelled_questions_read(path=path, known_keys=keys))
    section_write(
        "kb-eval",
        title="Help-centre answers on HINT3 SOFMattress",
        command=f"python -m bench.bench_kb {evaluation_file_shown(path)}",
        body=evaluation_report_markdown(report=report, path=path),
        path=destination,
    )
    return report.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportbot.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(kb_report_write(path=args.file)))


if __name__ == "__main__":
    main()
