"""End to end: N concurrent widget conversations over real websockets against the real ASGI server.

    python -m bench.bench_e2e [--conversations 200] [--servers daphne,uvicorn,uvicorn:2] [--ramp 300,400,600,800]

Starts a private Redis, a migrated database, the local model server (64 chunks, 20 ms apart,
each chunk's text stamped with its index and send time) and the web process exactly as the
Procfile does. N widgets open a socket and say hello; then each asks one question, the starts
spread over one answer's length so that N answers stream at the same time.

Per token the client compares its receive time with the model's send time (one machine, one
clock): the first token's delay is the latency the product adds (the model server is on the
same host, so its send time is when the product receives it), the change of that delay from one
token to the next is how much an inter-token gap was stretched. The baseline, in the same run,
reads the same N streams straight from the model server with a plain HTTP client. Then N grows
until a target breaks. Targets: first token p99 <= 25 ms, gap stretch p99 <= 10 ms, no token
lost or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from bench import stack
from bench.report import section_write
from supportbot.embedded_redis import redis_start

LOAD_AT_START = " ".join(Path("/proc/loadavg").read_text().split()[:3])
QUESTION = "How long does delivery take to Germany?"
CHUNKS = 64
INTERVAL_MS = 20.0
FIRST_TOKEN_P99_MS = 25.0
GAP_STRETCH_P99_MS = 10.0
ANSWER_TIMEOUT_S = 60.0


@dataclass
class Stream:
    """One answer as a client saw it: (chunk index, model send ns, client receive ns) per token."""

    tokens: list[tuple[int, int, int]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    stored_text: str | None = None
    error: str = ""

    def token_add(self, text: str, *, received_ns: int) -> None:
        index, _, stamp = text.strip().partition("@")
        self.tokens.append((int(index), int(stamp), received_ns))
        self.texts.append(text)


@dataclass
class RoundResult:
    """One or more rounds of ``conversations`` each; several rounds pool their samples."""

    label: str
    conversations: int
    streams: list[Stream]
    server_cpu_s: float | None = None
    redis_commands: Counter[str] | None = None
    rounds: int = 1

    def pooled(self, other: RoundResult) -> RoundResult:
        """This and another round at the same N as one sample (a p99 over more first tokens)."""
        return RoundResult(
            label=self.label,
            conversations=self.conversations,
            streams=self.streams + other.streams,
            server_cpu_s=None if self.server_cpu_s is None else self.server_cpu_s + (other.server_cpu_s or 0.0),
            redis_commands=(
                None if self.redis_commands is None else self.redis_commands + (other.redis_commands or Counter())
            ),
            rounds=self.rounds + other.rounds,
        )

    @property
    def first_token_ms(self) -> list[float]:
        return [(s.tokens[0][2] - s.tokens[0][1]) / 1e6 for s in self.streams if s.tokens and s.tokens[0][0] == 0]

    @property
    def gap_stretch_ms(self) -> list[float]:
        stretches = []
        for stream in self.streams:
            for (_, sent_a, got_a), (_, sent_b, got_b) in zip(stream.tokens, stream.tokens[1:], strict=False):
                stretches.append(((got_b - got_a) - (sent_b - sent_a)) / 1e6)
        return stretches

    @property
    def tokens(self) -> int:
        return sum(len(s.tokens) for s in self.streams)

    @property
    def lost(self) -> int:
        return sum(CHUNKS - len({t[0] for t in s.tokens}) for s in self.streams if not s.error)

    @property
    def doubled(self) -> int:
        return sum(len(s.tokens) - len({t[0] for t in s.tokens}) for s in self.streams)

    @property
    def out_of_order(self) -> int:
        return sum(any(a[0] > b[0] for a, b in zip(s.tokens, s.tokens[1:], strict=False)) for s in self.streams)

    @property
    def stored_mismatch(self) -> int:
        """Answers whose stored text differs from the tokens streamed (None for the baseline)."""
        return sum(s.stored_text is not None and s.stored_text != "".join(s.texts) for s in self.streams)

    @property
    def failed(self) -> int:
        return sum(bool(s.error) for s in self.streams)

    def meets_targets(self) -> bool:
        first, gaps = self.first_token_ms, self.gap_stretch_ms
        return (
            not self.failed
            and not self.lost
            and not self.doubled
            and not self.stored_mismatch
            and len(first) == self.conversations * self.rounds
            and percentile(first, 99) <= FIRST_TOKEN_P99_MS
            and percentile(gaps, 99) <= GAP_STRETCH_P99_MS
        )


def percentile(values: Sequence[float], percent: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


# --- the product over websockets ---------------------------------------------------------


@dataclass
class Widget:
    session: dict
    last_seq: int = 0
    socket: ClientConnection | None = None


async def widget_open(widget: Widget, *, port: int) -> None:
    """Connect and say hello; the ready frame says how far the conversation is."""
    widget.socket = await connect(f"ws://127.0.0.1:{port}/ws/widget/", origin=Origin(stack.ORIGIN), open_timeout=60)
    await widget.socket.send(
        json.dumps({"type": "hello", "token": widget.session["token"], "last_seq": widget.last_seq})
    )
    while True:
        frame = json.loads(await widget.socket.recv())
        if frame["type"] == "ready":
            widget.last_seq = frame["last_seq"]
            return


async def widget_ask(widget: Widget, *, start_at: float, client_id: str) -> Stream:
    stream = Stream()
    await asyncio.sleep(max(0.0, start_at - asyncio.get_running_loop().time()))
    assert widget.socket is not None
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            # Each visitor words it a little differently, as real visitors do: an identical question
            # would be answered from the answer cache in one frame instead of streamed.
            question = f"{QUESTION} (visitor {widget.session['conversation_id'][:10]})"
            await widget.socket.send(json.dumps({"type": "message", "text": question, "client_id": client_id}))
            async for raw in widget.socket:
                received_ns = time.time_ns()
                frame = json.loads(raw)
                kind = frame["type"]
                if kind == "token":
                    stream.token_add(frame["text"], received_ns=received_ns)
                elif kind == "message" and frame["role"] in ("assistant", "system"):
                    widget.last_seq = frame["seq"]
                    stream.stored_text = frame["text"]
                    if frame["role"] == "system":
                        stream.error = "handed off"
                    return stream
                elif kind == "message":
                    widget.last_seq = frame["seq"]
                elif kind == "error":
                    stream.error = frame["code"]
                    return stream
            stream.error = "socket closed"
    except TimeoutError:
        stream.error = "timeout"
    except ConnectionClosed as closed:
        stream.error = f"socket closed ({closed.rcvd.code if closed.rcvd else 'no close frame'})"
    return stream


async def product_round(widgets: list[Widget], *, port: int, spread_s: float, round_no: int) -> list[Stream]:
    opening = asyncio.Semaphore(50)

    async def open_one(widget: Widget) -> None:
        async with opening:
            await widget_open(widget, port=port)

    await asyncio.gather(*(open_one(widget) for widget in widgets))
    start = asyncio.get_running_loop().time() + 0.2
    try:
        return await asyncio.gather(
            *(
                widget_ask(widget, start_at=start + spread_s * index / len(widgets), client_id=f"r{round_no}")
                for index, widget in enumerate(widgets)
            )
        )
    finally:
        await asyncio.gather(*(widget.socket.close() for widget in widgets if widget.socket is not None))


# --- the baseline: the model server read by a plain client ---------------------------------


async def model_stream_read(*, model_url: str, start_at: float) -> Stream:
    """One streamed completion over a bare HTTP connection: no SDK, no product."""
    stream = Stream()
    address = urlparse(model_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    body = json.dumps(
        {"model": "baseline", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    ).encode()
    head = f"POST /v1/chat/completions HTTP/1.1\r\nhost: {address.netloc}\r\ncontent-type: application/json\r\n"
    await asyncio.sleep(max(0.0, start_at - asyncio.get_running_loop().time()))
    writer.write(head.encode() + b"content-length: %d\r\n\r\n" % len(body) + body)
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            async for line in reader:
                if line.startswith(b"data: {"):
                    received_ns = time.time_ns()
                    choices = json.loads(line[6:])["choices"]
                    if choices and choices[0]["delta"].get("content"):
                        stream.token_add(choices[0]["delta"]["content"], received_ns=received_ns)
                elif line.startswith(b"data: [DONE]"):
                    return stream
            stream.error = "connection closed"
    except TimeoutError:
        stream.error = "timeout"
    finally:
        writer.close()
    return stream


async def baseline_round(*, model_url: str, conversations: int, spread_s: float) -> list[Stream]:
    start = asyncio.get_running_loop().time() + 0.2
    return await asyncio.gather(
        *(
            model_stream_read(model_url=model_url, start_at=start + spread_s * index / conversations)
            for index in range(conversations)
        )
    )


# --- measuring a round ------------------------------------------------------------------------


def redis_commands_count(client: redis.Redis) -> Counter[str]:
    """Calls per Redis command since the server started (INFO commandstats)."""
    return Counter(
        {name.removeprefix("cmdstat_"): stats["calls"] for name, stats in client.info("commandstats").items()}
    )


async def round_measure(
    label: str, run: Awaitable[list[Stream]], *, conversations: int, pid: int | None, redis_client: redis.Redis | None
) -> RoundResult:
    cpu_before = stack.process_cpu_s(pid) if pid else None
    commands_before = redis_commands_count(redis_client) if redis_client else None
    streams = await run  # not started until here, so the counters bracket exactly this round
    result = RoundResult(label=label, conversations=conversations, streams=streams)
    if pid and cpu_before is not None:
        result.server_cpu_s = stack.process_cpu_s(pid) - cpu_before
    if redis_client and commands_before is not None:
        result.redis_commands = redis_commands_count(redis_client) - commands_before
        result.redis_commands["info"] -= 1  # this measurement's own
    return result


def sessions_open(*, port: int, count: int) -> list[dict]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: stack.session_open(port=port), range(count)))


@dataclass
class ServerRun:
    server: str
    at_n: RoundResult | None = None
    ramp: list[RoundResult] = field(default_factory=list)


def server_label(server: str) -> str:
    """``uvicorn:2`` (two worker processes on one port) as the tables name it."""
    name, _, workers = server.partition(":")
    return f"{name}, {workers} worker processes" if workers else name


async def server_run(
    server: str,
    *,
    env: dict[str, str],
    sizes: list[int],
    rounds: int,
    spread_s: float,
    redis_client: redis.Redis,
    profile: str,
) -> ServerRun:
    """One web process: the first size, then the ramp until a target breaks; ``rounds`` rounds per size."""
    port = stack.port_free()
    process = stack.asgi_server_start(server=server, port=port, env=env)
    outcome = ServerRun(server=server)
    profiler = None
    try:
        # Every round asks in fresh conversations: the same question again would (rightly) be
        # taken as "not helped" by the router and handed to a person.
        warm_up = [Widget(session=s) for s in sessions_open(port=port, count=20)]
        await product_round(warm_up, port=port, spread_s=0.2, round_no=0)  # imports, connections, caches
        profiler = profiler_start(pid=process.pid, path=f"{profile}.{server}.txt") if profile else None
        round_no = 0
        for step, size in enumerate(sizes):
            result: RoundResult | None = None
            for _ in range(rounds):
                round_no += 1
                widgets = [Widget(session=s) for s in sessions_open(port=port, count=size)]
                await server_quiet_wait(process.pid)
                measured = await round_measure(
                    f"Supportbot on {server_label(server)}",
                    product_round(widgets, port=port, spread_s=spread_s, round_no=round_no),
                    conversations=size,
                    pid=process.pid,
                    redis_client=redis_client,
                )
                result = measured if result is None else result.pooled(measured)
            assert result is not None
            print(row_format(result), flush=True)
            if step == 0:
                outcome.at_n = result
            else:
                outcome.ramp.append(result)
            if not result.meets_targets() and step > 0:
                break  # the ramp climbs: past the first size that misses, larger ones miss too
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT
            profiler.wait(timeout=30)
        stack.process_stop(process)
    return outcome


async def server_quiet_wait(pid: int, *, timeout_s: float = 30.0) -> None:
    """Wait until the web process has finished the previous round's work (closing sockets, saving
    answers, sessions), so that no round pays for the one before it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = stack.process_cpu_s(pid)
        await asyncio.sleep(0.5)
        if stack.process_cpu_s(pid) - before < 0.05:
            return


def profiler_start(*, pid: int, path: str) -> subprocess.Popen[bytes]:
    """py-spy sampling the web process during the measured rounds only (collapsed stacks)."""
    return subprocess.Popen(
        [
            str(stack.BIN / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            path,
            "--nonblocking",
        ]
    )


# --- the report ---------------------------------------------------------------------------------


def figure(value: float | None, unit: str = "") -> str:
    return "—" if value is None or value != value else f"{value:.1f}{unit}"


def row_format(result: RoundResult) -> str:
    first, gaps = result.first_token_ms, result.gap_stretch_ms
    cpu_per_token = (
        None if result.server_cpu_s is None or not result.tokens else result.server_cpu_s / result.tokens * 1e6
    )
    answers = result.conversations * result.rounds
    per_answer = None if result.redis_commands is None else result.redis_commands.total() / answers
    return (
        f"| {result.label} | {result.conversations} "
        f"| {figure(percentile(first, 50))} | {figure(percentile(first, 99))} "
        f"| {figure(percentile(gaps, 50))} | {figure(percentile(gaps, 99))} | {result.lost} | {result.doubled} "
        f"| {result.out_of_order} | {result.stored_mismatch} | {result.failed} | {figure(cpu_per_token)} "
        f"| {figure(per_answer)} | {'yes' if result.meets_targets() else 'no'} |"
    )


TABLE_HEAD = (
    "| path | N | first token p50 ms | first token p99 ms | gap stretch p50 ms | gap stretch p99 ms | lost | doubled "
    "| out of order | stored ≠ streamed | failed | server CPU µs/token | Redis cmds/answer | targets met |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


def report_body(
    *, n: int, baselines: dict[int, RoundResult], runs: list[ServerRun], spread_s: float, rounds: int
) -> str:
    lines = [
        f"{n} conversations, each answered with {CHUNKS} chunks {INTERVAL_MS:g} ms apart; starts spread over "
        f"{spread_s:g} s so all N stream at once; each row pools {rounds} round{'s' * (rounds != 1)} of N fresh "
        "conversations. "
        "First token: model sent it → widget received it. Gap stretch: "
        "the widget's gap between two tokens minus the model's. The load generator (client), the model server, "
        f"Redis and the web process share the machine's cores. Load average when the run started: {LOAD_AT_START}.",
        "",
        f"### At N = {n}, side by side",
        "",
        TABLE_HEAD,
        row_format(baselines[n]),
        *(row_format(run.at_n) for run in runs if run.at_n),
        "",
        "### Ramp: more concurrent streaming conversations until a target breaks",
        "",
        TABLE_HEAD,
    ]
    for run in runs:
        for result in run.ramp:
            if result.conversations in baselines:
                lines.append(row_format(baselines[result.conversations]))
            lines.append(row_format(result))
    lines.append("")
    for run in runs:
        if run.at_n and run.at_n.redis_commands:
            per_answer = ", ".join(
                f"{name} {calls / (run.at_n.conversations * run.at_n.rounds):.1f}"
                for name, calls in run.at_n.redis_commands.most_common()
                if calls > 0
            )
            lines.append(
                f"- Redis commands per answer on {server_label(run.server)} at N = {n} ({CHUNKS} tokens each): "
                f"{per_answer}."
            )
    for run in runs:
        # The ramp climbs until a target breaks: the answer is the last N before the first miss,
        # whatever a luckier round at a larger N showed.
        largest = 0
        for result in run.ramp:
            if not result.meets_targets():
                break
            largest = result.conversations
        at_n = "met" if run.at_n and run.at_n.meets_targets() else "not met"
        lines.append(
            f"- **{server_label(run.server)}**: targets at N = {n}: **{at_n}**; "
            f"largest N of the ramp before a target broke: **{largest or 'none'}**."
        )
    return "\n".join(lines)


async def bench(args: argparse.Namespace) -> str:
    sizes = [args.conversations, *sorted(args.ramp)]
    with tempfile.TemporaryDirectory(prefix="supportbot-bench-") as directory:
        workdir = Path(directory)
        redis_process = redis_start(workdir / "redis.sock")
        model_process, model_url = stack.model_server_start(chunks=CHUNKS, interval_ms=INTERVAL_MS, stamp=True)
        redis_url = f"unix://{workdir}/redis.sock"
        redis_client = redis.Redis(unix_socket_path=str(workdir / "redis.sock"))
        try:
            env = stack.product_env(
                data_dir=workdir, redis_url=redis_url, model_url=model_url, database_url=args.database_url
            )
            stack.database_migrate(env=env)
            print(TABLE_HEAD, flush=True)
            runs = [
                await server_run(
                    server,
                    env=env,
                    sizes=sizes,
                    rounds=args.rounds,
                    spread_s=args.spread_s,
                    redis_client=redis_client,
                    profile=args.profile,
                )
                for server in args.servers
            ]
            measured = sorted({r.conversations for run in runs for r in [run.at_n, *run.ramp] if r})
            baselines = {}
            for size in measured:
                for round_index in range(args.rounds):
                    baseline = await round_measure(
                        "baseline: model → plain client",
                        baseline_round(model_url=model_url, conversations=size, spread_s=args.spread_s),
                        conversations=size,
                        pid=None,
                        redis_client=None,
                    )
                    baselines[size] = baseline if round_index == 0 else baselines[size].pooled(baseline)
                print(row_format(baselines[size]), flush=True)
        finally:
            stack.process_stop(model_process)
            stack.process_stop(redis_process)
    return report_body(n=args.conversations, baselines=baselines, runs=runs, spread_s=args.spread_s, rounds=args.rounds)


# Where the web process spends its CPU, by the product function a sampled stack passes through.
PROFILE_CATEGORIES = [
    ("per answer: claim the question, route it, retrieve passages, budgets (ORM thread)", ("_job_claim (",)),
    (
        "per answer: save it, ledger, answer cache, post-answer hooks (ORM thread)",
        ("_answer_save (", "_answer_cache_offer (", "turn_after_answer ("),
    ),
    ("per answer: store the customer's message (ORM thread)", ("_customer_message_take (",)),
    ("per socket: hello, token check, replay (ORM thread)", ("_resume_state (", "conversation_for_token (")),
    ("per conversation: session endpoint (HTTP)", ("widget_session (",)),
    (
        "per token: reading and parsing the model's stream (HTTP client, SSE, JSON)",
        ("OpenAICompatProvider.stream (", "_completion_chunks (", "_completion_response_open ("),
    ),
    ("per token: writing token frames to the sockets", ("_publish (",)),
]


PROFILE_OTHER = "everything else: event loop, ASGI server, channel layer, ORM thread hand-offs"


def profile_summary(path: str) -> list[tuple[str, float]]:
    """Shares of the sampled stacks (py-spy raw format: frames;...;frames count) per category."""
    shares: Counter[str] = Counter()
    for line in Path(path).read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        if stack_text:
            category = next(
                (name for name, marks in PROFILE_CATEGORIES if any(mark in stack_text for mark in marks)),
                PROFILE_OTHER,
            )
            shares[category] += int(count)
    total = shares.total()
    return [(name, shares[name] / total * 100) for name in [*(name for name, _ in PROFILE_CATEGORIES), PROFILE_OTHER]]


def profile_body(*, servers: list[str], profile: str) -> str:
    lines = [
        "Where the web process spends its CPU while the rounds above run (py-spy, 200 samples/s, "
        "stacks grouped by the product function they pass through).",
        "",
    ]
    for server in servers:
        lines += [f"#### {server}", "", "| work | share of samples |", "|---|---:|"]
        lines += [f"| {name} | {share:.1f} % |" for name, share in profile_summary(f"{profile}.{server}.txt")]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--servers", type=lambda text: text.split(","), default=["daphne", "uvicorn"])
    parser.add_argument(
        "--ramp",
        type=lambda text: [int(n) for n in text.split(",") if n],
        default=[10, 25, 50, 100, 150, 200, 300, 400],
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per N, pooled: a p99 over N x rounds first tokens"
    )
    parser.add_argument("--spread-s", type=float, default=CHUNKS * INTERVAL_MS / 1000)
    parser.add_argument("--database-url", default="", help="PostgreSQL instead of a temporary SQLite file")
    parser.add_argument("--profile", default="", help="sample the web process with py-spy into PROFILE.<server>.txt")
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    body = asyncio.run(bench(args))
    if args.profile:
        body += "\n\n" + profile_body(servers=args.servers, profile=args.profile)
    print(body)
    if args.profile and not args.no_report:
        # Sampling takes CPU from the same cores, so profiled figures get their own section.
        section_write(
            "e2e-profile",
            title="End to end, profiled: where the web process spends its CPU",
            command="python -m bench.bench_e2e " + " ".join(_argv_echo(args)) + f" --profile {args.profile}",
            body=body,
        )
    elif not args.no_report:
        section_write(
            "e2e",
            title="End to end: concurrent widget conversations over websockets",
            command="python -m bench.bench_e2e " + " ".join(_argv_echo(args)),
            body=body,
        )


def _argv_echo(args: argparse.Namespace) -> list[str]:
    echo = [f"--conversations {args.conversations}", f"--servers {','.join(args.servers)}"]
    echo.append(f"--ramp {','.join(map(str, args.ramp))}")
    echo.append(f"--rounds {args.rounds}")
    if args.database_url:
        echo.append(f"--database-url {args.database_url}")
    return echo


if __name__ == "__main__":
    main()
