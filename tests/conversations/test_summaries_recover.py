"""Summaries recover by themselves: the beat job sends again what was lost or whose worker died."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import summaries, tasks
from conversations.models import Summary
from conversations.services import conversation_open, message_record

pytestmark = pytest.mark.django_db


def _summary(**fields: object) -> Summary:
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    message_record(conversation_id=conversation.pk, role="customer", text="The remote does nothing")
    summary = Summary.objects.create(conversation=conversation, purpose=Summary.Purpose.HANDOFF, upto_seq=1)
    Summary.objects.filter(pk=summary.pk).update(**fields)
    return Summary.objects.get(pk=summary.pk)


def test_a_summary_pending_a_minute_after_it_was_sent_is_sent_again_once(settings) -> None:
    settings.SUPPORTBOT_SUMMARY_RESEND_AFTER_S = 60
    fresh = _summary()
    lost = _summary(created_at=timezone.now() - timedelta(seconds=61))

    assert summaries.summaries_due_again() == [lost.pk]
    assert summaries.summaries_due_again() == []  # sent again just now: not again until another minute
    assert Summary.objects.get(pk=fresh.pk).enqueued_at is None


def test_a_lapsed_claim_is_sent_again_once_and_a_live_one_is_left_alone(settings) -> None:
    now = timezone.now()
    dead = _summary(status="running", claimed_by="dead", attempts=1, lease_until=now - timedelta(seconds=1))
    _summary(status="running", claimed_by="alive", attempts=1, lease_until=now + timedelta(seconds=30))
    _summary(status="done")

    assert summaries.summaries_due_again() == [dead.pk]
    assert summaries.summaries_due_again() == []


def test_the_recovery_task_writes_the_lost_summary_and_a_late_original_does_nothing() -> None:
    lost = _summary(created_at=timezone.now() - timedelta(minutes=5))

    assert tasks.summaries_recover.apply().get() == 1  # eager: the re-sent task runs at once

    written = Summary.objects.get(pk=lost.pk)
    assert written.status == "done" and "The remote does nothing" in written.text
    assert summaries.summary_run(summary_id=lost.pk, delivery="the-original-at-last") is False
    assert Summary.objects.get(pk=lost.pk).attempts == 1
