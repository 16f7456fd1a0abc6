from __future__ import annotations

import asyncio

import pytest
from channels_redis.core import RedisChannelLayer as StockRedisChannelLayer

from supportbot.channel_layer import RedisChannelLayer

pytestmark = pytest.mark.redis


async def _receive_then_cancel(layer) -> str:
    channel = await layer.new_channel()
    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.2)  # the lone receiver now holds the receive lock, blocked in Redis
    receiving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await receiving
    return channel


async def test_a_cancelled_receiver_leaves_no_buffer_behind(redis_url):
    layer = RedisChannelLayer(hosts=[{"address": redis_url, "socket_timeout": None}], prefix="leaktest")
    channel = await _receive_then_cancel(layer)
    assert channel not in layer.receive_buffer
    await layer.flush()
    await layer.close_pools()


async def test_the_stock_layer_leaks_the_buffer_this_class_exists_for(redis_url):
    # If channels-redis fixes this upstream, this test says so and the subclass can go.
    layer = StockRedisChannelLayer(hosts=[{"address": redis_url, "socket_timeout": None}], prefix="leaktest2")
    channel = await _receive_then_cancel(layer)
    assert channel in layer.receive_buffer
    await layer.flush()
    await layer.close_pools()


async def test_messages_still_arrive(redis_url):
    layer = RedisChannelLayer(hosts=[{"address": redis_url, "socket_timeout": None}], prefix="leaktest3")
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "hello", "n": 1})
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "hello", "n": 1}
    assert channel not in layer.receive_buffer
    await layer.flush()
    await layer.close_pools()
