"""Enqueueing a Celery task from the consumer path, against a bare Redis LPUSH of the same size.

    python -m bench.bench_enqueue [--iterations 5000]

A private Redis is the broker. Three ways of putting one message on a queue are timed in
alternation: a bare ``LPUSH`` through redis-py (the floor), the product's ``task_enqueue``
(``apply_async`` through kombu, what ``transaction.on_commit`` runs), and the same call as the
consumer makes it, from the event loop through ``database_sync_to_async``. Target: p99 <= 2 ms.
No worker runs; the queues are emptied at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ENQUEUE_P99_TARGET_MS = 2.0


def django_start(*, workdir: Path, redis_url: str) -> None:
    """Configure Django for a web process with a real Redis broker (settings read the environment)."""
    os.environ.update(
        SUPPORTBOT_DATA_DIR=str(workdir),
        REDIS_URL=redis_url,
        SECRET_KEY="bench-secret-key-that-is-long-enough-0123456789",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="supportbot.settings",
    )
    import django

    django.setup()


def timed_ms(action: Callable[[], object]) -> float:
    started = time.perf_counter_ns()
    action()
    return (time.perf_counter_ns() - started) / 1e6


async def timed_async_ms(action: Callable[[], object]) -> float:
    from channels.db import database_sync_to_async

    started = time.perf_counter_ns()
    await database_sync_to_async(action)()
    return (time.perf_counter_ns() - started) / 1e6


def percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


async def measure(*, iterations: int, redis_url: str) -> dict[str, list[float]]:
    import redis
    from kombu.utils.json import dumps

    from conversations import tasks

    client = redis.Redis.from_url(redis_url)
    # The same body kombu would send for this task, so the floor moves the same bytes.
    payload = dumps({"task": tasks.conversation_assign.name, "kwargs": {"conversation_id": 123456}, "pad": "x" * 900})

    def bare() -> object:
        return client.lpush("bench-baseline", payload)

    def enqueue() -> object:
        tasks.task_enqueue(tasks.conversation_assign, conversation_id=123456)
        return None

    samples: dict[str, list[float]] = {"bare": [], "enqueue": [], "consumer": []}
    for _ in range(200):
        bare(), enqueue()
        await timed_async_ms(enqueue)
    for _ in range(iterations):
        samples["bare"].append(timed_ms(bare))
        samples["enqueue"].append(timed_ms(enqueue))
        samples["consumer"].append(await timed_async_ms(enqueue))
    client.delete("bench-baseline", *(queue.value for queue in tasks.Queue))
    return samples


TABLE_HEAD = "| path | messages | p50 ms | p99 ms | max ms | target p99 ≤ 2 ms |\n|---|---:|---:|---:|---:|---|"
LABELS = {
    "bare": "baseline: bare redis-py LPUSH, same payload size",
    "enqueue": "`task_enqueue` (Celery `apply_async` → Redis broker)",
    "consumer": "`task_enqueue` from the event loop via `database_sync_to_async`",
}


def row_format(name: str, values: list[float]) -> str:
    p99 = percentile(values, 99)
    verdict = "—" if name == "bare" else ("met" if p99 <= ENQUEUE_P99_TARGET_MS else "missed")
    return (
        f"| {LABELS[name]} | {len(values)} | {percentile(values, 50):.3f} | {p99:.3f} | {max(values):.3f} | {verdict} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    from supportbot.embedded_redis import redis_start

    with tempfile.TemporaryDirectory(prefix="supportbot-bench-") as directory:
        workdir = Path(directory)
        redis_process = redis_start(workdir / "redis.sock")
        try:
            redis_url = f"unix://{workdir}/redis.sock"
            django_start(workdir=workdir, redis_url=redis_url)
            samples = asyncio.run(measure(iterations=args.iterations, redis_url=redis_url))
        finally:
            redis_process.terminate()
            redis_process.wait(timeout=10)
    body = "\n".join(
        [
            f"{args.iterations} messages per path, timed in alternation against a private Redis on a unix socket. "
            "Where it runs: `task_enqueue` is called from `transaction.on_commit` inside the services the consumer "
            "calls through `database_sync_to_async` (handoff, summaries), and after an answer is saved; the token "
            "loop in `conversations/answering.py` only writes to sockets. The end-to-end benchmark counts every "
            "Redis command of each answer (`Redis cmds/answer`): fewer than the answer has tokens, so no token "
            "waits on Redis, neither for the channel layer nor for the broker.",
            "",
            TABLE_HEAD,
            *(row_format(name, values) for name, values in samples.items()),
        ]
    )
    print(body)
    if not args.no_report:
        from bench.report import section_write

        section_write(
            "enqueue",
            title="Enqueueing a Celery task from the consumer path",
            command=f"python -m bench.bench_enqueue --iterations {args.iterations}",
            body=body,
        )


if __name__ == "__main__":
    main()
