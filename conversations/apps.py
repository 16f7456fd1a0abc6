from __future__ import annotations

from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Webhook receivers and their admin; beat's sweep for agents who left (registered with Celery here).
        from conversations import integrations, integrations_admin, presence_tasks  # noqa: F401
        from conversations.business_hours import business_hours
        from conversations.console import signals  # noqa: F401 - connects the logout receiver

        # Settings import no app code, so the hours are read here: a typo stops start-up,
        # with an ImproperlyConfigured naming SUPPORTBOT_BUSINESS_HOURS.
        business_hours()
