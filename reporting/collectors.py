"""The collectors behind ``/metrics``: each reads its figures when Prometheus scrapes, none counts in-process.

Everything that must add up across processes (web and worker) is read from the database the
answers are recorded in: the messages (time to first token, duration, fallbacks per tier), the
ledger (upstream calls by outcome, their cost, cache hits) and the handoff events (queue wait).
Nothing is counted per token. The circuit breakers come from routing's public state (shared in
Redis when there is one), open sockets from what every web process publishes to the shared cache,
the Celery queues from the broker and the channel-layer groups from the layer itself. A broker or
channel layer that cannot be read is a ``*_up 0`` sample, not a failed scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any

from django.db.models import Count, DateTimeField, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from conversations import selectors as conversations_selectors
from conversations.models import Conversation, Message
from routing import selectors as routing_selectors
from routing.models import LedgerEntry
from routing.types import TIER_ORDER

logger = logging.getLogger(__name__)

TIME_TO_FIRST_TOKEN_BUCKETS_S = (0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 30)
DURATION_BUCKETS_S = (0.5, 1, 2, 4, 8, 16, 30, 60, 120)
QUEUE_WAIT_BUCKETS_S = (10, 30, 60, 120, 300, 600, 1800, 3600)
CACHE_RATIO_WINDOW = timedelta(hours=1)
BREAKER_STATES = ("closed", "open", "half_open")


def bound_label(bound: float) -> str:
    """``le`` as the dashboards already query it: ``8``, not ``8.0``."""
    return str(int(bound)) if float(bound).is_integer() else repr(float(bound))


# --- the records: answers, ledger, handoffs ---------------------------------------------------


class RecordsCollector(Collector):
    """Figures read from the database, the same whichever process is scraped."""

    def collect(self) -> Iterator[Metric]:
        answers = Message.objects.filter(role=Message.Role.ASSISTANT).exclude(tier="")
        yield _histogram(
            "supportbot_answer_time_to_first_token_seconds",
            "Time from routing an answer to its first token, per tier.",
            _histogram_rows(answers, field="time_to_first_token_ms", buckets=TIME_TO_FIRST_TOKEN_BUCKETS_S),
            TIME_TO_FIRST_TOKEN_BUCKETS_S,
        )
        yield _histogram(
            "supportbot_answer_duration_seconds",
            "Total time to stream an answer, per tier.",
            _histogram_rows(answers, field="duration_ms", buckets=DURATION_BUCKETS_S),
            DURATION_BUCKETS_S,
        )
        yield from _upstream_calls()
        yield _fallbacks(answers)
        yield from _cache_hits(answers)
        yield from _handoff_queue()


def _histogram_rows(rows: QuerySet, *, field: str, buckets: Sequence[float]) -> list[dict[str, Any]]:
    """One aggregate query: count, sum and the cumulative count under each bucket, per tier."""
    filled = rows.filter(**{f"{field}__isnull": False}).order_by()
    per_bucket = {
        f"le_{index}": Count("pk", filter=Q(**{f"{field}__lte": bound * 1000})) for index, bound in enumerate(buckets)
    }
    result = filled.values("tier").annotate(count=Count("pk"), total=Sum(field), **per_bucket)
    return [{**row, "total": (row["total"] or 0) / 1000} for row in result]


def _histogram(
    name: str, documentation: str, rows: Iterable[dict[str, Any]], buckets: Sequence[float]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=["tier"])
    for row in sorted(rows, key=lambda item: str(item["tier"])):
        family.add_metric([row["tier"]], _buckets(row, buckets), row["total"])
    return family


def _buckets(row: dict[str, Any], buckets: Sequence[float]) -> list[tuple[str, float]]:
    counts = [(bound_label(bound), row[f"le_{index}"]) for index, bound in enumerate(buckets)]
    return [*counts, ("+Inf", row["count"])]


def _upstream_calls() -> Iterator[Metric]:
    calls = CounterMetricFamily(
        "supportbot_upstream_calls",
        "Calls to model providers, by tier, purpose and outcome (ok, fallback, error).",
        labels=["tier", "purpose", "outcome"],
    )
    rows = (
        LedgerEntry.objects.exclude(outcome=LedgerEntry.Outcome.CACHE_HIT)
        .order_by()
        .values("tier", "purpose", "outcome")
        .annotate(calls=Count("pk"))
    )
    for row in sorted(rows, key=lambda item: (item["tier"], item["purpose"], item["outcome"])):
        calls.add_metric([row["tier"], row["purpose"], row["outcome"]], row["calls"])
    yield calls
    cost = CounterMetricFamily(
        "supportbot_upstream_cost_usd",
        "What the ledger charged for model calls, in USD, by tier and purpose.",
        labels=["tier", "purpose"],
    )
    totals = LedgerEntry.objects.order_by().values("tier", "purpose").annotate(cost=Sum("cost"))
    for total in sorted(totals, key=lambda item: (item["tier"], item["purpose"])):
        cost.add_metric([total["tier"], total["purpose"]], float(total["cost"] or 0))
    yield cost


def _fallbacks(answers: QuerySet) -> Metric:
    family = CounterMetricFamily(
        "supportbot_answer_fallbacks",
        "Answers finished by a fallback tier, by the tier that finished them.",
        labels=["tier"],
    )
    rows = answers.filter(fell_back=True).order_by().values("tier").annotate(answers=Count("pk"))
    for row in sorted(rows, key=lambda item: item["tier"]):
        family.add_metric([row["tier"]], row["answers"])
    return family


def _cache_hits(answers: QuerySet) -> Iterator[Metric]:
    answered = dict(answers.order_by().values_list("tier").annotate(total=Count("pk")))
    family = CounterMetricFamily(
        "supportbot_answers", "Answers stored, by tier (cache hits included).", labels=["tier"]
    )
    for tier in sorted(answered):
        family.add_metric([tier], answered[tier])
    yield family
    hits = LedgerEntry.objects.filter(outcome=LedgerEntry.Outcome.CACHE_HIT)
    yield CounterMetricFamily(
        "supportbot_answer_cache_hits", "Answers served from the answer cache.", value=hits.count()
    )
    since = timezone.now() - CACHE_RATIO_WINDOW
    recent_answers = answers.filter(created_at__gte=since).count()
    recent_hits = hits.filter(created_at__gte=since).count()
    yield GaugeMetricFamily(
        "supportbot_answer_cache_hit_ratio",
        "Share of answers served from the cache in the last hour.",
        value=recent_hits / recent_answers if recent_answers else 0,
    )


def _handoff_queue() -> Iterator[Metric]:
    waiting = Conversation.objects.filter(status=Conversation.Status.WAITING)
    oldest = waiting.order_by("waiting_since").values_list("waiting_since", flat=True).first()
    yield GaugeMetricFamily(
        "supportbot_handoff_queue_length", "Conversations waiting for an agent now.", value=waiting.count()
    )
    yield GaugeMetricFamily(
        "supportbot_handoff_oldest_wait_seconds",
        "How long the longest-waiting customer has waited.",
        value=(timezone.now() - oldest).total_seconds() if oldest else 0,
    )
    waits = _handoff_waits()
    buckets = [(bound_label(bound), sum(1 for wait in waits if wait <= bound)) for bound in QUEUE_WAIT_BUCKETS_S]
    yield HistogramMetricFamily(
        "supportbot_handoff_wait_seconds",
        "Time from a handoff request to an agent joining.",
        buckets=[*buckets, ("+Inf", len(waits))],
        sum_value=sum(waits),
    )


def _handoff_waits() -> list[float]:
    requested = Message.objects.filter(
        conversation_id=OuterRef("conversation_id"),
        seq__lt=OuterRef("seq"),
        kind="event",
        data__event="handoff_requested",
    ).order_by("-seq")
    joins = (
        Message.objects.filter(kind="event", data__event="agent_joined")
        .annotate(requested_at=Subquery(requested.values("created_at")[:1], output_field=DateTimeField()))
        .exclude(requested_at=None)
        .values_list("created_at", "requested_at")
    )
    return [(joined - asked).total_seconds() for joined, asked in joins.iterator()]


# --- circuit breakers --------------------------------------------------------------------------


class BreakerCollector(Collector):
    """Each tier's breaker, from routing's public state (shared through Redis when configured)."""

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "supportbot_breaker_state",
            "Circuit breaker per tier: 1 for its current state (closed, open, half_open).",
            labels=["tier", "state"],
        )
        states = routing_selectors.breaker_states()
        for tier in TIER_ORDER:
            current = states.get(str(tier), "closed")
            for state in BREAKER_STATES:
                family.add_metric([str(tier), state], 1 if state == current else 0)
        yield family


# --- sockets and the channel layer --------------------------------------------------------------


class SocketsCollector(Collector):
    """Open sockets per web process (as each publishes them) and the channel layer's groups."""

    def collect(self) -> Iterator[Metric]:
        sockets = GaugeMetricFamily(
            "supportbot_open_sockets", "Open websockets per web process and kind.", labels=["process", "kind"]
        )
        for process, counts in sorted(conversations_selectors.open_sockets_by_process().items()):
            for kind, count in sorted(counts.items()):
                sockets.add_metric([process, kind], count)
        yield sockets
        yield from _channel_groups()


def _channel_groups() -> Iterator[Metric]:
    try:
        counts = conversations_selectors.channel_group_counts()
    except Exception:  # noqa: BLE001 - whatever the layer's client raises, the scrape still answers
        logger.warning("metrics: the channel layer's groups could not be read", exc_info=True)
        yield GaugeMetricFamily(
            "supportbot_channel_layer_up", "1 if the channel layer's groups could be read.", value=0
        )
        return
    yield GaugeMetricFamily("supportbot_channel_layer_up", "1 if the channel layer's groups could be read.", value=1)
    groups = GaugeMetricFamily(
        "supportbot_channel_layer_groups", "Channel-layer groups with live members, per kind.", labels=["kind"]
    )
    members = GaugeMetricFamily(
        "supportbot_channel_layer_group_members",
        "Live memberships of channel-layer groups (one per socket and group), per kind.",
        labels=["kind"],
    )
    for kind in sorted(counts.groups):
        groups.add_metric([kind], counts.groups[kind])
        members.add_metric([kind], counts.members[kind])
    yield groups
    yield members


# --- Celery queues ---------------------------------------------------------------------------------


class QueuesCollector(Collector):
    """Messages waiting in each Celery queue, read from the broker."""

    def collect(self) -> Iterator[Metric]:
        up_help = "1 if the Celery broker answered this scrape, 0 if it could not be reached."
        try:
            lengths = conversations_selectors.task_queue_lengths()
        except Exception:  # noqa: BLE001 - kombu and redis-py raise their own errors for a broker that is down
            logger.warning("metrics: the Celery broker could not be reached", exc_info=True)
            yield GaugeMetricFamily("supportbot_celery_broker_up", up_help, value=0)
            return
        yield GaugeMetricFamily("supportbot_celery_broker_up", up_help, value=1)
        family = GaugeMetricFamily(
            "supportbot_celery_queue_length", "Tasks waiting in each Celery queue (not yet taken).", labels=["queue"]
        )
        for queue, length in sorted(lengths.items()):
            family.add_metric([queue], length)
        yield family
