"""Django's Redis cache with one set of connections per process.

Django keeps a cache object per async context, and under ASGI every websocket consumer is a
context of its own; each object opens its own connection pool. So every socket that touched the
cache (the message rate limit, the answer cache, agents' presence) held a Redis connection of its
own for as long as it stayed open, and its first message paid for the connection's handshake. The
objects here share one client, and so its pools, per location and options.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[str, RedisCacheClient] = {}
_clients_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    # Set by RedisCache.__init__ (not in its type stubs).
    _servers: list[str]
    _options: dict[str, Any]
    _class: type[RedisCacheClient]

    @cached_property
    def _cache(self) -> Any:
        key = repr((self._servers, sorted(self._options.items())))
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client
