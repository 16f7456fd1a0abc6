"""Every figure on the admin dashboard, as plain read-only functions over the records.

Costs and time to first token come from the ledger (one row per upstream call); tier shares
from the stored answers; handoffs, escalations and resolution from each conversation's
transcript; satisfaction from the ratings and the estimates. Days are local calendar days
(settings.TIME_ZONE); a conversation counts on the day it started, a ledger row or an answer
on the day it was written.

Definitions (the dashboard's help text repeats them):
- handed off: the conversation has a ``handoff_requested`` event or an assigned agent;
- escalated: some answer used a larger tier than an earlier answer in the same conversation;
- resolved by the bot: the bot answered at least once and the conversation was never handed off;
- cost per resolved conversation: all ledger cost in the period / conversations resolved by the bot;
- CSAT: mean rating (1-5) and the share of ratings that are 4 or 5;
- estimate agreement: over conversations with both a rating and an estimate, the mean absolute
  error and Pearson's correlation;
- contact reasons: a conversation has a reason when a batch or agent tag for it stands (not
  removed); per reason, its conversations, their bot resolution and CSAT, and the agents'
  corrections (batch tags removed plus tags agents added).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from conversations.models import ContactReason, Conversation, ConversationReason, Message
from routing.models import LedgerEntry
from routing.types import COST_QUANTUM, TIER_ORDER

ZERO = Decimal("0")


@dataclass(frozen=True)
class DateRange:
    """Local calendar days from ``start`` to ``end``, both included."""

    start: date
    end: date

    @classmethod
    def last_days(cls, *, days: int, today: date | None = None) -> DateRange:
        end = today or timezone.localdate()
        return cls(start=end - timedelta(days=days - 1), end=end)

    def bounds(self) -> tuple[datetime, datetime]:
        """[start of the first day, start of the day after the last) as aware datetimes."""
        first = timezone.make_aware(datetime.combine(self.start, time.min))
        after = timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))
        return first, after

    def days(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range((self.end - self.start).days + 1)]


# --- Small statistics, written out so the tests can check them against numpy -----------------


def percentile(values: Sequence[float], share: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def pearson(pairs: Sequence[tuple[float, float]]) -> float | None:
    """Pearson's r; None with fewer than two pairs or when either side never varies."""
    if len(pairs) < 2:
        return None
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in pairs)
    spread = math.sqrt(sum((x - mean_x) ** 2 for x in xs) * sum((y - mean_y) ** 2 for y in ys))
    return covariance / spread if spread else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _tiers_in_order(names: Iterable[str]) -> list[str]:
    known = [str(tier) for tier in TIER_ORDER]
    return known + sorted(set(names) - set(known))


# --- Cost, from the ledger ---------------------------------------------------------------------


def ledger_in(*, period: DateRange):
    first, after = period.bounds()
    return LedgerEntry.objects.filter(created_at__gte=first, created_at__lt=after)


def cost_per_day_by_tier(*, period: DateRange) -> dict[date, dict[str, Decimal]]:
    """Every day of the period, every tier: the ledger cost written that day on that tier (zeros included)."""
    rows = (
        ledger_in(period=period).annotate(day=TruncDate("created_at")).values("day", "tier").annotate(cost=Sum("cost"))
    )
    # SQLite sums decimals as floats: back to the ledger's 8 places so totals add up exactly.
    found = {(row["day"], row["tier"]): row["cost"].quantize(COST_QUANTUM) for row in rows}
    tiers = _tiers_in_order(tier for _, tier in found)
    return {day: {tier: found.get((day, tier), ZERO) for tier in tiers} for day in period.days()}


def time_to_first_token_by_tier(*, period: DateRange) -> dict[str, dict[str, float | int | None]]:
    """p50 and p95 time to first token (ms) of successful answer calls, per tier."""
    values: defaultdict[str, list[float]] = defaultdict(list)
    rows = ledger_in(period=period).filter(
        purpose=LedgerEntry.Purpose.ANSWER, outcome=LedgerEntry.Outcome.OK, time_to_first_token_ms__isnull=False
    )
    for tier, milliseconds in rows.values_list("tier", "time_to_first_token_ms"):
        values[tier].append(float(milliseconds))
    return {
        tier: {"p50": percentile(values[tier], 0.5), "p95": percentile(values[tier], 0.95), "calls": len(values[tier])}
        for tier in _tiers_in_order(values)
        if values[tier]
    }


# --- Answers per tier ------------------------------------------------------------------------


def answers_in(*, period: DateRange):
    first, after = period.bounds()
    return Message.objects.filter(
        role=Message.Role.ASSISTANT, kind="text", created_at__gte=first, created_at__lt=after
    ).exclude(tier="")


def answer_share_by_tier(*, period: DateRange) -> dict[str, dict[str, float | int]]:
    """How many bot answers each tier wrote, and its share of all of them."""
    counts = {row["tier"]: row["count"] for row in answers_in(period=period).values("tier").annotate(count=Count("id"))}
    total = sum(counts.values())
    return {
        tier: {"answers": counts.get(tier, 0), "share": _share(counts.get(tier, 0), total) or 0.0}
        for tier in _tiers_in_order(counts)
    }


# --- Conversations: handoffs, escalations, resolution, satisfaction -----------------------------


@dataclass(frozen=True)
class ConversationFacts:
    conversation_id: int
    day: date
    answered_by_bot: bool
    handed_off: bool
    escalated: bool
    rating: int | None
    estimate: float | None

    @property
    def resolved_by_bot(self) -> bool:
        return self.answered_by_bot and not self.handed_off


def conversation_facts(*, period: DateRange) -> list[ConversationFacts]:
    """One line per conversation started in the period."""
    first, after = period.bounds()
    conversations = Conversation.objects.filter(created_at__gte=first, created_at__lt=after)
    rows = list(
        conversations.annotate(day=TruncDate("created_at")).values_list(
            "pk", "day", "assigned_agent_id", "rating__score", "satisfaction_estimate"
        )
    )
    messages = Message.objects.filter(conversation__in=conversations)
    handed = set(
        messages.filter(kind="event", data__event="handoff_requested").values_list("conversation_id", flat=True)
    )
    answered, escalated = _answer_history(messages=messages)
    return [
        ConversationFacts(
            conversation_id=pk,
            day=day,
            answered_by_bot=pk in answered,
            handed_off=pk in handed or agent_id is not None,
            escalated=pk in escalated,
            rating=score,
            estimate=None if estimate is None else float(estimate),
        )
        for pk, day, agent_id, score, estimate in rows
    ]


def _answer_history(*, messages) -> tuple[set[int], set[int]]:
    """(conversations the bot answered, conversations where a later answer used a larger tier)."""
    rank = {str(tier): index for index, tier in enumerate(TIER_ORDER)}
    answered: set[int] = set()
    escalated: set[int] = set()
    highest: dict[int, int] = {}
    answers = (
        messages.filter(role=Message.Role.ASSISTANT, kind="text").exclude(tier="").order_by("conversation_id", "seq")
    )
    for conversation_id, tier in answers.values_list("conversation_id", "tier"):
        answered.add(conversation_id)
        level = rank.get(tier, -1)
        if conversation_id in highest and level > highest[conversation_id]:
            escalated.add(conversation_id)
        highest[conversation_id] = max(level, highest.get(conversation_id, -1))
    return answered, escalated


@dataclass(frozen=True)
class ConversationRates:
    conversations: int
    handed_off: int
    escalated: int
    resolved_by_bot: int
    handoff_rate: float | None
    escalation_rate: float | None
    bot_resolution_rate: float | None


def conversation_rates(*, facts: Sequence[ConversationFacts]) -> ConversationRates:
    total = len(facts)
    handed = sum(fact.handed_off for fact in facts)
    escalated = sum(fact.escalated for fact in facts)
    resolved = sum(fact.resolved_by_bot for fact in facts)
    return ConversationRates(
        conversations=total,
        handed_off=handed,
        escalated=escalated,
        resolved_by_bot=resolved,
        handoff_rate=_share(handed, total),
        escalation_rate=_share(escalated, total),
        bot_resolution_rate=_share(resolved, total),
    )


@dataclass(frozen=True)
class Satisfaction:
    ratings: int
    rating_mean: float | None
    satisfied_share: float | None  # ratings of 4 or 5
    estimates: int
    estimate_mean: float | None
    pairs: int
    mean_absolute_error: float | None
    correlation: float | None


def satisfaction(*, facts: Sequence[ConversationFacts]) -> Satisfaction:
    scores = [float(fact.rating) for fact in facts if fact.rating is not None]
    estimates = [fact.estimate for fact in facts if fact.estimate is not None]
    pairs = [
        (fact.estimate, float(fact.rating)) for fact in facts if fact.rating is not None and fact.estimate is not None
    ]
    return Satisfaction(
        ratings=len(scores),
        rating_mean=_mean(scores),
        satisfied_share=_share(sum(score >= 4 for score in scores), len(scores)),
        estimates=len(estimates),
        estimate_mean=_mean(estimates),
        pairs=len(pairs),
        mean_absolute_error=_mean([abs(estimate - score) for estimate, score in pairs]),
        correlation=pearson(pairs),  # type: ignore[arg-type]
    )


# --- Everything for one period -------------------------------------------------------------------


@dataclass(frozen=True)
class DayFigures:
    day: date
    cost: Decimal
    cost_per_resolved: Decimal | None
    rates: ConversationRates
    satisfaction: Satisfaction


@dataclass(frozen=True)
class DashboardFigures:
    period: DateRange
    cost: Decimal
    cost_per_resolved: Decimal | None
    cost_by_day_and_tier: dict[date, dict[str, Decimal]]
    answer_share: dict[str, dict[str, float | int]]
    time_to_first_token: dict[str, dict[str, float | int | None]]
    rates: ConversationRates
    satisfaction: Satisfaction
    days: list[DayFigures] = field(default_factory=list)
    contact_reasons: ContactReasonFigures | None = None


def cost_per_resolved(*, cost: Decimal, resolved: int) -> Decimal | None:
    return (cost / resolved).quantize(COST_QUANTUM) if resolved else None


def dashboard_figures(*, period: DateRange) -> DashboardFigures:
    """All dashboard numbers for the period, overall and day by day."""
    facts = conversation_facts(period=period)
    by_day_and_tier = cost_per_day_by_tier(period=period)
    rates = conversation_rates(facts=facts)
    cost = sum((sum(tiers.values(), ZERO) for tiers in by_day_and_tier.values()), ZERO)
    return DashboardFigures(
        period=period,
        cost=cost,
        cost_per_resolved=cost_per_resolved(cost=cost, resolved=rates.resolved_by_bot),
        cost_by_day_and_tier=by_day_and_tier,
        answer_share=answer_share_by_tier(period=period),
        time_to_first_token=time_to_first_token_by_tier(period=period),
        rates=rates,
        satisfaction=satisfaction(facts=facts),
        days=_day_figures(facts=facts, by_day_and_tier=by_day_and_tier),
        contact_reasons=contact_reason_figures(facts=facts),
    )


def _day_figures(
    *, facts: Sequence[ConversationFacts], by_day_and_tier: dict[date, dict[str, Decimal]]
) -> list[DayFigures]:
    facts_by_day: dict[date, list[ConversationFacts]] = defaultdict(list)
    for fact in facts:
        facts_by_day[fact.day].append(fact)
    days = []
    for day, tiers in by_day_and_tier.items():
        cost = sum(tiers.values(), ZERO)
        rates = conversation_rates(facts=facts_by_day[day])
        days.append(
            DayFigures(
                day=day,
                cost=cost,
                cost_per_resolved=cost_per_resolved(cost=cost, resolved=rates.resolved_by_bot),
                rates=rates,
                satisfaction=satisfaction(facts=facts_by_day[day]),
            )
        )
    return days


# --- Contact reasons ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonFigures:
    reason: str
    conversations: int
    resolved_by_bot: int
    bot_resolution_rate: float | None
    ratings: int
    csat_mean: float | None
    batch_tags: int  # tags the batch gave, including those agents removed since
    corrections: int  # batch tags agents removed, plus tags agents added


@dataclass(frozen=True)
class ContactReasonFigures:
    reasons: list[ReasonFigures]  # most conversations first
    tagged: int  # conversations in the period the batch has tagged
    untagged_closed: int  # closed conversations the batch has not reached yet
    batch_tags: int
    corrections: int

    @property
    def correction_share(self) -> float | None:
        return _share(self.corrections, self.batch_tags)


def contact_reason_figures(*, facts: Sequence[ConversationFacts]) -> ContactReasonFigures:
    """Per contact reason, over the conversations of ``facts``: how many, resolved by the bot, CSAT, corrections."""
    by_id = {fact.conversation_id: fact for fact in facts}
    rows = ConversationReason.objects.filter(conversation_id__in=list(by_id)).values_list(
        "conversation_id", "reason_id", "source", "removed"
    )
    standing: defaultdict[int, set[int]] = defaultdict(set)
    batch: defaultdict[int, int] = defaultdict(int)
    corrected: defaultdict[int, int] = defaultdict(int)
    for conversation_id, reason_id, source, removed in rows:
        if not removed:
            standing[reason_id].add(conversation_id)
        if source == ConversationReason.Source.BATCH:
            batch[reason_id] += 1
        if (source == ConversationReason.Source.BATCH) == removed:  # a batch tag removed, or an agent's added
            corrected[reason_id] += 1
    names = dict(ContactReason.objects.values_list("pk", "name"))
    reasons = [
        _reason_figures(
            name=names[reason_id],
            facts=[by_id[pk] for pk in standing[reason_id]],
            batch_tags=batch[reason_id],
            corrections=corrected[reason_id],
        )
        for reason_id in set(standing) | set(batch)
    ]
    conversations = Conversation.objects.filter(pk__in=list(by_id))
    return ContactReasonFigures(
        reasons=sorted(reasons, key=lambda figures: (-figures.conversations, figures.reason)),
        tagged=conversations.filter(reason_tagging__status="done").count(),
        untagged_closed=conversations.filter(status=Conversation.Status.CLOSED, reason_tagging__isnull=True).count(),
        batch_tags=sum(batch.values()),
        corrections=sum(corrected.values()),
    )


def _reason_figures(
    *, name: str, facts: Sequence[ConversationFacts], batch_tags: int, corrections: int
) -> ReasonFigures:
    resolved = sum(fact.resolved_by_bot for fact in facts)
    scores = [float(fact.rating) for fact in facts if fact.rating is not None]
    return ReasonFigures(
        reason=name,
        conversations=len(facts),
        resolved_by_bot=resolved,
        bot_resolution_rate=_share(resolved, len(facts)),
        ratings=len(scores),
        csat_mean=_mean(scores),
        batch_tags=batch_tags,
        corrections=corrections,
    )


def budget_downgrades(*, period: DateRange) -> int:
    """Answers the router moved to a smaller tier because a budget cap was reached."""
    return answers_in(period=period).filter(Q(route_reason__contains="budget cap")).count()


# --- CSV: the same numbers, one per row ---------------------------------------------------------

CSV_HEADER = ["figure", "day", "tier", "value"]


def dashboard_csv_rows(*, figures: DashboardFigures) -> list[list[str]]:
    """Long format (figure, day, tier, value); a blank day means the whole period."""
    rows = [CSV_HEADER]
    rows += _period_rows(
        day="",
        cost=figures.cost,
        per_resolved=figures.cost_per_resolved,
        rates=figures.rates,
        found=figures.satisfaction,
    )
    for tier, share in figures.answer_share.items():
        rows += [["answers", "", tier, _text(share["answers"])], ["answer_share", "", tier, _text(share["share"])]]
    for tier, latency in figures.time_to_first_token.items():
        rows += [
            ["time_to_first_token_p50_ms", "", tier, _text(latency["p50"])],
            ["time_to_first_token_p95_ms", "", tier, _text(latency["p95"])],
        ]
    for day_figures in figures.days:
        day = day_figures.day.isoformat()
        rows += [
            ["cost", day, tier, _text(cost)] for tier, cost in figures.cost_by_day_and_tier[day_figures.day].items()
        ]
        rows += _period_rows(
            day=day,
            cost=day_figures.cost,
            per_resolved=day_figures.cost_per_resolved,
            rates=day_figures.rates,
            found=day_figures.satisfaction,
        )
    return rows


def _period_rows(
    *, day: str, cost: Decimal, per_resolved: Decimal | None, rates: ConversationRates, found: Satisfaction
) -> list[list[str]]:
    values: list[tuple[str, object]] = [
        ("cost", cost),
        ("cost_per_resolved_conversation", per_resolved),
        ("conversations", rates.conversations),
        ("handoff_rate", rates.handoff_rate),
        ("escalation_rate", rates.escalation_rate),
        ("bot_resolution_rate", rates.bot_resolution_rate),
        ("ratings", found.ratings),
        ("csat_mean", found.rating_mean),
        ("csat_satisfied_share", found.satisfied_share),
        ("estimate_mean", found.estimate_mean),
        ("estimate_rating_pairs", found.pairs),
        ("estimate_mean_absolute_error", found.mean_absolute_error),
        ("estimate_correlation", found.correlation),
    ]
    return [[name, day, "", _text(value)] for name, value in values]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, Decimal):
        return f"{value:f}"  # plain digits: a zero cost is "0.00000000", never "0E-8"
    return str(value)
