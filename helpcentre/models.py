from __future__ import annotations

from django.conf import settings
from django.db import models

from helpcentre.articles import ArticleData, split_list

# Where the help centre is mounted (see helpcentre/urls.py); citations carry this URL.
HELP_CENTRE_PATH = "/help/"


def shop_language() -> str:
    """The shop's default language (``LANGUAGE_CODE``): articles without one are in it."""
    return str(settings.LANGUAGE_CODE)


class Article(models.Model):
    """One help-centre article. ``key`` is stable across imports; ``slug`` is its public URL.

    The same ``key`` in several languages is one translation group: one article per language.
    """

    key = models.CharField(
        max_length=100,
        db_index=True,
        help_text="Stable identifier used by imports and citations; the same in every language of the article.",
    )
    language = models.CharField(
        max_length=35, default=shop_language, db_index=True, help_text="BCP 47 tag: en, hi, es, pt-BR."
    )
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120, unique=True)
    body = models.TextField(help_text="Markdown. Raw HTML is shown as text, never rendered.")
    tags = models.CharField(max_length=300, blank=True, help_text="Comma-separated.")
    phrasings = models.TextField(blank=True, help_text="Other ways customers ask for this article, one per line.")
    published = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["title"]
        constraints = [models.UniqueConstraint(fields=["key", "language"], name="knowledge_article_key_language")]

    def __str__(self) -> str:
        return self.title

    @property
    def url(self) -> str:
        return f"{HELP_CENTRE_PATH}{self.slug}/"

    @property
    def tag_list(self) -> tuple[str, ...]:
        return split_list(self.tags.replace("\n", ","))

    @property
    def phrasing_list(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in self.phrasings.splitlines() if line.strip())

    def as_data(self) -> ArticleData:
        return ArticleData(
            key=self.key,
            title=self.title,
            slug=self.slug,
            body=self.body,
            tags=self.tag_list,
            phrasings=self.phrasing_list,
            published=self.published,
            language=self.language,
        )


class HelpCentreVersion(models.Model):
    """A single row whose number goes up on every change to the articles.

    The in-process index and the answer cache key on it: reading one row by primary key
    costs far less than aggregating the article table on every question.
    """

    number = models.PositiveBigIntegerField(default=0)
    # Random per bump: after a rolled-back transaction the same number can come back, the token cannot.
    token = models.CharField(max_length=32, default="")

    class Meta:
        verbose_name = "help-centre version"
