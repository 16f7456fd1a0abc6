from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from helpcentre.models import Article
from helpcentre.services import (
    DEMO_FOLDER,
    ArticleImportError,
    articles_export,
    articles_import,
    demo_helpcentre_load,
)


def _snapshot() -> list[tuple]:
    return list(
        Article.objects.order_by("key", "language").values_list(
            "key", "language", "title", "slug", "body", "tags", "phrasings", "published"
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize("file_format", ["md", "csv"])
def test_export_then_import_round_trip(tmp_path: Path, file_format: str) -> None:
    demo_helpcentre_load()
    Article.objects.filter(key="EMI").update(published=False)
    before = _snapshot()
    target = tmp_path / ("export" if file_format == "md" else "export.csv")
    assert articles_export(path=target, file_format=file_format) == len(before)
    Article.objects.all().delete()
    result = articles_import(path=target)
    assert (result.created, result.updated) == (len(before), 0)
    assert _snapshot() == before


@pytest.mark.django_db
def test_demo_load_is_idempotent() -> None:
    first = demo_helpcentre_load()
    versions = list(Article.objects.order_by("key", "language").values_list("key", "language", "updated_at"))
    second = demo_helpcentre_load()
    # README.md in each folder is not an article.
    english, hindi, spanish = (
        len(list(folder.glob("*.md"))) - 1 for folder in (DEMO_FOLDER, DEMO_FOLDER / "hi", DEMO_FOLDER / "es")
    )
    assert first.created == english + hindi + spanish
    assert Article.objects.filter(language="hi").count() == hindi >= 10
    assert Article.objects.filter(language="es").count() == spanish >= 10
    assert (second.created, second.updated, second.unchanged) == (0, 0, first.created)
    assert list(Article.objects.order_by("key", "language").values_list("key", "language", "updated_at")) == versions


@pytest.mark.django_db
def test_translations_share_the_key_of_their_english_article() -> None:
    demo_helpcentre_load()
    languages = set(Article.objects.filter(key="RETURN_EXCHANGE").values_list("language", flat=True))
    assert languages == {"en", "hi", "es"}
    assert Article.objects.get(key="RETURN_EXCHANGE", language="es").slug == "devoluciones-reembolsos-cambios"


@pytest.mark.django_db
def test_export_writes_translations_in_a_folder_per_language_with_their_language(tmp_path: Path) -> None:
    demo_helpcentre_load()
    articles_export(path=tmp_path, file_format="md")
    assert "language: es\n" in (tmp_path / "es" / "RETURN_EXCHANGE.md").read_text()
    assert "language: en\n" in (tmp_path / "RETURN_EXCHANGE.md").read_text()
    articles_export(path=tmp_path / "all.csv", file_format="csv")
    assert (tmp_path / "all.csv").read_text().startswith("key,language,title,")


@pytest.mark.django_db
def test_same_key_twice_in_one_language_rejected_but_allowed_across_languages(tmp_path: Path) -> None:
    rows = "key,language,title,slug,body\nSAME,en,T,same-en,Body\nSAME,es,T,same-es,Cuerpo\n"
    (tmp_path / "ok.csv").write_text(rows)
    assert articles_import(path=tmp_path / "ok.csv").created == 2
    (tmp_path / "bad.csv").write_text(rows + "SAME,es,T,same-es-2,Otro\n")
    with pytest.raises(ArticleImportError, match="key 'SAME' \\(es\\) appears 2 times"):
        articles_import(path=tmp_path / "bad.csv")


@pytest.mark.django_db
def test_invalid_language_rejected(tmp_path: Path) -> None:
    (tmp_path / "bad.md").write_text("---\nkey: X\nlanguage: Spanish!\ntitle: T\nslug: t\n---\nBody\n")
    with pytest.raises(ArticleImportError, match="invalid language"):
        articles_import(path=tmp_path)


@pytest.mark.django_db
def test_import_updates_by_key(tmp_path: Path) -> None:
    demo_helpcentre_load()
    articles_export(path=tmp_path, file_format="md")
    path = tmp_path / "COD.md"
    path.write_text(path.read_text().replace("title: Cash on delivery (COD)", "title: Paying cash on delivery"))
    result = articles_import(path=tmp_path)
    assert (result.created, result.updated) == (0, 1)
    assert Article.objects.get(key="COD", language="en").title == "Paying cash on delivery"


CSV_WITH_BAD_ROWS = (
    "key,title,slug,tags,published,phrasings,body\n"
    'GOOD,Good,good,,true,"one\ntwo",Body\n'  # lines 2-3: a quoted cell spans two lines
    "BAD1,,bad-one,,true,,Body\n"  # line 4: no title
    "BAD2,Bad,Bad Slug,,true,,Body\n"  # line 5
    "GOOD2,Good two,good-two,,perhaps,,Body\n"  # line 6
)


@pytest.mark.django_db
def test_bad_csv_rows_reported_by_line_and_nothing_imported(tmp_path: Path) -> None:
    path = tmp_path / "articles.csv"
    path.write_text(CSV_WITH_BAD_ROWS)
    with pytest.raises(ArticleImportError) as caught:
        articles_import(path=path)
    assert [error.split(":")[1] for error in caught.value.errors] == ["4", "5", "6"]
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_bad_markdown_file_named_and_nothing_imported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "good.md").write_text("---\nkey: GOOD\ntitle: Good\nslug: good\n---\nBody\n")
    (tmp_path / "broken.md").write_text("no front matter here\n")
    with pytest.raises(CommandError, match="Nothing imported: 1 problem"):
        call_command("import_articles", str(tmp_path))
    assert "broken.md" in capsys.readouterr().err
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_duplicate_keys_in_one_import_rejected(tmp_path: Path) -> None:
    for name, slug in (("a.md", "first"), ("b.md", "second")):
        (tmp_path / name).write_text(f"---\nkey: SAME\ntitle: T\nslug: {slug}\n---\nBody\n")
    with pytest.raises(ArticleImportError, match="key 'SAME' appears 2 times"):
        articles_import(path=tmp_path)
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_large_import_draws_a_progress_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = "".join(f"K{n},Title {n},slug-{n},,true,,Body {n}\n" for n in range(250))
    (tmp_path / "many.csv").write_text("key,title,slug,tags,published,phrasings,body\n" + rows)
    call_command("import_articles", str(tmp_path / "many.csv"))
    assert "250/250" in capsys.readouterr().err
    assert Article.objects.count() == 250


@pytest.mark.django_db
def test_version_changes_only_when_articles_change(tmp_path: Path) -> None:
    from helpcentre.selectors import help_centre_version

    demo_helpcentre_load()
    loaded = help_centre_version()
    demo_helpcentre_load()
    assert help_centre_version() == loaded
    (tmp_path / "bad.csv").write_text("key,title,slug,body\nNEW,,new,Body\n")
    with pytest.raises(ArticleImportError):
        articles_import(path=tmp_path / "bad.csv")
    assert help_centre_version() == loaded
    Article.objects.get(key="COD", language="en").delete()
    assert help_centre_version() != loaded
