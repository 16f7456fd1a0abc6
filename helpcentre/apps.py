from __future__ import annotations

from django.apps import AppConfig


class HelpCentreConfig(AppConfig):
    name = "helpcentre"
    # The label predates the app's move out of routing: it keeps the migrations and table names.
    label = "knowledge"
    verbose_name = "Help centre"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from helpcentre import signals  # noqa: F401 - connects the version bump
