"""Live metrics in the Prometheus text format at ``/metrics``, for staff or a bearer token.

Everything that must add up across processes (web and worker) is read from the database the
answers are recorded in: the messages (time to first token, duration, fallbacks per tier), the
ledger (upstream calls by outcome, cache hits) and the handoff events (queue wait). Nothing
is counted per token. Two things live only in processes: the circuit breakers (read from Redis
when they are shared there) and open sockets, which each web process counts from its open
sockets and publishes to the shared cache when the count changes and every few seconds, with a
short expiry: a killed process drops out and a restarted Redis hears from every process again.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, DateTimeField, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from conversations import selectors as conversations_selectors
from conversations.models import Conversation, Message
from routing import selectors as routing_selectors
from routing.models import LedgerEntry
from routing.types import TIER_ORDER

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TIME_TO_FIRST_TOKEN_BUCKETS_S = (0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 30)
DURATION_BUCKETS_S = (0.5, 1, 2, 4, 8, 16, 30, 60, 120)
QUEUE_WAIT_BUCKETS_S = (10, 30, 60, 120, 300, 600, 1800, 3600)
CACHE_RATIO_WINDOW = timedelta(hours=1)


# --- access -----------------------------------------------------------------------------


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Staff (session) or ``Authorization: Bearer <SUPPORTBOT_METRICS_TOKEN>``; everyone else is refused."""
    if not _metrics_allowed(request):
        response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE)


def _metrics_allowed(request: HttpRequest) -> bool:
    user = request.user
    if user.is_authenticated and user.is_active and user.is_staff:
        return True
    expected = settings.SUPPORTBOT_METRICS_TOKEN
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), expected)


# --- exposition -----------------------------------------------------------------------------


def metrics_exposition() -> str:
    """Every metric, in the Prometheus text format (version 0.0.4)."""
    lines: list[str] = []
    answers = Message.objects.filter(role=Message.Role.ASSISTANT).exclude(tier="")
    _histogram(
        lines,
        "supportbot_answer_time_to_first_token_seconds",
        "Time from routing an answer to its first token, per tier.",
        _histogram_rows(answers, field="time_to_first_token_ms", buckets=TIME_TO_FIRST_TOKEN_BUCKETS_S, scale=1000),
        TIME_TO_FIRST_TOKEN_BUCKETS_S,
    )
    _histogram(
        lines,
        "supportbot_answer_duration_seconds",
        "Total time to stream an answer, per tier.",
        _histogram_rows(answers, field="duration_ms", buckets=DURATION_BUCKETS_S, scale=1000),
        DURATION_BUCKETS_S,
    )
    _upstream_calls(lines)
    _fallbacks(lines, answers)
    _cache_hits(lines, answers)
    _breakers(lines)
    _handoff_queue(lines)
    _sockets(lines)
    return "\n".join(lines) + "\n"


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    escaped = (f'{key}="{_escape(value)}"' for key, value in labels.items())
    return "{" + ",".join(escaped) + "}"


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _header(lines: list[str], name: str, help_text: str, kind: str) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")


def _sample(lines: list[str], name: str, value: float, labels: dict[str, str] | None = None) -> None:
    lines.append(f"{name}{_labels(labels or {})} {_number(value)}")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _histogram_rows(
    rows: QuerySet, *, field: str, buckets: Sequence[float], scale: float, group: str = "tier"
) -> list[dict[str, Any]]:
    """One aggregate query: count, sum and the cumulative count under each bucket, per ``group``."""
    filled = rows.filter(**{f"{field}__isnull": False}).order_by()
    per_bucket = {
        f"le_{index}": Count("pk", filter=Q(**{f"{field}__lte": bound * scale})) for index, bound in enumerate(buckets)
    }
    result = filled.values(group).annotate(count=Count("pk"), total=Sum(field), **per_bucket)
    return [{**row, "total": (row["total"] or 0) / scale} for row in result]


def _histogram(
    lines: list[str],
    name: str,
    help_text: str,
    rows: Iterable[dict[str, Any]],
    buckets: Sequence[float],
    group: str = "tier",
) -> None:
    _header(lines, name, help_text, "histogram")
    for row in sorted(rows, key=lambda item: str(item[group])):
        labels = {group: row[group]} if group else {}
        for index, bound in enumerate(buckets):
            _sample(lines, f"{name}_bucket", row[f"le_{index}"], {**labels, "le": _number(bound)})
        _sample(lines, f"{name}_bucket", row["count"], {**labels, "le": "+Inf"})
        _sample(lines, f"{name}_sum", row["total"], labels)
        _sample(lines, f"{name}_count", row["count"], labels)


def _upstream_calls(lines: list[str]) -> None:
    name = "supportbot_upstream_calls_total"
    _header(lines, name, "Calls to model providers, by tier, purpose and outcome (ok, fallback, error).", "counter")
    rows = (
        LedgerEntry.objects.exclude(outcome=LedgerEntry.Outcome.CACHE_HIT)
        .order_by()
        .values("tier", "purpose", "outcome")
        .annotate(calls=Count("pk"))
    )
    for row in sorted(rows, key=lambda item: (item["tier"], item["purpose"], item["outcome"])):
        _sample(lines, name, row["calls"], {"tier": row["tier"], "purpose": row["purpose"], "outcome": row["outcome"]})


def _fallbacks(lines: list[str], answers: QuerySet) -> None:
    name = "supportbot_answer_fallbacks_total"
    _header(lines, name, "Answers finished by a fallback tier, by the tier that finished them.", "counter")
    rows = answers.filter(fell_back=True).order_by().values("tier").annotate(answers=Count("pk"))
    for row in sorted(rows, key=lambda item: item["tier"]):
        _sample(lines, name, row["answers"], {"tier": row["tier"]})


def _cache_hits(lines: list[str], answers: QuerySet) -> None:
    answered = dict(answers.order_by().values_list("tier").annotate(total=Count("pk")))
    _header(lines, "supportbot_answers_total", "Answers stored, by tier (cache hits included).", "counter")
    for tier in sorted(answered):
        _sample(lines, "supportbot_answers_total", answered[tier], {"tier": tier})
    hits = LedgerEntry.objects.filter(outcome=LedgerEntry.Outcome.CACHE_HIT)
    _header(lines, "supportbot_answer_cache_hits_total", "Answers served from the answer cache.", "counter")
    _sample(lines, "supportbot_answer_cache_hits_total", hits.count())
    since = timezone.now() - CACHE_RATIO_WINDOW
    recent_answers = answers.filter(created_at__gte=since).count()
    recent_hits = hits.filter(created_at__gte=since).count()
    _header(
        lines, "supportbot_answer_cache_hit_ratio", "Share of answers served from the cache in the last hour.", "gauge"
    )
    _sample(lines, "supportbot_answer_cache_hit_ratio", recent_hits / recent_answers if recent_answers else 0)


# --- circuit breakers --------------------------------------------------------------------------


def _breakers(lines: list[str]) -> None:
    name = "supportbot_breaker_state"
    _header(lines, name, "Circuit breaker per tier: 1 for its current state (closed, open, half_open).", "gauge")
    states = routing_selectors.breaker_states()
    for tier in TIER_ORDER:
        current = states.get(str(tier), "closed")
        for state in ("closed", "open", "half_open"):
            _sample(lines, name, 1 if state == current else 0, {"tier": str(tier), "state": state})


# --- handoff queue ----------------------------------------------------------------------------


def _handoff_queue(lines: list[str]) -> None:
    waiting = Conversation.objects.filter(status=Conversation.Status.WAITING)
    oldest = waiting.order_by("waiting_since").values_list("waiting_since", flat=True).first()
    _header(lines, "supportbot_handoff_queue_length", "Conversations waiting for an agent now.", "gauge")
    _sample(lines, "supportbot_handoff_queue_length", waiting.count())
    _header(
        lines, "supportbot_handoff_oldest_wait_seconds", "How long the longest-waiting customer has waited.", "gauge"
    )
    _sample(lines, "supportbot_handoff_oldest_wait_seconds", (timezone.now() - oldest).total_seconds() if oldest else 0)
    _histogram(
        lines,
        "supportbot_handoff_wait_seconds",
        "Time from a handoff request to an agent joining.",
        [_queue_wait_row()],
        QUEUE_WAIT_BUCKETS_S,
        group="",
    )


def _queue_wait_row() -> dict[str, Any]:
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
    waits = [(joined - asked).total_seconds() for joined, asked in joins.iterator()]
    row: dict[str, Any] = {"": "", "count": len(waits), "total": sum(waits)}
    for index, bound in enumerate(QUEUE_WAIT_BUCKETS_S):
        row[f"le_{index}"] = sum(1 for wait in waits if wait <= bound)
    return row


# --- open sockets ------------------------------------------------------------------------------


def _sockets(lines: list[str]) -> None:
    name = "supportbot_open_sockets"
    _header(lines, name, "Open websockets per web process and kind.", "gauge")
    for process, counts in sorted(conversations_selectors.open_sockets_by_process().items()):
        for kind, count in sorted(counts.items()):
            _sample(lines, name, count, {"process": process, "kind": kind})
