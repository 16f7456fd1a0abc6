"""Every dashboard figure, recomputed here straight from the rows (and numpy), must match."""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import numpy
import pytest
from django.core.management import call_command
from django.utils import timezone

from conversations.console.services import contact_reasons_correct
from conversations.models import ContactReason, Conversation, ConversationReason, Message, Rating
from helpcentre.services import demo_helpcentre_load
from reporting.dashboard import DateRange, dashboard_csv_rows, dashboard_figures, pearson, percentile
from reporting.views import chart_data
from routing.models import LedgerEntry

pytestmark = pytest.mark.django_db

TIER_RANK = {"mini": 0, "instant": 1, "thinking": 2, "pro": 3}


@pytest.fixture
def month(db, agent) -> DateRange:
    """Three weeks of demo conversations plus rows a demo would not make, some outside the period."""
    call_command("generate_demo_month", days=21, per_day=10, seed=11, stdout=io.StringIO())
    today = timezone.localdate()
    period = DateRange(start=today - timedelta(days=13), end=today)
    # A summary call billed to no conversation, a failed call, and a row from before the period.
    LedgerEntry.objects.create(
        purpose="summary", tier="mini", model="m", provider="p", cost=Decimal("0.01234567"), outcome="ok"
    )
    LedgerEntry.objects.create(
        purpose="answer",
        tier="thinking",
        model="t",
        provider="p",
        cost=Decimal("0"),
        outcome="fallback",
        time_to_first_token_ms=9,
    )
    old = LedgerEntry.objects.create(
        purpose="answer", tier="pro", model="p", provider="p", cost=Decimal("5"), outcome="ok"
    )
    LedgerEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    return period


def _in_period(moment, period: DateRange) -> bool:
    return period.start <= timezone.localtime(moment).date() <= period.end


def _expected_costs(period: DateRange) -> dict:
    by_day_and_tier: dict = defaultdict(lambda: Decimal("0"))
    for entry in LedgerEntry.objects.all():
        if _in_period(entry.created_at, period):
            by_day_and_tier[(timezone.localtime(entry.created_at).date(), entry.tier)] += entry.cost
    return by_day_and_tier


def _expected_conversations(period: DateRange) -> list[dict]:
    """Per conversation started in the period: handed off, escalated, answered, rating, estimate."""
    facts = []
    for conversation in Conversation.objects.all():
        if not _in_period(conversation.created_at, period):
            continue
        messages = list(Message.objects.filter(conversation=conversation).order_by("seq"))
        tiers = [TIER_RANK[m.tier] for m in messages if m.role == "assistant" and m.kind == "text" and m.tier]
        rating = Rating.objects.filter(conversation=conversation).first()
        handed = conversation.assigned_agent_id is not None or any(
            m.data.get("event") == "handoff_requested" for m in messages
        )
        facts.append(
            {
                "id": conversation.pk,
                "day": timezone.localtime(conversation.created_at).date(),
                "handed": handed,
                "escalated": any(tiers[i] > max(tiers[:i]) for i in range(1, len(tiers))),
                "resolved": bool(tiers) and not handed,
                "rating": rating.score if rating else None,
                "estimate": None
                if conversation.satisfaction_estimate is None
                else float(conversation.satisfaction_estimate),
            }
        )
    return facts


def test_costs_per_day_and_tier_and_per_resolved_conversation_match_the_ledger(month):
    figures = dashboard_figures(period=month)
    expected = _expected_costs(month)
    facts = _expected_conversations(month)

    for day, tiers in figures.cost_by_day_and_tier.items():
        for tier, cost in tiers.items():
            assert cost == expected.get((day, tier), Decimal("0")), (day, tier)
    assert set(expected) <= {(day, tier) for day, tiers in figures.cost_by_day_and_tier.items() for tier in tiers}
    total = sum(expected.values(), Decimal("0"))
    assert figures.cost == total > 0
    resolved = sum(fact["resolved"] for fact in facts)
    assert figures.cost_per_resolved == (total / resolved).quantize(Decimal("0.00000001"))
    for day in figures.days:
        day_cost = sum((cost for (d, _), cost in expected.items() if d == day.day), Decimal("0"))
        day_resolved = sum(fact["resolved"] for fact in facts if fact["day"] == day.day)
        assert day.cost == day_cost
        assert day.cost_per_resolved == (
            (day_cost / day_resolved).quantize(Decimal("0.00000001")) if day_resolved else None
        )


def test_rates_match_the_transcripts(month):
    figures = dashboard_figures(period=month)
    facts = _expected_conversations(month)
    total = len(facts)

    assert figures.rates.conversations == total > 50
    assert figures.rates.handed_off == sum(f["handed"] for f in facts) > 0
    assert figures.rates.escalated == sum(f["escalated"] for f in facts) > 0
    assert figures.rates.resolved_by_bot == sum(f["resolved"] for f in facts) > 0
    assert figures.rates.handoff_rate == pytest.approx(sum(f["handed"] for f in facts) / total)
    assert figures.rates.escalation_rate == pytest.approx(sum(f["escalated"] for f in facts) / total)
    assert figures.rates.bot_resolution_rate == pytest.approx(sum(f["resolved"] for f in facts) / total)
    for day in figures.days:
        that_day = [f for f in facts if f["day"] == day.day]
        assert day.rates.conversations == len(that_day)
        assert day.rates.handed_off == sum(f["handed"] for f in that_day)


def test_answer_share_and_time_to_first_token_percentiles_match_numpy(month):
    figures = dashboard_figures(period=month)
    answers = [
        m.tier
        for m in Message.objects.filter(role="assistant", kind="text").exclude(tier="")
        if _in_period(m.created_at, month)
    ]
    for tier, share in figures.answer_share.items():
        assert share["answers"] == answers.count(tier)
        assert share["share"] == pytest.approx(answers.count(tier) / len(answers))
    assert sum(share["answers"] for share in figures.answer_share.values()) == len(answers)

    latencies: dict[str, list[int]] = defaultdict(list)
    for entry in LedgerEntry.objects.filter(purpose="answer", outcome="ok", time_to_first_token_ms__isnull=False):
        if _in_period(entry.created_at, month):
            latencies[entry.tier].append(entry.time_to_first_token_ms)
    assert set(figures.time_to_first_token) == set(latencies)
    for tier, values in latencies.items():
        assert figures.time_to_first_token[tier]["p50"] == pytest.approx(numpy.percentile(values, 50))
        assert figures.time_to_first_token[tier]["p95"] == pytest.approx(numpy.percentile(values, 95))
        assert figures.time_to_first_token[tier]["calls"] == len(values)


def test_csat_estimate_and_their_agreement_match_the_ratings(month):
    found = dashboard_figures(period=month).satisfaction
    facts = _expected_conversations(month)
    scores = [f["rating"] for f in facts if f["rating"] is not None]
    estimates = [f["estimate"] for f in facts if f["estimate"] is not None]
    pairs = [(f["estimate"], f["rating"]) for f in facts if f["rating"] is not None and f["estimate"] is not None]

    assert found.ratings == len(scores) > 10
    assert found.rating_mean == pytest.approx(numpy.mean(scores))
    assert found.satisfied_share == pytest.approx(sum(s >= 4 for s in scores) / len(scores))
    assert found.estimates == len(estimates)
    assert found.estimate_mean == pytest.approx(numpy.mean(estimates))
    assert found.pairs == len(pairs)
    assert found.mean_absolute_error == pytest.approx(numpy.mean([abs(e - r) for e, r in pairs]))
    assert found.correlation == pytest.approx(numpy.corrcoef([e for e, _ in pairs], [r for _, r in pairs])[0, 1])


def test_csv_export_carries_the_same_numbers(month):
    figures = dashboard_figures(period=month)
    rows = dashboard_csv_rows(figures=figures)
    assert rows[0] == ["figure", "day", "tier", "value"]
    values = {(figure, day, tier): value for figure, day, tier, value in rows[1:]}
    assert Decimal(values[("cost", "", "")]) == figures.cost
    assert float(values[("bot_resolution_rate", "", "")]) == pytest.approx(figures.rates.bot_resolution_rate, abs=1e-6)
    assert float(values[("estimate_correlation", "", "")]) == pytest.approx(figures.satisfaction.correlation, abs=1e-6)
    for day, tiers in figures.cost_by_day_and_tier.items():
        for tier, cost in tiers.items():
            assert Decimal(values[("cost", day.isoformat(), tier)]) == cost
    for tier, latency in figures.time_to_first_token.items():
        assert float(values[("time_to_first_token_p95_ms", "", tier)]) == pytest.approx(latency["p95"], abs=1e-6)


@pytest.fixture
def tagged_month(month, agent) -> DateRange:
    """The month with its closed conversations tagged by the batch (offline), and a few agent corrections."""
    demo_helpcentre_load()
    call_command("tag_contact_reasons", stdout=io.StringIO())
    reasons = list(ContactReason.objects.values_list("pk", flat=True))
    tagged = Conversation.objects.filter(contact_reasons__isnull=False).distinct().order_by("-created_at")
    for index, conversation in enumerate(tagged[:12]):
        # Some replaced, some with one more: corrections of both kinds.
        extra = [reasons[index % len(reasons)]]
        keep = [] if index % 2 else [r.reason_id for r in conversation.contact_reasons.all()]
        contact_reasons_correct(conversation_id=conversation.pk, reason_ids=keep + extra, agent_id=agent.pk)
    return month


def test_contact_reason_chart_matches_the_tags_ratings_and_transcripts(tagged_month):
    figures = dashboard_figures(period=tagged_month).contact_reasons
    assert figures is not None
    in_period = {c.pk: c for c in Conversation.objects.all() if _in_period(c.created_at, tagged_month)}
    facts = {fact["id"]: fact for fact in _expected_conversations(tagged_month)}
    standing: dict[str, set[int]] = defaultdict(set)
    batch: dict[str, int] = defaultdict(int)
    corrections: dict[str, int] = defaultdict(int)
    for row in ConversationReason.objects.select_related("reason"):
        if row.conversation_id not in in_period:
            continue
        if not row.removed:
            standing[row.reason.name].add(row.conversation_id)
        batch[row.reason.name] += row.source == "batch"
        corrections[row.reason.name] += (row.source == "batch" and row.removed) or (
            row.source == "agent" and not row.removed
        )

    shown = {reason.reason: reason for reason in figures.reasons}
    assert set(shown) == set(standing) | set(batch) and len(shown) >= 6
    for name, conversation_ids in standing.items():
        found = shown[name]
        resolved = sum(facts[pk]["resolved"] for pk in conversation_ids)
        scores = [facts[pk]["rating"] for pk in conversation_ids if facts[pk]["rating"] is not None]
        assert found.conversations == len(conversation_ids)
        assert found.resolved_by_bot == resolved
        assert found.bot_resolution_rate == pytest.approx(resolved / len(conversation_ids))
        assert found.ratings == len(scores)
        assert found.csat_mean == (pytest.approx(numpy.mean(scores)) if scores else None)
        assert found.batch_tags == batch[name] and found.corrections == corrections[name]
    counts = [reason.conversations for reason in figures.reasons]
    assert counts == sorted(counts, reverse=True)  # the top reasons first
    assert figures.corrections == sum(corrections.values()) > 0
    assert figures.batch_tags == sum(batch.values())
    closed_in_period = [c for c in in_period.values() if c.status == "closed"]
    assert figures.tagged == len(closed_in_period) and figures.untagged_closed == 0

    drawn = chart_data(figures=dashboard_figures(period=tagged_month))["contact_reasons"]
    assert [(r["reason"], r["conversations"]) for r in drawn] == [(r.reason, r.conversations) for r in figures.reasons][
        :10
    ]


def test_the_dashboard_shows_the_top_contact_reasons(client, admin_user, tagged_month):
    client.force_login(admin_user)
    response = client.get(
        "/admin/dashboard/", {"start": tagged_month.start.isoformat(), "end": tagged_month.end.isoformat()}
    )
    page = response.content.decode()
    top = response.context["figures"].contact_reasons.reasons[0]
    assert "Top contact reasons" in page and 'data-chart="contact_reasons"' in page
    assert f'<th scope="row">{top.reason}</th><td>{top.conversations}</td>' in page


def test_statistics_helpers_agree_with_numpy():
    rng = random.Random(5)
    values = [rng.uniform(0, 5000) for _ in range(37)]
    for share in (0, 0.5, 0.95, 1):
        assert percentile(values, share) == pytest.approx(numpy.percentile(values, share * 100))
    pairs = [(rng.uniform(1, 5), rng.uniform(1, 5)) for _ in range(20)]
    assert pearson(pairs) == pytest.approx(numpy.corrcoef(*zip(*pairs, strict=True))[0, 1])
    assert percentile([], 0.5) is None
    assert pearson([(1.0, 2.0)]) is None
    assert pearson([(1.0, 2.0), (1.0, 3.0)]) is None  # no spread on one side


def test_dashboard_page_renders_for_admins_with_the_figures(client, admin_user, month):
    client.force_login(admin_user)
    response = client.get("/admin/dashboard/", {"start": month.start.isoformat(), "end": month.end.isoformat()})
    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures.period == month
    page = response.content.decode()
    assert f"${figures.cost:.4f}" in page
    assert 'id="dashboard-data"' in page and "dashboard/charts.js" in page
    assert "cdn" not in page.lower()


def test_dashboard_csv_download(client, admin_user, month):
    client.force_login(admin_user)
    response = client.get(
        "/admin/dashboard/", {"start": month.start.isoformat(), "end": month.end.isoformat(), "format": "csv"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == dashboard_csv_rows(figures=dashboard_figures(period=month))


def test_an_inverted_range_is_refused_and_the_default_month_shown(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/admin/dashboard/", {"start": "2026-05-10", "end": "2026-05-01"})
    assert response.status_code == 200
    assert "must not be after" in response.content.decode()
    assert response.context["figures"].period == DateRange.last_days(days=30)


def test_agents_without_ledger_access_cannot_see_costs(client, agent):
    client.force_login(agent)
    assert client.get("/admin/dashboard/").status_code == 403


@pytest.mark.parametrize(
    ("start", "end", "said"),
    [
        ("9999-12-31", "9999-12-31", "before 9999-12-31"),
        ("2026-02-31", "2026-03-01", "Start"),
        ("2026-11-30", "2026-11-01", "must not be after"),
    ],
)
def test_a_period_that_cannot_be_shown_is_said_so_on_the_page_and_refused_as_csv(client, admin_user, start, end, said):
    client.force_login(admin_user)
    page = client.get("/admin/dashboard/", {"start": start, "end": end})
    assert page.status_code == 200 and said in page.content.decode()
    export = client.get("/admin/dashboard/", {"start": start, "end": end, "format": "csv"})
    assert export.status_code == 400 and export["Content-Type"].startswith("text/plain")


def test_csv_costs_are_plain_decimals(month):
    figures = dashboard_figures(period=month)
    costs = [row[-1] for row in dashboard_csv_rows(figures=figures) if row[0] == "cost"]
    assert costs and not any("E" in cost for cost in costs)
    assert any(cost.strip("0.") == "" for cost in costs)  # a zero cost, written out as digits
