"""The rate limiter counts the same on Redis (one round trip per hit) and on the in-process cache."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.test import override_settings

from conversations import ratelimit

LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def _redis_caches(url: str) -> dict[str, dict[str, str]]:
    return {"default": {"BACKEND": "supportbot.cache.SharedRedisCache", "LOCATION": url}}


@pytest.fixture(params=["locmem", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    configured = LOCAL if request.param == "locmem" else _redis_caches(request.getfixturevalue("redis_url"))
    with override_settings(CACHES=configured):
        yield request.param


def test_hits_past_the_limit_are_refused_with_the_window_left(backend: str) -> None:
    key = uuid.uuid4().hex
    for _ in range(3):
        ratelimit.rate_limit_hit(scope="test", key=key, limit=3, window_s=60)
    with pytest.raises(ratelimit.RateLimited) as refused:
        ratelimit.rate_limit_hit(scope="test", key=key, limit=3, window_s=60)
    assert refused.value.limit == 3
    assert 0 < refused.value.retry_after_s <= 60


def test_each_key_counts_on_its_own(backend: str) -> None:
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    ratelimit.rate_limit_hit(scope="test", key=first, limit=1, window_s=60)
    ratelimit.rate_limit_hit(scope="test", key=second, limit=1, window_s=60)
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.rate_limit_hit(scope="test", key=first, limit=1, window_s=60)


def test_the_redis_counter_expires_with_its_window(redis_url: str) -> None:
    with override_settings(CACHES=_redis_caches(redis_url)):
        backend = caches["default"]
        counter = f"ratelimit:test:{uuid.uuid4().hex}:0"
        assert ratelimit._count(counter, window_s=60) == 1
        assert ratelimit._count(counter, window_s=60) == 2
        key = backend.make_and_validate_key(counter)
        ttl = backend._cache.get_client(key).ttl(key)
        assert 0 < ttl <= 61
        # The counter is the cache's own integer: the cache API reads the same count.
        assert backend.get(counter) == 2


def test_a_redis_outage_lets_messages_through(caplog: pytest.LogCaptureFixture) -> None:
    with override_settings(CACHES=_redis_caches("redis://127.0.0.1:1/0")):
        ratelimit.rate_limit_hit(scope="test", key="down", limit=1, window_s=60)
        ratelimit.rate_limit_hit(scope="test", key="down", limit=1, window_s=60)
    assert "rate limit test unavailable" in caplog.text
