from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db.migrations.recorder import MigrationRecorder

from helpcentre.models import Article
from supportbot.health import probe

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_CHECKS = {
    "warm_up",
    "database",
    "migrations",
    "cache",
    "channel_layer",
    "broker",
    "help_centre",
    "language_detection",
}


@pytest.fixture
def lexical_search_only(settings) -> None:
    # The index without the sentence encoder: the same check, without loading the model here.
    settings.KNOWLEDGE_EMBEDDINGS = False


def test_healthz_answers_without_authentication_or_database(client):
    # No db fixture: pytest-django fails any query this request would make.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_readyz_names_every_check_and_counts_the_indexed_articles(db, client, lexical_search_only):
    Article.objects.create(key="TRIAL", title="The 100-night trial", slug="trial", body="Sleep on it.\n")
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == EXPECTED_CHECKS
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["help_centre"]["articles"] == 1
    assert body["checks"]["help_centre"]["search_by_meaning"] is False
    assert body["checks"]["language_detection"]["languages"][0] == "en"
    assert "no-store" in response["Cache-Control"]
    assert "Set-Cookie" not in response


def test_readyz_is_unavailable_while_a_migration_is_pending(db, client, lexical_search_only):
    MigrationRecorder.Migration.objects.filter(app="conversations").order_by("-id").first().delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["migrations"] == {
        "ok": False,
        "ms": body["checks"]["migrations"]["ms"],
        "error": "1 migration(s) not applied",
    }
    assert body["checks"]["database"]["ok"] is True


def test_readyz_names_an_unreachable_redis_without_its_address_or_password(db, client, settings, lexical_search_only):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://:hunter2-secret@127.0.0.1:9/0",  # the discard port: nothing listens
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    cache_check = response.json()["checks"]["cache"]
    assert cache_check["ok"] is False
    assert cache_check["error"] == "ConnectionError"
    assert b"hunter2" not in response.content
    assert b"127.0.0.1" not in response.content


def test_readyz_refuses_writes(client):
    assert client.post("/readyz").status_code == 405


def test_command_line_checks_fail_on_a_database_without_migrations(tmp_path):
    environment = {**os.environ, "SUPPORTBOT_DATA_DIR": str(tmp_path)}
    for name in ("DATABASE_URL", "REDIS_URL"):
        environment.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "supportbot.health", "checks"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    body = json.loads(result.stdout)
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"]["ok"] is False
    assert "help_centre" not in body["checks"]


class _ReadyzStub(http.server.BaseHTTPRequestHandler):
    status = 200
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(dict(self.headers))
        body = json.dumps({"status": "ok" if self.status == 200 else "unavailable"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def readyz_stub() -> Iterator[tuple[str, type[_ReadyzStub]]]:
    handler = type("Handler", (_ReadyzStub,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/readyz", handler
    server.shutdown()
    server.server_close()


def test_probe_exits_zero_only_when_ready_and_sends_an_allowed_host(readyz_stub, capsys):
    url, handler = readyz_stub
    environ = {"ALLOWED_HOSTS": "*, .chat.example.com", "SUPPORTBOT_PUBLIC_URL": "https://chat.example.com"}
    assert probe(url=url, environ=environ) == 0
    assert handler.seen[-1]["Host"] == "chat.example.com"
    assert handler.seen[-1]["X-Forwarded-Proto"] == "https"
    handler.status = 503
    assert probe(url=url, environ={}) == 1
    assert handler.seen[-1]["Host"] == "127.0.0.1"
    assert "X-Forwarded-Proto" not in handler.seen[-1]
    assert '"unavailable"' in capsys.readouterr().out


def test_probe_fails_when_nothing_listens():
    assert probe(url="http://127.0.0.1:9/readyz", environ={}) == 1
