"""The offline engine for a question in another language than the shop's.

It answers only from articles written in the customer's language: the best passage of the best
one, when it scores over that language's threshold, or a little under it while clearly ahead of
the runner-up and holding most of the question's words (``retrieval.language_answer_confirmed``).
Otherwise (the answer is in an article that exists in English only, or nowhere) it says so in the
customer's language, through gettext, and points to the widget's "Talk to a person" button; that
reply is an abstention, so it counts toward a handoff like any "not sure". Romanised Hindi and the
like, which cannot match articles in another script, go to the shop-language engine
(``retrieval.question_language``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from helpcentre.composer import NOT_SURE, SMALL_TALK_KIND, ComposedAnswer, compose_answer
from helpcentre.models import HELP_CENTRE_PATH, Article
from helpcentre.retrieval import (
    Citation,
    Passage,
    confidence_threshold,
    language_answer_confirmed,
    passages_in_language,
    question_language,
    search_articles,
)
from helpcentre.smalltalk import ABOUT_ME, GOODBYE, GREETING, HOW_ARE_YOU, THANKS, SmallTalk, small_talk_read
from helpcentre.terms import is_code
from helpcentre.text import text_words

ANSWER = "answer"
# Translators: the chat bot's reply when no help-centre article in the customer's language answers
# their question; "Talk to a person" is the widget's button (use its translation from djangojs.po).
NO_ARTICLE_IN_LANGUAGE = (
    "Our help centre has no article in your language that answers this yet. "
    "To talk to someone from our team, use the “Talk to a person” button."
)


# Translators: the chat bot's reply to a greeting; %(shop)s is the shop's name.
SMALL_TALK_HELLO = "Hello! I'm the %(shop)s assistant. How can I help you today?"
# Translators: the chat bot's reply to thanks.
SMALL_TALK_THANKS = "You're welcome! Is there anything else I can help you with?"
# Translators: the chat bot's reply to a goodbye; %(shop)s is the shop's name.
SMALL_TALK_GOODBYE = "Goodbye, and thank you for chatting with %(shop)s!"
# Translators: the chat bot's reply to "ok", "yes", "no" and the like on their own.
SMALL_TALK_ALRIGHT = "Alright. Is there anything else I can help you with?"


def no_article_in_language_text(*, language: str) -> str:
    with translation.override(language):
        return gettext(NO_ARTICLE_IN_LANGUAGE)


def language_answer_compose(*, question: str, language: str, history: Sequence[object] = ()) -> ComposedAnswer:
    """The offline reply to ``question`` written in ``language`` (not the shop's)."""
    talk = small_talk_read(question)
    if talk.only:
        # "hola", "gracias", "धन्यवाद": a line in the customer's language, never a "no article".
        return ComposedAnswer(
            text=small_talk_text(talk=talk, language=language), confident=True, kind=SMALL_TALK_KIND, question=question
        )
    if question_language(question, language) is None:
        return compose_answer(question, history=history)
    found = _by_code(question, language=language) or search_articles(question, limit=2, language=language)
    # The best article must be one in the customer's language: an English-only article ranked first
    # is the answer, and the customer cannot read it here. A little under the threshold it still
    # answers when it is clearly ahead and knows the question's words (language_answer_confirmed).
    confident = bool(found) and (
        found[0].score >= confidence_threshold(language)
        or language_answer_confirmed(question, found, language=language)
    )
    if confident and _written_in(found[0].url, language):
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


def _by_code(question: str, *, language: str) -> list[Passage]:
    """A code in the question ("मेरा LiftBase E04 दिखा रहा है") that an article in the language quotes
    finds that article and the passage quoting it, however the rest of the question is worded; it is
    as sure an answer as a confident search (the English engine reads codes the same way)."""
    codes = [word for word in text_words(text=question) if is_code(word) and len(word) <= 8]
    if not codes:
        return []
    # Codes are Latin letters and digits: they are searched among all articles, then read in the
    # customer's language's version of the article that quotes them.
    found = search_articles(" ".join(codes), limit=1)
    if not found:
        return []
    versions = passages_in_language(question=" ".join(codes), language=language, keys=[found[0].key], limit=1)
    if not versions or versions[0].key != found[0].key:
        return []
    if not all(code in text_words(text=versions[0].text) for code in codes):
        return []
    return [replace(versions[0], score=max(found[0].score, confidence_threshold(language)))]


def small_talk_text(*, talk: SmallTalk, language: str) -> str:
    """The shop's small-talk line for ``talk``, in ``language`` (English where no catalogue has it)."""
    kinds = set(talk.kinds)
    line = (
        SMALL_TALK_GOODBYE
        if GOODBYE in kinds
        else SMALL_TALK_THANKS
        if THANKS in kinds
        else SMALL_TALK_HELLO
        if kinds & {GREETING, HOW_ARE_YOU, ABOUT_ME}
        else SMALL_TALK_ALRIGHT
    )
    with translation.override(language):
        return gettext(line) % {"shop": settings.SUPPORTBOT_SHOP_NAME}


def _written_in(url: str, language: str) -> bool:
    slug = url.removeprefix(HELP_CENTRE_PATH).strip("/")
    return Article.objects.filter(published=True, language=language, slug=slug).exists()
