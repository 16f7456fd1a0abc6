from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from redis import asyncio as redis_asyncio

from routing.breaker import Breaker, MemoryBreaker, RedisBreaker, breaker_from_url


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest_asyncio.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make_breaker(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[Callable[..., Breaker]]:
    """Builds a breaker of each backend; the Redis one gets a fresh key prefix per test."""
    if request.param == "memory":
        yield lambda **options: MemoryBreaker(clock=clock, **options)
        return
    client = redis_asyncio.Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = f"test:{uuid.uuid4().hex}"
    yield lambda **options: RedisBreaker(client=client, clock=clock, key_prefix=prefix, **options)
    await client.aclose()


async def _fail(breaker: Breaker, times: int, tier: str = "instant") -> None:
    for _ in range(times):
        await breaker.record_failure(tier=tier)


@pytest.mark.asyncio
async def test_opens_after_consecutive_failures(make_breaker: Callable[..., Breaker]) -> None:
    breaker = make_breaker(failure_threshold=3, cooldown_s=30)

    await _fail(breaker, 2)
    assert await breaker.allow(tier="instant") is True
    await _fail(breaker, 1)

    assert await breaker.allow(tier="instant") is False
    assert await breaker.allow(tier="mini") is True


@pytest.mark.asyncio
async def test_success_resets_the_failure_count(make_breaker: Callable[..., Breaker]) -> None:
    breaker = make_breaker(failure_threshold=3, cooldown_s=30)

    await _fail(breaker, 2)
    await breaker.record_success(tier="instant")
    await _fail(breaker, 2)

    assert await breaker.allow(tier="instant") is True


@pytest.mark.asyncio
async def test_half_open_lets_one_probe_through_and_success_closes(
    make_breaker: Callable[..., Breaker], clock: FakeClock
) -> None:
    breaker = make_breaker(failure_threshold=2, cooldown_s=30)
    await _fail(breaker, 2)

    clock.advance(29)
    assert await breaker.allow(tier="instant") is False
    clock.advance(2)
    assert await breaker.allow(tier="instant") is True
    assert await breaker.allow(tier="instant") is False  # only one probe at a time

    await breaker.record_success(tier="instant")
    assert await breaker.allow(tier="instant") is True
    assert await breaker.allow(tier="instant") is True


@pytest.mark.asyncio
async def test_failed_probe_reopens_for_a_full_cooldown(make_breaker: Callable[..., Breaker], clock: FakeClock) -> None:
    breaker = make_breaker(failure_threshold=2, cooldown_s=30)
    await _fail(breaker, 2)
    clock.advance(31)
    assert await breaker.allow(tier="instant") is True

    await _fail(breaker, 1)

    clock.advance(29)
    assert await breaker.allow(tier="instant") is False
    clock.advance(2)
    assert await breaker.allow(tier="instant") is True


@pytest.mark.redis
@pytest.mark.asyncio
async def test_redis_breaker_is_shared_between_instances(redis_url: str, clock: FakeClock) -> None:
    prefix = f"test:{uuid.uuid4().hex}"
    first_client = redis_asyncio.Redis.from_url(redis_url)
    second_client = redis_asyncio.Redis.from_url(redis_url)
    web = RedisBreaker(client=first_client, clock=clock, key_prefix=prefix, failure_threshold=2)
    worker = RedisBreaker(client=second_client, clock=clock, key_prefix=prefix, failure_threshold=2)

    await web.record_failure(tier="pro")
    await worker.record_failure(tier="pro")

    assert await web.allow(tier="pro") is False
    clock.advance(31)
    probes = [await web.allow(tier="pro"), await worker.allow(tier="pro")]
    assert sorted(probes) == [False, True]
    await first_client.aclose()
    await second_client.aclose()


@pytest.mark.asyncio
async def test_redis_outage_lets_calls_through() -> None:
    client = redis_asyncio.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)
    breaker = RedisBreaker(client=client, failure_threshold=1)

    await breaker.record_failure(tier="instant")

    assert await breaker.allow(tier="instant") is True
    await client.aclose()


def test_breaker_from_url_picks_the_backend() -> None:
    assert isinstance(breaker_from_url(redis_url=None), MemoryBreaker)
    assert isinstance(breaker_from_url(redis_url="redis://127.0.0.1:6379/0"), RedisBreaker)


@pytest.mark.redis
def test_url_configured_breaker_works_across_event_loops(redis_url: str, clock: FakeClock) -> None:
    """Celery tasks each run their own loop; a client bound to an earlier loop must not leak into the next."""
    breaker = RedisBreaker(redis_url=redis_url, clock=clock, key_prefix=f"test:{uuid.uuid4().hex}", failure_threshold=2)

    asyncio.run(breaker.record_failure(tier="instant"))
    asyncio.run(breaker.record_failure(tier="instant"))

    assert asyncio.run(breaker.allow(tier="instant")) is False


@pytest.mark.asyncio
async def test_half_open_lets_a_steady_trickle_of_probes_through(clock: FakeClock) -> None:
    """A probe on a slow model may take most of a minute: meanwhile another goes out every interval."""
    breaker = MemoryBreaker(failure_threshold=2, cooldown_s=30, probe_interval_s=2, clock=clock)
    await _fail(breaker, 2)
    clock.advance(31)

    allowed = []
    for _ in range(10):  # ten seconds of requests, four a second, none of the probes back yet
        for _ in range(4):
            allowed.append(await breaker.allow(tier="instant"))
        clock.advance(1)

    assert sum(allowed) == 5
    await breaker.record_success(tier="instant")
    assert await breaker.allow(tier="instant") is True
