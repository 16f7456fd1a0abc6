from __future__ import annotations

from routing.knowledge.index import IndexedArticle
from routing.knowledge.models import HELP_CENTRE_PATH, Article
from routing.knowledge.versioning import help_centre_version

__all__ = ["help_centre_version", "published_articles_for_index", "article_published_get", "articles_published_list"]


def published_articles_for_index() -> list[IndexedArticle]:
    rows = Article.objects.filter(published=True).values_list("key", "title", "slug", "body", "tags", "phrasings")
    return [
        IndexedArticle(
            key=key,
            title=title,
            url=f"{HELP_CENTRE_PATH}{slug}/",
            body=body,
            tags=tuple(t.strip() for t in tags.split(",") if t.strip()),
            phrasings=tuple(line.strip() for line in phrasings.splitlines() if line.strip()),
        )
        for key, title, slug, body, tags, phrasings in rows
    ]


def article_published_get(*, slug: str) -> Article | None:
    return Article.objects.filter(slug=slug, published=True).first()


def articles_published_list() -> list[Article]:
    return list(Article.objects.filter(published=True).order_by("title"))
