"""The offline engine for a question in another language than the shop's.

It answers only from articles written in the customer's language: the best passage of the best
one, when it scores over that language's threshold. Otherwise (the answer is in an article that
exists in English only, or nowhere) it says so in the customer's language, through gettext, and
points to the widget's "Talk to a person" button; that reply is an abstention, so it counts toward
a handoff like any "not sure". Romanised Hindi and the like, which cannot match articles in another
script, go to the shop-language engine (``retrieval.question_language``).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import translation
from django.utils.translation import gettext

from helpcentre.composer import NOT_SURE, ComposedAnswer, compose_answer
from helpcentre.models import HELP_CENTRE_PATH, Article
from helpcentre.retrieval import Citation, confidence_threshold, question_language, search_articles

ANSWER = "answer"
# Translators: the chat bot's reply when no help-centre article in the customer's language answers
# their question; "Talk to a person" is the widget's button (use its translation from djangojs.po).
NO_ARTICLE_IN_LANGUAGE = (
    "Our help centre has no article in your language that answers this yet. "
    "To talk to someone from our team, use the “Talk to a person” button."
)


def no_article_in_language_text(*, language: str) -> str:
    with translation.override(language):
        return gettext(NO_ARTICLE_IN_LANGUAGE)


def language_answer_compose(*, question: str, language: str, history: Sequence[object] = ()) -> ComposedAnswer:
    """The offline reply to ``question`` written in ``language`` (not the shop's)."""
    if question_language(question, language) is None:
        return compose_answer(question, history=history)
    found = search_articles(question, limit=1, language=language)
    # The best article must be one in the customer's language: an English-only article ranked first
    # is the answer, and the customer cannot read it here.
    if found and found[0].score >= confidence_threshold(language) and _written_in(found[0].url, language):
        best = found[0]
        return ComposedAnswer(
            text=best.text,
            citations=[Citation(key=best.key, title=best.title, url=best.url)],
            confident=True,
            top_key=best.key,
            score=best.score,
            kind=ANSWER,
            question=question,
        )
    return ComposedAnswer(text=no_article_in_language_text(language=language), kind=NOT_SURE, question=question)


def _written_in(url: str, language: str) -> bool:
    slug = url.removeprefix(HELP_CENTRE_PATH).strip("/")
    return Article.objects.filter(published=True, language=language, slug=slug).exists()
