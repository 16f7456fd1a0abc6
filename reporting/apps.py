from __future__ import annotations

from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """Dashboards, metrics and exports over what the other apps record; it owns no tables."""

    name = "reporting"
    verbose_name = "Reporting"
