"""A real Celery worker process on a real Redis broker, killed with SIGKILL in the middle of a summary."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from bench.openai_server import OpenAICompatServer
from conversations.models import Conversation, Summary
from conversations.services import conversation_open, message_record
from routing.models import Tier
from routing.tiers import DEFAULT_TIERS, TierName

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SUMMARY_DELAY_MS = 2500
STARTUP_TIMEOUT_S = 60


def broker_url(redis_url: str) -> str:
    # kombu spells a unix-socket Redis "redis+socket://"; redis-py spells it "unix://".
    return "redis+socket://" + redis_url[len("unix://") :] if redis_url.startswith("unix://") else redis_url


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()[-4000:]}")


def pool_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


@pytest.fixture
def worker_queue() -> str:
    # A queue of its own, so no other worker on a shared Redis takes the test's message.
    return f"summary-test-{uuid.uuid4().hex[:12]}"


@contextmanager
def worker_running(*, redis_url: str, queue: str, log: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``celery worker`` process on the test database, taking ``queue`` only."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.conversations.worker_settings",
        "REDIS_URL": redis_url,
        "SUPPORTBOT_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        **env,
    }
    command = [
        str(Path(sys.executable).parent / "celery"),
        "-A", "supportbot", "worker",
        "--pool=prefork", "--concurrency=1", "-Q", queue,
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-n", f"{queue}@%h", "--loglevel=INFO",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def worker(redis_url: str, worker_queue: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log = tmp_path / "worker.log"
    env = {"SUPPORTBOT_SUMMARY_DELAY_MS": str(SUMMARY_DELAY_MS), "OPENAI_API_KEY": ""}
    with worker_running(redis_url=redis_url, queue=worker_queue, log=log, **env) as process:
        yield process, log


def test_a_worker_killed_mid_summary_leaves_exactly_one_summary_after_redelivery(redis_url, worker, worker_queue):
    process, log = worker
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    message_record(conversation_id=conversation.pk, role="customer", text="The LiftBase remote does nothing at all")
    summary = Summary.objects.create(conversation=conversation, purpose=Summary.Purpose.HANDOFF, upto_seq=1)

    producer = Celery(broker=broker_url(redis_url))
    producer.send_task(
        "conversations.summary_make", kwargs={"summary_id": summary.pk}, queue=worker_queue, task_id="kill-me"
    )

    def state() -> Summary:
        return Summary.objects.get(pk=summary.pk)

    wait_for(lambda: state().status == "running", timeout=STARTUP_TIMEOUT_S, what="the summary to be claimed", log=log)
    children = pool_children(process.pid)
    assert len(children) == 1
    os.kill(children[0], signal.SIGKILL)  # the process running the summary dies mid-task

    wait_for(lambda: state().status == "done", timeout=STARTUP_TIMEOUT_S, what="the redelivered summary", log=log)
    written = state()
    assert Summary.objects.filter(conversation=conversation).count() == 1
    assert (written.attempts, written.claimed_by) == (2, "kill-me")
    assert "The LiftBase remote does nothing at all" in written.text
    assert "WorkerLostError" in log.read_text()
    assert Conversation.objects.get(pk=conversation.pk).status == "bot"


def tier_row_save(*, name: TierName, model: str) -> None:
    """The tier's row as an admin leaves it (a transactional test may have flushed the seeded rows)."""
    values = dict(DEFAULT_TIERS[name])
    values["fallbacks"] = ",".join(str(tier) for tier in values["fallbacks"])  # type: ignore[attr-defined]
    Tier.objects.update_or_create(name=str(name), defaults={**values, "model": model})


def test_a_workers_summary_asks_the_mini_model_this_deployment_configured(redis_url, worker_queue, tmp_path):
    """The worker never plans an answer, yet its summaries go to the configured Mini model: the
    environment's when the admin left the tier's model blank, the admin's once they set one."""
    server = OpenAICompatServer(chunks=4, interval_ms=1, text="Problem: the remote does nothing.")
    server.serve_in_thread()
    log = tmp_path / "worker.log"
    env = {
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": server.url,
        "SUPPORTBOT_MODEL_MINI": "mini-from-the-environment",
        "SUPPORTBOT_SUMMARY_DELAY_MS": "0",
    }
    producer = Celery(broker=broker_url(redis_url))
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")

    def summarise() -> str:
        message, _ = message_record(conversation_id=conversation.pk, role="customer", text="The remote does nothing")
        summary = Summary.objects.create(
            conversation=conversation, purpose=Summary.Purpose.HANDOFF, upto_seq=message.seq
        )
        producer.send_task("conversations.summary_make", kwargs={"summary_id": summary.pk}, queue=worker_queue)
        done = lambda: Summary.objects.get(pk=summary.pk).status == "done"  # noqa: E731
        wait_for(done, timeout=STARTUP_TIMEOUT_S, what="the summary", log=log)
        return server.requests[-1].body["model"]

    try:
        with worker_running(redis_url=redis_url, queue=worker_queue, log=log, **env):
            Tier.objects.filter(name="mini").update(model="")  # blank: the SUPPORTBOT_MODEL_MINI setting
            assert summarise() == "mini-from-the-environment"
            tier_row_save(name=TierName.MINI, model="mini-from-the-admin")
            assert summarise() == "mini-from-the-admin"
    finally:
        server.close()
    assert len(server.requests) == 2
