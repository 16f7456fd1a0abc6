"""What other apps may read from the help centre: articles, passages, composed answers, the version.

Routing (the prompt's passages, the offline engine) and conversations (the answer cache's key)
use only the names here; everything else in this app is its own business.
"""

from __future__ import annotations

from helpcentre.composer import NOT_SURE_TEXT, ComposedAnswer, compose_answer
from helpcentre.models import Article
from helpcentre.retrieval import Citation, Passage, knowledge_index_get, retrieve_for_prompt, search_articles
from helpcentre.versioning import help_centre_version

__all__ = [
    "NOT_SURE_TEXT",
    "Citation",
    "ComposedAnswer",
    "Passage",
    "answer_compose",
    "article_published_get",
    "articles_published_list",
    "help_centre_index_status",
    "help_centre_version",
    "passages_for_prompt",
    "passages_search",
]


def article_published_get(*, slug: str) -> Article | None:
    return Article.objects.filter(slug=slug, published=True).first()


def articles_published_list() -> list[Article]:
    return list(Article.objects.filter(published=True).order_by("title"))


def passages_search(*, query: str, limit: int = 5) -> list[Passage]:
    """The best-matching passages, best first, each with its article's score."""
    return search_articles(query, limit=limit)


def passages_for_prompt(*, question: str, limit: int = 3) -> list[Passage]:
    """Passages worth putting in a model's prompt (at least loosely relevant)."""
    return retrieve_for_prompt(question, limit=limit)


def answer_compose(*, question: str, history: tuple[str, ...] | list[str] = ()) -> ComposedAnswer:
    """The offline engine's answer: the relevant part of the best article, or an honest "not sure"."""
    return compose_answer(question, history=history)


def help_centre_index_status() -> dict[str, object]:
    """The search index for the current version (built on the first call in a process): its size,
    and whether search by meaning is on (it is off without the model package, requirements/model.txt)."""
    loaded = knowledge_index_get()
    return {"articles": len(loaded.articles), "search_by_meaning": loaded.semantic is not None}
