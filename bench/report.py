"""Write one benchmark's results into its own section of docs/benchmarks.md.

Each benchmark owns the text between ``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->``;
running it again replaces only that section, so every figure in the file comes from one command.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nEvery section below is written by the command it names; rerun it to refresh the figures.\n"


def machine_line() -> str:
    """What the numbers were measured on: CPU model, cores, Python, date."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return (
        f"Measured {dt.date.today().isoformat()} on {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, commit {commit or 'unknown'}."
    )


def section_write(name: str, *, title: str, command: str, body: str, path: Path = REPORT) -> None:
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n## {title}\n\n`{command}`\n\n{machine_line()}\n\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
