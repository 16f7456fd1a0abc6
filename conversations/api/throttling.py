"""Requests per token per minute (``SUPPORTBOT_API_REQUESTS_PER_MINUTE``), counted in the shared cache."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from conversations.models import ApiToken


class ApiTokenThrottle(SimpleRateThrottle):
    scope = "api_token"

    def get_rate(self) -> str | None:
        # Read per request, not at import: a changed setting (or a test's) applies at once. 0: no limit.
        limit = settings.SUPPORTBOT_API_REQUESTS_PER_MINUTE
        return f"{limit}/min" if limit else None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
