"""Full-text search over messages for the console, one structure per database vendor.

SQLite: an FTS5 table over the message text, kept in step by triggers (bulk inserts and raw SQL
included). PostgreSQL: a GIN index on the text's English tsvector, the exact expression
``conversations.console.search`` queries. Neither is a Django field: only that module reads them.
Internal notes are not messages, so neither ever holds one.
"""

from __future__ import annotations

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE conversations_message_fts USING fts5(
        text, content='conversations_message', content_rowid='id', tokenize='porter unicode61')""",
    """CREATE TRIGGER conversations_message_fts_insert AFTER INSERT ON conversations_message BEGIN
        INSERT INTO conversations_message_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    """CREATE TRIGGER conversations_message_fts_delete AFTER DELETE ON conversations_message BEGIN
        INSERT INTO conversations_message_fts(conversations_message_fts, rowid, text)
        VALUES ('delete', old.id, old.text);
    END""",
    # Only a change of text re-indexes: the demo month rewrites every created_at after inserting.
    """CREATE TRIGGER conversations_message_fts_update AFTER UPDATE OF text ON conversations_message BEGIN
        INSERT INTO conversations_message_fts(conversations_message_fts, rowid, text)
        VALUES ('delete', old.id, old.text);
        INSERT INTO conversations_message_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    "INSERT INTO conversations_message_fts(conversations_message_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS conversations_message_fts_update",
    "DROP TRIGGER IF EXISTS conversations_message_fts_delete",
    "DROP TRIGGER IF EXISTS conversations_message_fts_insert",
    "DROP TABLE IF EXISTS conversations_message_fts",
]
POSTGRESQL_FORWARD = [
    "CREATE INDEX conversations_message_text_search ON conversations_message USING GIN (to_tsvector('english', text))",
]
POSTGRESQL_BACKWARD = ["DROP INDEX IF EXISTS conversations_message_text_search"]


def _run(statements_by_vendor: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("conversations", "0008_console_staff_tables")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        )
    ]
