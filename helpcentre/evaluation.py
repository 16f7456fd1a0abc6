"""Measuring the help centre against labelled questions (``manage.py evaluate_kb``)."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from helpcentre.retrieval import (
    confidence_threshold,
    knowledge_index_get,
    language_answer_confirmed,
    question_language,
    search_articles,
)

OUT_OF_SCOPE_LABEL = "NO_NODES_DETECTED"
HINT3_ATTRIBUTION = (
    "HINT3 v2 (hellohaptik/HINT3; Arora et al., *HINT3: Raising the bar for Intent Detection in the Wild*, "
    "EMNLP Insights 2020), ODbL 1.0 / DbCL 1.0. The test split never goes into the engine: fusion weight and "
    "threshold come from `python -m helpcentre.crossvalidate` on the train split (how, and the one "
    "change of threshold rule made after a first test measurement: helpcentre/README.md)."
)


class EvaluationInputError(ValueError):
    pass


@dataclass(frozen=True)
class LabelledQuestion:
    line: int
    sentence: str
    label: str
    language: str = ""  # the optional ``language`` column: searched as a question in that language


@dataclass
class EvaluationReport:
    in_scope: int = 0
    in_scope_correct: int = 0
    in_scope_answered: int = 0
    out_of_scope: int = 0
    out_of_scope_abstained: int = 0
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    language: str = ""
    # With a language column: one report per language (the figures above are over all rows).
    languages: dict[str, EvaluationReport] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        figures: dict[str, object] = {
            "in_scope_top1": _share(self.in_scope_correct, self.in_scope),
            "in_scope_answered": _share(self.in_scope_answered, self.in_scope),
            "out_of_scope_abstained": _share(self.out_of_scope_abstained, self.out_of_scope),
            "in_scope_count": self.in_scope,
            "out_of_scope_count": self.out_of_scope,
            "threshold": confidence_threshold(self.language or None),
        }
        if self.languages:
            figures["languages"] = {code: report.as_dict() for code, report in sorted(self.languages.items())}
        return figures

    def add(self, *, question: LabelledQuestion, key: str | None, answered: bool) -> None:
        if question.label == OUT_OF_SCOPE_LABEL:
            self.out_of_scope += 1
            self.out_of_scope_abstained += not answered
            return
        self.in_scope += 1
        self.in_scope_answered += answered
        if key == question.label:
            self.in_scope_correct += 1
        else:
            self.errors[question.label][key or "(nothing)"] += 1


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def labelled_questions_read(*, path: Path, known_keys: Collection[str]) -> list[LabelledQuestion]:
    """Rows ``sentence,label`` after a header row, with an optional ``language`` column (other
    columns are ignored); raises on the first bad line, naming it."""
    questions = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise EvaluationInputError(f"{path.name}: the file is empty")
        columns = [column.strip().lower() for column in header]
        if columns[:2] != ["sentence", "label"]:
            raise EvaluationInputError(f"{path.name}:1: expected the header 'sentence,label'")
        language_column = columns.index("language") if "language" in columns else None
        line = reader.line_num + 1
        for row in reader:
            question = _question(row, line=line, known_keys=known_keys, name=path.name, width=len(columns))
            if language_column is not None:
                question = replace(question, language=row[language_column].strip())
            questions.append(question)
            line = reader.line_num + 1
    return questions


def _question(row: list[str], *, line: int, known_keys: Collection[str], name: str, width: int = 2) -> LabelledQuestion:
    if len(row) != width or not row[0].strip() or not row[1].strip():
        columns = "'sentence,label'" if width == 2 else f"{width} columns, 'sentence,label' non-empty"
        raise EvaluationInputError(f"{name}:{line}: expected {columns}, got {row!r}")
    label = row[1].strip()
    if label != OUT_OF_SCOPE_LABEL and label not in known_keys:
        raise EvaluationInputError(f"{name}:{line}: label {label!r} is not an article key nor {OUT_OF_SCOPE_LABEL}")
    return LabelledQuestion(line=line, sentence=row[0].strip(), label=label)


def knowledge_evaluate(*, questions: Sequence[LabelledQuestion]) -> EvaluationReport:
    """Top-1 accuracy regardless of the threshold; answering and abstaining against it.

    A question with a language is searched as one in that language, against that language's
    threshold, and counted in its language's report too; a little under the threshold it is answered
    as the offline engine answers it (``retrieval.language_answer_confirmed``).
    """
    report = EvaluationReport()
    for question in questions:
        language = question_language(question.sentence, question.language or None)
        passages = search_articles(question.sentence, limit=2, language=language)
        key, score = (passages[0].key, passages[0].score) if passages else (None, 0.0)
        answered = score >= confidence_threshold(language) or language_answer_confirmed(
            question.sentence, passages, language=language
        )
        report.add(question=question, key=key, answered=answered)
        if question.language:
            by_language = report.languages.setdefault(question.language, EvaluationReport(language=question.language))
            by_language.add(question=question, key=key, answered=answered)
    return report


def evaluation_report_markdown(*, report: EvaluationReport, path: Path) -> str:
    """The figures as the Markdown body of the ``kb-eval`` section (``python -m bench.bench_kb`` writes it)."""
    figures = report.as_dict()
    semantic = knowledge_index_get().semantic is not None
    mode = "TF-IDF fused with all-MiniLM-L6-v2 sentence embeddings" if semantic else "TF-IDF only (no embedding model)"
    return "\n".join(
        [
            f"{evaluation_file_shown(path)}: {report.in_scope} in-scope and {report.out_of_scope} out-of-scope "
            f"messages; retrieval: {mode}; confidence threshold {figures['threshold']}.",
            "",
            "| measure | value | goal |",
            "|---|---:|---:|",
            f"| in_scope_top1 | {figures['in_scope_top1']} | ≥ 0.80 |",
            f"| in_scope_answered | {figures['in_scope_answered']} | ≥ 0.85 |",
            f"| out_of_scope_abstained | {figures['out_of_scope_abstained']} | ≥ 0.60 |",
            "",
            HINT3_ATTRIBUTION,
        ]
    )


def evaluation_file_shown(path: Path) -> str:
    """The file as the report names it: its last two folders and name, never a machine's path."""
    return f"{path.parent.parent.name}/{path.parent.name}/{path.name}"
