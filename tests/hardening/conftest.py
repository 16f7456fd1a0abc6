"""Hardening fixtures: the figures each test measures, kept for docs/reliability.md.

Every test records what it measured (messages lost, duplicates, upstream calls, dollars, memory)
with the ``figures`` fixture; ``python -m tests.hardening.report`` renders the document from the
file they land in and from the run's JUnit XML.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from bench import stack

FIGURES_FILE_ENV = "SUPPORTBOT_RELIABILITY_FIGURES"


def figures_path() -> Path:
    return Path(os.environ.get(FIGURES_FILE_ENV, "") or settings.BASE_DIR / "var" / "reliability.json")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "item(number): the hardening item (docs/reliability.md) a test proves")


def _backend() -> str:
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"{engine}+{'redis' if settings.REDIS_URL else 'in-memory'}"


def figures_store(*, test_id: str, item: int, figures: dict[str, Any]) -> None:
    path = figures_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored[f"{test_id}|{_backend()}"] = {
        "test": test_id,
        "item": item,
        "backend": _backend(),
        "figures": figures,
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    path.write_text(json.dumps(stored, indent=1, sort_keys=True, default=str))


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A dict the test fills with its measured figures, stored after it ran (JUnit says whether it passed)."""
    marker = request.node.get_closest_marker("item")
    assert marker is not None, "hardening tests name their item with @pytest.mark.item(n)"
    measured: dict[str, Any] = {}
    yield measured
    if measured:
        figures_store(test_id=request.node.nodeid, item=marker.args[0], figures=measured)


# --- a real daphne on the test database -------------------------------------------------------


def database_url_shared() -> str:
    """The test database as a DATABASE_URL another process can open."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        options = urllib.parse.urlencode({"timeout": 20, "transaction_mode": "IMMEDIATE"})
        return f"sqlite:///{Path(db['NAME']).resolve()}?{options}"
    user = urllib.parse.quote(db["USER"] or "") + (":" + urllib.parse.quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class Daphne:
    """The product under daphne, as the Procfile serves it, on the test's database."""

    env: dict[str, str]
    log: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/widget/"

    def start(self) -> Daphne:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                stack.asgi_command(server="daphne", port=self.port),
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            stack.asgi_server_ready(self.process, port=self.port)
        except RuntimeError as error:
            raise AssertionError(f"{error}:\n{self.log.read_text()[-3000:]}") from None
        return self

    def stop(self, *, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def rss_kib(self) -> int:
        assert self.process is not None
        return stack.process_rss_kib(self.process.pid)


@pytest.fixture
def daphne_factory(settings, tmp_path) -> Iterator:
    """Builds daphne processes on the test database; ``redis_url`` and ``model_url`` are optional."""
    started: list[Daphne] = []

    def build(*, redis_url: str = "", model_url: str = "", extra: dict[str, str] | None = None) -> Daphne:
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in {"REDIS_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"}
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "supportbot.settings",
                "SUPPORTBOT_DATA_DIR": str(tmp_path),
                "SECRET_KEY": settings.SECRET_KEY,  # tokens signed by the test open sockets there
                "DATABASE_URL": database_url_shared(),
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
                "SUPPORTBOT_OFFLINE_WORD_DELAY_MS": "0",
            }
        )
        if redis_url:
            env["REDIS_URL"] = redis_url
        if model_url:
            env.update(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=model_url)
        env.update(extra or {})
        server = Daphne(env=env, log=tmp_path / f"daphne-{len(started)}.log", port=stack.port_free())
        started.append(server)
        return server

    yield build
    for server in started:
        server.stop()
