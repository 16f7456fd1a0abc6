"""The Redis cache opens one set of connections per process, not one per websocket consumer.

Counted from outside, by the Redis server: each "consumer" below is a task of its own (its own
async context, as Channels gives each socket) that uses the cache from the database thread, as
the rate limit does on every customer message.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.test import override_settings

pytestmark = pytest.mark.redis

CONSUMERS = 8


def _cache_use(key: str) -> None:
    cache = caches["default"]
    cache.set(key, 1, timeout=60)
    cache.incr(key)


async def _consumer(key: str) -> None:
    for _ in range(3):
        # The consumers' thread-sensitive worker thread (channels' database_sync_to_async is this, plus
        # closing stale database connections, which a cache test has no business touching).
        await sync_to_async(_cache_use)(key)


def _connections_opened(url: str, backend: str) -> int:
    server = redis.Redis.from_url(url)
    before = int(server.info("stats")["total_connections_received"])
    with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": url}}):

        async def consumers() -> None:
            await asyncio.gather(*(asyncio.create_task(_consumer(uuid.uuid4().hex)) for _ in range(CONSUMERS)))

        asyncio.run(consumers())
    after = int(server.info("stats")["total_connections_received"])
    server.close()
    return after - before  # the INFO calls share one connection, opened before the first count


def test_consumers_share_the_process_connections(redis_url: str) -> None:
    assert _connections_opened(redis_url, "supportbot.cache.SharedRedisCache") <= 1


def test_the_stock_backend_opens_one_per_consumer_which_this_class_exists_for(redis_url: str) -> None:
    # If Django shares the pools upstream, this test says so and the subclass can go.
    assert _connections_opened(redis_url, "django.core.cache.backends.redis.RedisCache") >= CONSUMERS
