from __future__ import annotations

from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "routing.knowledge"
    label = "knowledge"
    verbose_name = "Help centre"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from routing.knowledge import signals  # noqa: F401 - connects the version bump
