"""Webhooks: conversation events POSTed to the shop's URLs, signed, retried, and logged.

An event becomes one ``WebhookDelivery`` per active endpoint that asked for it, written in the
transaction of the change (so an event exists exactly when its change committed); a task sends
each after the commit. A delivery is claimed before it is sent (conversations/outbox.py), so a
task delivered twice sends once; a 2xx answer ends it for good. A 5xx, 408 or 429 answer, a
timeout or a connection error is tried again with exponential backoff; any other answer (a
redirect, a 4xx) fails at once: the receiver refused it, and an admin can redeliver once it is fixed.

Each request carries ``Supportbot-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
made with the endpoint's secret, ``Supportbot-Event`` and ``Supportbot-Delivery`` (the id to
deduplicate by). docs/integrations.md shows how a receiver checks them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx2
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from conversations import outbox
from conversations.api.serializers import conversation_payload
from conversations.models import Conversation, WebhookAttempt, WebhookDelivery, WebhookEndpoint

SIGNATURE_HEADER = "Supportbot-Signature"
USER_AGENT = "Supportbot-Webhooks/1"
RESPONSE_EXCERPT_BYTES = 500
RETRY_STATUSES = frozenset({408, 429})
# 30 s, 1, 2, 4 ... minutes, at most 6 hours apart: the default 12 attempts span about 14.5 hours.
BACKOFF_BASE_S = 30
BACKOFF_CAP_S = 6 * 3600


def webhook_retry_policy() -> outbox.RetryPolicy:
    return outbox.RetryPolicy(
        base_s=BACKOFF_BASE_S, cap_s=BACKOFF_CAP_S, max_attempts=settings.SUPPORTBOT_WEBHOOK_MAX_ATTEMPTS
    )


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"``: what ``v1=`` carries."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def webhook_signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={webhook_signature(secret=secret, timestamp=timestamp, body=body)}"


def webhook_endpoints_for(*, event: str) -> list[WebhookEndpoint]:
    # Matched in Python: a shop has a handful of endpoints, and SQLite has no JSON containment lookup.
    return [endpoint for endpoint in WebhookEndpoint.objects.filter(active=True) if event in endpoint.events]


def webhook_deliveries_record(*, event: str, conversation_id: int, data: dict[str, Any]) -> list[int]:
    """One delivery per endpoint that wants ``event``, in the caller's transaction; their ids."""
    endpoints = webhook_endpoints_for(event=event)
    if not endpoints:
        return []
    conversation = Conversation.objects.select_related("customer", "assigned_agent").get(pk=conversation_id)
    event_id = "evt_" + uuid.uuid4().hex
    payload = {
        "id": event_id,
        "type": event,
        "created_at": timezone.now().isoformat(),
        "data": {"conversation": conversation_payload(conversation), **data},
    }
    return [
        WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=event_id, event=event, conversation=conversation, payload=payload
        ).pk
        for endpoint in endpoints
    ]


@dataclass(frozen=True)
class AttemptResult:
    status: int | None = None
    excerpt: str = ""
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        if self.status is None:
            return True  # timeout or connection error
        return self.status >= 500 or self.status in RETRY_STATUSES


def webhook_post(*, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> AttemptResult:
    """POST once, without following redirects; the answer's status and its first bytes."""
    try:
        with httpx2.Client(timeout=timeout_s, follow_redirects=False) as client:
            with client.stream("POST", url, content=body, headers=headers) as response:
                excerpt = b""
                for chunk in response.iter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= RESPONSE_EXCERPT_BYTES:
                        break
                return AttemptResult(
                    status=response.status_code, excerpt=excerpt[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace")
                )
    except httpx2.TimeoutException:
        return AttemptResult(error=f"no answer within {timeout_s:g} s")
    except (httpx2.TransportError, httpx2.InvalidURL, httpx2.UnsupportedProtocol) as error:
        return AttemptResult(error=f"{type(error).__name__}: {error}"[:300])


def webhook_attempt(*, delivery_id: int, now: datetime | None = None) -> str | None:
    """Send one delivery if it is due and nobody else is sending it; its status after, or None."""
    now = now or timezone.now()
    timeout_s = settings.SUPPORTBOT_WEBHOOK_TIMEOUT_S
    rows: QuerySet[WebhookDelivery] = WebhookDelivery.objects.all()
    claim = outbox.outbox_claim(rows, pk=delivery_id, now=now, lease=timedelta(seconds=timeout_s + 60))
    if claim is None:
        return None  # sent, failed for good, not due yet, or being sent by another worker
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Supportbot-Event": delivery.event,
        "Supportbot-Delivery": delivery.public_id,
        SIGNATURE_HEADER: webhook_signature_header(secret=delivery.endpoint.secret, timestamp=timestamp, body=body),
    }
    started = time.monotonic()
    result = webhook_post(url=delivery.endpoint.url, body=body, headers=headers, timeout_s=timeout_s)
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempt_log.count() + 1,
        started_at=now,
        duration_ms=int((time.monotonic() - started) * 1000),
        response_status=result.status,
        error=result.error,
    )
    answered = {"response_status": result.status, "response_excerpt": result.excerpt}
    finished = timezone.now()
    if result.succeeded:
        outbox.outbox_sent(rows, pk=delivery_id, claim=claim, now=finished, **answered)
        return WebhookDelivery.Status.SENT
    error = result.error or f"HTTP {result.status}"
    return outbox.outbox_failed(
        rows,
        pk=delivery_id,
        claim=claim,
        now=finished,
        error=error,
        retry=result.retryable,
        policy=webhook_retry_policy(),
        **answered,
    )


def webhook_deliveries_again(*, delivery_ids: list[int]) -> list[int]:
    """Send these deliveries again (the admin's redelivery), whatever became of them; their ids."""
    return outbox.outbox_again(WebhookDelivery.objects.filter(pk__in=delivery_ids), now=timezone.now())


def webhook_deliveries_due(*, now: datetime, limit: int = 200) -> list[int]:
    due = outbox.outbox_due(WebhookDelivery.objects.all(), now=now).order_by("next_attempt_at")
    return list(due.values_list("pk", flat=True)[:limit])
