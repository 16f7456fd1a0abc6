from __future__ import annotations

from routing.models import Tier
from routing.tiers import TierConfig, TierName, default_catalogue


def tier_catalogue() -> dict[TierName, TierConfig]:
    """The tier catalogue as admins left it; read per message so edits apply without a restart."""
    catalogue = {TierName(row.name): row.to_config() for row in Tier.objects.all()}
    if len(catalogue) < len(TierName):
        # A deleted row must not break answering: fall back to the brief's default for that tier.
        from django.conf import settings

        defaults = default_catalogue({TierName(k): v for k, v in settings.SUPPORTBOT_MODELS.items()})
        for name, config in defaults.items():
            catalogue.setdefault(name, config)
    return catalogue
