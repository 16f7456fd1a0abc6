"""Channel-layer groups as the layer holds them, counted by kind for monitoring.

Group names carry a conversation or agent id (``conversation.<id>``, ``console.agent.<id>``), so
they are counted per kind (the name without its id), never one series per group. With Redis
(channels-redis) each group is a sorted set ``<prefix>:group:<name>`` of channel names scored by
the time they joined; members older than the layer's ``group_expiry`` are dead and the layer
drops them lazily, so they are not counted. The Redis layer is shared by every web process, so
its counts are the deployment's; the in-memory layer (tests, no ``REDIS_URL``) is this process's.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis

from conversations.protocol import CONSOLE_QUEUE_GROUP

# A scrape must not hang on a slow Redis: it reports the layer as unreadable instead.
REDIS_TIMEOUT_S = 1.0
SCAN_BATCH = 500
_FIXED_GROUPS = frozenset({CONSOLE_QUEUE_GROUP})


@dataclass(frozen=True)
class GroupCounts:
    """Groups with at least one live member, and their members, per group kind."""

    groups: Counter[str] = field(default_factory=Counter)
    members: Counter[str] = field(default_factory=Counter)


def group_kind(name: str) -> str:
    """``conversation.ab12`` → ``conversation``; ``console.agent.7`` → ``console.agent``."""
    return name if name in _FIXED_GROUPS else name.rpartition(".")[0] or name


def channel_group_counts(*, layer: Any) -> GroupCounts:
    """Count ``layer``'s groups by kind; raises ``redis.RedisError`` when its Redis cannot be read."""
    if isinstance(getattr(layer, "groups", None), dict):
        return _memory_counts(groups=layer.groups, expiry_s=layer.group_expiry)
    if hasattr(layer, "prefix") and hasattr(layer, "hosts"):
        return _redis_counts(prefix=layer.prefix, hosts=layer.hosts, expiry_s=layer.group_expiry)
    raise TypeError(f"cannot count the groups of {type(layer).__name__}")


def _memory_counts(*, groups: dict[str, dict[str, float]], expiry_s: float) -> GroupCounts:
    counts = GroupCounts()
    oldest = time.time() - expiry_s
    for name, channels in list(groups.items()):
        live = sum(1 for joined in list(channels.values()) if joined >= oldest)
        _add(counts, name=name, members=live)
    return counts


def _redis_counts(*, prefix: str, hosts: list[dict[str, Any]], expiry_s: float) -> GroupCounts:
    counts = GroupCounts()
    key_prefix = f"{prefix}:group:"
    oldest = time.time() - expiry_s
    # channels-redis shards groups over its hosts by name: every host holds some of them.
    for host in hosts:
        client = _client(host=host)
        try:
            keys = list(client.scan_iter(match=key_prefix + "*", count=SCAN_BATCH))
            with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zcount(key, oldest, "+inf")
                live = pipe.execute()
        finally:
            client.close()
        for key, members in zip(keys, live, strict=True):
            _add(counts, name=key.decode().removeprefix(key_prefix), members=members)
    return counts


def _client(*, host: dict[str, Any]) -> redis.Redis:
    if "address" not in host:
        raise TypeError("only channel-layer hosts given by address (a redis:// or unix:// URL) are counted")
    return redis.Redis.from_url(host["address"], socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S)


def _add(counts: GroupCounts, *, name: str, members: int) -> None:
    if members:
        kind = group_kind(name)
        counts.groups[kind] += 1
        counts.members[kind] += members
