"""Help-centre retrieval: one entry point whatever the database.

The in-memory index (titles, sections, tags, alternative phrasings) scores every candidate;
the database's full-text search adds candidates the index's budget may have skipped in very
large help centres. The index is rebuilt in-process when the help-centre version changes.
"""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from routing.knowledge.fts import fts_search
from routing.knowledge.index import ArticleIndex, ArticleMatch, IndexedArticle
from routing.knowledge.passages import passage_select
from routing.knowledge.selectors import help_centre_version, published_articles_for_index

# Chosen by 5-fold cross-validation on the HINT3 SOFMattress train split so that 90% of
# in-scope questions are answered (python -m routing.knowledge.crossvalidate).
DEFAULT_CONFIDENCE_THRESHOLD = 0.63
FTS_CANDIDATES = 8
# Up to this many articles an index builds in well under a second: rebuild inline.
SYNC_REBUILD_MAX_ARTICLES = 2_000
REBUILD_THREAD_NAME = "knowledge-index-rebuild"


@dataclass(frozen=True)
class Passage:
    key: str
    title: str
    url: str
    text: str
    score: float


@dataclass(frozen=True)
class _LoadedIndex:
    version: str
    index: ArticleIndex
    articles: dict[str, IndexedArticle]


_loaded: _LoadedIndex | None = None
_rebuilding: str | None = None  # the version a background thread is indexing
_load_lock = threading.Lock()


def confidence_threshold() -> float:
    """Below this score the bot does not guess; ``KNOWLEDGE_CONFIDENCE_THRESHOLD`` overrides it."""
    return float(getattr(settings, "KNOWLEDGE_CONFIDENCE_THRESHOLD", DEFAULT_CONFIDENCE_THRESHOLD))


def _index_build(version: str) -> _LoadedIndex:
    global _loaded
    articles = published_articles_for_index()
    loaded = _LoadedIndex(version=version, index=ArticleIndex(articles), articles={a.key: a for a in articles})
    _loaded = loaded
    # A large index is hundreds of thousands of long-lived objects; without this every
    # full garbage collection walks them all, a pause of tens of ms in some answer.
    gc.freeze()
    return loaded


def _index_build_in_background(version: str) -> None:
    global _rebuilding
    try:
        with _load_lock:
            if _loaded is None or _loaded.version != version:
                _index_build(version)
    finally:
        _rebuilding = None
        connection.close()  # this thread's own database connection


def knowledge_index_get() -> _LoadedIndex:
    """The index for the current help-centre version, built at most once per version per process.

    A large help centre takes seconds to index, so after a change it is rebuilt in a
    background thread while questions are answered from the previous version.
    """
    global _rebuilding
    version = help_centre_version()
    current = _loaded
    if current is not None and current.version == version:
        return current
    if current is not None and len(current.articles) > SYNC_REBUILD_MAX_ARTICLES:
        if _rebuilding != version:
            _rebuilding = version
            threading.Thread(
                target=_index_build_in_background, args=(version,), name=REBUILD_THREAD_NAME, daemon=True
            ).start()
        return current
    with _load_lock:
        if _loaded is None or _loaded.version != version:
            return _index_build(version)
        return _loaded


def _fused_matches(loaded: _LoadedIndex, query: str, limit: int) -> list[ArticleMatch]:
    matches = loaded.index.search(query, limit=limit)
    seen = {match.key for match in matches}
    extra = [
        key
        for key, _ in fts_search(
            query=query, limit=FTS_CANDIDATES, rarity=loaded.index.word_rarity, min_rarity=loaded.index.rare_word_idf
        )
        if key not in seen and key in loaded.articles
    ]
    if extra:
        matches += loaded.index.score_articles(query, keys=extra)
    return sorted(matches, key=lambda match: match.score, reverse=True)[:limit]


def search_articles(query: str, *, limit: int = 5) -> list[Passage]:
    """The ``limit`` best published articles for ``query``, best first, each with its best passage."""
    loaded = knowledge_index_get()
    passages = []
    for match in _fused_matches(loaded, query, limit):
        article = loaded.articles[match.key]
        text = passage_select(index=loaded.index, key=match.key, title=article.title, query=query)
        passages.append(Passage(key=article.key, title=article.title, url=article.url, text=text, score=match.score))
    return passages


def retrieve_for_prompt(question: str, *, limit: int = 3) -> list[Passage]:
    """Passages worth putting in an LLM prompt: the best ``limit`` that are at least loosely relevant."""
    floor = confidence_threshold() / 2
    return [passage for passage in search_articles(question, limit=limit) if passage.score >= floor]
