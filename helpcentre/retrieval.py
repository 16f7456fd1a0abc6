"""Help-centre retrieval: one entry point whatever the database.

The in-memory TF-IDF index (titles, sections, tags, alternative phrasings) and, when the
embedding model is installed, nearest neighbours by meaning over titles and phrasings find
and score the candidates (see :mod:`helpcentre.fusion`); the database's full-text
search adds candidates the index's budget may have skipped in very large help centres.
The indexes are rebuilt in-process when the help-centre version changes.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from helpcentre.embeddings import SentenceEncoder, sentence_encoder_get
from helpcentre.fts import fts_search
from helpcentre.fusion import FusionSettings, articles_rank
from helpcentre.index import ArticleIndex, IndexedArticle, IndexSettings
from helpcentre.models import HELP_CENTRE_PATH, Article, shop_language
from helpcentre.passages import passage_select
from helpcentre.semantic import EmbeddingCache, SemanticIndex
from helpcentre.text import NON_LATIN
from helpcentre.versioning import help_centre_version

FTS_CANDIDATES = 8
# A word in more articles than this says little about which one answers: the database is not
# asked to rank them all (the index's own rare-word rule, in articles rather than units).
FTS_COMMON_SHARE = 0.01
FTS_MIN_COMMON_ARTICLES = 20
# Up to this many articles an index builds in well under a second: rebuild inline.
SYNC_REBUILD_MAX_ARTICLES = 2_000
REBUILD_THREAD_NAME = "knowledge-index-rebuild"
# Rankings kept per index: one turn ranks the same words several times (the offline engine reads a
# follow-up alone and in its topic, then the prompt's passages are found), each a full-text query or
# two and a scoring pass; the same index and query always rank the same.
RANKINGS_KEPT = 256
# A question in another language than the shop's is answered a little under the threshold, as the
# English engine answers one whose rare words confirm the article (conversation.CONFIRMED_SHARE):
# from this share of the threshold, when the best article holds at least this share of the
# question's words (by rarity: "गद्दा वापस करना है" is all returns words, "कल भारत का मैच कितने
# बजे है?" none) and is ahead of the runner-up by at least the English near-tie margin. Chosen on
# helpcentre/data/kb_eval_hi_es.csv, confirmed on kb_eval_hi_es_2.csv (written before the rule).
LANGUAGE_CONFIRMED_SHARE = 0.8
LANGUAGE_KNOWN_WORDS_SHARE = 0.5
LANGUAGE_LEAD = 0.05


@dataclass(frozen=True)
class Citation:
    """An article an answer rests on, as the widget links it."""

    key: str
    title: str
    url: str


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
    semantic: SemanticIndex | None  # None without the embedding model: TF-IDF alone
    latin: bool = True  # the articles are written in the Latin script (False: Hindi's Devanagari...)
    ranking: Callable[..., tuple[tuple[str, float], ...]] = field(init=False, repr=False, compare=False)
    full_text_hits: Callable[..., tuple[tuple[str, float], ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ranking", functools.lru_cache(maxsize=RANKINGS_KEPT)(self._ranking_build))
        object.__setattr__(self, "full_text_hits", functools.lru_cache(maxsize=RANKINGS_KEPT)(self._hits_build))

    def _hits_build(self, query: str, language: str | None) -> tuple[tuple[str, float], ...]:
        return tuple(database_hits(self, query, language))

    def _ranking_build(
        self, query: str, limit: int, always: tuple[str, ...], language: str | None
    ) -> tuple[tuple[str, float], ...]:
        hits = self.full_text_hits(query, language)
        return tuple(
            articles_rank(
                index=self.index,
                semantic=self.semantic,
                query=query,
                limit=limit,
                extra_keys=[key for key, _ in hits if key in self.articles],
                always=always,
            )
        )


_loaded: _LoadedIndex | None = None
_rebuilding: str | None = None  # the version a background thread is indexing
_load_lock = threading.Lock()
_embedding_cache: EmbeddingCache | None = None
_loaded_by_language: dict[str, _LoadedIndex] = {}  # other languages than the shop's, by language
# Inside help_centre_pinned(): the index the block's first lookup found (an empty list until then).
_pinned: ContextVar[list[_LoadedIndex] | None] = ContextVar("help_centre_pinned", default=None)


def _published_articles(language: str | None = None) -> list[IndexedArticle]:
    """The shop's articles, or for another ``language`` its articles plus the shop's articles in no
    version of that language (a Spanish question may still be answered by an English-only article)."""
    languages = [shop_language()] if language in (None, shop_language()) else [language, shop_language()]
    rows = Article.objects.filter(published=True, language__in=languages).values_list(
        "key", "language", "title", "slug", "body", "tags", "phrasings"
    )
    chosen: dict[str, tuple[str, ...]] = {}
    for key, row_language, *fields in rows:
        if key not in chosen or row_language == languages[0]:
            chosen[key] = (key, *fields)
    return [
        IndexedArticle(
            key=key,
            title=title,
            url=f"{HELP_CENTRE_PATH}{slug}/",
            body=body,
            tags=tuple(t.strip() for t in tags.split(",") if t.strip()),
            phrasings=tuple(line.strip() for line in phrasings.splitlines() if line.strip()),
        )
        for key, title, slug, body, tags, phrasings in chosen.values()
    ]


def confidence_threshold(language: str | None = None) -> float:
    """Below this score the bot does not guess; ``KNOWLEDGE_CONFIDENCE_THRESHOLD`` overrides it.

    Fused scores and TF-IDF-only scores have their own scales, so the default depends on
    whether the embedding model is installed, and is used for the question's language.
    """
    override = getattr(settings, "KNOWLEDGE_CONFIDENCE_THRESHOLD", None)
    if override is not None:
        return float(override)
    return FusionSettings().threshold(semantic=_semantic_scores(language))


def _semantic_scores(language: str | None = None) -> bool:
    if _other_language(language) and _has_articles(language or ""):
        return False  # see _language_index_build
    current = _loaded
    return current.semantic is not None if current else _encoder() is not None


def _other_language(language: str | None) -> bool:
    return bool(language) and language != shop_language()


def _encoder() -> SentenceEncoder | None:
    # KNOWLEDGE_EMBEDDINGS = False trades answer quality for ~6 ms and ~250 MB per process.
    return sentence_encoder_get() if getattr(settings, "KNOWLEDGE_EMBEDDINGS", True) else None


def prompt_floor(language: str | None = None) -> float:
    """Passages scoring below this are left out of LLM prompts: too loosely related to help."""
    override = getattr(settings, "KNOWLEDGE_CONFIDENCE_THRESHOLD", None)
    if override is not None:
        return float(override) / 2
    return FusionSettings().prompt_floor(semantic=_semantic_scores(language))


def _semantic_build(articles: list[IndexedArticle]) -> SemanticIndex | None:
    global _embedding_cache
    encoder = _encoder()
    if encoder is None:
        return None
    if _embedding_cache is None:
        _embedding_cache = EmbeddingCache(settings.DATA_DIR / "embeddings")
    units = [(article.key, text) for article in articles for text in (article.title, *article.phrasings)]
    return SemanticIndex(units, encoder=encoder, cache=_embedding_cache)


def _index_build(version: str) -> _LoadedIndex:
    global _loaded
    articles = _published_articles()
    loaded = _LoadedIndex(
        version=version,
        index=ArticleIndex(articles),
        articles={a.key: a for a in articles},
        semantic=_semantic_build(articles),
    )
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


@contextmanager
def help_centre_pinned() -> Iterator[None]:
    """Within the block, every lookup reads the index its first lookup found: one help-centre
    version per answer, read once. Without it each lookup asks the database for the version, and
    composing one answer looks up dozens of word rarities. Also a decorator; blocks nest."""
    if _pinned.get() is not None:
        yield
        return
    token = _pinned.set([])
    try:
        yield
    finally:
        _pinned.reset(token)


def knowledge_index_get() -> _LoadedIndex:
    """The index for the current help-centre version, built at most once per version per process.

    A large help centre takes seconds to index, so after a change it is rebuilt in a
    background thread while questions are answered from the previous version. Inside
    :func:`help_centre_pinned` the block's first answer is kept.
    """
    pinned = _pinned.get()
    if pinned:
        return pinned[0]
    loaded = _knowledge_index_current()
    if pinned is not None:
        pinned.append(loaded)
    return loaded


def _knowledge_index_current() -> _LoadedIndex:
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


def _language_index_build(version: str, language: str) -> _LoadedIndex:
    # TF-IDF only: the sentence encoder (all-MiniLM-L6-v2) was trained on English, and on these
    # languages its neighbours by meaning are mostly neighbours by shared Latin letters or none.
    articles = _published_articles(language)
    titles = Article.objects.filter(published=True, language=language).values_list("title", flat=True)
    latin = sum(not NON_LATIN.search(title) for title in titles) * 2 >= len(titles)
    loaded = _LoadedIndex(
        version=version,
        index=ArticleIndex(articles, settings=IndexSettings(language=language)),
        articles={a.key: a for a in articles},
        semantic=None,
        latin=latin,
    )
    _loaded_by_language[language] = loaded
    return loaded


def language_index_get(language: str | None) -> _LoadedIndex:
    """The index a question in ``language`` is searched in: the shop's for its own language (or
    none given), else one over that language's articles and the shop's untranslated ones, built
    once per help-centre version and language in a process."""
    if not _other_language(language) or not _has_articles(language or ""):
        return knowledge_index_get()
    language = str(language)
    version = help_centre_version()
    current = _loaded_by_language.get(language)
    if current is not None and current.version == version:
        return current
    with _load_lock:
        current = _loaded_by_language.get(language)
        if current is not None and current.version == version:
            return current
        return _language_index_build(version, language)


def question_language(query: str, language: str | None) -> str | None:
    """The language ``query`` is searched in: ``language``, unless its articles are in another
    script than the query (romanised Hindi, "refund kab milega", finds nothing in Devanagari
    articles): then the shop's own, whose phrasings hold what customers type in Latin letters."""
    if not _other_language(language):
        return None
    if not language_index_get(language).latin and not NON_LATIN.search(query):
        return None
    return language


def _has_articles(language: str) -> bool:
    return Article.objects.filter(published=True, language=language).exists()


def database_hits(loaded: _LoadedIndex, query: str, language: str | None = None) -> list[tuple[str, float]]:
    """The database's full-text candidates for ``query``: its rarest words only."""
    return fts_search(
        query=query,
        limit=FTS_CANDIDATES,
        rarity=loaded.index.word_rarity,
        min_rarity=loaded.index.rare_word_idf,
        max_documents=max(FTS_MIN_COMMON_ARTICLES, int(FTS_COMMON_SHARE * len(loaded.articles))),
        language=language if _other_language(language) else None,
    )


def _ranked(
    loaded: _LoadedIndex, query: str, limit: int, always: Sequence[str] = (), language: str | None = None
) -> list[tuple[str, float]]:
    return list(loaded.ranking(query, limit, tuple(always), language))


def articles_ranked(query: str, *, limit: int = 3, always: Sequence[str] = ()) -> list[tuple[str, float]]:
    """The best (key, score) pairs for ``query``, then the scores of ``always`` keys that were not among them."""
    return _ranked(knowledge_index_get(), query, limit, always)


def article_indexed_get(key: str) -> IndexedArticle | None:
    """A published article as the current index holds it."""
    return knowledge_index_get().articles.get(key)


def article_titled(title: str) -> IndexedArticle | None:
    """A published article by its title, however it is capitalised."""
    wanted = title.strip().casefold()
    return next((a for a in knowledge_index_get().articles.values() if a.title.strip().casefold() == wanted), None)


def article_share(stem: str) -> float:
    """The share of published articles with a word stem in their title, tags, phrasings or sections."""
    loaded = knowledge_index_get()
    return loaded.index.article_count(stem) / max(1, len(loaded.articles))


def max_rarity() -> float:
    return knowledge_index_get().index.max_idf


def stem_rarity(stem: str) -> float:
    """The inverse document frequency of a word stem over the index's units (unseen: the rarest)."""
    index = knowledge_index_get().index
    return index.idf.get(f"w:{stem}", index.max_idf)


def search_articles(query: str, *, limit: int = 5, language: str | None = None) -> list[Passage]:
    """The ``limit`` best published articles for ``query``, best first, each with its best passage.

    With ``language`` (the question's), articles in that language are searched with the shop's
    untranslated ones (see :func:`language_index_get`); scores are then on the TF-IDF scale,
    which ``confidence_threshold(language)`` matches.
    """
    language = question_language(query, language)
    loaded = language_index_get(language)
    idf = loaded.index.idf
    max_idf = loaded.index.max_idf
    passages = []
    for key, score in _ranked(loaded, query, limit, language=language):
        article = loaded.articles[key]
        text = passage_select(
            body=article.body, title=article.title, query=query, idf=lambda stem: idf.get(f"w:{stem}", max_idf)
        )
        passages.append(Passage(key=key, title=article.title, url=article.url, text=text, score=score))
    return passages


def language_answer_confirmed(query: str, found: Sequence[Passage], *, language: str | None) -> bool:
    """Whether the best of ``found`` (``search_articles(query, limit=2, language=language)``, best
    first) answers a question in another language than the shop's although it scores under the
    threshold: see ``LANGUAGE_CONFIRMED_SHARE``. False for the shop's language (its engine has its
    own rules) and for questions searched in it (romanised Hindi)."""
    language = question_language(query, language)
    if language is None or not found:
        return False
    best = found[0]
    runner_up = found[1].score if len(found) > 1 else 0.0
    return (
        best.score >= LANGUAGE_CONFIRMED_SHARE * confidence_threshold(language)
        and best.score - runner_up >= LANGUAGE_LEAD
        and language_index_get(language).index.known_word_share(query, key=best.key) >= LANGUAGE_KNOWN_WORDS_SHARE
    )


def retrieve_for_prompt(question: str, *, limit: int = 3) -> list[Passage]:
    """Passages worth putting in an LLM prompt: the best ``limit`` that are at least loosely relevant."""
    floor = prompt_floor()
    return [passage for passage in search_articles(question, limit=limit) if passage.score >= floor]


def passages_in_language(*, question: str, language: str, keys: Sequence[str] = (), limit: int = 3) -> list[Passage]:
    """Passages from articles written in ``language`` only: the versions of ``keys`` (articles
    already found in another language) that exist in it, then the best for ``question`` that are
    at least loosely relevant; each with the part of it that best matches ``question``."""
    if not _other_language(language) or not _has_articles(language):
        return []
    loaded = language_index_get(language)
    own_urls = {
        f"{HELP_CENTRE_PATH}{slug}/"
        for slug in Article.objects.filter(published=True, language=language).values_list("slug", flat=True)
    }
    floor = prompt_floor(language)
    scores = {key: score for key, score in _ranked(loaded, question, limit, language=language) if score >= floor}
    passages = []
    for key in dict.fromkeys([*keys, *scores]):
        article = loaded.articles.get(key)
        if article is None or article.url not in own_urls:
            continue
        text = passage_select(
            body=article.body,
            title=article.title,
            query=question,
            idf=lambda stem: loaded.index.idf.get(f"w:{stem}", loaded.index.max_idf),
        )
        passages.append(Passage(key=key, title=article.title, url=article.url, text=text, score=scores.get(key, 0.0)))
    return passages[: max(limit, len(keys))]
