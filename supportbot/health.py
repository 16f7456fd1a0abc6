"""Health endpoints for load balancers and orchestrators, and the same checks from a shell.

``GET /healthz``: the process is up and serving HTTP. No I/O, always 200.
``GET /readyz``: everything a web process needs answers: the database, Redis (cache and channel
layer), the Celery broker, every migration applied, the help-centre index and the
language-detection models loaded in this process, and the process's warm-up finished
(``supportbot/warmup.py``). 200 when all pass, 503 otherwise; the JSON body names each check.
Neither needs authentication, so bodies carry no configuration and a failure only names the
exception class (the log has the message).

Containers without an HTTP server use the command line (exit status 0 when healthy)::

    python -m supportbot.health probe    # GET /readyz from the web server in this container
    python -m supportbot.health checks   # /readyz's checks in this process, all but the index
    python -m supportbot.health worker   # the same, and this host's Celery worker answers a ping
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

CHANNEL_LAYER_TIMEOUT_S = 2.0
WORKER_PING_TIMEOUT_S = 5.0
PROBE_URL = "http://127.0.0.1:8000/readyz"
PROBE_TIMEOUT_S = 9.0

Check = Callable[[], dict[str, Any]]


class CheckFailed(Exception):
    """A dependency answered, but not as a ready process needs (pending migrations, a silent worker)."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    ms: float
    details: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.ok, "ms": round(self.ms, 1), **self.details}
        if self.error:
            body["error"] = self.error
        return body


def database_check() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def migrations_check() -> dict[str, Any]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise CheckFailed(f"{len(pending)} migration(s) not applied")
    return {}


def cache_check() -> dict[str, Any]:
    """A write and a read through Django's cache: Redis, or the in-process cache without REDIS_URL."""
    from django.core.cache import cache

    key, token = "health:readyz", uuid.uuid4().hex
    cache.set(key, token, timeout=30)
    if cache.get(key) != token:
        raise CheckFailed("cache did not return what was just written")
    return {}


def channel_layer_check() -> dict[str, Any]:
    """One message through the channel layer to a fresh channel of this process, and back."""
    import asyncio

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        raise CheckFailed("no channel layer configured")

    async def round_trip() -> None:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.ping"})
        async with asyncio.timeout(CHANNEL_LAYER_TIMEOUT_S):
            await layer.receive(channel)

    async_to_sync(round_trip)()
    return {}


def broker_check() -> dict[str, Any]:
    from supportbot.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=0)
        return {"transport": connection.transport_cls}


def help_centre_check() -> dict[str, Any]:
    """The index for the current help-centre version; the first call in a process builds it."""
    from helpcentre.selectors import help_centre_index_status

    return help_centre_index_status()


def language_detection_check() -> dict[str, Any]:
    """The models that detect a customer message's language, loaded now rather than on the first message."""
    from conversations.selectors import language_detector_warm

    return language_detector_warm()


def warm_up_check() -> dict[str, Any]:
    """Not ready while the warm-up started at process start still runs; a failed warm-up is named but
    does not hold readiness back (the first answer then loads what is missing, only slower)."""
    from supportbot.warmup import warm_up_status

    state = warm_up_status()
    if not state.started:
        return {"started": False}
    if not state.finished:
        raise CheckFailed("warming up")
    return {"started": True, "warm_up_ms": round(state.ms), **({"failed": state.failed} if state.failed else {})}


def worker_check() -> dict[str, Any]:
    """This host's worker (Celery's default node name, celery@<hostname>) answers a ping."""
    from supportbot.celery import app

    node = f"celery@{socket.gethostname()}"
    if not app.control.ping(destination=[node], timeout=WORKER_PING_TIMEOUT_S):
        raise CheckFailed(f"{node} did not answer within {WORKER_PING_TIMEOUT_S:g} s")
    return {"node": node}


DEPENDENCY_CHECKS: tuple[tuple[str, Check], ...] = (
    ("database", database_check),
    ("migrations", migrations_check),
    ("cache", cache_check),
    ("channel_layer", channel_layer_check),
    ("broker", broker_check),
)
READINESS_CHECKS: tuple[tuple[str, Check], ...] = (
    *DEPENDENCY_CHECKS,
    ("help_centre", help_centre_check),
    ("language_detection", language_detection_check),
    ("warm_up", warm_up_check),
    *DEPENDENCY_CHECKS,
    ("help_centre", help_centre_check),
)
WORKER_CHECKS: tuple[tuple[str, Check], ...] = (*DEPENDENCY_CHECKS, ("worker", worker_check))


def check_run(*, name: str, check: Check) -> CheckResult:
    started = time.perf_counter()
    try:
        details = check()
    except Exception as error:  # whatever the library raises, the process is not ready
        logger.warning("health check %s failed: %r", name, error)
        reason = str(error) if isinstance(error, CheckFailed) else type(error).__name__
        return CheckResult(name=name, ok=False, ms=(time.perf_counter() - started) * 1000, error=reason)
    return CheckResult(name=name, ok=True, ms=(time.perf_counter() - started) * 1000, details=details)


def checks_run(*, checks: Sequence[tuple[str, Check]]) -> tuple[bool, dict[str, Any]]:
    """Every check in order (one failing does not stop the others) and the JSON body to report."""
    results = [check_run(name=name, check=check) for name, check in checks]
    ok = all(result.ok for result in results)
    body = {"status": "ok" if ok else "unavailable", "checks": {r.name: r.as_json() for r in results}}
    return ok, body


@never_cache
@require_safe
def healthz_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz_view(request: HttpRequest) -> JsonResponse:
    ok, body = checks_run(checks=READINESS_CHECKS)
    return JsonResponse(body, status=200 if ok else 503)


def _probe_headers(environ: dict[str, str]) -> dict[str, str]:
    """Headers that get a probe from inside the container past ALLOWED_HOSTS and the HTTPS redirect."""
    hosts = [h.strip().lstrip(".") for h in environ.get("ALLOWED_HOSTS", "").split(",") if h.strip() not in {"", "*"}]
    headers = {"Host": hosts[0] if hosts else "127.0.0.1"}
    if environ.get("SUPPORTBOT_PUBLIC_URL", "").startswith("https://"):
        # As the TLS-terminating proxy says it (honoured with SECURE_PROXY_SSL=1).
        headers["X-Forwarded-Proto"] = "https"
    return headers


def probe(*, url: str = PROBE_URL, environ: dict[str, str] | None = None) -> int:
    """GET /readyz with the standard library only (no Django start-up); prints the body."""
    request = urllib.request.Request(url, headers=_probe_headers(dict(os.environ if environ is None else environ)))
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as response:
            print(response.read().decode())
            return 0
    except urllib.error.HTTPError as error:
        print(error.read().decode())
    except OSError as error:
        print(json.dumps({"status": "unreachable", "error": type(error).__name__}))
    return 1


def main(argv: Sequence[str]) -> int:
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "probe":
        return probe()
    if mode not in {"checks", "worker"}:
        print(__doc__, file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportbot.settings")
    import django

    django.setup()
    ok, body = checks_run(checks=WORKER_CHECKS if mode == "worker" else DEPENDENCY_CHECKS)
    print(json.dumps(body))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
