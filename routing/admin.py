"""Admin for tiers, the cost ledger and the budget caps.

The ledger is the record of what was spent, so it is read-only here; tiers are edited here
and the router reads them again for the next message (``routing.selectors.tier_catalogue``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from routing.budgets import budget_settings_get
from routing.cache import cache_savings
from routing.models import BudgetSettings, LedgerEntry, Tier
from routing.pricing import COST_QUANTUM
from routing.tiers import TIER_ORDER


class TotalsChangeListMixin(admin.ModelAdmin):
    """Adds a totals row (sums over every row matching the current filters) under the change list.

    ``totals_fields`` maps a label to the field summed; the row count comes from the same query.
    """

    change_list_template = "admin/change_list_totals.html"
    totals_fields: dict[str, str] = {}

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        # A redirect (e.g. after an action) has no context; a rendered list has its change list.
        if isinstance(response, TemplateResponse) and response.context_data and "cl" in response.context_data:
            response.context_data["totals"] = self.totals_for(response.context_data["cl"].queryset)
        return response

    def totals_for(self, queryset: QuerySet) -> list[tuple[str, Any]]:
        sums = queryset.order_by().aggregate(
            rows=Count("pk"), **{name: Sum(name) for name in self.totals_fields.values()}
        )
        return [("rows", sums["rows"])] + [(label, _exact(sums[name])) for label, name in self.totals_fields.items()]


def _exact(total: object) -> object:
    # SQLite sums decimals as floats: back to the ledger's 8 places.
    return total.quantize(COST_QUANTUM) if isinstance(total, Decimal) else total or 0


class TierNameFilter(admin.SimpleListFilter):
    """A fixed list of tiers: a DISTINCT over a big table on every page load is what this avoids."""

    title = "tier"
    parameter_name = "tier"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(tier), str(tier).title()) for tier in TIER_ORDER]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(tier=self.value()) if self.value() else queryset


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "model",
        "enabled",
        "price_input_per_1k",
        "price_cached_input_per_1k",
        "price_output_per_1k",
        "context_window",
        "latency_target_ms",
        "fallbacks",
        "updated_at",
    )
    list_editable = ("enabled", "price_input_per_1k", "price_cached_input_per_1k", "price_output_per_1k")
    readonly_fields = ("updated_at",)
    fieldsets = (
        (None, {"fields": ("name", "model", "enabled", "fallbacks", "updated_at")}),
        (
            "Prices (USD per 1,000 tokens)",
            {"fields": ("price_input_per_1k", "price_cached_input_per_1k", "price_output_per_1k")},
        ),
        ("Capabilities", {"fields": ("context_window", "latency_target_ms", "multimodal", "fine_tunable")}),
        (
            "Timeouts (seconds)",
            {"fields": ("connect_timeout_s", "first_token_timeout_s", "idle_timeout_s", "total_timeout_s")},
        ),
    )

    def save_model(self, request: HttpRequest, obj: Tier, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        messages.info(request, f"{obj} changes apply from the next customer message; no restart needed.")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(TotalsChangeListMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "conversation_link",
        "purpose",
        "tier",
        "model",
        "outcome",
        "input_tokens",
        "cached_input_tokens",
        "output_tokens",
        "cost",
        "time_to_first_token_ms",
        "latency_ms",
        "usage_estimated",
    )
    list_filter = ("purpose", TierNameFilter, "outcome", "created_at", "usage_estimated")
    # "=call_id": the X-Supportbot-Call-Id of a request in a provider's log finds its row.
    search_fields = ("=call_id", "conversation__public_id", "model", "error")
    readonly_fields = ("call_id",)
    list_select_related = ("conversation",)
    list_per_page = 100
    show_full_result_count = False
    date_hierarchy = "created_at"
    totals_fields = {
        "cost": "cost",
        "input tokens": "input_tokens",
        "cached input tokens": "cached_input_tokens",
        "output tokens": "output_tokens",
    }

    def totals_for(self, queryset: QuerySet) -> list[tuple[str, Any]]:
        # Cache hits cost nothing; what they saved is the cost and time of the answers they repeat.
        savings = cache_savings(entries=queryset)
        return super().totals_for(queryset) + [
            ("answers from cache", savings.hits),
            ("cost saved by the cache", savings.cost),
            ("time saved by the cache (s)", savings.seconds),
        ]

    @admin.display(description="conversation", ordering="conversation")
    def conversation_link(self, entry: LedgerEntry) -> str:
        if entry.conversation is None:
            return "-"
        url = reverse("admin:conversations_conversation_change", args=[entry.conversation_id])
        return format_html('<a href="{}">{}</a>', url, entry.conversation.public_id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LedgerEntry | None = None) -> bool:
        return False  # what was spent is a record, not a setting

    def has_delete_permission(self, request: HttpRequest, obj: LedgerEntry | None = None) -> bool:
        return False  # deleting a row would part the totals from the rows they are the sum of


@admin.register(BudgetSettings)
class BudgetSettingsAdmin(admin.ModelAdmin):
    """One row: the list page goes straight to it."""

    fields = ("daily_cap", "conversation_cap", "updated_at")
    readonly_fields = ("updated_at",)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        settings_row = budget_settings_get()
        return HttpResponseRedirect(reverse("admin:routing_budgetsettings_change", args=[settings_row.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: BudgetSettings | None = None) -> bool:
        return False
