"""Connect, say hello and disconnect many times through the real ASGI app on a Redis channel layer."""

from __future__ import annotations

import gc
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.conftest import widget_communicator


@dataclass(frozen=True)
class CycleResult:
    rss_before_kib: int
    rss_after_kib: int
    group_members_before: int
    group_members_after: int
    seconds: float

    @property
    def memory_growth_share(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / self.rss_before_kib


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def _cycle(token: str) -> None:
    communicator = widget_communicator()
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "hello", "token": token, "last_seq": 0})
    assert (await communicator.receive_json_from())["type"] == "ready"
    await communicator.disconnect()


async def cycles_measure(*, settings, redis_url: str, token: str, public_id: str, cycles: int) -> CycleResult:
    """``cycles`` sockets opened and closed one after another while one other socket stays open."""
    prefix = f"cycles-{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            # The product's own layer class and connection options, on this test's Redis.
            "BACKEND": "supportbot.channel_layer.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": redis_url, "socket_timeout": None}], "prefix": prefix},
        }
    }
    client = redis.Redis.from_url(redis_url)
    group_key = f"{prefix}:group:conversation.{public_id}"
    staying = widget_communicator()
    await staying.connect()
    await staying.send_json_to({"type": "hello", "token": token, "last_seq": 0})
    await staying.receive_json_from()
    for _ in range(max(100, cycles // 10)):  # warm caches, pools and the allocator first
        await _cycle(token)
    gc.collect()
    before, members_before = rss_kib(), client.zcard(group_key)
    started = time.monotonic()
    for _ in range(cycles):
        await _cycle(token)
    seconds = time.monotonic() - started
    gc.collect()
    after, members_after = rss_kib(), client.zcard(group_key)
    try:
        await staying.disconnect()
    except redis.exceptions.TimeoutError:
        # Seen in-process only: the idle consumer's blocking read on the channel layer timed out
        # while the test loop was busy with cycles; the figures above are taken before this.
        pass
    client.close()
    return CycleResult(
        rss_before_kib=before,
        rss_after_kib=after,
        group_members_before=members_before,
        group_members_after=members_after,
        seconds=seconds,
    )
