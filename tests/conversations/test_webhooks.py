"""Webhooks against a real local receiver: signed, retried after a 5xx with backoff, never repeated after a 2xx."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone

from conversations import feedback, handoff, integration_tasks, webhooks
from conversations.events import ConversationEvent
from conversations.models import OutboxItem, WebhookDelivery, WebhookEndpoint
from conversations.outbox import RetryPolicy, outbox_claim
from conversations.services import conversation_open

pytestmark = pytest.mark.django_db
ALL_EVENTS = [event.value for event in ConversationEvent]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A shop's endpoint: answers each request with the next of ``statuses`` (the last one repeats)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self) -> int:
        return self.statuses[min(len(self.received) - 1, len(self.statuses) - 1)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server spelling
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(Received(headers=dict(self.headers.items()), body=body))
            time.sleep(state.delay_s)
            status = state.answer()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(f"answered {status}".encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/supportbot"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(receiver) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(url=receiver.url, events=ALL_EVENTS)


def open_conversation(capture):
    with capture(execute=True):
        conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    return conversation


def verify(received: Received, secret: str, *, tolerance_s: int = 300) -> bool:
    """What a receiver does (docs/integrations.md): recompute the HMAC of "t.body" and compare, and check t."""
    parts = dict(item.split("=", 1) for item in received.headers["Supportbot-Signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < tolerance_s


def test_an_event_is_signed_with_the_endpoints_secret(endpoint, receiver, django_capture_on_commit_callbacks):
    conversation = open_conversation(django_capture_on_commit_callbacks)
    [request] = receiver.received
    delivery = WebhookDelivery.objects.get()
    assert verify(request, endpoint.secret)
    assert not verify(request, "whsec_another-endpoint")
    assert not verify(
        Received(headers=request.headers, body=request.body.replace(b"created", b"closed")), endpoint.secret
    )
    assert request.headers["Supportbot-Event"] == "conversation.created"
    assert request.headers["Supportbot-Delivery"] == delivery.public_id
    assert request.headers["Content-Type"] == "application/json"
    payload = request.json
    assert payload["type"] == "conversation.created" and payload["id"] == delivery.event_id
    assert payload["data"]["conversation"]["id"] == conversation.public_id
    assert delivery.status == "sent" and delivery.response_status == 200 and delivery.response_excerpt == "answered 200"


def test_each_event_goes_only_to_endpoints_that_want_it(receiver, django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.create(url=receiver.url, events=["conversation.closed"])
    WebhookEndpoint.objects.create(url=receiver.url, events=ALL_EVENTS, active=False)
    open_conversation(django_capture_on_commit_callbacks)
    assert receiver.received == [] and WebhookDelivery.objects.count() == 0


def test_a_500_is_retried_after_the_backoff_and_delivered_once(endpoint, receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [500, 200]
    before = timezone.now()
    open_conversation(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert len(receiver.received) == 1
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert delivery.last_error == "HTTP 500"
    assert timedelta(seconds=29) < delivery.next_attempt_at - before < timedelta(seconds=40)

    # Not due yet: the sweeper leaves it alone.
    assert integration_tasks.integrations_due.delay().get() == 0 and len(receiver.received) == 1
    # Thirty seconds later (the row is moved back in time rather than the test waiting).
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert integration_tasks.integrations_due.delay().get() == 1
    delivery.refresh_from_db()
    assert len(receiver.received) == 2 and (delivery.status, delivery.attempts) == ("sent", 2)
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["Supportbot-Delivery"] == second.headers["Supportbot-Delivery"] == delivery.public_id
    assert verify(second, endpoint.secret)
    assert list(delivery.attempt_log.values_list("number", "response_status")) == [(1, 500), (2, 200)]

    # After the success, neither the task run again nor the sweeper sends it a third time.
    for _ in range(2):
        assert integration_tasks.webhook_deliver.delay(delivery_id=delivery.pk).get() is None
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(hours=1))
    assert integration_tasks.integrations_due.delay().get() == 0
    assert len(receiver.received) == 2


def test_a_delivery_is_claimed_so_two_tasks_send_it_once(endpoint, receiver):
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")  # not committed: no task ran
    delivery = WebhookDelivery.objects.get(conversation=conversation)
    now = timezone.now()
    rows = WebhookDelivery.objects.all()
    claim = outbox_claim(rows, pk=delivery.pk, now=now, lease=timedelta(minutes=1))
    assert claim is not None
    assert outbox_claim(rows, pk=delivery.pk, now=now, lease=timedelta(minutes=1)) is None
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) is None and receiver.received == []
    # A worker that died mid-send: once its lease is over, the next one may take it.
    later = now + timedelta(minutes=2)
    assert outbox_claim(rows, pk=delivery.pk, now=later, lease=timedelta(minutes=1)) not in {None, claim}


def test_timeouts_and_refused_connections_are_retried_but_a_4xx_is_not(receiver, settings):
    settings.SUPPORTBOT_WEBHOOK_TIMEOUT_S = 1
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    slow = WebhookEndpoint.objects.create(url=receiver.url, events=ALL_EVENTS)
    refused = WebhookEndpoint.objects.create(url=f"http://127.0.0.1:{closed_port}/", events=ALL_EVENTS)
    receiver.delay_s = 2
    conversation_open(origin="http://127.0.0.1:8000")
    for delivery in WebhookDelivery.objects.all():
        assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "pending"
    errors = dict(WebhookDelivery.objects.values_list("endpoint_id", "last_error"))
    assert errors[slow.pk] == "no answer within 1 s" and errors[refused.pk].startswith("ConnectError")

    receiver.delay_s, receiver.statuses = 0, [400]
    WebhookDelivery.objects.all().delete()
    refused.delete()
    conversation_open(origin="http://127.0.0.1:8000")
    delivery = WebhookDelivery.objects.get()
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.response_status, delivery.next_attempt_at <= timezone.now()) == (400, True)


def test_backoff_doubles_to_its_cap_and_gives_up_after_the_last_attempt(endpoint, receiver, settings):
    policy = RetryPolicy(base_s=30, cap_s=600, max_attempts=7)
    assert [policy.delay_after(n).total_seconds() for n in range(1, 7)] == [30, 60, 120, 240, 480, 600]
    settings.SUPPORTBOT_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.statuses = [503]
    conversation_open(origin="http://127.0.0.1:8000")
    delivery = WebhookDelivery.objects.get()
    outcomes = []
    for _ in range(4):
        outcomes.append(webhooks.webhook_attempt(delivery_id=delivery.pk))
        WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert outcomes == ["pending", "pending", "failed", None]
    assert len(receiver.received) == 3


def test_every_conversation_event_reaches_the_shop(endpoint, receiver, agent, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    conversation = open_conversation(capture)
    with capture(execute=True):
        handoff.handoff_request(conversation_id=conversation.pk, reason="asked for a person", trigger="button")
    with capture(execute=True):
        handoff.conversation_claim(conversation_id=conversation.pk, agent_id=agent.pk)
    with capture(execute=True):
        handoff.conversation_close(conversation_id=conversation.pk, agent_id=agent.pk)
    with capture(execute=True):
        feedback.rating_record(conversation_id=conversation.pk, score=5, comment="Great")
    payloads = {request.json["type"]: request.json for request in receiver.received}
    assert list(payloads) == ALL_EVENTS
    assert payloads["conversation.handed_off"]["data"]["trigger"] == "button"
    assert payloads["conversation.handed_off"]["data"]["conversation"]["status"] == "waiting"
    assert payloads["conversation.assigned"]["data"]["agent"] == {"id": agent.pk, "name": "Sam"}
    assert payloads["conversation.closed"]["data"]["conversation"]["status"] == "closed"
    assert payloads["conversation.rated"]["data"]["rating"] == {"score": 5, "comment": "Great"}
    assert len({payload["id"] for payload in payloads.values()}) == 5


def test_nothing_is_sent_for_a_change_that_rolled_back(endpoint, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            conversation_open(origin="http://127.0.0.1:8000")
            raise RuntimeError("the change failed after the event was told")
    assert WebhookDelivery.objects.count() == 0 and receiver.received == []


def test_a_broken_webhook_never_breaks_the_chat(endpoint, monkeypatch, caplog, agent):
    def broken(**kwargs):
        raise ValueError("payload bug")

    monkeypatch.setattr(webhooks, "webhook_deliveries_record", broken)
    caplog.set_level(logging.ERROR, logger="conversations.events")
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    handoff.handoff_request(conversation_id=conversation.pk, reason="asked", trigger="button")
    conversation.refresh_from_db()
    assert conversation.status == "waiting" and WebhookDelivery.objects.count() == 0
    assert [r.getMessage() for r in caplog.records].count(
        f"conversation.handed_off receiver webhooks_on_conversation_event failed for conversation {conversation.pk}"
    ) == 1


def test_redelivery_sends_a_delivered_event_again(endpoint, receiver, django_capture_on_commit_callbacks):
    from conversations.integrations import webhooks_redeliver

    open_conversation(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == OutboxItem.Status.SENT
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks_redeliver(delivery_ids=[delivery.pk]) == 1
    assert len(receiver.received) == 2 and receiver.received[0].body == receiver.received[1].body
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempt_log.count() == 2
