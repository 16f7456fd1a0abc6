"""What other apps may read from the help centre: articles, passages, composed answers, the version.

Routing (the prompt's passages, the offline engine) and conversations (the answer cache's key)
use only the names here; everything else in this app is its own business.

``history``, wherever it is accepted, is the conversation before the message, oldest first,
either as the customer's earlier messages (strings), or as turns: anything with ``role``
("customer"/"user", "assistant"/"bot", "agent"), ``text`` (or ``content``) and, for answers,
``citations`` (a list of ``{"key": ...}`` dicts, ``Citation`` objects or keys). A stored
``conversations`` Message has exactly those attributes. Turns let the article an answer actually
cited (by a model, or from the answer cache) be the one a follow-up refers to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from helpcentre.composer import NOT_SURE_TEXT, ComposedAnswer, compose_answer, conversation_passages
from helpcentre.models import Article, shop_language
from helpcentre.multilingual import language_answer_compose
from helpcentre.retrieval import (
    Citation,
    Passage,
    confidence_threshold,
    help_centre_pinned,
    knowledge_index_get,
    passages_in_language,
    retrieve_for_prompt,
    search_articles,
)
from helpcentre.smalltalk import small_talk_read, small_talk_reply
from helpcentre.versioning import help_centre_version

__all__ = [
    "NOT_SURE_TEXT",
    "Citation",
    "ComposedAnswer",
    "Passage",
    "StandaloneQuestion",
    "answer_compose",
    "ArticleContext",
    "article_context_get",
    "article_published_get",
    "article_question_answer",
    "ArticleTranslation",
    "article_translations_list",
    "articles_by_tag",
    "articles_published_list",
    "help_centre_index_status",
    "help_centre_pinned",
    "help_centre_version",
    "help_search",
    "passages_for_prompt",
    "passages_in_language",
    "passages_search",
    "question_standalone",
    "small_talk_answer",
]

# The search page lists articles that match at least this share of the answering threshold.
HELP_SEARCH_SHARE = 0.8
UNTAGGED = "other"


@dataclass(frozen=True)
class StandaloneQuestion:
    """A customer message read in its conversation (the offline rules; see question_standalone)."""

    text: str  # the message, with the words a follow-up carries over in brackets
    stands_alone: bool  # False: it leans on earlier turns (a model may rewrite it better)
    kind: str  # "answer", "small_talk" or "not_sure": what the offline engine would do with it
    topic_key: str | None  # the article it is about, when one was found


@dataclass(frozen=True)
class ArticleContext:
    """The article a customer opened the chat from, as a turn of the conversation.

    Both engines read it as the answer just given (it cites the article), so the first question
    asked from an article's page is resolved against that article the way a follow-up is.
    """

    key: str
    title: str
    url: str
    role: str = "assistant"
    tier: str = ""

    @property
    def text(self) -> str:
        return f'(The customer opened this chat from the help-centre article "{self.title}".)'

    @property
    def citations(self) -> list[dict[str, str]]:
        return [{"key": self.key, "title": self.title, "url": self.url}]


def article_context_get(*, key: str, language: str = "") -> ArticleContext | None:
    """The published article ``key`` as a conversation's context; None for anything else.

    Of its translations, the one in ``language`` (the customer's), else in the shop's language, else any.
    """
    versions = list(Article.objects.filter(key=key, published=True).only("key", "title", "slug", "language"))
    preferred = [code.lower() for code in (language, shop_language()) if code]
    versions.sort(key=lambda version: (preferred + [version.language.lower()]).index(version.language.lower()))
    article = versions[0] if versions else None
    return ArticleContext(key=article.key, title=article.title, url=article.url) if article else None


def article_published_get(*, slug: str) -> Article | None:
    return Article.objects.filter(slug=slug, published=True).first()


@dataclass(frozen=True)
class ArticleTranslation:
    """Another language's version of an article: its language tag, that language's own name, its page."""

    language: str
    name: str
    url: str


def article_translations_list(*, article: Article) -> list[ArticleTranslation]:
    """The article's other published languages (same ``key``), named as their readers name them."""
    names = {code.lower(): name for code, name in settings.LANGUAGES}
    others = (
        Article.objects.filter(key=article.key, published=True)
        .exclude(pk=article.pk)
        .only("language", "slug")
        .order_by("language")
    )
    return [
        ArticleTranslation(
            language=other.language, name=names.get(other.language.lower(), other.language), url=other.url
        )
        for other in others
    ]


def articles_published_list() -> list[Article]:
    """The help centre's contents page: the articles in the shop's language (each translation has
    a page of its own at its slug)."""
    return list(Article.objects.filter(published=True, language=shop_language()).order_by("title"))


def articles_by_tag() -> list[tuple[str, list[Article]]]:
    """Published articles grouped by their first tag (their main subject), groups and titles in order."""
    groups: dict[str, list[Article]] = defaultdict(list)
    for article in articles_published_list():
        groups[article.tag_list[0].lower() if article.tag_list else UNTAGGED].append(article)
    return sorted(groups.items(), key=lambda item: (item[0] == UNTAGGED, item[0]))


@help_centre_pinned()
def passages_search(*, query: str, limit: int = 5) -> list[Passage]:
    """The best-matching passages, best first, each with its article's score."""
    return search_articles(query, limit=limit)


@help_centre_pinned()
def help_search(*, query: str, limit: int = 8) -> list[Passage]:
    """The help-centre search page's results: articles that match the query at least loosely, best
    first, each with the part of it that matches (a table row, a step, a paragraph)."""
    if not query.strip():
        return []
    floor = HELP_SEARCH_SHARE * confidence_threshold()
    return [passage for passage in search_articles(query, limit=limit) if passage.score >= floor]


@help_centre_pinned()
def passages_for_prompt(*, question: str, limit: int = 3, history: Sequence[object] = ()) -> list[Passage]:
    """Passages worth putting in a model's prompt (at least loosely relevant).

    With ``history``, the message is read in its conversation: a follow-up ("and for the double
    size?") brings its article first, with the part that answers it, and the rest are found for
    the standalone question. Small talk brings none.
    """
    if history:
        return conversation_passages(question, history=history, limit=limit)
    return retrieve_for_prompt(question, limit=limit)


@help_centre_pinned()
def answer_compose(*, question: str, history: Sequence[object] = (), language: str = "") -> ComposedAnswer:
    """The offline engine's answer: the part of the right article that answers, a small-talk line,
    or an honest "not sure". ``kind`` says which; small talk is ``confident`` (not a miss).

    ``language``: the question's, when known. In another language than the shop's, the answer
    comes from an article in that language, or says in it that there is none and offers a person
    (helpcentre/multilingual.py).
    """
    if language and language.split("-")[0].lower() != shop_language().split("-")[0].lower():
        return language_answer_compose(question=question, language=language, history=history)
    return compose_answer(question, history=history)


def help_centre_index_status() -> dict[str, object]:
    """The search index for the current version (built on the first call in a process): its size,
    and whether search by meaning is on (it is off without the model package, requirements/model.txt)."""
    loaded = knowledge_index_get()
    return {"articles": len(loaded.articles), "search_by_meaning": loaded.semantic is not None}


@help_centre_pinned()
def question_standalone(*, question: str, history: Sequence[object] = ()) -> StandaloneQuestion:
    """The message as a question that stands alone, by the offline rules: follow-ups get the words
    they lean on ("and for the double size? (price ergo)"); a new topic or small talk is unchanged.

    A caller with a model can skip rewriting when ``stands_alone`` is True.
    """
    composed = compose_answer(question, history=history)
    return StandaloneQuestion(
        text=composed.question or question,
        stands_alone=composed.stands_alone,
        kind=composed.kind,
        topic_key=composed.top_key if composed.kind == "answer" else None,
    )


def small_talk_answer(*, text: str) -> str | None:
    """The offline line for a message that is only a greeting, thanks, goodbye or acknowledgement
    ("Hello! I'm the … assistant. How can I help you today?"); None for anything else."""
    talk = small_talk_read(text)
    return small_talk_reply(talk=talk) if talk.only else None


@help_centre_pinned()
def article_question_answer(*, article: Article, question: str) -> ComposedAnswer:
    """A question asked on an article's page, answered with that article as the conversation so far."""
    context = {"role": "assistant", "text": "", "citations": [{"key": article.key}]}
    if article.language != shop_language():
        # A translated article's page: answered from the articles in its language (or said so in it).
        return language_answer_compose(question=question, language=article.language, history=[context])
    return compose_answer(question, history=[context])
