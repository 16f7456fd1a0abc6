from __future__ import annotations

from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from conversations import integrations, integrations_admin  # noqa: F401 - webhook receivers, their admin
        from conversations.business_hours import business_hours
        from conversations.console import signals  # noqa: F401 - connects the logout receiver

        # Settings import no app code, so the hours are read here: a typo stops start-up,
        # with an ImproperlyConfigured naming SUPPORTBOT_BUSINESS_HOURS.
        business_hours()
