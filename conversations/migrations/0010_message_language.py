"""A customer message's detected language.

SQLite adds a NOT NULL column by rebuilding the table, which drops the full-text triggers of
0009_message_search; they are made again here (the FTS rows keep their ids, so no rebuild).
"""

from __future__ import annotations

import importlib

from django.db import migrations, models

_search = importlib.import_module("conversations.migrations.0009_message_search")
SQLITE_TRIGGERS = [statement for statement in _search.SQLITE_FORWARD if statement.startswith("CREATE TRIGGER")]
SQLITE_TRIGGERS_DROP = [statement for statement in _search.SQLITE_BACKWARD if statement.startswith("DROP TRIGGER")]


def _triggers(statements: list[str]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("conversations", "0009_message_search")]

    operations = [
        migrations.AddField(model_name="message", name="language", field=models.CharField(blank=True, max_length=35)),
        migrations.RunPython(
            _triggers([*SQLITE_TRIGGERS_DROP, *SQLITE_TRIGGERS]), _triggers([*SQLITE_TRIGGERS_DROP, *SQLITE_TRIGGERS])
        ),
    ]
