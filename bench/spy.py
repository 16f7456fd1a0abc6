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
    command += ["--output", str(path), "--nonblocking", "--full-filenames", "--subprocesses"]
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


@dataclass
class Samples:
    """Collapsed stacks (outermost frame first) with their sample counts."""

    stacks: list[tuple[list[Frame], int]]

    @classmethod
    def read(cls, paths: list[Path]) -> Samples:
        stacks = []
        for path in paths:
            for line in path.read_text().splitlines():
                text, _, count = line.rpartition(" ")
                if text and count.isdigit():
                    frames = [frame_parse(part) for part in text.split(";")]
                    # --subprocesses puts "process 123:..." first: not a code frame
                    stacks.append(([f for f in frames if not f.function.startswith("process ")], int(count)))
        return cls(stacks=stacks)

    @property
    def total(self) -> int:
        return sum(count for _, count in self.stacks)

    def seconds(self) -> float:
        return self.total / RATE

    def by_phase(self, phases: list[tuple[str, tuple[str, ...]]], *, other: str) -> list[tuple[str, int]]:
        """Samples per phase: the first phase one of whose function names is on the stack
        (a name written ``^name`` only when it is the innermost frame)."""
        counts: Counter[str] = Counter()
        for frames, count in self.stacks:
            functions = {frame.function for frame in frames}
            if frames:
                functions.add("^" + frames[-1].function)
            phase = next((name for name, marks in phases if functions.intersection(marks)), other)
            counts[phase] += count
        return [(name, counts[name]) for name in [*(name for name, _ in phases), other]]

    def inclusive_product(self, top: int) -> list[tuple[str, int]]:
        """The product functions most often on the stack (each counted once per sample)."""
        counts: Counter[str] = Counter()
        for frames, count in self.stacks:
            for label in {frame.label for frame in frames if frame.is_product}:
                counts[label] += count
        return counts.most_common(top)

    def self_by_module(self, top: int) -> list[tuple[str, int]]:
        """Where the innermost frame of each sample was, by file: the code that held the CPU."""
        counts: Counter[str] = Counter()
        for frames, count in self.stacks:
            counts[frames[-1].where if frames else "?"] += count
        return counts.most_common(top)
