"""The lease on answering one customer message, in the database.

Only one process may answer a question; the lease says which. It lives in the database, not in
Redis, so a Redis restart mid-answer cannot make a second process (a widget reconnecting there)
answer the same question again. Taking it is one conditional write: insert, or take over a row
whose holder let it lapse (it died). The holder renews it while it streams and deletes it after.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from conversations.models import AnswerLease


def lease_holder_new() -> str:
    return uuid.uuid4().hex


def answer_lease_take(*, conversation_id: int, seq: int, holder: str, seconds: float) -> bool:
    """Take the lease on question ``seq`` for ``holder``; False while another live holder has it."""
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    taken = AnswerLease.objects.filter(
        Q(until__lt=now) | Q(holder=holder), conversation_id=conversation_id, seq=seq
    ).update(holder=holder, until=until)
    if taken:
        return True
    try:
        with transaction.atomic():
            AnswerLease.objects.create(conversation_id=conversation_id, seq=seq, holder=holder, until=until)
    except IntegrityError:
        return False  # a live holder has it (or took it a moment ago)
    return True


def answer_lease_renew(*, conversation_id: int, seq: int, holder: str, seconds: float) -> bool:
    """Extend the holder's lease; False when it lost it (it lapsed and someone else took it)."""
    until = timezone.now() + timedelta(seconds=seconds)
    return bool(AnswerLease.objects.filter(conversation_id=conversation_id, seq=seq, holder=holder).update(until=until))


def answer_lease_release(*, conversation_id: int, seq: int, holder: str) -> None:
    AnswerLease.objects.filter(conversation_id=conversation_id, seq=seq, holder=holder).delete()
