"""The real product as separate processes, for benchmarks and the scale-out test.

A private Redis, a database migrated once, the local model server, and ASGI server processes
(daphne or uvicorn) started exactly as the Procfile starts them, each on its own port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ORIGIN = "http://127.0.0.1:8000"  # in the default allow-list; the servers check Origin, not the port
WEBSOCKET_MAX_BYTES = 1024 * 1024  # daphne's default message and frame limit; uvicorn gets the same
PRODUCT_APPLICATION = "supportbot.asgi:application"
# Ready as a load balancer sees it: /readyz passes once Django is loaded, the dependencies answer and
# the process's warm-up (supportbot/warmup.py) has finished; the relay answers any path.
READY_PATH = "/readyz"


def port_free() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def product_env(*, data_dir: Path, redis_url: str, model_url: str, database_url: str = "") -> dict[str, str]:
    """The environment a production web process gets, pointed at private services."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SUPPORTBOT_DATA_DIR": str(data_dir),
        "REDIS_URL": redis_url,
        "OPENAI_API_KEY": "bench-key",
        "OPENAI_BASE_URL": model_url,
        "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "0",
        # The load generator is one client address opening thousands of chats: lift the per-IP cap.
        "SUPPORTBOT_SESSIONS_PER_IP_PER_HOUR": "0",
    }
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _postgresql_database_ensure(url: str) -> None:
    """Create the benchmark's PostgreSQL database on a server that does not have it yet."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    params = {"host": config["HOST"] or None, "port": config["PORT"] or None, "user": config["USER"] or None}
    params["password"] = config["PASSWORD"] or None
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))


def database_migrate(*, env: dict[str, str]) -> None:
    if env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        _postgresql_database_ensure(env["DATABASE_URL"])
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)


def demo_setup(*, env: dict[str, str]) -> None:
    """What ``make run`` loads after migrating: demo accounts, the demo help centre, a month of history."""
    subprocess.run(
        [sys.executable, "manage.py", "demo_setup", "-v", "0"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )


def model_server_start(*, chunks: int, interval_ms: float, stamp: bool) -> tuple[subprocess.Popen[str], str]:
    """The local OpenAI-compatible server in its own process, so its CPU is not the product's."""
    command = [sys.executable, "-m", "bench.openai_server", "--port", "0", "--chunks", str(chunks)]
    command += ["--interval-ms", str(interval_ms)] + (["--stamp"] if stamp else [])
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"model server did not start: {line!r}")
    return process, line.split()[-1]


def asgi_command(*, server: str, port: int, application: str = PRODUCT_APPLICATION) -> list[str]:
    """The web process command line as the Procfile has it; websocket size limits equal for both servers.

    ``uvicorn:N`` is uvicorn with N worker processes sharing the port (``--workers N``), as a
    production machine runs one per core. ``application`` is another ASGI application to serve
    the same way (the benchmarks' bare relay).
    """
    server, _, workers = server.partition(":")
    if server == "uvicorn" and workers:
        return [*asgi_command(server=server, port=port, application=application), "--workers", str(int(workers))]
    if server == "daphne":
        return [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), application]
    if server == "uvicorn":
        # Compression off: daphne does not negotiate permessage-deflate either, and a zlib
        # context per socket costs memory and CPU on every token frame.
        return [
            str(BIN / "uvicorn"), application, "--host", "127.0.0.1", "--port", str(port),
            "--ws-max-size", str(WEBSOCKET_MAX_BYTES), "--ws-per-message-deflate", "false", "--no-proxy-headers",
            "--no-access-log", "--log-level", "warning", "--lifespan", "off",
        ]  # fmt: skip
    raise ValueError(f"unknown ASGI server {server!r}")


def asgi_server_spawn(
    *, server: str, port: int, env: dict[str, str], application: str = PRODUCT_APPLICATION
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(asgi_command(server=server, port=port, application=application), cwd=ROOT, env=env)


def asgi_server_ready(
    process: subprocess.Popen[bytes], *, port: int, timeout_s: float = 90.0, path: str = READY_PATH
) -> None:
    """Wait until a spawned web process serves HTTP (Django loaded, port bound, warmed up: on a busy
    2-core machine the warm-up alone took over 30 s)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"web process on port {port} exited with code {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"web process did not answer on port {port} within {timeout_s} s")


def asgi_server_start(
    *, server: str, port: int, env: dict[str, str], application: str = PRODUCT_APPLICATION
) -> subprocess.Popen[bytes]:
    process = asgi_server_spawn(server=server, port=port, env=env, application=application)
    asgi_server_ready(process, port=port)
    return process


def process_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def session_open(*, port: int) -> dict:
    """A new widget conversation and its visitor token, from the session endpoint."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/widget/session",
        data=b"{}",
        method="POST",
        headers={"Origin": ORIGIN, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def process_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds the process and its live children (worker processes) have used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0  # a child that exited between listing and reading
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(process_cpu_s(child) for child in children(pid))


def process_tree_cpu_ns(pid: int) -> int:
    """Nanoseconds on a CPU of every live thread of the process and its live children (schedstat).

    Finer than ``process_cpu_s`` (clock ticks), for short spans such as one answer's phases; a
    thread that exited takes its time with it, so over long spans prefer ``process_cpu_s``.
    """
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that exited between listing and reading
    return total + sum(process_tree_cpu_ns(child) for child in children(pid))


def children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(child) for child in task.read_text().split()]
        except FileNotFoundError:
            continue
    return children
