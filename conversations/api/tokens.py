"""API tokens: made once and shown once, kept only as a SHA-256 hash, revoked by date.

A token is 32 random bytes, so a plain SHA-256 is enough to keep it (nothing to brute-force, unlike
a password) and lets a request find its row by one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from conversations.models import ApiToken

TOKEN_PREFIX = "sbk_"
# How much of the token the admin shows to tell tokens apart: "sbk_" and 8 random characters.
SHOWN_CHARS = 12
# last_used_at is written at most this often per token: one UPDATE per request would be a hot row.
LAST_USED_RESOLUTION = timedelta(minutes=1)
SCOPES = frozenset(ApiToken.Scope.values)


class UnknownScope(ValueError):
    pass


def api_token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user_id: int, name: str, scopes: Iterable[str]) -> tuple[ApiToken, str]:
    """A new token for staff user ``user_id``; the raw token is in the return value and nowhere else."""
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise UnknownScope(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(sorted(SCOPES))}")
    token = ApiToken(user_id=user_id, name=name, scopes=scopes)
    raw = api_token_fill(token)
    token.save()
    return token, raw


def api_token_fill(token: ApiToken) -> str:
    """Give an unsaved token its secret: the raw token is returned, only its hash is kept on the row."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token.prefix, token.digest = raw[:SHOWN_CHARS], api_token_digest(raw)
    return raw


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The live token ``raw`` names, its user still an active staff member; None otherwise."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=api_token_digest(raw), revoked_at__isnull=True, user__is_active=True, user__is_staff=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
    return token


def api_tokens_revoke(*, token_ids: Iterable[int]) -> int:
    """Revoke tokens at once (they stop working on the next request); how many were live."""
    return ApiToken.objects.filter(pk__in=list(token_ids), revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_token_user_id(*, username: str) -> int:
    """The staff user a token is made for, by user name; LookupError when there is no such staff user."""
    user_id = (
        get_user_model()
        .objects.filter(username=username, is_active=True, is_staff=True)
        .values_list("pk", flat=True)
        .first()
    )
    if user_id is None:
        raise LookupError(f"no active staff user named {username!r}")
    return user_id
