"""Full-text search structures, one per database vendor.

SQLite: an FTS5 table over the article columns, kept in step by triggers so bulk imports,
admin edits and raw SQL all stay searchable. PostgreSQL: a stored tsvector column with a
GIN index. Neither is a Django field: only ``helpcentre.fts`` reads them.
"""

from __future__ import annotations

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE knowledge_article_fts USING fts5(
        title, phrasings, tags, body, content='knowledge_article', content_rowid='id', tokenize='porter unicode61')""",
    """CREATE TRIGGER knowledge_article_fts_insert AFTER INSERT ON knowledge_article BEGIN
        INSERT INTO knowledge_article_fts(rowid, title, phrasings, tags, body)
        VALUES (new.id, new.title, new.phrasings, new.tags, new.body);
    END""",
    """CREATE TRIGGER knowledge_article_fts_delete AFTER DELETE ON knowledge_article BEGIN
        INSERT INTO knowledge_article_fts(knowledge_article_fts, rowid, title, phrasings, tags, body)
        VALUES ('delete', old.id, old.title, old.phrasings, old.tags, old.body);
    END""",
    """CREATE TRIGGER knowledge_article_fts_update AFTER UPDATE ON knowledge_article BEGIN
        INSERT INTO knowledge_article_fts(knowledge_article_fts, rowid, title, phrasings, tags, body)
        VALUES ('delete', old.id, old.title, old.phrasings, old.tags, old.body);
        INSERT INTO knowledge_article_fts(rowid, title, phrasings, tags, body)
        VALUES (new.id, new.title, new.phrasings, new.tags, new.body);
    END""",
    "INSERT INTO knowledge_article_fts(knowledge_article_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS knowledge_article_fts_update",
    "DROP TRIGGER IF EXISTS knowledge_article_fts_delete",
    "DROP TRIGGER IF EXISTS knowledge_article_fts_insert",
    "DROP TABLE IF EXISTS knowledge_article_fts",
]
POSTGRESQL_FORWARD = [
    """ALTER TABLE knowledge_article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(phrasings, '')), 'B')
        || setweight(to_tsvector('english', coalesce(tags, '')), 'B')
        || setweight(to_tsvector('english', coalesce(body, '')), 'C')) STORED""",
    "CREATE INDEX knowledge_article_search_vector ON knowledge_article USING GIN (search_vector)",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS knowledge_article_search_vector",
    "ALTER TABLE knowledge_article DROP COLUMN IF EXISTS search_vector",
]


def _run(statements_by_vendor: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        )
    ]
