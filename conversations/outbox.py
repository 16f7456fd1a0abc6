"""Sending to the outside world once: the claim, the lease and the retry schedule of outbox rows.

Emails and webhook deliveries (``OutboxItem`` rows) are written in the transaction of the change
they report and sent by a task after it commits. Whoever sends takes the row with one conditional
UPDATE (``pending`` and due, or ``sending`` with a lease that ran out, to ``sending`` under its own
claim), so a task delivered twice, or a task and the sweeper, never both send. The result is
written only under that same claim: a worker that outlived its lease cannot overwrite the next one.

Retries live in the database, not in the broker: a failed attempt sets ``next_attempt_at`` and the
sweeper (``integration_tasks.integrations_due``) sends again when it is due. A Celery countdown of
hours would outlast the Redis transport's visibility timeout and be delivered twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Q, QuerySet

from conversations.models import OutboxItem

Status = OutboxItem.Status
# A first attempt is enqueued after commit; the sweeper takes it only when that enqueue seems lost.
FIRST_ATTEMPT_GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base_s``, then doubling, at most ``cap_s``; ``max_attempts`` in all."""

    base_s: int
    cap_s: int
    max_attempts: int

    def delay_after(self, attempt: int) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1 for the first)."""
        return timedelta(seconds=min(self.cap_s, self.base_s * 2 ** max(0, attempt - 1)))


def outbox_due(queryset: QuerySet, *, now: datetime) -> QuerySet:
    """Rows a task should try now: retries that are due, first attempts whose enqueue seems lost,
    and sends whose worker died (lease over)."""
    return queryset.filter(
        Q(status=Status.PENDING, attempts__gt=0, next_attempt_at__lte=now)
        | Q(status=Status.PENDING, attempts=0, next_attempt_at__lte=now - FIRST_ATTEMPT_GRACE)
        | Q(status=Status.SENDING, lease_until__lt=now)
    )


def outbox_claim(queryset: QuerySet, *, pk: int, now: datetime, lease: timedelta) -> str | None:
    """Take row ``pk`` for one attempt; the claim to settle it with, or None when it is not ours to send."""
    claim = uuid.uuid4().hex
    due = Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(status=Status.SENDING, lease_until__lt=now)
    taken = queryset.filter(due, pk=pk).update(
        status=Status.SENDING, claimed_by=claim, lease_until=now + lease, attempts=F("attempts") + 1
    )
    return claim if taken == 1 else None


def outbox_sent(queryset: QuerySet, *, pk: int, claim: str, now: datetime, **fields: object) -> bool:
    """Record a successful send; False when the claim was lost meanwhile."""
    settled = queryset.filter(pk=pk, status=Status.SENDING, claimed_by=claim).update(
        status=Status.SENT, finished_at=now, lease_until=None, last_error="", **fields
    )
    return settled == 1


def outbox_failed(
    queryset: QuerySet,
    *,
    pk: int,
    claim: str,
    now: datetime,
    error: str,
    retry: bool,
    policy: RetryPolicy,
    **fields: object,
) -> str:
    """Record a failed attempt: pending again after the backoff, or failed for good; the new status."""
    attempts = queryset.filter(pk=pk).values_list("attempts", flat=True).first() or 0
    if retry and attempts < policy.max_attempts:
        status, updates = Status.PENDING, {"next_attempt_at": now + policy.delay_after(attempts)}
    else:
        status, updates = Status.FAILED, {"finished_at": now}
    queryset.filter(pk=pk, status=Status.SENDING, claimed_by=claim).update(
        status=status, lease_until=None, last_error=error[:300], **updates, **fields
    )
    return status


def outbox_again(queryset: QuerySet, *, now: datetime) -> list[int]:
    """Send these rows again from a fresh first attempt (an admin's redelivery); their ids.

    A row being sent right now is left alone: its claim still holds.
    """
    rows = queryset.exclude(status=Status.SENDING, lease_until__gte=now)
    ids = list(rows.values_list("pk", flat=True))
    queryset.filter(pk__in=ids).update(
        status=Status.PENDING, attempts=0, next_attempt_at=now, claimed_by="", lease_until=None, finished_at=None
    )
    return ids
