"""SQLite: FTS5's own vocabulary (stemmed term → number of articles), so a search can leave out
words that its Porter stemmer folds into a common term ("dos" → "do") before matching on them."""

from __future__ import annotations

from django.db import migrations


def _forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            "CREATE VIRTUAL TABLE knowledge_article_fts_vocab USING fts5vocab(knowledge_article_fts, 'row')"
        )


def _backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS knowledge_article_fts_vocab")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0003_help_centre_version")]

    operations = [migrations.RunPython(_forward, _backward)]
