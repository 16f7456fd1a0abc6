"""What ``bench.bench_customer`` measured: answers pooled per path, CPU phases, cold starts, the ceiling."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.customer import Answer, percentile

RELAY, PRODUCT = "bare relay", "Supportbot"
FIRST_TOKEN_ABOVE_RELAY_MS = 30.0
CPU_PER_ANSWER_TIMES_RELAY = 3.0
GAP_STRETCH_P99_MS = 10.0
COLD_TIMES_WARM = 2.0
CEILING_FIRST_TOKEN_P99_MS = 100.0
BACKENDS = {
    "embedded": "SQLite and a private Redis on a unix socket, as `make run` starts them",
    "in-process": "SQLite, no Redis: the in-process channel layer and eager Celery tasks",
    "postgres": "PostgreSQL and Redis",
}


def _summed(a: dict, b: dict) -> dict:
    return {key: a.get(key, 0) + b.get(key, 0) for key in a.keys() | b.keys()}


@dataclass
class Batch:
    """Answers measured together, and the server CPU (process tree) they cost."""

    answers: list[Answer]
    cpu_s: float
    rounds: int = 1
    # CPU ns per thread id over the same span, when profiled
    thread_cpu_ns: dict[int, int] = field(default_factory=dict)
    # CPU seconds per worker process (pid) over the same span, with several workers
    worker_cpu_s: dict[int, float] = field(default_factory=dict)

    def __add__(self, other: Batch) -> Batch:
        return Batch(
            self.answers + other.answers,
            self.cpu_s + other.cpu_s,
            self.rounds + other.rounds,
            _summed(self.thread_cpu_ns, other.thread_cpu_ns),
            _summed(self.worker_cpu_s, other.worker_cpu_s),
        )

    @property
    def busiest_worker_share(self) -> float | None:
        """The busiest worker process's share of the workers' CPU (None for a single process)."""
        busy = [cpu for cpu in self.worker_cpu_s.values() if cpu > 0]
        return max(busy) / sum(busy) if len(self.worker_cpu_s) > 1 and busy else None

    def values(self, name: str) -> list[float]:
        return [v for a in self.answers if (v := _answer_value(a, name)) is not None]

    @property
    def gap_stretches_ms(self) -> list[float]:
        return [gap for answer in self.answers for gap in answer.gap_stretches_ms]

    def lost(self, chunks: int) -> int:
        return sum(answer.lost(chunks) for answer in self.answers)

    @property
    def doubled(self) -> int:
        return sum(answer.doubled for answer in self.answers)

    @property
    def failed(self) -> int:
        return sum(bool(answer.error) for answer in self.answers)

    @property
    def mismatched(self) -> int:
        return sum(answer.stored_mismatch for answer in self.answers)

    @property
    def cpu_ms_per_answer(self) -> float:
        return self.cpu_s * 1000 / len(self.answers) if self.answers else float("nan")

    def errors(self) -> str:
        return ", ".join(sorted({answer.error for answer in self.answers if answer.error}))


def _answer_value(answer: Answer, name: str) -> float | None:
    if name == "acked":
        return answer.since_sent_ms(answer.acked_ns)
    if name == "typing":
        return answer.since_sent_ms(answer.typing_ns)
    if name == "stored":
        return answer.since_sent_ms(answer.stored_ns)
    return getattr(answer, name)


@dataclass
class Phases:
    """Server CPU of answers asked one at a time, split at the first and the last token (ns per answer)."""

    before_first_token: list[int] = field(default_factory=list)
    streaming: list[int] = field(default_factory=list)
    after_last_token: list[int] = field(default_factory=list)
    first_token_ms: list[float] = field(default_factory=list)


@dataclass
class Cold:
    first_token_ms: list[float] = field(default_factory=list)
    typing_ms: list[float] = field(default_factory=list)
    model_request_ms: list[float] = field(default_factory=list)
    warm_first_token_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    profiles: list[Path] = field(default_factory=list)


@dataclass
class Setting:
    """Everything measured for one backend on one ASGI server."""

    backend: str
    server: str
    batches: dict[str, list[Batch]] = field(default_factory=dict)
    phases: dict[str, Phases] = field(default_factory=dict)
    cold: dict[str, Cold] = field(default_factory=dict)
    profiles: dict[str, list[Path]] = field(default_factory=dict)
    load_before: str = ""
    load_after: str = ""

    def pooled(self, label: str) -> Batch:
        batches = self.batches[label]
        total = batches[0]
        for batch in batches[1:]:
            total = total + batch
        return total


@dataclass
class CeilingStep:
    workers: int
    rate: float
    label: str
    batch: Batch
    load: str = ""  # the 1-minute load average when the step began

    def passes(self, chunks: int) -> bool:
        first = self.batch.values("first_token_ms")
        return (
            not self.batch.failed
            and not self.batch.lost(chunks)
            and not self.batch.doubled
            and len(first) == len(self.batch.answers)
            and percentile(first, 99) <= CEILING_FIRST_TOKEN_P99_MS
        )
