"""Sampling a running server with py-spy from outside, and reading the samples back.

py-spy (``pip install py-spy``) reads the process's memory without stopping it
(``--nonblocking``) and records only threads that are running, so each sample stands for
1/rate seconds of a busy thread: near enough to CPU time to split a server's CPU by the code it
runs. Nothing in the server is changed or imported for it.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import stack

RATE = 250
# "function (path/to/file.py:123)" as py-spy writes a frame with --full-filenames.
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
_PRODUCT_DIRS = tuple(f"{stack.ROOT}/{name}/" for name in ("supportbot", "conversations", "routing", "helpcentre"))


def py_spy_path() -> str:
    found = stack.BIN / "py-spy"
    if found.exists():
        return str(found)
    which = shutil.which("py-spy")
    if which is None:
        raise RuntimeError("profiling needs py-spy: pip install py-spy")
    return which


def record_start(*, pid: int, path: Path) -> subprocess.Popen[bytes]:
    """Sample ``pid`` (and its worker processes) until :func:`record_stop`; raw collapsed stacks into ``path``."""
    command = [py_spy_path(), "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw"]
    command += ["--output", str(path), "--nonblocking", "--full-filenames", "--subprocesses", "--threads"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def record_stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT
    process.wait(timeout=60)


@dataclass(frozen=True)
class Frame:
    function: str
    file: str

    @property
    def is_product(self) -> bool:
        return self.file.startswith(_PRODUCT_DIRS)

    @property
    def where(self) -> str:
        """The file, relative to the repository or to site-packages, without machine paths."""
        for marker in ("site-packages/", f"{stack.ROOT}/", "/lib/python3."):
            if marker in self.file:
                tail = self.file.split(marker, 1)[1]
                return tail.split("/", 1)[1] if marker == "/lib/python3." else tail
        return self.file.rsplit("/", 1)[-1]

    @property
    def label(self) -> str:
        return f"`{self.function}` ({self.where})"


def frame_parse(text: str) -> Frame:
    match = _FRAME.match(text)
    return Frame(function=match["function"], file=match["file"]) if match else Frame(function=text, file="")


_THREAD = re.compile(r"^thread \((?P<tid>\d+)\): ?(?P<name>.*)$")


def threads_cpu_ns(pid: int) -> dict[int, int]:
    """Nanoseconds on a CPU so far per thread id, of the process and its children (schedstat)."""
    found: dict[int, int] = {}
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            found[int(stat.parent.name)] = int(stat.read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
    for child in stack.children(pid):
        found |= threads_cpu_ns(child)
    return found


@dataclass
class Samples:
    """Collapsed stacks (outermost frame first) with their sample counts and the thread they ran on."""

    stacks: list[tuple[list[Frame], int]]
    threads: list[tuple[int, str]]  # (thread id, Python thread name) per stack; (0, "") when unknown

    @classmethod
    def read(cls, paths: list[Path]) -> Samples:
        stacks, threads = [], []
        for path in paths:
            for line in path.read_text().splitlines():
                text, _, count = line.rpartition(" ")
                if not text or not count.isdigit():
                    continue
                parts, thread = text.split(";"), (0, "")
                # --subprocesses puts "process 123:..." first and --threads "thread (tid): name": not code frames
                parts = [part for part in parts if not part.startswith("process ")]
                if parts and (match := _THREAD.match(parts[0])):
                    thread, parts = (int(match["tid"]), match["name"]), parts[1:]
                stacks.append(([frame_parse(part) for part in parts], int(count)))
                threads.append(thread)
        return cls(stacks=stacks, threads=threads)

    def phase_cpu_ns(
        self, phases: Sequence[tuple[str, tuple[str, ...]]], *, other: str, thread_cpu_ns: dict[int, int]
    ) -> list[tuple[str, float]]:
        """CPU per phase: each thread's measured CPU split by the phases of its samples.

        py-spy counts a thread waiting for a core as busy, which on a loaded machine overstates
        some threads against others; weighting by each thread's own CPU time corrects that. CPU of
        threads without samples (native threads) goes to ``other``."""
        split: dict[str, float] = {}
        for tid, ns in thread_cpu_ns.items():
            counts = self.by_phase(phases, other=other, tid=tid)
            total = sum(count for _, count in counts)
            for name, count in counts:
                share = count / total if total else float(name == other)
                split[name] = split.get(name, 0.0) + ns * share
        return [(name, split.get(name, 0.0)) for name in [*(name for name, _ in phases), other]]

    def thread_names(self) -> dict[int, str]:
        return {tid: name for tid, name in self.threads if tid}

    def top_product_function(self, tid: int) -> str:
        """The product function most often on this thread's stacks (innermost-but-product frame)."""
        counts: Counter[str] = Counter()
        for (frames, count), (thread, _) in zip(self.stacks, self.threads, strict=True):
            if thread == tid:
                product = [frame for frame in frames if frame.is_product]
                counts[product[-1].label if product else "(no product frame)"] += count
        return ", ".join(f"{label} {count * 100 / counts.total():.0f} %" for label, count in counts.most_common(3))

    @property
    def total(self) -> int:
        return sum(count for _, count in self.stacks)

    def seconds(self) -> float:
        return self.total / RATE

    def by_phase(
        self, phases: Sequence[tuple[str, tuple[str, ...]]], *, other: str, tid: int | None = None
    ) -> list[tuple[str, int]]:
        """Samples per phase (of one thread, with ``tid``): the first phase one of whose function
        names is on the stack (a name written ``^name`` only when it is the innermost frame)."""
        counts: Counter[str] = Counter()
        for (frames, count), (thread, _) in zip(self.stacks, self.threads, strict=True):
            if tid is not None and thread != tid:
                continue
            functions = {frame.function for frame in frames}
            if frames:
                functions.add("^" + frames[-1].function)
            phase = next((name for name, marks in phases if functions.intersection(marks)), other)
            counts[phase] += count
        return [(name, counts[name]) for name in [*(name for name, _ in phases), other]]

    def inclusive_product(self, top: int, *, thread_cpu_ns: dict[int, int] | None = None) -> list[tuple[str, float]]:
        """The product functions most often on the stack (each counted once per sample); with
        ``thread_cpu_ns``, in CPU ns: each thread's samples weighted by its measured CPU."""
        totals: Counter[int] = Counter()
        for (_, count), (thread, _) in zip(self.stacks, self.threads, strict=True):
            totals[thread] += count
        weights: dict[str, float] = {}
        for (frames, count), (thread, _) in zip(self.stacks, self.threads, strict=True):
            weight = float(count) if thread_cpu_ns is None else count / totals[thread] * thread_cpu_ns.get(thread, 0)
            for label in {frame.label for frame in frames if frame.is_product}:
                weights[label] = weights.get(label, 0.0) + weight
        return sorted(weights.items(), key=lambda item: -item[1])[:top]

    def self_by_module(self, top: int) -> list[tuple[str, int]]:
        """Where the innermost frame of each sample was, by file: the code that held the CPU."""
        counts: Counter[str] = Counter()
        for frames, count in self.stacks:
            counts[frames[-1].where if frames else "?"] += count
        return counts.most_common(top)
