"""What other apps may read from routing: the tier catalogue and the breakers' state."""

from __future__ import annotations

from django.conf import settings

from routing import signals
from routing.budgets import budget_alerts, budget_settings_get
from routing.cache import answer_cache_key, answer_cache_read
from routing.models import Tier
from routing.pricing import cost_for_usage
from routing.redaction import text_redact
from routing.router import text_categories
from routing.runtime import catalogue_in_force, runtime_get
from routing.tiers import TIER_ORDER, TierConfig, TierName, default_catalogue
from routing.tokens import input_tokens_estimate, text_tokens_estimate

__all__ = [
    "answer_cache_key",
    "answer_cache_read",
    "breaker_states",
    "budget_alerts",
    "budget_settings_get",
    "cost_for_usage",
    "text_frustrated",
    "text_is_small_talk",
    "input_tokens_estimate",
    "text_categories",
    "text_not_helped",
    "text_redact",
    "text_repeats",
    "text_tokens_estimate",
    "tier_catalogue",
    "tier_catalogue_in_force",
]


def tier_catalogue() -> dict[TierName, TierConfig]:
    """The tier catalogue as admins left it; read per message so edits apply without a restart."""
    catalogue = {TierName(row.name): row.to_config() for row in Tier.objects.all()}
    if len(catalogue) < len(TierName):
        # A deleted row must not break answering: fall back to the brief's default for that tier.
        defaults = default_catalogue({TierName(k): v for k, v in settings.SUPPORTBOT_MODELS.items()})
        for name, config in defaults.items():
            catalogue.setdefault(name, config)
    return catalogue


def tier_catalogue_in_force() -> dict[TierName, TierConfig]:
    """The catalogue as this deployment serves it: the admins' table, with every model offline when
    no API key is set. Read it in synchronous code and pass it to ``Gateway.stream``."""
    return catalogue_in_force(tier_catalogue())


def breaker_states() -> dict[str, str]:
    """Each tier's circuit breaker state ("closed", "open", "half_open") as this deployment shares it."""
    return runtime_get().breaker.states(tiers=[str(tier) for tier in TIER_ORDER])


# Text signals the router uses, for other apps' own judgements (the satisfaction estimate).


def text_not_helped(text: str) -> bool:
    """The customer says an answer did not help ("that didn't work", "still broken")."""
    return signals.text_has(signals.NOT_HELPED, text)


def text_frustrated(text: str) -> bool:
    return signals.text_sounds_frustrated(text)


def text_repeats(text: str, *, earlier: list[str]) -> bool:
    """The customer asks again what one of ``earlier`` asked."""
    return signals.text_repeats(text, earlier=earlier)


def text_is_small_talk(text: str) -> bool:
    return signals.text_is_small_talk(text)
