"""Cross-validate the index settings and the confidence threshold on a labelled train file.

    python -m routing.knowledge.crossvalidate TRAIN.csv [--out-of-scope OTHER.csv ...]

Articles come from the demo folder. Each fold's held-out sentences are removed from the
articles' phrasings before the index is built, so no sentence is ever scored against
itself. Out-of-scope sentences (for example another shop's train file) only measure
abstention. Only train files belong here: a test split is for ``manage.py evaluate_kb``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from routing.knowledge.articles import article_parse_markdown
from routing.knowledge.index import ArticleIndex, IndexedArticle, IndexSettings
from routing.knowledge.text import text_normalize

DEMO_FOLDER = Path(__file__).parent / "demo"
TARGET_ANSWERED = 0.9  # the in-scope share the threshold keeps, with margin over the 0.85 goal


@dataclass(frozen=True)
class FoldResult:
    in_scope: list[tuple[str, str, float]]  # label, predicted key, score
    out_of_scope_scores: list[float]


def demo_articles_load(*, folder: Path = DEMO_FOLDER) -> list[IndexedArticle]:
    articles = []
    for path in sorted(folder.glob("*.md")):
        if path.name == "README.md":
            continue
        data = article_parse_markdown(text=path.read_text(encoding="utf-8"), source=path.name)
        articles.append(
            IndexedArticle(
                key=data.key, title=data.title, url="", body=data.body, tags=data.tags, phrasings=data.phrasings
            )
        )
    return articles


def labelled_rows_load(*, path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row[0], row[1]) for row in itertools.islice(csv.reader(handle), 1, None) if len(row) >= 2]


def _without(articles: list[IndexedArticle], held_out: set[str]) -> list[IndexedArticle]:
    def keep(phrasing: str) -> bool:
        return " ".join(text_normalize(text=phrasing).split()) not in held_out

    return [replace(a, phrasings=tuple(p for p in a.phrasings if keep(p))) for a in articles]


def folds_run(
    *,
    articles: list[IndexedArticle],
    rows: list[tuple[str, str]],
    out_of_scope: Sequence[str],
    settings: IndexSettings,
    folds: int = 5,
) -> FoldResult:
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    in_scope: list[tuple[str, str, float]] = []
    for fold in range(folds):
        test = shuffled[fold::folds]
        held_out = {" ".join(text_normalize(text=sentence).split()) for sentence, _ in test}
        index = ArticleIndex(_without(articles, held_out), settings=settings)
        for sentence, label in test:
            matches = index.search(sentence, limit=1)
            in_scope.append((label, matches[0].key if matches else "", matches[0].score if matches else 0.0))
    full = ArticleIndex(articles, settings=settings)
    oos_scores = [matches[0].score if matches else 0.0 for matches in (full.search(s, limit=1) for s in out_of_scope)]
    return FoldResult(in_scope=in_scope, out_of_scope_scores=oos_scores)


def threshold_for(*, scores: list[float], answered_share: float = TARGET_ANSWERED) -> float:
    ordered = sorted(scores, reverse=True)
    return ordered[min(len(ordered) - 1, int(answered_share * len(ordered)))]


def result_summary(*, result: FoldResult, threshold: float) -> dict[str, float]:
    rows = result.in_scope
    return {
        "in_scope_top1": sum(label == key for label, key, _ in rows) / len(rows),
        "in_scope_answered": sum(score >= threshold for *_, score in rows) / len(rows),
        "out_of_scope_abstained": sum(s < threshold for s in result.out_of_scope_scores)
        / max(1, len(result.out_of_scope_scores)),
        "threshold": threshold,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("--out-of-scope", type=Path, action="append", default=[])
    parser.add_argument("--grid", action="store_true", help="try a small grid of settings")
    args = parser.parse_args(argv)
    articles = demo_articles_load()
    rows = labelled_rows_load(path=args.train)
    oos = [s for path in args.out_of_scope for s, _ in labelled_rows_load(path=path)]
    candidates = [IndexSettings()]
    if args.grid:
        candidates = [
            IndexSettings(word_share=w, title_weight=t, section_weight=sec, tags_weight=tg, second_unit_bonus=b)
            for w in (0.3, 0.5, 0.7)
            for t in (0.8, 1.0)
            for sec in (0.6, 0.8)
            for tg in (0.6, 0.8)
            for b in (0.0, 0.15)
        ]
    for settings in candidates:
        result = folds_run(articles=articles, rows=rows, out_of_scope=oos, settings=settings)
        threshold = threshold_for(scores=[score for *_, score in result.in_scope])
        summary = result_summary(result=result, threshold=threshold)
        print(settings, {k: round(v, 3) for k, v in summary.items()}, flush=True)


if __name__ == "__main__":
    main()
