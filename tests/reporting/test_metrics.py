from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from asgiref.sync import async_to_sync
from celery import Celery
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db.models import Sum
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from conversations import handoff
from conversations.models import Conversation
from conversations.services import conversation_open
from routing.models import LedgerEntry
from routing.services import gateway_get
from supportbot.embedded_redis import redis_start
from tests.conftest import ALLOWED_ORIGIN, frames_until


def scrape(client: Client, **headers) -> dict[tuple[str, frozenset], float]:
    """Every sample /metrics serves, keyed by name and labels, as Prometheus's own parser reads them."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.fixture
def staff_client(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def test_anonymous_and_wrong_tokens_are_refused(db, client, settings, django_user_model):
    settings.SUPPORTBOT_METRICS_TOKEN = "scrape-secret-0123456789"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics?token=scrape-secret-0123456789").status_code == 401
    customer = django_user_model.objects.create_user(username="shopper", password="x-pass-12345")
    client.force_login(customer)
    assert client.get("/metrics").status_code == 401


def test_no_token_configured_means_no_token_opens_it(db, client, settings):
    settings.SUPPORTBOT_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_bearer_token_and_staff_session_are_let_in(db, client, staff_client, settings):
    settings.SUPPORTBOT_METRICS_TOKEN = "scrape-secret-0123456789"
    assert (
        "supportbot_upstream_calls_total"
        in client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-0123456789").content.decode()
    )
    assert staff_client.get("/metrics").status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_histograms_are_non_zero_after_a_conversation(widget, llm, agent):
    await widget.send_json_to({"type": "message", "text": "How long is the trial?", "client_id": "m-1"})
    answer = (await frames_until(widget, lambda f: f["type"] == "message" and f["role"] == "assistant"))[-1]
    client = Client()
    await database_sync_to_async(client.force_login)(agent)
    samples = await database_sync_to_async(scrape)(client)

    tier = answer["tier"]
    assert value(samples, "supportbot_answer_time_to_first_token_seconds_count", tier=tier) == 1
    assert value(samples, "supportbot_answer_time_to_first_token_seconds_bucket", tier=tier, le="+Inf") == 1
    assert value(samples, "supportbot_answer_duration_seconds_count", tier=tier) == 1
    assert value(samples, "supportbot_answer_duration_seconds_sum", tier=tier) > 0
    assert value(samples, "supportbot_upstream_calls_total", tier=tier, purpose="answer", outcome="ok") == 1
    assert value(samples, "supportbot_answers_total", tier=tier) == 1
    assert value(samples, "supportbot_answer_cache_hits_total") == 0
    cost = await LedgerEntry.objects.filter(tier=tier, purpose="answer").aaggregate(total=Sum("cost"))
    assert value(samples, "supportbot_upstream_cost_usd_total", tier=tier, purpose="answer") == pytest.approx(
        float(cost["total"])
    )
    # The widget joined its conversation's group on the channel layer.
    assert value(samples, "supportbot_channel_layer_up") == 1
    assert value(samples, "supportbot_channel_layer_group_members", kind="conversation") >= 1
    # The socket this test holds open is counted under this process.
    sockets = [
        v for (name, labels), v in samples.items() if name == "supportbot_open_sockets" and ("kind", "widget") in labels
    ]
    assert sum(sockets) >= 1


def test_buckets_are_cumulative(db, staff_client):
    from conversations.models import Message

    conversation, _ = conversation_open(origin=ALLOWED_ORIGIN)
    for seq, ttft in enumerate((50, 300, 300, 5000), start=1):
        Message.objects.create(
            conversation=conversation,
            seq=seq,
            role="assistant",
            text="a",
            tier="instant",
            time_to_first_token_ms=ttft,
            duration_ms=ttft * 2,
        )
    samples = scrape(staff_client)
    buckets = {
        le: value(samples, "supportbot_answer_time_to_first_token_seconds_bucket", tier="instant", le=le)
        for le in ("0.1", "0.25", "0.5", "8", "+Inf")
    }
    assert buckets == {"0.1": 1, "0.25": 1, "0.5": 3, "8": 4, "+Inf": 4}
    assert value(samples, "supportbot_answer_time_to_first_token_seconds_sum", tier="instant") == pytest.approx(5.65)


def test_handoff_queue_and_wait_are_reported(db, staff_client, agent):
    conversation, _ = conversation_open(origin=ALLOWED_ORIGIN)
    waiting, _ = conversation_open(origin=ALLOWED_ORIGIN)
    handoff.handoff_request(conversation_id=conversation.pk, reason="test", trigger="button")
    handoff.handoff_request(conversation_id=waiting.pk, reason="test", trigger="button")
    handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent.pk)
    samples = scrape(staff_client)
    assert (
        value(samples, "supportbot_handoff_queue_length") == Conversation.objects.filter(status="waiting").count() == 1
    )
    assert value(samples, "supportbot_handoff_wait_seconds_count") == 1
    assert value(samples, "supportbot_handoff_wait_seconds_bucket", le="10") == 1
    assert value(samples, "supportbot_handoff_oldest_wait_seconds") >= 0


def test_an_open_breaker_is_reported(db, staff_client):
    breaker = gateway_get().breaker
    for _ in range(breaker.failure_threshold):
        async_to_sync(breaker.record_failure)(tier="thinking")
    samples = scrape(staff_client)
    assert value(samples, "supportbot_breaker_state", tier="thinking", state="open") == 1
    assert value(samples, "supportbot_breaker_state", tier="thinking", state="closed") == 0
    assert value(samples, "supportbot_breaker_state", tier="instant", state="closed") == 1


def test_a_ledger_rows_cost_appears(db, staff_client):
    conversation, _ = conversation_open(origin=ALLOWED_ORIGIN)
    for cost, outcome in (("0.00125000", "ok"), ("0.00030000", "error")):
        LedgerEntry.objects.create(
            conversation=conversation,
            purpose="answer",
            tier="thinking",
            model="gpt-test",
            provider="openai",
            cost=Decimal(cost),
            outcome=outcome,
        )
    LedgerEntry.objects.create(
        purpose="summary", tier="mini", model="gpt-mini", provider="openai", cost=Decimal("0.002"), outcome="ok"
    )
    samples = scrape(staff_client)
    assert value(samples, "supportbot_upstream_cost_usd_total", tier="thinking", purpose="answer") == pytest.approx(
        0.00155
    )
    assert value(samples, "supportbot_upstream_cost_usd_total", tier="mini", purpose="summary") == pytest.approx(0.002)
    assert value(samples, "supportbot_upstream_calls_total", tier="thinking", purpose="answer", outcome="error") == 1


def test_process_metrics_are_this_processs(db, staff_client):
    samples = scrape(staff_client)
    # Resident memory now cannot exceed the most this process has ever held (ru_maxrss, in KiB).
    peak_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert 0 < value(samples, "process_resident_memory_bytes") <= peak_bytes
    started = value(samples, "process_start_time_seconds")
    assert time.time() - 24 * 3600 < started <= time.time()
    assert value(samples, "process_max_fds") == resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- the broker and the channel layer, on a Redis of the test's own ----------------------------------


@pytest.fixture
def private_redis(tmp_path) -> Iterator[Path]:
    """A redis-server of this test's own: no worker or other test on a shared Redis takes its messages."""
    socket_path = tmp_path / "redis.sock"
    process = redis_start(socket_path)
    yield socket_path
    process.terminate()
    process.wait(timeout=10)


def test_queue_lengths_match_the_tasks_waiting_in_redis(db, staff_client, settings, private_redis):
    settings.CELERY_BROKER_URL = f"redis+socket://{private_redis}"
    # Not the current app: the product's shared tasks would otherwise send to this Redis after the test.
    producer = Celery(broker=settings.CELERY_BROKER_URL, set_as_current=False)
    for _ in range(3):
        producer.send_task("conversations.queue_assign", queue="handoff")
    producer.send_task("conversations.summary_make", kwargs={"summary_id": 1}, queue="summary")
    samples = scrape(staff_client)
    assert value(samples, "supportbot_celery_broker_up") == 1
    waiting = redis.Redis(unix_socket_path=str(private_redis))
    assert value(samples, "supportbot_celery_queue_length", queue="handoff") == waiting.llen("handoff") == 3
    assert value(samples, "supportbot_celery_queue_length", queue="summary") == waiting.llen("summary") == 1
    assert value(samples, "supportbot_celery_queue_length", queue="integrations") == 0


def test_an_unreachable_broker_is_a_down_gauge_not_a_failed_scrape(db, staff_client, settings, tmp_path):
    settings.CELERY_BROKER_URL = f"redis+socket://{tmp_path / 'nobody-listens.sock'}"
    samples = scrape(staff_client)
    assert value(samples, "supportbot_celery_broker_up") == 0
    assert not [name for name, _ in samples if name == "supportbot_celery_queue_length"]
    assert value(samples, "supportbot_handoff_queue_length") == 0  # the rest of the scrape still answers


def test_channel_layer_groups_are_counted_by_kind(db, staff_client, settings, private_redis):
    address = f"unix://{private_redis}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "supportbot.channel_layer.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": address}], "prefix": "metricstest", "group_expiry": 3600},
        }
    }
    layer = get_channel_layer()
    memberships = [
        ("conversation.aaa", "widget-1"),
        ("conversation.aaa", "console-1"),
        ("conversation.bbb", "widget-2"),
        ("console.queue", "console-1"),
        ("console.agent.7", "console-1"),
    ]
    for group, channel in memberships:
        async_to_sync(layer.group_add)(group, channel)
    # A member that joined longer ago than group_expiry is dead (the layer drops it lazily): not counted.
    redis.Redis.from_url(address).zadd("metricstest:group:conversation.ccc", {"widget-gone": time.time() - 7200})
    samples = scrape(staff_client)
    assert value(samples, "supportbot_channel_layer_up") == 1
    assert value(samples, "supportbot_channel_layer_groups", kind="conversation") == 2
    assert value(samples, "supportbot_channel_layer_group_members", kind="conversation") == 3
    assert value(samples, "supportbot_channel_layer_groups", kind="console.queue") == 1
    assert value(samples, "supportbot_channel_layer_group_members", kind="console.agent") == 1


def test_an_unreachable_channel_layer_is_a_down_gauge(db, staff_client, settings, tmp_path):
    address = f"unix://{tmp_path / 'nobody-listens.sock'}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "supportbot.channel_layer.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": address}]},
        }
    }
    samples = scrape(staff_client)
    assert value(samples, "supportbot_channel_layer_up") == 0
    assert not [name for name, _ in samples if name == "supportbot_channel_layer_groups"]
