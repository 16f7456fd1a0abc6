from __future__ import annotations

from django.db.models import Count, Max

from routing.knowledge.index import IndexedArticle
from routing.knowledge.models import HELP_CENTRE_PATH, Article


def help_centre_version() -> str:
    """Changes whenever an article is added, edited or deleted; the index and answer caches key on it.

    Computed from the table itself rather than a counter, so bulk imports and edits made
    outside the services (admin, raw SQL through the ORM) are never missed.
    """
    summary = Article.objects.aggregate(count=Count("id"), last=Max("updated_at"), top=Max("id"))
    last = summary["last"].isoformat() if summary["last"] else "-"
    return f"{summary['count']}:{summary['top'] or 0}:{last}"


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
