"""Memory per open, idle widget socket: RSS of the web process before and after N sockets said hello.

    python -m bench.bench_idle_sockets [--sockets 1000] [--servers daphne,uvicorn]

Each socket is its own conversation (a session from the session endpoint, then hello and ready),
as N visitors with the widget open and nothing to say. Before measuring, a warm-up opens and
closes 50 sockets so imports and caches are not counted as per-socket memory. Target: at most
100 KiB per socket.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.protocol import State
from websockets.typing import Origin

from bench import stack
from bench.report import section_write
from supportbot.embedded_redis import redis_start

PER_SOCKET_TARGET_KIB = 100
WARM_UP_SOCKETS = 50
# Idle long enough to cross the channel layer's 5 s blocking receive twice: quiet sockets must survive it.
IDLE_WAIT_S = 12.0


@dataclass(frozen=True)
class MemoryResult:
    server: str
    sockets: int
    rss_before_kib: int
    rss_open_kib: int
    rss_closed_kib: int
    still_open: int

    @property
    def per_socket_kib(self) -> float:
        return (self.rss_open_kib - self.rss_before_kib) / self.sockets


async def socket_hello(*, port: int, token: str, opening: asyncio.Semaphore) -> ClientConnection:
    async with opening:
        socket = await connect(f"ws://127.0.0.1:{port}/ws/widget/", origin=Origin(stack.ORIGIN), open_timeout=60)
        await socket.send(json.dumps({"type": "hello", "token": token, "last_seq": 0}))
        while json.loads(await socket.recv())["type"] != "ready":
            pass
        return socket


async def sockets_open(*, port: int, tokens: list[str]) -> list[ClientConnection]:
    opening = asyncio.Semaphore(50)
    return await asyncio.gather(*(socket_hello(port=port, token=token, opening=opening) for token in tokens))


async def sockets_close(sockets: list[ClientConnection]) -> None:
    await asyncio.gather(*(socket.close() for socket in sockets))


def rss_settled_kib(pid: int, *, settle_s: float = 2.0) -> int:
    """RSS once the process has finished reacting to the last connection or close."""
    time.sleep(settle_s)
    return stack.process_rss_kib(pid)


async def server_measure(server: str, *, env: dict[str, str], count: int) -> MemoryResult:
    port = stack.port_free()
    process = stack.asgi_server_start(server=server, port=port, env=env)
    try:
        with ThreadPoolExecutor(8) as pool:
            sessions = list(pool.map(lambda _: stack.session_open(port=port), range(count + WARM_UP_SOCKETS)))
        tokens = [session["token"] for session in sessions]
        await sockets_close(await sockets_open(port=port, tokens=tokens[:WARM_UP_SOCKETS]))
        before = await asyncio.to_thread(rss_settled_kib, process.pid)
        sockets = await sockets_open(port=port, tokens=tokens[WARM_UP_SOCKETS:])
        opened = await asyncio.to_thread(rss_settled_kib, process.pid, settle_s=IDLE_WAIT_S)
        still_open = sum(socket.state is State.OPEN for socket in sockets)
        await sockets_close(sockets)
        closed = await asyncio.to_thread(rss_settled_kib, process.pid)
    finally:
        stack.process_stop(process)
    result = MemoryResult(server, count, before, opened, closed, still_open)
    print(row_format(result), flush=True)
    return result


TABLE_HEAD = (
    "| server | idle sockets | still open after the idle wait | RSS before (MiB) | RSS with sockets open (MiB) "
    "| RSS after closing (MiB) | per socket (KiB) | target ≤ 100 KiB |\n|---|---:|---:|---:|---:|---:|---:|---|"
)


def row_format(result: MemoryResult) -> str:
    return (
        f"| {result.server} | {result.sockets} | {result.still_open} | {result.rss_before_kib / 1024:.1f} "
        f"| {result.rss_open_kib / 1024:.1f} "
        f"| {result.rss_closed_kib / 1024:.1f} | {result.per_socket_kib:.1f} "
        f"| {'met' if result.per_socket_kib <= PER_SOCKET_TARGET_KIB else 'missed'} |"
    )


async def bench(args: argparse.Namespace) -> list[MemoryResult]:
    with tempfile.TemporaryDirectory(prefix="supportbot-bench-") as directory:
        workdir = Path(directory)
        redis_process = redis_start(workdir / "redis.sock")
        try:
            env = stack.product_env(
                data_dir=workdir,
                redis_url=f"unix://{workdir}/redis.sock",
                model_url="http://127.0.0.1:9/v1",  # never called: nobody asks anything
                database_url=args.database_url,
            )
            stack.database_migrate(env=env)
            print(TABLE_HEAD, flush=True)
            return [await server_measure(server, env=env, count=args.sockets) for server in args.servers]
        finally:
            stack.process_stop(redis_process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--servers", type=lambda text: text.split(","), default=["daphne", "uvicorn"])
    parser.add_argument("--database-url", default="", help="PostgreSQL instead of a temporary SQLite file")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    results = asyncio.run(bench(args))
    body = "\n".join(
        [
            f"{args.sockets} widget sockets, each its own conversation, open after hello and idle; RSS of the web "
            f"process (VmRSS) after a {WARM_UP_SOCKETS}-socket warm-up, with all sockets open, and after closing them. "
            "The baseline is the same process before the sockets opened. The sockets then stay idle "
            f"{IDLE_WAIT_S:g} s; 'still open' counts those the server kept.",
            "",
            TABLE_HEAD,
            *(row_format(result) for result in results),
        ]
    )
    print(body)
    if not args.no_report:
        section_write(
            "idle-sockets",
            title="Idle memory per open widget socket",
            command=f"python -m bench.bench_idle_sockets --sockets {args.sockets} --servers {','.join(args.servers)}",
            body=body,
        )


if __name__ == "__main__":
    main()
