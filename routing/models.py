from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from routing.tiers import TierConfig, TierName

logger = logging.getLogger(__name__)


class Tier(models.Model):
    """One row per model tier; edits take effect on the next message, no restart."""

    name = models.CharField(max_length=16, choices=[(t.value, t.value.title()) for t in TierName], unique=True)
    model = models.CharField(
        max_length=100, blank=True, help_text="Model name at the provider. Blank: the SUPPORTBOT_MODEL_<TIER> setting."
    )
    context_window = models.PositiveIntegerField()
    price_input_per_1k = models.DecimalField(max_digits=10, decimal_places=6)
    price_cached_input_per_1k = models.DecimalField(max_digits=10, decimal_places=6)
    price_output_per_1k = models.DecimalField(max_digits=10, decimal_places=6)
    latency_target_ms = models.PositiveIntegerField()
    multimodal = models.BooleanField(default=False)
    fine_tunable = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    connect_timeout_s = models.FloatField(default=3.0)
    first_token_timeout_s = models.FloatField(default=10.0)
    idle_timeout_s = models.FloatField(
        default=10.0, help_text="Once text flows, the longest silence between two chunks before the stream is dead."
    )
    total_timeout_s = models.FloatField(
        default=60.0,
        help_text="Bounds only a request without an output token cap; never cuts a stream that keeps sending.",
    )
    fallbacks = models.CharField(
        max_length=100, blank=True, help_text="Comma-separated tier names tried in order when this one fails."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["context_window"]

    def __str__(self) -> str:
        return self.name.title()

    def clean(self) -> None:
        """What an admin may save: known fallback tiers, prices that are not negative, deadlines that are not zero."""
        errors: dict[str, str] = {}
        names = [name.strip() for name in self.fallbacks.split(",") if name.strip()]
        unknown = [name for name in names if name not in TierName._value2member_map_]
        if unknown:
            known = ", ".join(tier.value for tier in TierName)
            errors["fallbacks"] = (
                f"Unknown tier {', '.join(map(repr, unknown))}: use tier names ({known}), comma-separated."
            )
        elif len(set(names)) != len(names):
            errors["fallbacks"] = "Name each fallback tier once."
        for field in ("price_input_per_1k", "price_cached_input_per_1k", "price_output_per_1k"):
            value = getattr(self, field)
            if value is not None and value < 0:
                errors[field] = "A price cannot be negative."
        for field in ("connect_timeout_s", "first_token_timeout_s", "idle_timeout_s", "total_timeout_s"):
            value = getattr(self, field)
            if value is not None and not value > 0:
                errors[field] = "A deadline must be more than 0 seconds."
        if self.context_window is not None and self.context_window < 1:
            errors["context_window"] = "A context window holds at least one token."
        if errors:
            raise ValidationError(errors)

    def to_config(self) -> TierConfig:
        return TierConfig(
            name=TierName(self.name),
            model=self.model or settings.SUPPORTBOT_MODELS[self.name],
            context_window=self.context_window,
            price_input_per_1k=self.price_input_per_1k,
            price_cached_input_per_1k=self.price_cached_input_per_1k,
            price_output_per_1k=self.price_output_per_1k,
            latency_target_ms=self.latency_target_ms,
            multimodal=self.multimodal,
            fine_tunable=self.fine_tunable,
            enabled=self.enabled,
            connect_timeout_s=self.connect_timeout_s,
            first_token_timeout_s=self.first_token_timeout_s,
            idle_timeout_s=self.idle_timeout_s,
            total_timeout_s=self.total_timeout_s,
            fallbacks=self._fallbacks(),
        )

    def _fallbacks(self) -> tuple[TierName, ...]:
        """The fallback tiers; a name that is no tier (saved before ``clean`` checked it) is skipped, loudly."""
        names = [name.strip() for name in self.fallbacks.split(",") if name.strip()]
        unknown = [name for name in names if name not in TierName._value2member_map_]
        if unknown:
            logger.error("tier %s: unknown fallback tier(s) %s ignored; fix them in the admin", self.name, unknown)
        return tuple(TierName(name) for name in names if name not in unknown)


class LedgerEntry(models.Model):
    """One upstream model call: the source of every cost figure in the product."""

    class Purpose(models.TextChoices):
        ANSWER = "answer", "Answer"
        SUMMARY = "summary", "Summary"
        CLASSIFICATION = "classification", "Classification"
        TAGGING = "tagging", "Contact-reason tagging"
        REWRITE = "rewrite", "Follow-up rewritten for retrieval"

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        FALLBACK = "fallback", "Failed, fell back"
        ERROR = "error", "Error"
        CACHE_HIT = "cache_hit", "Answered from cache"
        # The answer became void while it streamed (a person took over): the call was closed early.
        STOPPED = "stopped", "Stopped: the answer was no longer wanted"
        # Written when the call is sent and closed when it ends: a row still running after its
        # process died is a call the provider may bill, priced at the prompt's estimate.
        RUNNING = "running", "In flight, or its process died mid-call"

    # The gateway's id for the upstream call: the row is opened and closed under it, written once.
    call_id = models.CharField(max_length=32, null=True, unique=True, editable=False)
    attempt = models.CharField(
        max_length=32, blank=True, db_index=True, help_text="The answer or summary attempt that made the call."
    )
    # What was spent stays spent: erasing a conversation keeps its calls' rows, without the link.
    conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="ledger_entries"
    )
    message = models.ForeignKey(
        "conversations.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="ledger_entries"
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    tier = models.CharField(max_length=16, db_index=True)
    model = models.CharField(max_length=100)
    provider = models.CharField(max_length=40)
    input_tokens = models.PositiveIntegerField(default=0)
    cached_input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal("0"))
    usage_estimated = models.BooleanField(default=False)
    latency_ms = models.PositiveIntegerField(default=0)
    time_to_first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, db_index=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.purpose} {self.tier}/{self.model} ${self.cost}"


class DailySpend(models.Model):
    """What the ledger's calls of one local calendar day (``settings.TIME_ZONE``) cost in all.

    Kept in the same transaction as every ledger write (``routing.services.daily_spend_add``),
    so it always equals the sum of that day's ledger rows; the spend limits read one row
    instead of summing a day's calls on every answer.
    """

    day = models.DateField(primary_key=True)
    cost = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal("0"))

    class Meta:
        ordering = ["-day"]
        verbose_name = "daily spend"
        verbose_name_plural = "daily spend"

    def __str__(self) -> str:
        return f"{self.day} ${self.cost}"


class BudgetSettings(models.Model):
    """The cost caps, one row edited in the admin; a reached cap makes the router pick a smaller tier."""

    daily_cap = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Spend per day (all conversations) in USD. Blank: no cap.",
    )
    conversation_cap = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Spend per conversation in USD. Blank: no cap.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "budget"
        verbose_name_plural = "budget"

    def __str__(self) -> str:
        return "Budget caps"

    def clean(self) -> None:
        errors = {
            field: "A cap cannot be negative (leave it blank for no cap)."
            for field in ("daily_cap", "conversation_cap")
            if getattr(self, field) is not None and getattr(self, field) < 0
        }
        if errors:
            raise ValidationError(errors)
