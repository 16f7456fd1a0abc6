"""Help-centre retrieval latency over 10,000 synthetic articles.

Run with ``python -m bench.bench_retrieval``; prints a markdown table and writes it to the
``retrieval`` section of docs/benchmarks.md. The articles go into a temporary SQLite database
(FTS5 triggers included) built by the real migrations and import service; queries are
phrasings with typos and dropped words, body sentences, and out-of-scope text. The target is
a p99 of at most 20 ms for ``search_articles``. With the embedding model installed the first
run encodes every title and phrasing (minutes); the vectors are cached on disk by text
under ``SUPPORTBOT_DATA_DIR/embeddings``, so later runs index in seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.report import section_write

TOPIC_WORDS = (
    "mattress pillow base remote app bluetooth motor firmware delivery order refund warranty trial size foam cover"
    " invoice payment emi cod pincode courier pickup exchange discount coupon store dealer frame slat headboard"
    " battery outlet adapter light sensor error reset pairing update account password address schedule"
).split()
TARGET_P99_MS = 20.0
MATRIX_ONLY_QUERIES = 200  # within the index's query-vector cache (256)
FILLER_WORDS = "the a my your can how do does what is when where why to for with on in of and not it this".split()


def _word_pool(rng: random.Random, size: int) -> list[str]:
    # Invented words stand for product names and jargon; with the topic words they give a
    # long-tailed vocabulary like a real help centre's.
    letters = "abcdefghiklmnoprstuvw"
    invented = {"".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(size)}
    return TOPIC_WORDS + sorted(invented)


def _sentence(rng: random.Random, pool: list[str], words: int) -> str:
    # Zipf-like draw: early pool entries (the topic words) are far more common than the tail.
    chosen = [
        pool[min(len(pool) - 1, int(rng.paretovariate(1.1)) - 1)] if rng.random() < 0.5 else rng.choice(pool)
        for _ in range(words)
    ]
    mixed = [w if rng.random() < 0.7 else rng.choice(FILLER_WORDS) for w in chosen]
    return " ".join(mixed).capitalize() + "."


def synthetic_articles(*, count: int, seed: int = 42):  # type: ignore[no-untyped-def]
    from helpcentre.articles import ArticleData

    rng = random.Random(seed)
    pool = _word_pool(rng, 6000)
    articles = []
    for number in range(count):
        sections = [
            f"## {_sentence(rng, pool, 3)[:-1]}\n\n" + " ".join(_sentence(rng, pool, 12) for _ in range(3))
            for _ in range(3)
        ]
        articles.append(
            ArticleData(
                key=f"ART_{number:05d}",
                title=_sentence(rng, pool, 5)[:-1],
                slug=f"article-{number:05d}",
                body=_sentence(rng, pool, 20) + "\n\n" + "\n\n".join(sections) + "\n",
                tags=tuple(rng.sample(TOPIC_WORDS, 3)),
                phrasings=tuple(_sentence(rng, pool, rng.randint(3, 8))[:-1] for _ in range(3)),
            )
        )
    return articles


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 6:
        return text
    cut = rng.randrange(1, len(text) - 1)
    return text[:cut] + text[cut + 1 :]


def benchmark_queries(*, articles, count: int, seed: int = 7) -> list[str]:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        article = rng.choice(articles)
        kind = rng.random()
        if kind < 0.5:
            words = rng.choice(article.phrasings).split()
            queries.append(_typo(rng, " ".join(w for w in words if rng.random() < 0.85) or words[0]))
        elif kind < 0.8:
            queries.append(article.body.split(".")[0])
        else:
            queries.append(
                rng.choice(
                    ["what's the weather tomorrow?", "tell me a joke", "who won the match", "hello", "ok thanks"]
                )
            )
    return queries


def _timings(function: Callable[[str], object], queries: Sequence[str]) -> list[float]:
    timings = []
    for query in queries:
        started = time.perf_counter()
        function(query)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _row(name: str, timings: Sequence[float]) -> str:
    p50, p99 = statistics.median(timings), _percentile(timings, 0.99)
    return f"| {name} | {len(timings)} | {p50:.2f} | {p99:.2f} | {max(timings):.2f} |"


def _prefilter_agreement(semantic, queries: Sequence[str]) -> str:  # type: ignore[no-untyped-def]
    """How often the prefilter's ten nearest articles are the exact ten (a full pass over the matrix)."""
    import numpy as np

    if semantic.prefilter is None:
        return ""
    same = 0
    for query in queries:
        exact = np.maximum.reduceat(semantic.matrix @ semantic.encoder.encode_one(query), semantic.starts)
        truth = {semantic.keys[i] for i in np.argsort(-exact)[:10]}
        same += set(semantic.nearest(query, limit=10)) == truth
    return (
        f" (candidates from a {semantic.prefilter.components.shape[1]}-dimensional projection; "
        f"the ten nearest articles were exactly those of a full pass for {same}/{len(queries)} queries)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Help-centre retrieval latency")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--tfidf-only", action="store_true", help="as without the embedding model (not written)")
    args = parser.parse_args(argv)

    directory = tempfile.mkdtemp(prefix="bench-retrieval-")
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportbot.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.KNOWLEDGE_EMBEDDINGS = not args.tfidf_only
    from django.core.management import call_command

    from helpcentre.retrieval import database_hits, knowledge_index_get, search_articles
    from helpcentre.services import articles_upsert

    call_command("migrate", verbosity=0)
    articles = synthetic_articles(count=args.articles)
    started = time.perf_counter()
    articles_upsert(articles=articles)
    import_s = time.perf_counter() - started
    started = time.perf_counter()
    loaded = knowledge_index_get()
    build_s = time.perf_counter() - started
    queries = benchmark_queries(articles=articles, count=args.queries)
    # Different queries, so the index's query-vector cache (filled by search_articles) doesn't flatter it.
    fresh_queries = benchmark_queries(articles=articles, count=args.queries, seed=8)
    search_articles(queries[0])  # warm the connection and caches once, as a running server is

    hits = sum(1 for query in queries if search_articles(query, limit=1))
    ranking = "TF-IDF only" if loaded.semantic is None else "fused ranking"
    rows = [
        _row(f"search_articles ({ranking} + FTS5 + passage)", _timings(lambda q: search_articles(q, limit=5), queries)),
        _row(
            "in-memory TF-IDF walk only (new queries)",
            _timings(lambda q: loaded.index.search(q, limit=5), fresh_queries),
        ),
        _row(
            "SQLite FTS5 only (rare words)",
            _timings(lambda q: database_hits(loaded, q), queries),
        ),
    ]
    semantic = loaded.semantic
    if semantic is not None:
        encoder = semantic.encoder
        rows.append(_row("query embedding only (new queries)", _timings(encoder.encode_one, fresh_queries)))
        # The query vectors are cached first, so this row is the matrix product alone.
        cached = queries[:MATRIX_ONLY_QUERIES]
        for query in cached:
            semantic.query_vector(query)
        rows.append(
            _row(
                "nearest articles by meaning only (vector cached)",
                _timings(lambda q: semantic.nearest(q, limit=10), cached),
            )
        )
        agreement = _prefilter_agreement(semantic, fresh_queries)
    mode = (
        f"fused with sentence embeddings over {len(semantic.matrix):,} titles and phrasings{agreement}"
        if semantic is not None
        else "TF-IDF only (embedding model not installed)"
    )
    search_p99 = _percentile(_timings(lambda q: search_articles(q, limit=5), fresh_queries), 0.99)
    verdict = "met" if search_p99 <= TARGET_P99_MS else "not met"
    body = "\n".join(
        [
            f"{args.articles:,} synthetic articles, {len(loaded.index.units):,} TF-IDF units, {mode}; "
            f"import {import_s:.1f} s, index build {build_s:.1f} s; {hits}/{len(queries)} queries returned a result.",
            "",
            "| what | queries | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            f"Target: `search_articles` p99 ≤ {TARGET_P99_MS:g} ms on new queries: {search_p99:.2f} ms, **{verdict}**. "
            "The machine is shared and busy; compare with `--tfidf-only` run in the same minutes.",
        ]
    )
    print(body)
    if args.articles == 10_000 and args.queries == 1_000 and not args.tfidf_only:
        section_write(
            "retrieval", title="Help-centre retrieval latency", command="python -m bench.bench_retrieval", body=body
        )


if __name__ == "__main__":
    main()
