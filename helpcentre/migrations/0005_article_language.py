"""Articles get a language; the same key in several languages is one translation group.

Full-text search gets a configuration per language. SQLite: English articles stay in the Porter
FTS5 table; every other language goes to a second table with ``unicode61 remove_diacritics 2``
(no stemmer fits Hindi and Spanish alike, and "devolución" must match "devolucion"). PostgreSQL:
the stored tsvector uses the article's language's text search configuration, ``simple`` where
PostgreSQL has none (Hindi). Rebuilding the SQLite table to drop the key's uniqueness drops its
triggers, so they are made again here.
"""

from __future__ import annotations

from django.db import migrations, models

import helpcentre.models

COLUMNS = "title, phrasings, tags, body"
NEW = "new.id, new.title, new.phrasings, new.tags, new.body"
OLD = "old.id, old.title, old.phrasings, old.tags, old.body"
ENGLISH = "({row}.language = 'en' OR {row}.language LIKE 'en-%')"
TABLES = {
    # table: (tokenizer, which rows it holds)
    "knowledge_article_fts": ("porter unicode61", ENGLISH),
    "knowledge_article_fts_intl": ("unicode61 remove_diacritics 2", "NOT " + ENGLISH),
}
OLD_TRIGGERS = ["knowledge_article_fts_insert", "knowledge_article_fts_delete", "knowledge_article_fts_update"]


def _sqlite_table(table: str, tokenizer: str, holds: str) -> list[str]:
    insert = f"INSERT INTO {table}(rowid, {COLUMNS}) SELECT {NEW} WHERE {holds.format(row='new')};"
    delete = f"INSERT INTO {table}({table}, rowid, {COLUMNS}) SELECT 'delete', {OLD} WHERE {holds.format(row='old')};"
    return [
        f"CREATE VIRTUAL TABLE {table} USING fts5({COLUMNS}, content='knowledge_article', "
        f"content_rowid='id', tokenize='{tokenizer}')",
        f"CREATE TRIGGER {table}_insert AFTER INSERT ON knowledge_article BEGIN {insert} END",
        f"CREATE TRIGGER {table}_delete AFTER DELETE ON knowledge_article BEGIN {delete} END",
        f"CREATE TRIGGER {table}_update AFTER UPDATE ON knowledge_article BEGIN {delete} {insert} END",
        f"INSERT INTO {table}(rowid, {COLUMNS}) SELECT id, {COLUMNS} FROM knowledge_article a "
        f"WHERE {holds.format(row='a')}",
    ]


def _sqlite_drop() -> list[str]:
    statements = [f"DROP TRIGGER IF EXISTS {name}" for name in OLD_TRIGGERS]
    for table in TABLES:
        statements += [f"DROP TRIGGER IF EXISTS {table}_{event}" for event in ("insert", "delete", "update")]
    return [
        *statements,
        "DROP TABLE IF EXISTS knowledge_article_fts_vocab",
        *(f"DROP TABLE IF EXISTS {table}" for table in TABLES),
    ]


SQLITE_FORWARD = [
    *(
        statement
        for table, (tokenizer, holds) in TABLES.items()
        for statement in _sqlite_table(table, tokenizer, holds)
    ),
    "CREATE VIRTUAL TABLE knowledge_article_fts_vocab USING fts5vocab(knowledge_article_fts, 'row')",
]
SQLITE_BACKWARD = [
    *_sqlite_table("knowledge_article_fts", "porter unicode61", "1"),
    "CREATE VIRTUAL TABLE knowledge_article_fts_vocab USING fts5vocab(knowledge_article_fts, 'row')",
]
# PostgreSQL's built-in configurations present in every supported version; any other language is 'simple'.
POSTGRESQL_CONFIGURATIONS = {
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "it": "italian",
    "nl": "dutch",
    "no": "norwegian",
    "nb": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
_CONFIGURATION = (
    "CASE split_part(language, '-', 1) "
    + " ".join(f"WHEN '{code}' THEN '{name}'::regconfig" for code, name in POSTGRESQL_CONFIGURATIONS.items())
    + " ELSE 'simple'::regconfig END"
)


def _postgresql_vector(configuration: str) -> list[str]:
    return [
        "DROP INDEX IF EXISTS knowledge_article_search_vector",
        "ALTER TABLE knowledge_article DROP COLUMN IF EXISTS search_vector",
        f"""ALTER TABLE knowledge_article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector({configuration}, coalesce(title, '')), 'A')
            || setweight(to_tsvector({configuration}, coalesce(phrasings, '')), 'B')
            || setweight(to_tsvector({configuration}, coalesce(tags, '')), 'B')
            || setweight(to_tsvector({configuration}, coalesce(body, '')), 'C')) STORED""",
        "CREATE INDEX knowledge_article_search_vector ON knowledge_article USING GIN (search_vector)",
    ]


def _translations_delete(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Without a language, two articles cannot share a key: going back keeps the shop's language only.
    from django.conf import settings

    apps.get_model("knowledge", "Article").objects.exclude(language=settings.LANGUAGE_CODE).delete()


def _run(statements_by_vendor: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0004_full_text_vocabulary")]

    operations = [
        migrations.RunPython(_run({"sqlite": _sqlite_drop()}), _run({"sqlite": [*_sqlite_drop(), *SQLITE_BACKWARD]})),
        migrations.AddField(
            model_name="article",
            name="language",
            field=models.CharField(
                db_index=True,
                default=helpcentre.models.shop_language,
                help_text="BCP 47 tag: en, hi, es, pt-BR.",
                max_length=35,
            ),
        ),
        migrations.AlterField(
            model_name="article",
            name="key",
            field=models.CharField(
                db_index=True,
                help_text="Stable identifier used by imports and citations; the same in every language of the article.",
                max_length=100,
            ),
        ),
        migrations.AddConstraint(
            model_name="article",
            constraint=models.UniqueConstraint(fields=("key", "language"), name="knowledge_article_key_language"),
        ),
        migrations.RunPython(migrations.RunPython.noop, _translations_delete),
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": _postgresql_vector(_CONFIGURATION)}),
            _run({"sqlite": _sqlite_drop(), "postgresql": _postgresql_vector("'english'")}),
        ),
    ]
