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
    ArticleData,
    ArticleFormatError,
    article_parse_markdown,
    article_render_markdown,
    article_validate,
    parse_bool,
    split_list,
)
from helpcentre.models import Article
from helpcentre.versioning import help_centre_version_bump

DEMO_FOLDER = Path(__file__).parent / "demo"
CSV_COLUMNS = ("key", "title", "slug", "tags", "published", "phrasings", "body")
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
            articles.append(article_parse_markdown(text=file.read_text(encoding="utf-8"), source=file.name))
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


def articles_read(*, path: Path) -> list[ArticleData]:
    if path.is_dir():
        return articles_read_folder(path=path)
    if path.suffix.lower() == ".csv":
        return articles_read_csv(path=path)
    if path.suffix.lower() == ".md":
        try:
            return [article_parse_markdown(text=path.read_text(encoding="utf-8"), source=path.name)]
        except ArticleFormatError as error:
            raise ArticleImportError([str(error)]) from error
    raise ArticleImportError([f"{path}: expected a folder of .md files, a .md file or a .csv file"])


def _duplicates(articles: Sequence[ArticleData]) -> list[str]:
    errors = []
    for field in ("key", "slug"):
        counts = Counter(getattr(article, field) for article in articles)
        errors += [f"{field} {value!r} appears {n} times in the import" for value, n in counts.items() if n > 1]
    return errors


def _slug_conflicts(articles: Sequence[ArticleData]) -> list[str]:
    by_slug = {article.slug: article.key for article in articles}
    taken = Article.objects.filter(slug__in=by_slug).exclude(key__in=by_slug.values()).values_list("slug", "key")
    return [f"slug {slug!r} already belongs to article {key!r}" for slug, key in taken if by_slug[slug] != key]


def _apply(row: Article, article: ArticleData) -> None:
    row.title, row.slug, row.body, row.published = article.title, article.slug, article.body, article.published
    row.tags = ", ".join(article.tags)
    row.phrasings = "\n".join(article.phrasings)


def articles_upsert(*, articles: Sequence[ArticleData], progress: ProgressCallback | None = None) -> ImportResult:
    """Create or update articles by key, all or nothing: any bad article means nothing is written."""
    errors = _duplicates(articles) or _slug_conflicts(articles)
    if errors:
        raise ArticleImportError(errors)
    existing = {row.key: row for row in Article.objects.filter(key__in=[a.key for a in articles])}
    created = []
    for article in articles:
        if article.key not in existing:
            created.append(Article(key=article.key))
            _apply(created[-1], article)
    changed = [(existing[a.key], a) for a in articles if a.key in existing and existing[a.key].as_data() != a]
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
    """Upsert the demo help centre; unchanged articles are left alone so caches stay valid."""
    return articles_import(path=DEMO_FOLDER)


def articles_export(*, path: Path, file_format: str, articles: Iterable[Article] | None = None) -> int:
    """Write articles as a folder of Markdown files or one CSV file; returns how many."""
    rows = list(articles if articles is not None else Article.objects.order_by("key"))
    if file_format == "md":
        path.mkdir(parents=True, exist_ok=True)
        for row in rows:
            (path / f"{row.key}.md").write_text(article_render_markdown(article=row.as_data()), encoding="utf-8")
    elif file_format == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for row in rows:
                writer.writerow(
                    [
                        row.key,
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
