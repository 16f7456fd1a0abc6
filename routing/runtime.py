"""The composition root for calling models: one place builds the provider, breaker and gateway.

Web processes, Celery workers and management commands all get their gateway from
:func:`runtime_get`, built from settings the same way, so they make the same choices. Nothing
here reads the database: the tier catalogue (which admins edit) is read by the caller in its
synchronous part (``routing.selectors.tier_catalogue_in_force``) and handed to each request.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, replace

from django.conf import settings

from routing.breaker import Breaker, breaker_from_url
from routing.gateway import Gateway
from routing.providers.base import Provider
from routing.tiers import TierConfig, TierName, default_catalogue

# The model name the ledger records for answers from the offline help-centre engine.
OFFLINE_MODEL = "offline-helpcentre"


@dataclass(frozen=True)
class Runtime:
    provider: Provider
    breaker: Breaker
    gateway: Gateway


_runtime: Runtime | None = None
_lock = threading.Lock()


def runtime_get() -> Runtime:
    """This process's runtime, built on first use from the current settings."""
    global _runtime
    if _runtime is None:
        with _lock:
            if _runtime is None:
                _runtime = runtime_build()
    return _runtime


def runtime_reset() -> None:
    """Forget the runtime, so the next use builds it from settings again (after settings change)."""
    global _runtime
    with _lock:
        _runtime = None
    compat = sys.modules.get("routing.providers.openai_compat")
    if compat is not None:
        compat.server_quirks_forget()


def runtime_build() -> Runtime:
    provider = provider_build()
    breaker = breaker_from_url(redis_url=settings.REDIS_URL)
    gateway = Gateway(providers=lambda tier: provider, catalogue=catalogue_from_settings, breaker=breaker)
    return Runtime(provider=provider, breaker=breaker, gateway=gateway)


def provider_build() -> Provider:
    """The OpenAI-compatible endpoint when a key is configured, otherwise the offline engine."""
    if settings.OPENAI_API_KEY:
        from routing.providers.openai_compat import OpenAICompatProvider
        from routing.redaction import RedactingProvider

        remote = OpenAICompatProvider(base_url=_openai_base_url(), api_key=settings.OPENAI_API_KEY)
        # Nothing leaves for an external provider with the configured PII kinds in it.
        return RedactingProvider(inner=remote, kinds=lambda: settings.SUPPORTBOT_REDACT)
    from routing.providers.offline import OfflineProvider

    return OfflineProvider(word_delay_s=settings.SUPPORTBOT_OFFLINE_WORD_DELAY_MS / 1000)


def _openai_base_url() -> str:
    return settings.OPENAI_BASE_URL or "https://api.openai.com/v1"


def model_client_warm() -> None:
    """On the event loop that will stream answers: build its model client ahead of the first answer."""
    if settings.OPENAI_API_KEY:
        from routing.providers.openai_compat import openai_client_warm

        openai_client_warm(base_url=_openai_base_url(), api_key=settings.OPENAI_API_KEY)


def catalogue_in_force(catalogue: dict[TierName, TierConfig]) -> dict[TierName, TierConfig]:
    """Without an API key every tier is served by the offline engine, and the ledger should say so."""
    if settings.OPENAI_API_KEY:
        return catalogue
    return {name: replace(config, model=OFFLINE_MODEL) for name, config in catalogue.items()}


def catalogue_from_settings() -> dict[TierName, TierConfig]:
    """The catalogue from settings alone (``SUPPORTBOT_MODEL_<TIER>``), for requests that bring none."""
    models = {TierName(name): model for name, model in settings.SUPPORTBOT_MODELS.items()}
    return catalogue_in_force(default_catalogue(models))
