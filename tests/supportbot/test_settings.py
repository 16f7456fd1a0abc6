from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage_check(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://db/x"),
        ("REDIS_URL", "http://redis:6379"),
        ("OPENAI_BASE_URL", "api.example.com/v1"),
        ("SUPPORTBOT_ALLOWED_ORIGINS", "shop.example"),
        ("SUPPORTBOT_MAX_MESSAGE_CHARS", "lots"),
        ("SUPPORTBOT_MODEL_THINKING", " "),
        ("DEBUG", "maybe"),
        ("SUPPORTBOT_BUSINESS_HOURS", "mon-fry 09:00-17:00"),
        ("SUPPORTBOT_IDENTITY_SECRET", "too-short"),
        ("SUPPORTBOT_WEBHOOK_MAX_ATTEMPTS", "0"),
        ("EMAIL_PORT", "0"),
        ("LOG_LEVEL", "LOUD"),
        ("DATABASE_POOL_SIZE", "-1"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(variable, value):
    result = manage_check(**{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.strip().splitlines()[-1]


def test_embedded_defaults_start_cleanly():
    result = manage_check()
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_readme_documents_every_environment_variable_the_settings_read():
    import re

    settings_source = (ROOT / "supportbot" / "settings.py").read_text()
    variables = set(re.findall(r'env_[a-z_]+\(\s*"([A-Z_0-9]+)"', settings_source))
    readme = (ROOT / "README.md").read_text()
    assert len(variables) > 30
    assert sorted(name for name in variables if f"`{name}`" not in readme) == []


def database_settings(**env: str) -> dict:
    import json

    environment = {**os.environ, **env}
    code = (
        "import json; from django.conf import settings; print(json.dumps(settings.DATABASES['default'], default=str))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_connections_come_from_a_pool_shared_by_threads():
    database = database_settings(DATABASE_URL="postgres://user@db.example:5432/shop", DATABASE_POOL_SIZE="7")
    assert database["OPTIONS"]["pool"]["max_size"] == 7
    assert database["CONN_MAX_AGE"] == 0


def test_without_the_pool_postgresql_keeps_persistent_connections():
    database = database_settings(
        DATABASE_URL="postgres://user@db.example:5432/shop", DATABASE_POOL_SIZE="0", DATABASE_CONN_MAX_AGE="30"
    )
    assert "pool" not in database.get("OPTIONS", {})
    assert database["CONN_MAX_AGE"] == 30
