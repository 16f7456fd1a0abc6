"""A circuit breaker per tier, so a failing model is skipped instead of making every customer wait.

Closed: calls pass. After ``failure_threshold`` consecutive failures it opens: calls are refused
for ``cooldown_s``. Then it is half-open: a steady trickle of probe calls goes through, one every
``probe_interval_s``; the first success closes the breaker, a failure opens it again. One probe at
a time would not do: a probe on a slow but working model can take most of a minute, and every
other customer would meanwhile be told the assistant is unavailable.

Only what the gateway reports counts: failed calls (errors and dead, idle streams). A slow
stream that keeps sending is not a failure (routing/providers/openai_compat.py).

Two backends share this behaviour: :class:`MemoryBreaker` (one process, the default) and
:class:`RedisBreaker` (shared by every web and worker process).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import redis
from redis import asyncio as redis_asyncio
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DEFAULT_FAILURE_THRESHOLD = 5
DEFAULT_COOLDOWN_S = 30.0
DEFAULT_PROBE_INTERVAL_S = 2.0


class Breaker(Protocol):
    async def allow(self, *, tier: str) -> bool:
        """Whether a call to ``tier`` may go out now (in half-open state: whether this is the probe)."""
        ...

    async def record_success(self, *, tier: str) -> None: ...

    async def record_failure(self, *, tier: str) -> None: ...

    def states(self, *, tiers: Iterable[str]) -> dict[str, str]:
        """Each tier's state for monitoring: "closed", "open" or "half_open"; never changes anything."""
        ...


def _state(*, failures: int, opened_at: float | None, now: float, threshold: int, cooldown_s: float) -> str:
    if failures < threshold or opened_at is None:
        return "closed"
    return "open" if now - opened_at < cooldown_s else "half_open"


@dataclass
class _TierCircuit:
    failures: int = 0
    opened_at: float | None = None
    probe_started_at: float | None = None


class MemoryBreaker:
    """Breaker state in this process only."""

    def __init__(
        self,
        *,
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        probe_interval_s: float = DEFAULT_PROBE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.probe_interval_s = min(probe_interval_s, cooldown_s)
        self.clock = clock
        self._circuits: dict[str, _TierCircuit] = {}

    async def allow(self, *, tier: str) -> bool:
        circuit = self._circuits.get(tier)
        if circuit is None or circuit.opened_at is None:
            return True
        now = self.clock()
        if now - circuit.opened_at < self.cooldown_s:
            return False
        if circuit.probe_started_at is not None and now - circuit.probe_started_at < self.probe_interval_s:
            return False
        circuit.probe_started_at = now
        return True

    async def record_success(self, *, tier: str) -> None:
        self._circuits.pop(tier, None)

    async def record_failure(self, *, tier: str) -> None:
        circuit = self._circuits.setdefault(tier, _TierCircuit())
        circuit.failures += 1
        if circuit.failures >= self.failure_threshold:
            circuit.opened_at = self.clock()
            circuit.probe_started_at = None

    def states(self, *, tiers: Iterable[str]) -> dict[str, str]:
        now = self.clock()
        result = {}
        for tier in tiers:
            circuit = self._circuits.get(tier) or _TierCircuit()
            result[tier] = _state(
                failures=circuit.failures,
                opened_at=circuit.opened_at,
                now=now,
                threshold=self.failure_threshold,
                cooldown_s=self.cooldown_s,
            )
        return result


class RedisBreaker:
    """Breaker state in Redis, shared across processes.

    Keys per tier: ``failures`` (INCR), ``opened_at`` (the clock reading when it opened) and
    ``probe`` (SET NX with a ``probe_interval_s`` expiry: one process wins each half-open probe
    slot). Every key has a TTL so a forgotten tier cleans itself up. If Redis is unreachable the
    breaker lets calls through: losing the breaker must not take the chat down with it.
    """

    def __init__(
        self,
        *,
        client: redis_asyncio.Redis | None = None,
        redis_url: str | None = None,
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        probe_interval_s: float = DEFAULT_PROBE_INTERVAL_S,
        clock: Callable[[], float] = time.time,
        key_prefix: str = "supportbot:breaker",
        memory_s: float = 3600.0,
    ) -> None:
        if (client is None) == (redis_url is None):
            raise ValueError("RedisBreaker needs exactly one of client or redis_url")
        self._client = client
        self.redis_url = redis_url
        # Redis connections belong to the event loop that opened them; Celery tasks and tests run
        # several loops in one process, so a URL-configured breaker keeps one client per loop.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis_asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.probe_interval_s = min(probe_interval_s, cooldown_s)
        # Wall-clock time by default: monotonic clocks are not comparable across machines.
        self.clock = clock
        self.key_prefix = key_prefix
        self.memory_ms = int(memory_s * 1000)

    @property
    def client(self) -> redis_asyncio.Redis:
        if self._client is not None:
            return self._client
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            assert self.redis_url is not None
            client = self._clients[loop] = redis_asyncio.Redis.from_url(self.redis_url)
        return client

    def _key(self, tier: str, name: str) -> str:
        return f"{self.key_prefix}:{tier}:{name}"

    async def allow(self, *, tier: str) -> bool:
        try:
            failures, opened_at = await self.client.mget(self._key(tier, "failures"), self._key(tier, "opened_at"))
            if failures is None or int(failures) < self.failure_threshold or opened_at is None:
                return True
            if self.clock() - float(opened_at) < self.cooldown_s:
                return False
            probe_ms = max(int(self.probe_interval_s * 1000), 1)
            return bool(await self.client.set(self._key(tier, "probe"), "1", nx=True, px=probe_ms))
        except (RedisError, OSError):
            logger.warning("circuit breaker store unreachable; letting %s through", tier, exc_info=True)
            return True

    async def record_success(self, *, tier: str) -> None:
        try:
            await self.client.delete(
                self._key(tier, "failures"), self._key(tier, "opened_at"), self._key(tier, "probe")
            )
        except (RedisError, OSError):
            logger.warning("circuit breaker store unreachable; success on %s not recorded", tier, exc_info=True)

    async def record_failure(self, *, tier: str) -> None:
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(self._key(tier, "failures"))
                pipe.pexpire(self._key(tier, "failures"), self.memory_ms)
                failures, _ = await pipe.execute()
            if int(failures) >= self.failure_threshold:
                async with self.client.pipeline(transaction=True) as pipe:
                    pipe.set(self._key(tier, "opened_at"), repr(self.clock()), px=self.memory_ms)
                    pipe.delete(self._key(tier, "probe"))
                    await pipe.execute()
        except (RedisError, OSError):
            logger.warning("circuit breaker store unreachable; failure on %s not recorded", tier, exc_info=True)

    def states(self, *, tiers: Iterable[str]) -> dict[str, str]:
        # Synchronous on purpose: monitoring reads it from a plain view, outside any event loop.
        tiers = list(tiers)
        keys = [self._key(tier, name) for tier in tiers for name in ("failures", "opened_at")]
        try:
            client = redis.Redis.from_url(self.redis_url) if self.redis_url else None
            if client is None:
                return {}
            try:
                values = client.mget(keys)
            finally:
                client.close()
        except (RedisError, OSError):
            return {}
        now = self.clock()
        return {
            tier: _state(
                failures=int(values[2 * index] or 0),
                opened_at=_float_or_none(values[2 * index + 1]),
                now=now,
                threshold=self.failure_threshold,
                cooldown_s=self.cooldown_s,
            )
            for index, tier in enumerate(tiers)
        }


def _float_or_none(value: bytes | str | None) -> float | None:
    return None if value is None else float(value)


def breaker_from_url(
    *, redis_url: str | None, failure_threshold: int = DEFAULT_FAILURE_THRESHOLD, cooldown_s: float = DEFAULT_COOLDOWN_S
) -> Breaker:
    """A Redis breaker when a URL is configured, otherwise one for this process."""
    if not redis_url:
        return MemoryBreaker(failure_threshold=failure_threshold, cooldown_s=cooldown_s)
    return RedisBreaker(redis_url=redis_url, failure_threshold=failure_threshold, cooldown_s=cooldown_s)
