"""Writing the help centre: import (Markdown folder or CSV), export, and the demo content."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from helpcentre.articles import (
    LANGUAGE_PATTERN,
    ArticleData,
    ArticleFormatError,
    article_parse_markdown,
    article_render_markdown,
    article_validate,
    parse_bool,
    split_list,
)
from helpcentre.models import Article, shop_language
from helpcentre.versioning import help_centre_version_bump

DEMO_FOLDER = Path(__file__).parent / "demo"
CSV_COLUMNS = ("key", "language", "title", "slug", "tags", "published", "phrasings", "body")
BATCH_SIZE = 500
ProgressCallback = Callable[[int, int], None]


class ArticleImportError(Exception):
    """Nothing was imported; ``errors`` lists every bad file or line."""

    def __init__(self, errors: Sequence[str]):
        super().__init__("; ".join(errors[:5]) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""))
        self.errors = list(errors)


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


def articles_read_folder(*, path: Path) -> list[ArticleData]:
    """Every ``*.md`` article in ``path`` (README.md excepted); all files are checked before raising."""
    articles, errors = [], []
    for file in sorted(path.glob("*.md")):
        if file.name.lower() == "readme.md":
            continue
        try:
            text = file.read_text(encoding="utf-8")
            articles.append(article_parse_markdown(text=text, source=file.name, default_language=shop_language()))
        except (ArticleFormatError, UnicodeDecodeError) as error:
            errors.append(str(error) if isinstance(error, ArticleFormatError) else f"{file.name}: not UTF-8 text")
    if errors:
        raise ArticleImportError(errors)
    return articles


def _csv_row_article(row: dict[str, str], *, location: str) -> ArticleData:
    missing = [name for name in ("key", "title", "slug", "body") if not (row.get(name) or "").strip()]
    if missing:
        raise ArticleFormatError(f"missing value(s): {', '.join(missing)}", location=location)
    article = ArticleData(
        key=row["key"].strip(),
        title=row["title"].strip(),
        slug=row["slug"].strip(),
        body=row["body"].strip() + "\n",
        tags=split_list((row.get("tags") or "").replace("\n", ",")),
        phrasings=tuple(line.strip() for line in (row.get("phrasings") or "").splitlines() if line.strip()),
        published=parse_bool(row.get("published") or "true", location=location),
        language=(row.get("language") or "").strip() or shop_language(),
    )
    return article_validate(article=article, location=location)


def articles_read_csv(*, path: Path) -> list[ArticleData]:
    """Articles from a CSV with a header row (``CSV_COLUMNS``; phrasings one per line in their cell)."""
    articles, errors = [], []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        absent = {"key", "title", "slug", "body"} - set(reader.fieldnames or ())
        if absent:
            raise ArticleImportError([f"{path.name}:1: missing column(s): {', '.join(sorted(absent))}"])
        line = reader.line_num + 1
        for row in reader:
            try:
                articles.append(_csv_row_article(row, location=f"{path.name}:{line}"))
            except ArticleFormatError as error:
                errors.append(str(error))
            line = reader.line_num + 1  # a quoted cell may span lines: the next row starts after it
    if errors:
        raise ArticleImportError(errors)
    return articles


def articles_read_tree(*, path: Path) -> list[ArticleData]:
    """The articles in ``path`` and in its language sub-folders (``hi/``, ``pt-BR/``: translations)."""
    articles, errors = [], []
    folders = [path, *sorted(sub for sub in path.iterdir() if sub.is_dir() and LANGUAGE_PATTERN.match(sub.name))]
    for folder in folders:
        try:
            articles += articles_read_folder(path=folder)
        except ArticleImportError as error:
            prefix = "" if folder == path else f"{folder.name}/"
            errors += [prefix + message for message in error.errors]
    if errors:
        raise ArticleImportError(errors)
    return articles


def articles_read(*, path: Path) -> list[ArticleData]:
    if path.is_dir():
        return articles_read_tree(path=path)
    if path.suffix.lower() == ".csv":
        return articles_read_csv(path=path)
    if path.suffix.lower() == ".md":
        try:
            text = path.read_text(encoding="utf-8")
            return [article_parse_markdown(text=text, source=path.name, default_language=shop_language())]
        except ArticleFormatError as error:
            raise ArticleImportError([str(error)]) from error
    raise ArticleImportError([f"{path}: expected a folder of .md files, a .md file or a .csv file"])


def _identity(article: ArticleData | Article) -> tuple[str, str]:
    """An article is its key in its language; the key alone names its translation group."""
    return article.key, article.language


def _shown(identity: tuple[str, str]) -> str:
    key, language = identity
    return repr(key) if language == shop_language() else f"{key!r} ({language})"


def _duplicates(articles: Sequence[ArticleData]) -> list[str]:
    keys = Counter(_identity(article) for article in articles)
    slugs = Counter(article.slug for article in articles)
    return [f"key {_shown(value)} appears {n} times in the import" for value, n in keys.items() if n > 1] + [
        f"slug {value!r} appears {n} times in the import" for value, n in slugs.items() if n > 1
    ]


def _slug_conflicts(articles: Sequence[ArticleData]) -> list[str]:
    by_slug = {article.slug: _identity(article) for article in articles}
    taken = Article.objects.filter(slug__in=by_slug).values_list("slug", "key", "language")
    return [
        f"slug {slug!r} already belongs to article {_shown((key, language))}"
        for slug, key, language in taken
        if by_slug[slug] != (key, language)
    ]


def _apply(row: Article, article: ArticleData) -> None:
    row.title, row.slug, row.body, row.published = article.title, article.slug, article.body, article.published
    row.tags = ", ".join(article.tags)
    row.phrasings = "\n".join(article.phrasings)


def articles_upsert(*, articles: Sequence[ArticleData], progress: ProgressCallback | None = None) -> ImportResult:
    """Create or update articles by key and language, all or nothing: any bad article means nothing is written."""
    errors = _duplicates(articles) or _slug_conflicts(articles)
    if errors:
        raise ArticleImportError(errors)
    rows = Article.objects.filter(key__in={a.key for a in articles})
    existing = {_identity(row): row for row in rows}
    created = []
    for article in articles:
        if _identity(article) not in existing:
            created.append(Article(key=article.key, language=article.language))
            _apply(created[-1], article)
    changed = [
        (existing[_identity(a)], a)
        for a in articles
        if _identity(a) in existing and existing[_identity(a)].as_data() != a
    ]
    now = timezone.now()
    for row, article in changed:
        _apply(row, article)
        row.updated_at = now  # bulk_update does not apply auto_now
    updated = [row for row, _ in changed]
    try:
        with transaction.atomic():
            _write_batches(created, updated, progress=progress)
            if created or updated:
                help_centre_version_bump()  # bulk writes send no post_save signal
    except IntegrityError as error:
        raise ArticleImportError([f"the database refused the import: {error}"]) from error
    return ImportResult(
        created=len(created), updated=len(updated), unchanged=len(articles) - len(created) - len(updated)
    )


def _write_batches(created: list[Article], updated: list[Article], *, progress: ProgressCallback | None) -> None:
    total, done = len(created) + len(updated), 0
    fields = ["title", "slug", "body", "tags", "phrasings", "published", "updated_at"]
    for start in range(0, len(created), BATCH_SIZE):
        Article.objects.bulk_create(created[start : start + BATCH_SIZE])
        done += len(created[start : start + BATCH_SIZE])
        if progress:
            progress(done, total)
    for start in range(0, len(updated), BATCH_SIZE):
        Article.objects.bulk_update(updated[start : start + BATCH_SIZE], fields)
        done += len(updated[start : start + BATCH_SIZE])
        if progress:
            progress(done, total)


def articles_import(*, path: Path, progress: ProgressCallback | None = None) -> ImportResult:
    """Read and validate every article at ``path``, then upsert them in one transaction."""
    return articles_upsert(articles=articles_read(path=path), progress=progress)


def demo_helpcentre_load() -> ImportResult:
    """Upsert the demo help centre and its translations (one sub-folder per language, the English
    article's key in each); unchanged articles are left alone so caches stay valid."""
    return articles_import(path=DEMO_FOLDER)


def articles_export(*, path: Path, file_format: str, articles: Iterable[Article] | None = None) -> int:
    """Write articles as a folder of Markdown files or one CSV file; returns how many.

    In a folder, an article in the shop's language is ``KEY.md`` and a translation is
    ``<language>/KEY.md``, the layout the demo help centre uses; both carry their language.
    """
    rows = list(articles if articles is not None else Article.objects.order_by("key", "language"))
    if file_format == "md":
        for row in rows:
            folder = path if row.language == shop_language() else path / row.language
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{row.key}.md").write_text(article_render_markdown(article=row.as_data()), encoding="utf-8")
    elif file_format == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for row in rows:
                writer.writerow(
                    [
                        row.key,
                        row.language,
                        row.title,
                        row.slug,
                        row.tags,
                        "true" if row.published else "false",
                        row.phrasings,
                        row.body,
                    ]
                )
    else:
        raise ValueError(f"unknown export format {file_format!r} (md or csv)")
    return len(rows)
