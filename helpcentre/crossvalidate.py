"""Cross-validate the fusion weight and the confidence threshold on a labelled train file.

    python -m helpcentre.crossvalidate TRAIN.csv [--out-of-scope OTHER.csv ...]
        [--skip-label LABEL ...] [--grid] [--tfidf-only]

Articles come from the demo folder. Near-duplicate train sentences (same words, or sentence
embeddings closer than ``NEAR_DUPLICATE_COSINE``) share a fold, and each fold's held-out
sentences and their near-duplicates are removed from the articles' phrasings before the
indexes are built, so no question is scored against itself or a copy of it. Out-of-scope
sentences (another bot's train file; ``--skip-label`` drops its intents that this help
centre does cover) only measure abstention. Only train files belong here: a test split is
for ``manage.py evaluate_kb``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from helpcentre.articles import article_parse_markdown
from helpcentre.embeddings import SentenceEncoder, sentence_encoder_get
from helpcentre.fusion import FusionSettings, articles_rank
from helpcentre.index import ArticleIndex, IndexedArticle
from helpcentre.semantic import EmbeddingCache, SemanticIndex
from helpcentre.text import text_normalize

DEMO_FOLDER = Path(__file__).parent / "demo"
# With out-of-scope sentences: the lowest threshold (most answered) that still abstains on this
# share of them; the goal is 0.6, and other bots' questions are easier to refuse than a shop's
# own off-topic messages, hence the margin. Without them: keep this in-scope share answered.
TARGET_ABSTAINED = 0.8
TARGET_ANSWERED = 0.9
PROMPT_FLOOR_SHARE = 0.98  # in-scope share whose best score clears the LLM-prompt floor
NEAR_DUPLICATE_COSINE = 0.9
FOLDS = 5


@dataclass(frozen=True)
class FoldResult:
    in_scope: list[tuple[str, str, float]]  # label, predicted key, score
    out_of_scope_scores: list[float]


@dataclass(frozen=True)
class Corpus:
    articles: list[IndexedArticle]
    rows: list[tuple[str, str]]
    out_of_scope: list[str]
    encoder: SentenceEncoder | None
    cache: EmbeddingCache


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
        return [(row[0], row[1].strip()) for row in itertools.islice(csv.reader(handle), 1, None) if len(row) >= 2]


def _normal(text: str) -> str:
    return " ".join(text_normalize(text=text).split())


def _embeddings(corpus: Corpus, texts: Sequence[str]) -> np.ndarray | None:
    return corpus.cache.vectors_for(texts, encoder=corpus.encoder) if corpus.encoder else None


def near_duplicate_groups(*, corpus: Corpus) -> list[list[int]]:
    """Row numbers grouped so that near-duplicate sentences are never split across folds."""
    sentences = [sentence for sentence, _ in corpus.rows]
    parent = list(range(len(sentences)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    vectors = _embeddings(corpus, sentences)
    similar = vectors @ vectors.T if vectors is not None else None
    for i, j in itertools.combinations(range(len(sentences)), 2):
        if _normal(sentences[i]) == _normal(sentences[j]) or (
            similar is not None and similar[i, j] >= NEAR_DUPLICATE_COSINE
        ):
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(sentences)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def folds_assign(*, groups: list[list[int]], folds: int = FOLDS) -> list[list[int]]:
    """Groups dealt into folds of near-equal size, largest groups first (a fixed shuffle breaks ties)."""
    ordered = groups[:]
    random.Random(7).shuffle(ordered)
    ordered.sort(key=len, reverse=True)
    assigned: list[list[int]] = [[] for _ in range(folds)]
    for group in ordered:
        min(assigned, key=len).extend(group)
    return assigned


def _without(corpus: Corpus, held_out: Sequence[str]) -> list[IndexedArticle]:
    """The articles minus every phrasing equal or near-identical to a held-out sentence."""
    normal = {_normal(sentence) for sentence in held_out}
    held_vectors = _embeddings(corpus, held_out)

    def keep(phrasing: str) -> bool:
        if _normal(phrasing) in normal:
            return False
        vector = _embeddings(corpus, [phrasing])
        return held_vectors is None or vector is None or float((held_vectors @ vector[0]).max()) < NEAR_DUPLICATE_COSINE

    return [replace(a, phrasings=tuple(p for p in a.phrasings if keep(p))) for a in corpus.articles]


def _indexes(corpus: Corpus, articles: list[IndexedArticle]) -> tuple[ArticleIndex, SemanticIndex | None]:
    semantic = None
    if corpus.encoder is not None:
        units = [(a.key, text) for a in articles for text in (a.title, *a.phrasings)]
        semantic = SemanticIndex(units, encoder=corpus.encoder, cache=corpus.cache)
    return ArticleIndex(articles), semantic


def _best(
    index: ArticleIndex, semantic: SemanticIndex | None, query: str, settings: FusionSettings
) -> tuple[str, float]:
    ranked = articles_rank(index=index, semantic=semantic, query=query, limit=1, settings=settings)
    return ranked[0] if ranked else ("", 0.0)


def folds_run(*, corpus: Corpus, folds: list[list[int]], settings_grid: Sequence[FusionSettings]) -> list[FoldResult]:
    """One result per settings in ``settings_grid``; the indexes are built once per fold."""
    in_scope: list[list[tuple[str, str, float]]] = [[] for _ in settings_grid]
    for fold in folds:
        index, semantic = _indexes(corpus, _without(corpus, [corpus.rows[i][0] for i in fold]))
        for i in fold:
            sentence, label = corpus.rows[i]
            for number, settings in enumerate(settings_grid):
                in_scope[number].append((label, *_best(index, semantic, sentence, settings)))
    index, semantic = _indexes(corpus, corpus.articles)
    return [
        FoldResult(
            in_scope=in_scope[number],
            out_of_scope_scores=[_best(index, semantic, s, settings)[1] for s in corpus.out_of_scope],
        )
        for number, settings in enumerate(settings_grid)
    ]


def threshold_for(*, scores: list[float], answered_share: float = TARGET_ANSWERED) -> float:
    ordered = sorted(scores, reverse=True)
    return ordered[min(len(ordered) - 1, int(answered_share * len(ordered)))]


def threshold_choose(*, result: FoldResult) -> float:
    """Maximise the in-scope share answered while abstaining on ``TARGET_ABSTAINED`` of out-of-scope."""
    if not result.out_of_scope_scores:
        return threshold_for(scores=[score for *_, score in result.in_scope])
    ordered = sorted(result.out_of_scope_scores)
    # Just above the score of the last sentence that must be refused.
    return ordered[min(len(ordered) - 1, int(TARGET_ABSTAINED * len(ordered)))]


def result_summary(*, result: FoldResult, threshold: float) -> dict[str, float]:
    rows = result.in_scope
    return {
        "in_scope_top1": sum(label == key for label, key, _ in rows) / len(rows),
        "in_scope_answered": sum(score >= threshold for *_, score in rows) / len(rows),
        "out_of_scope_abstained": sum(s < threshold for s in result.out_of_scope_scores)
        / max(1, len(result.out_of_scope_scores)),
        "threshold": threshold,
        "prompt_floor": threshold_for(scores=[score for *_, score in rows], answered_share=PROMPT_FLOOR_SHARE),
    }


def corpus_load(
    *, train: Path, out_of_scope: Sequence[Path], skip_labels: set[str], embeddings: bool, cache_dir: Path | None = None
) -> Corpus:
    return Corpus(
        articles=demo_articles_load(),
        rows=labelled_rows_load(path=train),
        out_of_scope=[
            s for path in out_of_scope for s, label in labelled_rows_load(path=path) if label not in skip_labels
        ],
        encoder=sentence_encoder_get() if embeddings else None,
        cache=EmbeddingCache(cache_dir),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("--out-of-scope", type=Path, action="append", default=[])
    parser.add_argument("--skip-label", action="append", default=[], help="an out-of-scope file's label to leave out")
    parser.add_argument("--grid", action="store_true", help="try several fusion weights")
    parser.add_argument("--cache-dir", type=Path, help="keep sentence embeddings here between runs")
    parser.add_argument("--tfidf-only", action="store_true", help="as if the embedding model were not installed")
    args = parser.parse_args(argv)
    corpus = corpus_load(
        train=args.train,
        out_of_scope=args.out_of_scope,
        skip_labels=set(args.skip_label),
        embeddings=not args.tfidf_only,
        cache_dir=args.cache_dir,
    )
    groups = near_duplicate_groups(corpus=corpus)
    print(f"{len(corpus.rows)} train sentences in {len(groups)} near-duplicate groups")
    print(f"{len(corpus.out_of_scope)} out-of-scope sentences")
    weights = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0) if args.grid else (FusionSettings().semantic_weight,)
    grid = [FusionSettings(semantic_weight=w) for w in weights]
    for settings, result in zip(
        grid, folds_run(corpus=corpus, folds=folds_assign(groups=groups), settings_grid=grid), strict=True
    ):
        summary = result_summary(result=result, threshold=threshold_choose(result=result))
        label = "tfidf only" if corpus.encoder is None else f"semantic_weight={settings.semantic_weight}"
        print(label, {k: round(v, 3) for k, v in summary.items()}, flush=True)


if __name__ == "__main__":
    main()
