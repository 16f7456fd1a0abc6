"""What the gateway adds on top of calling AsyncOpenAI directly: time to first token and CPU per token.

    python -m bench.bench_gateway [--iterations 300] [--chunks 64] [--interval-ms 1]

Starts the local OpenAI-compatible server in its own process (so its CPU is not counted),
then streams the same answer alternately straight through the SDK (its typed chunks, and its
raw response read line by line with ``json.loads``) and through the Gateway, and prints a
markdown table. Targets: added time to first token <= 2 ms at p50, <= 5 ms at p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

import django
import openai
from openai.types.chat import ChatCompletionMessageParam

# The stream types name the help centre's citation, whose module reads settings: Django first.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportbot.settings")
django.setup()

from bench.report import section_write  # noqa: E402
from routing.breaker import MemoryBreaker  # noqa: E402
from routing.gateway import Gateway  # noqa: E402
from routing.providers.base import ChatRequest, TextDelta  # noqa: E402
from routing.providers.openai_compat import OpenAICompatProvider  # noqa: E402
from routing.tiers import TierName, default_catalogue  # noqa: E402

QUESTION = ChatRequest(messages=[{"role": "user", "content": "How do I change the address on my order?"}])
API_KEY = "bench-key"


@dataclass
class Samples:
    time_to_first_token_s: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    tokens: int = 0
    requests: int = 0

    def add(self, *, first_token_s: float, cpu_s: float, tokens: int) -> None:
        self.time_to_first_token_s.append(first_token_s)
        self.cpu_s += cpu_s
        self.tokens += tokens
        self.requests += 1

    def percentile_ms(self, percent: int) -> float:
        return statistics.quantiles(self.time_to_first_token_s, n=100, method="inclusive")[percent - 1] * 1000

    def cpu_per_token_us(self) -> float:
        return self.cpu_s / self.tokens * 1e6

    def cpu_per_request_ms(self) -> float:
        return self.cpu_s / self.requests * 1000


async def direct_measure(client: openai.AsyncOpenAI, *, model: str, samples: Samples | None) -> None:
    cpu_started, started = time.process_time(), time.perf_counter()
    first_token_at = None
    tokens = 0
    stream = await client.chat.completions.create(
        model=model,
        messages=cast("list[ChatCompletionMessageParam]", QUESTION.messages),
        stream=True,
        stream_options={"include_usage": True},
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            if first_token_at is None:
                first_token_at = time.perf_counter()
            tokens += 1
    if samples is not None and first_token_at is not None:
        samples.add(first_token_s=first_token_at - started, cpu_s=time.process_time() - cpu_started, tokens=tokens)


async def direct_lines_measure(client: openai.AsyncOpenAI, *, model: str, samples: Samples | None) -> None:
    """The SDK's raw response, read with its own ``iter_lines()``: no pydantic object per chunk."""
    cpu_started, started = time.process_time(), time.perf_counter()
    first_token_at = None
    tokens = 0
    async with client.chat.completions.with_streaming_response.create(
        model=model,
        messages=cast("list[ChatCompletionMessageParam]", QUESTION.messages),
        stream=True,
        stream_options={"include_usage": True},
    ) as response:
        async for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            choices = json.loads(line[6:])["choices"]
            if choices and choices[0]["delta"].get("content"):
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                tokens += 1
    if samples is not None and first_token_at is not None:
        samples.add(first_token_s=first_token_at - started, cpu_s=time.process_time() - cpu_started, tokens=tokens)


async def gateway_measure(gateway: Gateway, *, samples: Samples | None) -> None:
    cpu_started, started = time.process_time(), time.perf_counter()
    first_token_at = None
    tokens = 0
    async for event in gateway.stream(QUESTION, tier=TierName.INSTANT):
        if type(event) is TextDelta:
            if first_token_at is None:
                first_token_at = time.perf_counter()
            tokens += 1
    if samples is not None and first_token_at is not None:
        samples.add(first_token_s=first_token_at - started, cpu_s=time.process_time() - cpu_started, tokens=tokens)


async def bench_run(*, url: str, iterations: int, warmup: int) -> tuple[Samples, Samples, Samples]:
    catalogue = default_catalogue()
    model = catalogue[TierName.INSTANT].model
    # A separate client for the direct path, configured like the provider's own.
    direct_client = openai.AsyncOpenAI(api_key=API_KEY, base_url=url, max_retries=0)
    provider = OpenAICompatProvider(base_url=url, api_key=API_KEY)
    gateway = Gateway(providers=lambda tier: provider, catalogue=lambda: catalogue, breaker=MemoryBreaker())
    direct, direct_lines, through_gateway = Samples(), Samples(), Samples()
    runs: tuple[Callable[[bool], Awaitable[None]], ...] = (
        lambda keep: direct_measure(direct_client, model=model, samples=direct if keep else None),
        lambda keep: direct_lines_measure(direct_client, model=model, samples=direct_lines if keep else None),
        lambda keep: gateway_measure(gateway, samples=through_gateway if keep else None),
    )
    for iteration in range(warmup + iterations):
        # Alternate which path goes first so neither always runs on a freshly idle loop.
        ordered = runs if iteration % 2 == 0 else runs[::-1]
        for run in ordered:
            await run(iteration >= warmup)
    await direct_client.close()
    return direct, direct_lines, through_gateway


def server_start(*, chunks: int, interval_ms: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.openai_server",
            "--port",
            "0",
            "--chunks",
            str(chunks),
            "--interval-ms",
            str(interval_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return process, line.removeprefix("listening on ").strip()


def table_render(*, direct: Samples, direct_lines: Samples, through_gateway: Samples, args: argparse.Namespace) -> str:
    def row(label: str, samples: Samples) -> str:
        return (
            f"| {label} | {samples.percentile_ms(50):.2f} | {samples.percentile_ms(99):.2f} "
            f"| {samples.cpu_per_token_us():.1f} | {samples.cpu_per_request_ms():.2f} |"
        )

    added = (
        f"| Added by the gateway | {through_gateway.percentile_ms(50) - direct.percentile_ms(50):+.2f} "
        f"| {through_gateway.percentile_ms(99) - direct.percentile_ms(99):+.2f} "
        f"| {through_gateway.cpu_per_token_us() - direct.cpu_per_token_us():+.1f} "
        f"| {through_gateway.cpu_per_request_ms() - direct.cpu_per_request_ms():+.2f} |"
    )
    return "\n".join(
        [
            f"Gateway overhead: {args.iterations} interleaved streams per path ({args.warmup} warm-up), "
            f"{args.chunks} chunks {args.interval_ms:g} ms apart, Python {platform.python_version()}, "
            f"openai {openai.__version__}.",
            "",
            "| Path | Time to first token p50 (ms) | p99 (ms) | CPU per token (µs) | CPU per request (ms) |",
            "|---|---:|---:|---:|---:|",
            row("AsyncOpenAI directly", direct),
            row("AsyncOpenAI raw response, `iter_lines()` + `json.loads`", direct_lines),
            row("Through the Gateway", through_gateway),
            added,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--interval-ms", type=float, default=1.0)
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    process, url = server_start(chunks=args.chunks, interval_ms=args.interval_ms)
    try:
        direct, direct_lines, through_gateway = asyncio.run(
            bench_run(url=url, iterations=args.iterations, warmup=args.warmup)
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    table = table_render(direct=direct, direct_lines=direct_lines, through_gateway=through_gateway, args=args)
    print(table)
    if not args.no_report:
        section_write(
            "gateway",
            title="Gateway overhead against AsyncOpenAI called directly",
            command="python -m bench.bench_gateway",
            body=table,
        )


if __name__ == "__main__":
    main()
