from __future__ import annotations

import sys
from typing import Protocol

# Small imports finish before a bar would be readable; only larger ones draw it.
PROGRESS_MIN_TOTAL = 200
BAR_WIDTH = 30


class Writable(Protocol):
    """A text stream: a file, or a management command's ``self.stderr``."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


class ProgressBar:
    """A one-line progress bar on stderr, redrawn in place."""

    def __init__(self, *, stream: Writable = sys.stderr, label: str = "Importing"):
        self.stream = stream
        self.label = label

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN_TOTAL:
            return
        filled = BAR_WIDTH * done // total
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
