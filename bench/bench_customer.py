"""Speed as the customer feels it: from "send" to the first word, against a bare relay on the same server.

    python -m bench.bench_customer [--servers uvicorn,daphne] [--backends embedded,postgres]
        [--chats 40] [--spread-s 1.28] [--rounds 5] [--chunks 64] [--interval-ms 20]
        [--serial 20] [--cold-starts 3] [--ceiling 1,2] [--profile var/customer-profile]

For each backend and ASGI server, two web processes run side by side: Supportbot, started as
the Procfile starts it, and the bare relay (``bench/relay.py``: the same ASGI server, no Django,
no database), both streaming from one local model server (64 chunks 20 ms apart, each stamped
with its index and send time). In each round N widgets (sockets open, hello done) ask one
question each, the sends spread over ``--spread-s``; rounds alternate relay-first and
product-first, so the machine's noise falls on both. Each web process is warmed up first (asked
until no answer loads anything), so the rounds measure warm answers. Measured from outside only: HTTP and
websocket frames (docs/protocol.md), the model server's stamps, and the server process tree's
CPU from /proc.

- ``--serial N``: N answers one at a time, the server's CPU read at send, first token, last token
  and when it goes quiet: CPU before the first token, per streamed token, after the last token.
- ``--cold-starts N``: the first answer after a restart of the web process against warm ones.
- ``--ceiling 1,2``: asks per second rising until sent → first token p99 exceeds 100 ms (or a
  token is lost, doubled or an answer fails), with 1 and 2 uvicorn worker processes.
- ``--profile PREFIX``: py-spy samples both servers during the measured asks of the rounds and
  over each first answer after a restart (``bench/spy.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import customer, spy, stack
from bench.customer import Widget, percentile
from bench.customer_results import BACKENDS, PRODUCT, RELAY, Batch, CeilingStep, Cold, Phases, Setting
from bench.report import section_write

RELAY_APPLICATION = "bench.relay:application"
# A p99 over 100 asks is the second slowest: one stall from another job on a shared machine does not
# decide a step alone (over 40 asks it is the slowest, and the ramp measured the machine's noise).
CEILING_MIN_ASKS = 100
# Sent → model request above this in a warm-up batch of 10 asks: an answer that loaded something.
COLD_ANSWER_MS = 700.0


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- the two servers ------------------------------------------------------------------------------


@dataclass
class Target:
    """One web process the widgets talk to: Supportbot or the bare relay, on an ASGI server."""

    label: str
    application: str
    server: str
    env: dict[str, str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def is_relay(self) -> bool:
        return self.application == RELAY_APPLICATION

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self) -> None:
        self.port = stack.port_free()
        self.process = stack.asgi_server_start(
            server=self.server, port=self.port, env=self.env, application=self.application
        )

    def stop(self) -> None:
        if self.process is not None:
            stack.process_stop(self.process)
            self.process = None

    def widgets(self, count: int) -> list[Widget]:
        """Fresh conversations: visitor sessions from the product's endpoint; the relay takes any token."""
        if self.is_relay:
            return [Widget(token="relay", visitor=uuid.uuid4().hex[:10]) for _ in range(count)]
        with ThreadPoolExecutor(8) as pool:
            sessions = list(pool.map(lambda _: stack.session_open(port=self.port), range(count)))
        return [Widget(token=s["token"], visitor=s["conversation_id"][:10]) for s in sessions]


async def batch_run(target: Target, *, count: int, spread_s: float, chunks: int, profile: Path | None = None) -> Batch:
    """``count`` fresh widgets open and say hello; then they ask, and the CPU from the first send
    until the server is quiet again (the answers stored, the work after them done) is billed to them.
    With ``profile``, py-spy samples the server over the same span (sessions and hellos left out)."""
    widgets = await asyncio.to_thread(target.widgets, count)
    await customer.widgets_open(widgets, port=target.port)
    recorder = spy.record_start(pid=target.pid, path=profile) if profile else None
    try:
        await customer.server_quiet_wait(target.pid, window_s=1.0 if recorder else 0.2)  # py-spy attaching
        threads_before = spy.threads_cpu_ns(target.pid) if recorder else {}
        workers_before = workers_cpu_s(target.pid)
        cpu_before = stack.process_cpu_s(target.pid)
        answers = await customer.asks_spread(widgets, spread_s=spread_s, chunks=chunks)
        await customer.server_quiet_wait(target.pid)
        cpu_s = stack.process_cpu_s(target.pid) - cpu_before
        workers = {pid: cpu - workers_before.get(pid, 0.0) for pid, cpu in workers_cpu_s(target.pid).items()}
        threads_after = spy.threads_cpu_ns(target.pid) if recorder else {}
        threads = {tid: ns - threads_before.get(tid, 0) for tid, ns in threads_after.items()}
    finally:
        if recorder is not None:
            spy.record_stop(recorder)
        await customer.widgets_close(widgets)
    return Batch(answers=answers, cpu_s=cpu_s, thread_cpu_ns=threads, worker_cpu_s=workers)


def workers_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds so far of each worker process (``uvicorn --workers``); empty for a single process."""
    return {child: stack.process_cpu_s(child) for child in stack.children(pid)}


async def warm_up(target: Target, *, chunks: int, tries: int = 12) -> None:
    """Ask until two batches in a row have no cold answer (imports, index, encoder, connections).

    With several worker processes the kernel hands the sockets out unevenly, so one batch may
    leave a worker that has never answered: its first answer would land in a measured round."""
    clean = 0
    for _ in range(tries):
        batch = await batch_run(target, count=10, spread_s=1.0, chunks=chunks)
        slowest = max((a.model_request_ms or 0.0 for a in batch.answers), default=0.0)
        clean = clean + 1 if slowest < COLD_ANSWER_MS and not batch.failed else 0
        if clean == 2:
            return
    print(f"  {target.label} on {target.server}: still slow after {tries} warm-up batches", flush=True)


# --- one backend and server: rounds, serial phases, cold starts --------------------------------------


async def rounds_run(setting: Setting, targets: list[Target], args: argparse.Namespace, profile: str) -> None:
    for target in targets:
        await warm_up(target, chunks=args.chunks)
    setting.load_before = load_average()
    for round_no in range(args.rounds):
        # Alternate which path goes first, so neither always meets the other's leftovers.
        for target in targets if round_no % 2 == 0 else targets[::-1]:
            path = None
            if profile:
                kind = "relay" if target.is_relay else "product"
                path = Path(f"{profile}.{setting.backend}.{setting.server}.{kind}.{round_no + 1}.txt")
                path.parent.mkdir(parents=True, exist_ok=True)
                setting.profiles.setdefault(target.label, []).append(path)
            batch = await batch_run(target, count=args.chats, spread_s=args.spread_s, chunks=args.chunks, profile=path)
            setting.batches.setdefault(target.label, []).append(batch)
            print(f"  round {round_no + 1} {target.label}: {batch_line(batch, args.chunks)}", flush=True)
    setting.load_after = load_average()


def batch_line(batch: Batch, chunks: int) -> str:
    first = batch.values("first_token_ms")
    return (
        f"first token p50 {percentile(first, 50):.1f} ms, p99 {percentile(first, 99):.1f} ms; "
        f"CPU {batch.cpu_ms_per_answer:.1f} ms/answer; lost {batch.lost(chunks)}, doubled {batch.doubled}, "
        f"failed {batch.failed} {batch.errors()}"
    )


async def serial_run(target: Target, *, count: int, chunks: int) -> Phases:
    """Answers one at a time; the server's CPU (schedstat, ns) read at each step of each answer."""
    phases = Phases()
    widgets = await asyncio.to_thread(target.widgets, count)
    await customer.widgets_open(widgets, port=target.port)
    try:
        await customer.server_quiet_wait(target.pid)
        for widget in widgets:
            marks: dict[str, int] = {}
            answer = await customer.widget_ask(widget, at=0.0, chunks=chunks, mark=_cpu_marker(target.pid, marks))
            marks["quiet"] = await _cpu_when_quiet(target.pid)
            if answer.error or len(marks) < 5:
                continue
            phases.before_first_token.append(marks["first token"] - marks["sent"])
            phases.streaming.append(marks["last token"] - marks["first token"])
            phases.after_last_token.append(marks["quiet"] - marks["last token"])
            phases.first_token_ms.append(answer.first_token_ms or float("nan"))
    finally:
        await customer.widgets_close(widgets)
    return phases


def _cpu_marker(pid: int, marks: dict[str, int]) -> customer.Mark:
    def mark(name: str, _answer: object) -> None:
        marks[name] = stack.process_tree_cpu_ns(pid)

    return mark


async def _cpu_when_quiet(pid: int, *, window_s: float = 0.05, busy_ns: int = 1_000_000) -> int:
    """The process tree's CPU when it stopped working: the reading before the first quiet window."""
    previous = stack.process_tree_cpu_ns(pid)
    for _ in range(200):
        await asyncio.sleep(window_s)
        now = stack.process_tree_cpu_ns(pid)
        if now - previous < busy_ns:
            return previous
        previous = now
    return previous


async def cold_run(target: Target, *, restarts: int, warm_asks: int, chunks: int, profile: str = "") -> Cold:
    """Restart the web process; the first answer after it, then ``warm_asks`` answers one at a time.
    With ``profile``, py-spy samples the server over each first answer."""
    cold = Cold()
    for restart in range(restarts):
        target.stop()
        target.start()  # ready: /readyz passes (for the product: Django loaded, warm-up finished)
        widgets = await asyncio.to_thread(target.widgets, 1 + warm_asks)
        for index, widget in enumerate(widgets):
            await customer.widget_open(widget, port=target.port)
            recorder = None
            if profile and index == 0:
                path = Path(f"{profile}.cold.{'relay' if target.is_relay else 'product'}.{restart + 1}.txt")
                cold.profiles.append(path)
                recorder = spy.record_start(pid=target.pid, path=path)
                await asyncio.sleep(1.0)  # py-spy attaching
            answer = await customer.widget_ask(widget, at=0.0, chunks=chunks)
            if recorder is not None:
                spy.record_stop(recorder)
            await customer.widgets_close([widget])
            cold_record(cold, answer, first=index == 0)
            await asyncio.sleep(0.2)
    return cold


def cold_record(cold: Cold, answer: customer.Answer, *, first: bool) -> None:
    if answer.error or answer.first_token_ms is None:
        cold.errors.append(answer.error or "no token")
    elif first:
        cold.first_token_ms.append(answer.first_token_ms)
        cold.typing_ms.append(answer.since_sent_ms(answer.typing_ns) or float("nan"))
        cold.model_request_ms.append(answer.model_request_ms or float("nan"))
    else:
        cold.warm_first_token_ms.append(answer.first_token_ms)


# --- the ceiling ------------------------------------------------------------------------------------


async def ceiling_run(env: dict[str, str], args: argparse.Namespace) -> list[CeilingStep]:
    """Rising asks per second, relay and product in turn at each rate, until each path fails a step
    twice in a row (the machine is shared: one unlucky step does not end a ramp)."""
    steps: list[CeilingStep] = []
    for workers in args.ceiling:
        server = "uvicorn" if workers == 1 else f"uvicorn:{workers}"
        with targets_running(server, env) as targets:
            for target in targets:
                await warm_up(target, chunks=args.chunks)
            broken: set[str] = set()
            for index, rate in enumerate(args.ceiling_rates):
                for target in targets if index % 2 == 0 else targets[::-1]:
                    if target.label not in broken:
                        tried = await ceiling_rate_try(target, workers=workers, rate=rate, args=args)
                        steps += tried
                        if not tried[-1].passes(args.chunks):
                            broken.add(target.label)
                if len(broken) == len(targets):
                    break
    return steps


async def ceiling_rate_try(target: Target, *, workers: int, rate: float, args: argparse.Namespace) -> list[CeilingStep]:
    """One rate for one path: a step, and a second one when the first fails."""
    tried: list[CeilingStep] = []
    for _ in range(2):
        tried.append(await ceiling_step(target, workers=workers, rate=rate, args=args))
        print(f"  {target.server} {rate:g}/s {target.label}: {batch_line(tried[-1].batch, args.chunks)}", flush=True)
        if tried[-1].passes(args.chunks):
            break
    return tried


async def ceiling_step(target: Target, *, workers: int, rate: float, args: argparse.Namespace) -> CeilingStep:
    count = max(CEILING_MIN_ASKS, round(rate * args.ceiling_seconds))
    load = load_average().split()[0]
    batch = await batch_run(target, count=count, spread_s=count / rate, chunks=args.chunks)
    return CeilingStep(workers=workers, rate=rate, label=target.label, batch=batch, load=load)


# --- running it all -----------------------------------------------------------------------------------


@contextmanager
def targets_running(server: str, env: dict[str, str]) -> Iterator[list[Target]]:
    targets = [
        Target(label=RELAY, application=RELAY_APPLICATION, server=server, env=env),
        Target(label=PRODUCT, application=stack.PRODUCT_APPLICATION, server=server, env=env),
    ]
    try:
        for target in targets:
            target.start()
        yield targets
    finally:
        for target in targets:
            target.stop()


@contextmanager
def backend_running(backend: str, args: argparse.Namespace, model_url: str) -> Iterator[dict[str, str]]:
    """The product's environment for a backend, its services started, migrated and loaded as ``make run`` does."""
    from supportbot.embedded_redis import redis_start

    with tempfile.TemporaryDirectory(prefix="supportbot-customer-") as directory:
        workdir = Path(directory)
        redis_process = None
        redis_url = args.redis_url if backend == "postgres" else ""
        if backend != "in-process" and not redis_url:
            redis_process = redis_start(workdir / "redis.sock")
            redis_url = f"unix://{workdir}/redis.sock"
        env = stack.product_env(
            data_dir=workdir,
            redis_url=redis_url,
            model_url=model_url,
            database_url=args.database_url if backend == "postgres" else "",
        )
        if not redis_url:
            env.pop("REDIS_URL", None)
        try:
            stack.database_migrate(env=env)
            stack.demo_setup(env=env)
            yield env
        finally:
            if redis_process is not None:
                stack.process_stop(redis_process)


async def setting_run(backend: str, server: str, env: dict[str, str], args: argparse.Namespace) -> Setting:
    setting = Setting(backend=backend, server=server)
    print(f"{backend} on {server}:", flush=True)
    with targets_running(server, env) as targets:
        await rounds_run(setting, targets, args, args.profile)
        if args.serial:
            for target in targets:
                setting.phases[target.label] = await serial_run(target, count=args.serial, chunks=args.chunks)
        if args.cold_starts:
            for target in targets:
                setting.cold[target.label] = await cold_run(
                    target,
                    restarts=args.cold_starts,
                    warm_asks=args.warm_asks,
                    chunks=args.chunks,
                    profile=f"{args.profile}.{backend}.{server}" if args.profile else "",
                )
    return setting


async def bench(args: argparse.Namespace) -> tuple[list[Setting], dict[str, list[CeilingStep]]]:
    model_process, model_url = stack.model_server_start(chunks=args.chunks, interval_ms=args.interval_ms, stamp=True)
    settings: list[Setting] = []
    ceilings: dict[str, list[CeilingStep]] = {}
    try:
        for backend in args.backends:
            with backend_running(backend, args, model_url) as env:
                if args.rounds:
                    for server in args.servers:
                        settings.append(await setting_run(backend, server, env, args))
                if args.ceiling:
                    print(f"{backend}: ceiling", flush=True)
                    ceilings[backend] = await ceiling_run(env, args)
    finally:
        stack.process_stop(model_process)
    return settings, ceilings


def section_title(args: argparse.Namespace) -> str:
    parts = [", ".join(args.backends)]
    if args.rounds:
        parts.append(", ".join(args.servers))
    if args.ceiling:
        parts.append(f"ceiling with {' and '.join(map(str, args.ceiling))} uvicorn workers")
    if args.profile:
        parts.append("profiled")
    return f"Customer sent → first word, against a bare relay ({'; '.join(parts)})"


def main() -> None:
    from bench import customer_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    words = lambda text: [word for word in text.split(",") if word]  # noqa: E731
    parser.add_argument("--servers", type=words, default=["uvicorn"], help="uvicorn, daphne")
    parser.add_argument("--backends", type=words, default=["embedded"], help=", ".join(BACKENDS))
    parser.add_argument("--chats", type=int, default=40, help="widgets asking per round")
    parser.add_argument("--spread-s", type=float, default=1.28, help="the asks of a round spread over this")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per path, alternating, pooled (0: none)")
    parser.add_argument("--chunks", type=int, default=64, help="chunks the model streams per answer")
    parser.add_argument("--interval-ms", type=float, default=20.0, help="between the model's chunks")
    parser.add_argument("--serial", type=int, default=0, help="answers one at a time for the CPU phases")
    parser.add_argument("--cold-starts", type=int, default=0, help="restarts of each web process")
    parser.add_argument("--warm-asks", type=int, default=5, help="answers after each restart, as the warm ones")
    parser.add_argument("--ceiling", type=lambda t: [int(w) for w in words(t)], default=[], help="worker counts")
    parser.add_argument(
        "--ceiling-rates",
        type=lambda t: [float(r) for r in words(t)],
        default=[2, 3, 4, 5, 7, 10, 15, 20, 30, 40, 60, 80, 100, 150, 200],
        help="asks per second, rising",
    )
    parser.add_argument("--ceiling-seconds", type=float, default=3.0, help="asking time per ceiling step")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/supportbot_bench")
    parser.add_argument("--redis-url", default="", help="for postgres (default: a private Redis)")
    parser.add_argument("--profile", default="", help="py-spy both servers during the rounds into PREFIX.*.txt")
    parser.add_argument("--note", default="", help="a line for the report, e.g. the state of the product")
    parser.add_argument("--section", default="", help="the docs/benchmarks.md section to write (default: none)")
    args = parser.parse_args()
    unknown = set(args.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backends {sorted(unknown)}")
    started = time.monotonic()
    settings, ceilings = asyncio.run(bench(args))
    body = customer_report.report(settings=settings, ceilings=ceilings, args=args)
    body += f"\n\nThe run took {time.monotonic() - started:.0f} s."
    print(body)
    if args.section:
        section_write(
            args.section,
            title=section_title(args),
            command="python -m bench.bench_customer " + shlex.join(sys.argv[1:]),
            body=body,
        )


if __name__ == "__main__":
    main()
