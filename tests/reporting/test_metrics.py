from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.test import Client

from conversations import handoff
from conversations.models import Conversation
from conversations.services import conversation_open
from routing.services import gateway_get
from tests.conftest import ALLOWED_ORIGIN, frames_until

SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def scrape(client: Client, **headers) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in response.content.decode().splitlines():
        if line.startswith("#") or not line:
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
        samples[(match["name"], labels)] = float(match["value"])
    return samples


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
