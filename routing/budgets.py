"""Cost caps and how much of them is spent, as the router's ``BudgetState``.

Spend comes from the ledger, the one record of what upstream calls cost, so a cap can never
disagree with the dashboard: a conversation's is summed from its rows, a day's is read from its
``DailySpend`` row, kept equal to the sum of the day's rows in the same transaction as every
ledger write. The caps live in one ``BudgetSettings`` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from routing.models import BudgetSettings, DailySpend, LedgerEntry
from routing.pricing import COST_QUANTUM
from routing.router import BudgetState

BUDGET_SETTINGS_PK = 1
# The dashboard warns before a cap bites, from this share of it.
BUDGET_WARNING_SHARE = Decimal("0.8")


def budget_settings_get() -> BudgetSettings:
    """The single settings row, created empty (no caps) on first use."""
    settings_row, _ = BudgetSettings.objects.get_or_create(pk=BUDGET_SETTINGS_PK)
    return settings_row


def day_bounds(*, day: datetime | None = None) -> tuple[datetime, datetime]:
    """Start and end of the local calendar day (settings.TIME_ZONE) containing ``day`` (default: now)."""
    local_day = timezone.localtime(day or timezone.now()).date()
    start = timezone.make_aware(datetime.combine(local_day, time.min))
    return start, start + timedelta(days=1)


def ledger_spent(*, conversation_id: int | None = None, since: datetime | None = None) -> Decimal:
    """Sum of ledger costs, for one conversation and/or since a moment."""
    rows = LedgerEntry.objects.all()
    if conversation_id is not None:
        rows = rows.filter(conversation_id=conversation_id)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    # SQLite sums decimals as floats: back to the ledger's 8 places.
    return (rows.aggregate(total=Sum("cost"))["total"] or Decimal("0")).quantize(COST_QUANTUM)


def daily_spent(*, day: date | None = None) -> Decimal:
    """What the ledger's calls of ``day`` (default: today, local time) cost in all: one row read, however
    many calls the day had."""
    spent = DailySpend.objects.filter(day=day or timezone.localdate()).values_list("cost", flat=True).first()
    return (spent or Decimal("0")).quantize(COST_QUANTUM)


def budget_state(*, conversation_id: int | None, conversation_spent: Decimal | None = None) -> BudgetState:
    """What the router needs to apply the caps to the next message of ``conversation_id``.

    ``conversation_spent`` may be passed by a caller that already read the conversation's
    running total (kept in the same transaction as its ledger rows); otherwise it is summed.
    """
    caps = budget_settings_get()
    if conversation_spent is None:
        conversation_spent = (
            ledger_spent(conversation_id=conversation_id) if conversation_id is not None else Decimal("0")
        )
    return BudgetState(
        conversation_spent=conversation_spent,
        conversation_cap=caps.conversation_cap,
        daily_spent=daily_spent(),
        daily_cap=caps.daily_cap,
    )


@dataclass(frozen=True)
class BudgetAlert:
    scope: str  # "daily" or "conversation"
    level: str  # "reached" or "warning"
    message: str


def budget_alerts() -> list[BudgetAlert]:
    """Caps reached (or nearly) today, for the dashboard banner."""
    caps = budget_settings_get()
    day_start, _ = day_bounds()
    alerts = []
    if caps.daily_cap is not None:
        alert = _daily_alert(spent=daily_spent(), cap=caps.daily_cap)
        if alert is not None:
            alerts.append(alert)
    if caps.conversation_cap is not None:
        over = conversations_over_cap(cap=caps.conversation_cap, since=day_start)
        if over:
            message = (
                f"{over} conversation(s) active today reached the ${caps.conversation_cap:.4f} per-conversation cap; "
                "their next answers use smaller tiers."
            )
            alerts.append(BudgetAlert(scope="conversation", level="reached", message=message))
    return alerts


def _daily_alert(*, spent: Decimal, cap: Decimal) -> BudgetAlert | None:
    if spent >= cap:
        message = f"Daily budget reached: ${spent:.4f} of ${cap:.4f} spent today; answers now use smaller tiers."
        return BudgetAlert(scope="daily", level="reached", message=message)
    if spent >= cap * BUDGET_WARNING_SHARE:
        message = f"Daily budget nearly reached: ${spent:.4f} of ${cap:.4f} spent today."
        return BudgetAlert(scope="daily", level="warning", message=message)
    return None


def conversations_over_cap(*, cap: Decimal, since: datetime) -> int:
    """Conversations with ledger activity since ``since`` whose whole spend reached ``cap``."""
    active = (
        LedgerEntry.objects.filter(created_at__gte=since, conversation__isnull=False)
        .values("conversation_id")
        .distinct()
    )
    return (
        LedgerEntry.objects.filter(conversation_id__in=active)
        .values("conversation_id")
        .annotate(total=Sum("cost"))
        .filter(total__gte=cap)
        .count()
    )
