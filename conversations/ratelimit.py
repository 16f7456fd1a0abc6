"""Rate limits against floods: messages per visitor and new chat sessions per client IP.

Counters live in the Django cache (Redis in production), so every web process shares them.
Fixed windows: the first hit of a window creates its counter with the window as its lifetime,
later hits increment it. A limit of 0 turns the check off.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

MESSAGE_WINDOW_S = 60
SESSION_WINDOW_S = 3600


@dataclass
class RateLimited(Exception):
    """Over a limit; ``retry_after_s`` is when the current window ends."""

    scope: str
    limit: int
    window_s: int
    retry_after_s: int

    def __str__(self) -> str:
        return f"{self.scope}: more than {self.limit} in {self.window_s} s"


def rate_limit_hit(*, scope: str, key: str, limit: int, window_s: int) -> None:
    """Count one hit of ``key`` in the current window; raises RateLimited past ``limit``."""
    if limit <= 0:
        return
    window = int(time.time()) // window_s
    try:
        count = _count(f"ratelimit:{scope}:{key}:{window}", window_s=window_s)
    except Exception:  # noqa: BLE001 - a Redis blip must not stop every chat: the limits fail open
        logger.warning("rate limit %s unavailable; letting the request through", scope, exc_info=True)
        return
    if count > limit:
        retry_after = window_s - int(time.time()) % window_s
        raise RateLimited(scope=scope, limit=limit, window_s=window_s, retry_after_s=retry_after)


def _count(counter: str, *, window_s: int) -> int:
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        # One round trip: create the counter with its lifetime if it is new, then count this hit.
        key = backend.make_and_validate_key(counter)
        with backend._cache.get_client(key, write=True).pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=window_s + 1, nx=True)
            pipe.incr(key)
            _, count = pipe.execute()
        return int(count)
    # add() is atomic in every backend: exactly one hit creates the counter, the others increment it.
    if cache.add(counter, 1, timeout=window_s + 1):
        return 1
    try:
        return cache.incr(counter)
    except ValueError:  # expired between add() and incr(): this hit opens a new counter
        cache.add(counter, 1, timeout=window_s + 1)
        return 1


def visitor_message_hit(*, conversation_id: int) -> None:
    """One customer message; a visitor token opens one conversation, so this is per visitor."""
    rate_limit_hit(
        scope="messages",
        key=str(conversation_id),
        limit=settings.SUPPORTBOT_MESSAGES_PER_MINUTE,
        window_s=MESSAGE_WINDOW_S,
    )


def client_ip(request: HttpRequest) -> str:
    """The visitor's address: REMOTE_ADDR, or the last hop of the trusted proxy's header when configured."""
    header = settings.SUPPORTBOT_CLIENT_IP_HEADER
    if header:
        # The proxy appends the address it saw; anything before it was written by the client.
        forwarded = request.headers.get(header, "").split(",")[-1].strip()
        if forwarded:
            return forwarded[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def session_open_hit(*, request: HttpRequest) -> None:
    rate_limit_hit(
        scope="sessions",
        key=client_ip(request),
        limit=settings.SUPPORTBOT_SESSIONS_PER_IP_PER_HOUR,
        window_s=SESSION_WINDOW_S,
    )
