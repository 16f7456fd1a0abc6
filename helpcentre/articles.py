"""Articles as plain values, and their Markdown file format (front matter + body).

The file format is deliberately a small YAML subset (``key: value`` lines and ``- item``
lists) so the help centre can be edited by hand and imported without a YAML dependency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FRONT_MATTER_FENCE = "---"
LIST_FIELDS = ("tags", "phrasings")
REQUIRED_FIELDS = ("key", "title", "slug")
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# A BCP 47 tag as shops use them: a language, then optional script or region subtags (hi, pt-BR, zh-Hant).
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
DEFAULT_LANGUAGE = "en"


class ArticleFormatError(ValueError):
    """An article that cannot be imported; ``location`` names the file or CSV line."""

    def __init__(self, message: str, *, location: str):
        super().__init__(f"{location}: {message}")
        self.location = location
        self.reason = message


@dataclass(frozen=True)
class ArticleData:
    key: str
    title: str
    slug: str
    body: str
    tags: tuple[str, ...] = ()
    phrasings: tuple[str, ...] = ()
    published: bool = True
    # The article's language; articles with the same key in several languages are one translation group.
    language: str = DEFAULT_LANGUAGE
    extra: dict[str, str] = field(default_factory=dict, compare=False)


def article_validate(*, article: ArticleData, location: str) -> ArticleData:
    """Raise :class:`ArticleFormatError` when a field cannot be stored as given."""
    if not KEY_PATTERN.match(article.key):
        raise ArticleFormatError(f"invalid key {article.key!r} (letters, digits, _ . - only)", location=location)
    if not SLUG_PATTERN.match(article.slug):
        raise ArticleFormatError(f"invalid slug {article.slug!r} (lowercase words joined by -)", location=location)
    if not LANGUAGE_PATTERN.match(article.language):
        raise ArticleFormatError(
            f"invalid language {article.language!r} (a BCP 47 tag: en, hi, pt-BR)", location=location
        )
    if not article.title.strip() or len(article.title) > 200:
        raise ArticleFormatError("title must be 1 to 200 characters", location=location)
    if not article.body.strip():
        raise ArticleFormatError("body is empty", location=location)
    return article


def _parse_scalar(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_bool(raw: str, *, location: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise ArticleFormatError(f"published must be true or false, not {raw!r}", location=location)


def split_list(raw: str) -> tuple[str, ...]:
    """A comma-separated list (tags) or one item a line (phrasings), blanks dropped."""
    separator = "\n" if "\n" in raw else ","
    return tuple(item.strip() for item in raw.split(separator) if item.strip())


def _front_matter_fields(lines: list[str], *, source: str) -> dict[str, str | list[str]]:
    fields: dict[str, str | list[str]] = {}
    current_list: list[str] | None = None
    for number, line in enumerate(lines, start=2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("- ") or stripped == "-":
            if current_list is None:
                raise ArticleFormatError("list item outside a list field", location=f"{source}:{number}")
            current_list.append(_parse_scalar(stripped[1:]))
            continue
        name, colon, value = stripped.partition(":")
        if not colon or not name.strip().isidentifier():
            raise ArticleFormatError(f"expected 'name: value', got {stripped!r}", location=f"{source}:{number}")
        name = name.strip()
        if value.strip():
            fields[name] = _parse_scalar(value)
            current_list = None
        else:
            current_list = []
            fields[name] = current_list
    return fields


def _field_list(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(item for item in value if item)
    return split_list(value)


def article_parse_markdown(*, text: str, source: str, default_language: str = DEFAULT_LANGUAGE) -> ArticleData:
    """Parse one article file: ``---`` front matter ``---`` then the Markdown body.

    Without a ``language`` field the article is in ``default_language`` (the shop's).
    """
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != FRONT_MATTER_FENCE:
        raise ArticleFormatError("missing front matter (the file must start with ---)", location=source)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FRONT_MATTER_FENCE)
    except StopIteration:
        raise ArticleFormatError("front matter is not closed with ---", location=source) from None
    fields = _front_matter_fields(lines[1:end], source=source)
    missing = [name for name in REQUIRED_FIELDS if not fields.get(name)]
    if missing:
        raise ArticleFormatError(f"missing field(s): {', '.join(missing)}", location=source)
    published = fields.get("published", "true")
    article = ArticleData(
        key=str(fields["key"]),
        title=str(fields["title"]),
        slug=str(fields["slug"]),
        body="\n".join(lines[end + 1 :]).strip() + "\n",
        tags=_field_list(fields.get("tags")),
        phrasings=_field_list(fields.get("phrasings")),
        published=parse_bool(published if isinstance(published, str) else "", location=source),
        language=str(fields.get("language") or default_language),
    )
    return article_validate(article=article, location=source)


def _quote_if_needed(value: str) -> str:
    # A value starting with a quote, or holding ": ", would read back differently unquoted.
    if value != value.strip() or value[:1] in "\"'#-" or ": " in value:
        return '"' + value + '"'
    return value


def article_render_markdown(*, article: ArticleData) -> str:
    """The file form of an article; :func:`article_parse_markdown` reads it back unchanged."""
    lines = [
        FRONT_MATTER_FENCE,
        f"key: {article.key}",
        f"language: {article.language}",
        f"title: {_quote_if_needed(article.title)}",
        f"slug: {article.slug}",
        f"tags: {', '.join(article.tags)}",
        f"published: {'true' if article.published else 'false'}",
        "phrasings:",
        *(f"  - {_quote_if_needed(phrasing)}" for phrasing in article.phrasings),
        FRONT_MATTER_FENCE,
        article.body.strip(),
    ]
    return "\n".join(lines) + "\n"
