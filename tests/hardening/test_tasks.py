"""A task that always crashes its worker stops after bounded redeliveries and shows in the admin (item 17).

The other half of item 17 (SIGKILL mid-task: it runs again, its effect happens once) is
``tests/conversations/test_worker.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.test import Client

from conversations import tasks
from conversations.models import TaskFailure

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.item(17)
def test_a_message_past_its_delivery_bound_is_recorded_once_and_listed_in_the_admin(admin_user, figures):
    results = [tasks.queue_assign.apply(task_id="poison", kwargs={}).get() for _ in range(tasks.MAX_DELIVERIES + 2)]
    assert results == [0] * tasks.MAX_DELIVERIES + [None, None]
    failure = TaskFailure.objects.get()
    assert (failure.task_name, failure.task_id, failure.deliveries) == (
        "conversations.queue_assign",
        "poison",
        tasks.MAX_DELIVERIES,
    )
    client = Client()
    client.force_login(admin_user)
    page = client.get("/admin/conversations/taskfailure/")
    assert page.status_code == 200 and b"poison" in page.content and b"conversations.queue_assign" in page.content
    figures.update(
        deliveries_before_giving_up=tasks.MAX_DELIVERIES, failure_records=TaskFailure.objects.count(), in_admin=True
    )


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.item(17)
def test_a_task_that_kills_its_worker_every_time_stops_after_bounded_redeliveries(redis_url, tmp_path, figures):
    queue = f"poison-{uuid.uuid4().hex[:10]}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.hardening.worker_settings",
        "REDIS_URL": redis_url,
        "SUPPORTBOT_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "OPENAI_API_KEY": "",
    }
    command = [
        str(Path(sys.executable).parent / "celery"), "-A", "supportbot", "worker", "--pool=prefork", "--concurrency=1",
        "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-n", f"{queue}@%h", "--loglevel=INFO",
    ]  # fmt: skip
    with log.open("wb") as output:
        worker = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        broker = "redis+socket://" + redis_url[len("unix://") :] if redis_url.startswith("unix://") else redis_url
        Celery(broker=broker).send_task(
            "hardening.always_crashes", kwargs={"label": "poison"}, queue=queue, task_id=queue
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not TaskFailure.objects.filter(task_id=queue).exists():
            time.sleep(0.2)
        time.sleep(3)  # a further redelivery, if the bound did not hold, would show in the log now
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    output = log.read_text()
    failure = TaskFailure.objects.filter(task_id=queue).first()
    assert failure is not None, output[-3000:]
    crashes = output.count("exited with 'signal 9")
    assert failure.deliveries == tasks.MAX_DELIVERIES and crashes == tasks.MAX_DELIVERIES, output[-3000:]
    assert TaskFailure.objects.count() == 1
    figures.update(
        worker_crashes=crashes, deliveries=crashes + 1, given_up_after=tasks.MAX_DELIVERIES, visible_in_admin=True
    )
