"""Budget caps: spend from the ledger (a day's kept as its rows are written), and a reached cap downgrading the
next answer's tier."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.services import conversation_open, spend_totals_add
from routing.budgets import budget_alerts, budget_settings_get, budget_state, daily_spent
from routing.models import BudgetSettings, DailySpend, LedgerEntry
from routing.providers.base import CallRecord
from routing.services import answer_plan_make, daily_spend_rebuild, ledger_record
from routing.tiers import TierName
from tests.conftest import frames_until, ledger_call

# Rules alone make this Thinking: an error code and something already tried.
HARD_QUESTION = "My bed base shows error E21 and I already tried unplugging it"
SECOND_HARD_QUESTION = "Now the remote shows error E07 even though I already tried new batteries"


def _spend(*, cost: str, conversation: Conversation | None = None, days_ago: int = 0) -> CallRecord:
    """One call's ledger row written as the product writes it, with the clock ``days_ago`` days back."""
    call = ledger_call(tier="thinking", provider="p", outcome="ok", cost=cost)
    conversation_id = conversation.pk if conversation is not None else None
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() - timedelta(days=days_ago)):
        with transaction.atomic():
            added = ledger_record(conversation_id=conversation_id, message_id=None, calls=[call])
            spend_totals_add(conversation_id=conversation_id, added=added)
    return call


def _caps(*, daily: str | None = None, conversation: str | None = None) -> None:
    caps = budget_settings_get()
    caps.daily_cap = None if daily is None else Decimal(daily)
    caps.conversation_cap = None if conversation is None else Decimal(conversation)
    caps.save()


@pytest.mark.django_db
def test_budget_state_sums_the_conversation_and_today_from_the_ledger():
    mine, _ = conversation_open(origin="https://shop.example")
    other, _ = conversation_open(origin="https://shop.example")
    _spend(cost="0.25", conversation=mine)
    _spend(cost="0.50", conversation=mine, days_ago=2)
    _spend(cost="1.00", conversation=other)
    _spend(cost="0.125")  # a call billed to no conversation still counts for the day
    _caps(daily="3", conversation="0.5")

    state = budget_state(conversation_id=mine.pk)

    assert state.conversation_spent == Decimal("0.75")
    assert state.daily_spent == Decimal("1.375")
    assert (state.daily_cap, state.conversation_cap) == (Decimal("3"), Decimal("0.5"))


@pytest.mark.django_db
def test_the_days_spend_is_read_from_one_row_not_summed_from_its_calls():
    for _ in range(30):
        _spend(cost="0.01")
    with CaptureQueriesContext(connection) as queries:
        state = budget_state(conversation_id=None, conversation_spent=Decimal("0"))
    assert state.daily_spent == Decimal("0.30")
    day_queries = [query["sql"] for query in queries.captured_queries if "ledger" in query["sql"].lower()]
    assert day_queries == []


@pytest.mark.django_db
def test_a_call_counts_for_the_day_it_was_sent_even_when_it_ends_after_midnight():
    late = timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=1), datetime.max.time()))
    late = late.replace(microsecond=0)  # 23:59:59 yesterday, local time
    call = ledger_call(provider="p")
    with mock.patch("django.utils.timezone.now", return_value=late), transaction.atomic():
        spend_totals_add(conversation_id=None, added=ledger_record(conversation_id=None, message_id=None, calls=[call]))
    ended = dataclasses.replace(call, outcome="ok", cost=Decimal("0.07"))
    with transaction.atomic():
        spend_totals_add(
            conversation_id=None, added=ledger_record(conversation_id=None, message_id=None, calls=[ended])
        )

    assert daily_spent(day=late.date()) == Decimal("0.07")
    assert daily_spent() == Decimal("0")
    assert budget_state(conversation_id=None).daily_spent == Decimal("0")


@pytest.mark.django_db
def test_rebuilding_the_days_spend_sums_each_days_ledger_rows():
    _spend(cost="0.5")
    _spend(cost="0.25", days_ago=3)
    LedgerEntry.objects.create(purpose="answer", tier="mini", model="m", provider="p", cost=Decimal("1"), outcome="ok")
    assert daily_spent() == Decimal("0.5")  # a row written around the ledger's service is not counted

    daily_spend_rebuild()

    assert daily_spent() == Decimal("1.5")
    assert daily_spent(day=timezone.localdate() - timedelta(days=3)) == Decimal("0.25")
    assert (
        DailySpend.objects.aggregate(total=Sum("cost"))["total"]
        == LedgerEntry.objects.aggregate(total=Sum("cost"))["total"]
    )


@pytest.mark.django_db
def test_no_caps_by_default_and_a_single_settings_row():
    state = budget_state(conversation_id=None)
    assert (state.daily_cap, state.conversation_cap) == (None, None)
    budget_settings_get()
    assert BudgetSettings.objects.count() == 1


@pytest.mark.django_db
def test_reached_caps_downgrade_the_planned_tier_one_step_per_cap():
    assert (
        answer_plan_make(question=HARD_QUESTION, history=[], conversation_spent=Decimal("0")).decision.tier
        == TierName.THINKING
    )

    _caps(conversation="0.10")
    plan = answer_plan_make(question=HARD_QUESTION, history=[], conversation_spent=Decimal("0.10"))
    assert plan.decision.tier == TierName.INSTANT
    assert "conversation_budget" in plan.decision.signals

    _spend(cost="2")
    _caps(conversation="0.10", daily="1")
    plan = answer_plan_make(question=HARD_QUESTION, history=[], conversation_spent=Decimal("0.10"))
    assert plan.decision.tier == TierName.MINI
    assert {"conversation_budget", "daily_budget"} <= set(plan.decision.signals)


@pytest.mark.django_db(transaction=True)
async def test_a_cap_hit_by_one_answer_downgrades_the_next_answer(widget, llm):
    # The smallest cap the admin accepts: the first paid answer (about $0.0004) uses it up.
    await database_sync_to_async(_caps)(conversation="0.0001")

    await widget.send_json_to({"type": "message", "text": HARD_QUESTION, "client_id": "c-1"})
    first = (await frames_until(widget, lambda f: f["type"] == "message" and f["role"] == "assistant"))[-1]
    await widget.send_json_to({"type": "message", "text": SECOND_HARD_QUESTION, "client_id": "c-2"})
    second = (await frames_until(widget, lambda f: f["type"] == "message" and f["role"] == "assistant"))[-1]

    assert first["tier"] == "thinking"
    assert second["tier"] == "instant"
    stored = await database_sync_to_async(Message.objects.get)(seq=second["seq"])
    assert "conversation budget cap" in stored.route_reason
    assert stored.cost > 0


@pytest.mark.django_db
def test_alerts_say_which_cap_is_reached():
    conversation, _ = conversation_open(origin="https://shop.example")
    _spend(cost="0.9", conversation=conversation)
    _caps(daily="1", conversation="0.5")
    alerts = {alert.scope: alert for alert in budget_alerts()}
    assert alerts["daily"].level == "warning"  # 90 % of the daily cap
    assert alerts["conversation"].level == "reached" and alerts["conversation"].message.startswith("1 conversation")

    _spend(cost="0.2")
    assert {alert.scope: alert.level for alert in budget_alerts()}["daily"] == "reached"


@pytest.mark.django_db
def test_dashboard_shows_the_budget_alert(client, admin_user):
    _spend(cost="2")
    _caps(daily="1")
    client.force_login(admin_user)
    page = client.get("/admin/dashboard/").content.decode()
    assert "Daily budget reached" in page and 'role="alert"' in page


@pytest.mark.django_db
def test_budget_admin_opens_the_single_settings_row(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/admin/routing/budgetsettings/")
    assert response.status_code == 302
    settings_row = BudgetSettings.objects.get()
    assert response["Location"].endswith(f"/admin/routing/budgetsettings/{settings_row.pk}/change/")
    response = client.post(response["Location"], {"daily_cap": "12.50", "conversation_cap": ""})
    assert response.status_code == 302
    assert budget_state(conversation_id=None).daily_cap == Decimal("12.50")
