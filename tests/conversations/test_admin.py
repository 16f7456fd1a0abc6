"""The admin: filters, totals, the transcript page, tier edits reaching the router, and the demo month."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils.html import escape

from conversations.management.commands.generate_demo_month import DEMO_ORIGIN
from conversations.models import Conversation, Message, Rating
from routing.models import LedgerEntry, Tier
from routing.pricing import cost_for_usage
from routing.providers.base import Usage
from routing.selectors import tier_catalogue
from routing.services import answer_plan_make
from routing.tiers import TierName

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(agent) -> None:
    call_command("generate_demo_month", days=5, per_day=8, seed=3, stdout=io.StringIO())


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _shown(response) -> set[int]:
    return {row.pk for row in response.context["cl"].result_list}


def test_changelists_render_with_a_bounded_number_of_queries(staff_client, demo, django_assert_max_num_queries):
    for url in (
        "/admin/conversations/conversation/",
        "/admin/conversations/message/",
        "/admin/conversations/rating/",
        "/admin/routing/ledgerentry/",
        "/admin/routing/tier/",
    ):
        # No query per row: a page of 50-100 rows must not cost 50-100 queries.
        with django_assert_max_num_queries(20):
            assert staff_client.get(url).status_code == 200, url


def test_conversation_filters_select_what_they_say(staff_client, demo):
    handed = staff_client.get("/admin/conversations/conversation/", {"handoff": "yes"})
    for conversation in Conversation.objects.filter(pk__in=_shown(handed)):
        events = Message.objects.filter(conversation=conversation, data__event="handoff_requested")
        assert events.exists() or conversation.assigned_agent_id
    assert _shown(handed)

    bot_only = staff_client.get("/admin/conversations/conversation/", {"handoff": "no"})
    assert not _shown(bot_only) & _shown(handed)

    rated_five = staff_client.get("/admin/conversations/conversation/", {"rating": "5"})
    assert set(Rating.objects.filter(score=5).values_list("conversation_id", flat=True)) >= _shown(rated_five)

    on_pro = staff_client.get("/admin/conversations/conversation/", {"tier": "pro", "status__exact": "closed"})
    for pk in _shown(on_pro):
        assert Message.objects.filter(conversation_id=pk, tier="pro").exists()
        assert Conversation.objects.get(pk=pk).status == "closed"


def test_ledger_totals_row_sums_every_filtered_row(staff_client, demo):
    response = staff_client.get("/admin/routing/ledgerentry/", {"tier": "thinking"})
    totals = dict(response.context["totals"])
    rows = LedgerEntry.objects.filter(tier="thinking")
    assert totals["rows"] == rows.count() > 0
    assert totals["cost"] == sum((row.cost for row in rows), Decimal("0"))
    assert totals["output tokens"] == sum(row.output_tokens for row in rows)
    assert "Totals for all matching rows" in response.content.decode()


def test_conversation_page_shows_the_transcript_with_costs_and_sources(staff_client, demo):
    answer = Message.objects.filter(role="assistant", tier="thinking").exclude(citations=[]).first()
    response = staff_client.get(f"/admin/conversations/conversation/{answer.conversation_id}/change/")
    page = response.content.decode()
    assert response.status_code == 200
    assert answer.model in page and escape(answer.text) in page
    assert f"{answer.input_tokens} / {answer.cached_input_tokens} / {answer.output_tokens}" in page
    assert str(answer.cost) in page and str(answer.time_to_first_token_ms) in page
    assert answer.citations[0]["url"] in page


def test_search_finds_conversations_by_what_was_written(staff_client, demo):
    response = staff_client.get("/admin/conversations/conversation/", {"q": "useless"})
    expected = set(Message.objects.filter(text__icontains="useless").values_list("conversation_id", flat=True))
    assert expected and _shown(response) <= expected


def test_a_tier_edited_in_the_admin_applies_to_the_next_message(staff_client):
    question = "My bed base shows error E21 and I already tried unplugging it"
    assert (
        answer_plan_make(question=question, history=[], conversation_spent=Decimal("0")).decision.tier
        == TierName.THINKING
    )
    thinking = Tier.objects.get(name="thinking")
    response = staff_client.post(
        "/admin/routing/tier/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(thinking.pk),
            "form-0-enabled": "",
            "form-0-price_input_per_1k": "0.0035",
            "form-0-price_cached_input_per_1k": "0.00175",
            "form-0-price_output_per_1k": "0.0040",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    # The router's nearest enabled tier, on a tie the larger one: Pro.
    assert (
        answer_plan_make(question=question, history=[], conversation_spent=Decimal("0")).decision.tier == TierName.PRO
    )


def test_records_are_read_only_in_the_admin(staff_client, demo):
    entry = LedgerEntry.objects.first()
    response = staff_client.post(f"/admin/routing/ledgerentry/{entry.pk}/change/", {"cost": "0"})
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.cost > 0


# --- generate_demo_month -------------------------------------------------------------------------


def test_demo_month_is_priced_from_the_catalogue_and_consistent(demo):
    catalogue = tier_catalogue()
    entries = LedgerEntry.objects.select_related("message")
    assert entries.count() > 20
    for entry in entries:
        usage = Usage(entry.input_tokens, entry.cached_input_tokens, entry.output_tokens, estimated=False)
        assert entry.cost == cost_for_usage(tier=catalogue[TierName(entry.tier)], usage=usage)
        assert entry.message.cost == entry.cost and entry.message.tier == entry.tier
    for conversation in Conversation.objects.filter(origin=DEMO_ORIGIN):
        ledger_total = LedgerEntry.objects.filter(conversation=conversation).aggregate(total=Sum("cost"))["total"]
        assert conversation.total_cost == (ledger_total or 0)
        assert conversation.last_seq == Message.objects.filter(conversation=conversation).count()
        assert conversation.satisfaction_estimate is not None
    assert Rating.objects.exists()
    assert Message.objects.filter(data__event="handoff_requested").exists()


def test_demo_month_is_kept_unless_replaced_and_leaves_other_conversations_alone(demo):
    from conversations.services import conversation_open

    real, _ = conversation_open(origin="https://shop.example")
    before = Conversation.objects.filter(origin=DEMO_ORIGIN).count()
    output = io.StringIO()
    call_command("generate_demo_month", days=5, per_day=8, seed=3, stdout=output)
    assert "kept" in output.getvalue()
    assert Conversation.objects.filter(origin=DEMO_ORIGIN).count() == before

    call_command("generate_demo_month", days=2, per_day=5, seed=3, replace=True, stdout=io.StringIO())
    assert 0 < Conversation.objects.filter(origin=DEMO_ORIGIN).count() < before
    assert Conversation.objects.filter(pk=real.pk).exists()
