"""Database full-text search: SQLite FTS5 or PostgreSQL tsvector, chosen by the connection vendor.

It finds candidates by stemmed words (including words only found deep in a body), which the
in-memory index then scores; see :func:`helpcentre.retrieval.search_articles`.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable

import snowballstemmer
from django.db import connection

from helpcentre.models import shop_language
from helpcentre.text import STOP_WORDS, text_words

# An OR over common words makes the database rank most of the table; a few rare words find
# the candidates the in-memory index may have missed at a fraction of the cost.
MAX_QUERY_WORDS = 4
# PostgreSQL's text search configuration per language, as migration 0005_article_language stores
# the articles' tsvectors (a change here needs a migration that rebuilds them); others: 'simple'.
POSTGRESQL_CONFIGURATIONS = {
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "it": "italian",
    "nl": "dutch",
    "no": "norwegian",
    "nb": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
_per_thread = threading.local()


def _porter_stems(words: list[str]) -> list[str]:
    """The stems FTS5's porter tokenizer gives; a Snowball stemmer keeps state, so one per thread."""
    stemmer = getattr(_per_thread, "porter", None)
    if stemmer is None:
        stemmer = _per_thread.porter = snowballstemmer.stemmer("porter")
    return stemmer.stemWords(words)


def _plain_word(word: str) -> bool:
    # Letters, digits and the combining marks of scripts such as Devanagari ("गद्दा" is not isalnum()).
    return all(character.isalnum() or unicodedata.category(character)[0] == "M" for character in word)


def _query_words(query: str, rarity: Callable[[str], float] | None, min_rarity: float) -> list[str]:
    # Only plain alphanumerics reach the MATCH / tsquery syntax, so no user text is parsed as an operator.
    words = [w.replace(".", "").replace("'", "").rstrip("%") for w in text_words(text=query)]
    unique = list(dict.fromkeys(w for w in words if w and w not in STOP_WORDS and _plain_word(w)))
    if rarity is not None:
        unique = sorted((w for w in unique if rarity(w) >= min_rarity), key=rarity, reverse=True)
    return unique[:MAX_QUERY_WORDS]


def _sqlite_common_stems(words: list[str], max_documents: int) -> set[str]:
    """Porter stems of ``words`` that FTS5 finds in more than ``max_documents`` articles.

    The in-memory index's rarity uses a lighter stemmer than FTS5's Porter, which folds some
    rare words into common terms ("dos" → "do"); ranking every article that has such a term
    costs ~1 µs an article, 10 ms in a help centre of 10,000.
    """
    stems = sorted(set(_porter_stems(words)))
    placeholders = ",".join(["%s"] * len(stems))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT term FROM knowledge_article_fts_vocab WHERE term IN ({placeholders}) AND doc > %s",
            [*stems, max_documents],
        )
        return {term for (term,) in cursor.fetchall()}


def _sqlite_search(words: list[str], limit: int, max_documents: int | None) -> list[tuple[str, float]]:
    if max_documents is not None:
        common = _sqlite_common_stems(words, max_documents)
        words = [word for word, stem in zip(words, _porter_stems(words), strict=True) if stem not in common]
        if not words:
            return []
    match = " OR ".join(f'"{word}"' for word in words)
    sql = (
        "SELECT a.key, -bm25(knowledge_article_fts, 5.0, 3.0, 2.0, 1.0) AS score "
        "FROM knowledge_article_fts JOIN knowledge_article a ON a.id = knowledge_article_fts.rowid "
        "WHERE knowledge_article_fts MATCH %s AND a.published ORDER BY score DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [match, limit])
        return [(key, float(score)) for key, score in cursor.fetchall()]


def _sqlite_language_search(words: list[str], limit: int, language: str) -> list[tuple[str, float]]:
    # The table without a stemmer and with diacritics removed (migration 0005), one language's rows.
    match = " OR ".join(f'"{word}"' for word in words)
    sql = (
        "SELECT a.key, -bm25(knowledge_article_fts_intl, 5.0, 3.0, 2.0, 1.0) AS score "
        "FROM knowledge_article_fts_intl JOIN knowledge_article a ON a.id = knowledge_article_fts_intl.rowid "
        "WHERE knowledge_article_fts_intl MATCH %s AND a.published AND a.language = %s ORDER BY score DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [match, language, limit])
        return [(key, float(score)) for key, score in cursor.fetchall()]


def postgresql_configuration(language: str) -> str:
    """The text search configuration migration 0005 gives articles in ``language`` (``simple``: none)."""
    return POSTGRESQL_CONFIGURATIONS.get(language.split("-")[0].lower(), "simple")


def _postgresql_search(words: list[str], limit: int, language: str | None) -> list[tuple[str, float]]:
    configuration = postgresql_configuration(language or "en")
    sql = (
        "SELECT key, ts_rank(search_vector, query) AS score "
        "FROM knowledge_article, to_tsquery(%s::regconfig, %s) query "
        "WHERE published AND language = %s AND search_vector @@ query ORDER BY score DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [configuration, " | ".join(words), language or shop_language(), limit])
        return [(key, float(score)) for key, score in cursor.fetchall()]


def fts_search(
    *,
    query: str,
    limit: int = 20,
    rarity: Callable[[str], float] | None = None,
    min_rarity: float = 0.0,
    max_documents: int | None = None,
    language: str | None = None,
) -> list[tuple[str, float]]:
    """(article key, backend score) pairs, best first; empty on a vendor without full-text search.

    ``rarity`` ranks the query's words (higher: rarer) so only the rarest, and none rarer
    than ``min_rarity`` allows, are searched for. On SQLite, words whose stem is in more than
    ``max_documents`` articles are left out too (PostgreSQL's English dictionary drops the
    commonest as stop words). With ``language`` (not the shop's), only articles in it are searched,
    with that language's configuration.
    """
    words = _query_words(query, rarity, min_rarity)
    if not words:
        return []
    if connection.vendor == "sqlite":
        if language:
            return _sqlite_language_search(words, limit, language)
        return _sqlite_search(words, limit, max_documents)
    if connection.vendor == "postgresql":
        return _postgresql_search(words, limit, language)
    return []
