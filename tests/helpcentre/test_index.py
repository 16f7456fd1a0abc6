from __future__ import annotations

from helpcentre.crossvalidate import demo_articles_load
from helpcentre.index import ArticleIndex, IndexedArticle, IndexSettings

ARTICLES = [
    IndexedArticle(
        key="COD",
        title="Cash on delivery",
        url="/help/cod/",
        body="Pay when it arrives.\n\n## Limits\n\nUp to 30,000.",
        phrasings=("pay cash at the door",),
    ),
    IndexedArticle(
        key="WARRANTY",
        title="Warranty",
        url="/help/warranty/",
        body="Ten years.\n\n## Claims\n\nSend photos of the dent.",
        phrasings=("how many years guarantee",),
    ),
]


def test_best_article_first_with_scores_descending() -> None:
    matches = ArticleIndex(ARTICLES).search("can I pay in cash?", limit=2)
    assert [m.key for m in matches][0] == "COD"
    assert matches[0].score > (matches[1].score if len(matches) > 1 else 0.0)


def test_misspellings_still_match_through_character_ngrams() -> None:
    index = ArticleIndex(demo_articles_load())
    assert index.search("warrenty detials", limit=1)[0].key == "WARRANTY"
    assert index.search("mattres pric", limit=1)[0].key == "MATTRESS_COST"


def test_nothing_shared_means_no_match() -> None:
    assert ArticleIndex(ARTICLES).search("zzz qqq", limit=3) == []


def test_exact_rescoring_agrees_with_the_full_walk() -> None:
    articles = demo_articles_load()
    full = ArticleIndex(articles)
    budgeted = ArticleIndex(articles, settings=IndexSettings(posting_budget=50))
    for query in ("how long is the trial", "cash on delivery limit", "error E05 on my bed base"):
        assert budgeted.search(query, limit=1)[0] == full.search(query, limit=1)[0]


def test_known_word_share_weighs_the_question_s_words_by_rarity() -> None:
    index = ArticleIndex(ARTICLES)
    assert index.known_word_share("pay cash", key="COD") == 1.0
    assert index.known_word_share("pay cash", key="WARRANTY") == 0.0
    # An unknown word counts as the rarest: it outweighs a common one the article has.
    assert 0.0 < index.known_word_share("pay zzzqqq", key="COD") < 0.5
    assert index.known_word_share("the of", key="COD") == 0.0  # no word carrying a topic
