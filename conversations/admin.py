"""Admin for conversations, messages and ratings: read-only records, fast on big tables.

A conversation's page shows its transcript with what each answer cost and how it was made.
Status changes belong to the services (handoff, close), so nothing here edits a conversation.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from conversations.models import Conversation, Message, Rating, TaskFailure
from routing.admin import TierNameFilter, TotalsChangeListMixin
from routing.types import TIER_ORDER


def _handoff_events() -> QuerySet:
    return Message.objects.filter(conversation=OuterRef("pk"), kind="event", data__event="handoff_requested")


class AnswerTierFilter(admin.SimpleListFilter):
    title = "answered on tier"
    parameter_name = "tier"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(tier), str(tier).title()) for tier in TIER_ORDER]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        answers = Message.objects.filter(conversation=OuterRef("pk"), role=Message.Role.ASSISTANT, tier=self.value())
        return queryset.filter(Exists(answers))


class HandoffFilter(admin.SimpleListFilter):
    title = "handed off"
    parameter_name = "handoff"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Handed off to a person"), ("no", "Bot only")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        handed_off = Q(Exists(_handoff_events())) | Q(assigned_agent__isnull=False)
        if self.value() == "yes":
            return queryset.filter(handed_off)
        if self.value() == "no":
            return queryset.exclude(handed_off)
        return queryset


class RatingFilter(admin.SimpleListFilter):
    title = "rating"
    parameter_name = "rating"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(score), f"{score} / 5") for score in range(5, 0, -1)] + [("none", "Not rated")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "none":
            return queryset.filter(rating__isnull=True)
        value = self.value()
        if value in {str(score) for score in range(1, 6)}:
            return queryset.filter(rating__score=int(value))
        return queryset


class TranscriptInline(admin.TabularInline):
    """The conversation's messages in order, with each answer's tier, model, tokens, cost and sources."""

    model = Message
    verbose_name_plural = "transcript"
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("seq",)
    fields = (
        "seq",
        "created_at",
        "role",
        "body",
        "tier",
        "model",
        "tokens",
        "cost",
        "time_to_first_token_ms",
        "cited_articles",
    )
    readonly_fields = fields

    @admin.display(description="message")
    def body(self, message: Message) -> str:
        return f"[{message.data.get('event', 'event')}] {message.text}" if message.kind == "event" else message.text

    @admin.display(description="tokens in / cached / out")
    def tokens(self, message: Message) -> str:
        if message.role != Message.Role.ASSISTANT:
            return ""
        return f"{message.input_tokens} / {message.cached_input_tokens} / {message.output_tokens}"

    @admin.display(description="cited articles")
    def cited_articles(self, message: Message) -> SafeString | str:
        citations = [c for c in message.citations if isinstance(c, dict) and c.get("url")]
        if not citations:
            return ""
        return format_html_join(
            ", ", '<a href="{}">{}</a>', ((c["url"], c.get("title") or c["url"]) for c in citations)
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(TotalsChangeListMixin, admin.ModelAdmin):
    list_display = (
        "public_id",
        "created_at",
        "status",
        "handed_off",
        "assigned_agent",
        "total_cost",
        "total_input_tokens",
        "total_output_tokens",
        "satisfaction_estimate",
        "rating_score",
    )
    list_filter = ("status", AnswerTierFilter, HandoffFilter, "created_at", RatingFilter)
    search_fields = ("public_id", "origin", "messages__text")
    list_select_related = ("assigned_agent", "rating")
    list_per_page = 50
    show_full_result_count = False
    date_hierarchy = "created_at"
    inlines = (TranscriptInline,)
    readonly_fields = (
        "public_id",
        "status",
        "origin",
        "assigned_agent",
        "created_at",
        "closed_at",
        "total_cost",
        "total_input_tokens",
        "total_output_tokens",
        "satisfaction_estimate",
        "rating_score",
        "rating_comment",
        "ledger_link",
    )
    fields = readonly_fields
    totals_fields = {"cost": "total_cost", "input tokens": "total_input_tokens", "output tokens": "total_output_tokens"}

    @admin.display(description="handed off", boolean=True)
    def handed_off(self, conversation: Conversation) -> bool:
        return bool(getattr(conversation, "has_handoff_event", False)) or conversation.assigned_agent_id is not None

    @admin.display(description="rating", ordering="rating__score")
    def rating_score(self, conversation: Conversation) -> int | None:
        rating = getattr(conversation, "rating", None)
        return rating.score if rating else None

    @admin.display(description="rating comment")
    def rating_comment(self, conversation: Conversation) -> str:
        rating = getattr(conversation, "rating", None)
        return rating.comment if rating else ""

    @admin.display(description="cost ledger")
    def ledger_link(self, conversation: Conversation) -> str:
        url = reverse("admin:routing_ledgerentry_changelist") + f"?conversation__id__exact={conversation.pk}"
        return format_html('<a href="{}">Every upstream call of this conversation</a>', url)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Conversation | None = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "conversation_link",
        "seq",
        "role",
        "short_text",
        "tier",
        "model",
        "input_tokens",
        "output_tokens",
        "cost",
        "time_to_first_token_ms",
    )
    list_filter = ("role", "kind", TierNameFilter, "created_at", "fell_back")
    search_fields = ("text", "conversation__public_id")
    list_select_related = ("conversation",)
    list_per_page = 100
    show_full_result_count = False
    date_hierarchy = "created_at"
    raw_id_fields = ("conversation", "author")

    @admin.display(description="conversation", ordering="conversation")
    def conversation_link(self, message: Message) -> str:
        url = reverse("admin:conversations_conversation_change", args=[message.conversation_id])
        return format_html('<a href="{}">{}</a>', url, message.conversation.public_id)

    @admin.display(description="text")
    def short_text(self, message: Message) -> str:
        return message.text if len(message.text) <= 80 else message.text[:79] + "\u2026"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ("created_at", "conversation_link", "score", "estimate", "comment")
    list_filter = ("score", "created_at")
    search_fields = ("comment", "conversation__public_id")
    list_select_related = ("conversation",)
    list_per_page = 100
    show_full_result_count = False
    raw_id_fields = ("conversation",)

    @admin.display(description="conversation", ordering="conversation")
    def conversation_link(self, rating: Rating) -> str:
        url = reverse("admin:conversations_conversation_change", args=[rating.conversation_id])
        return format_html('<a href="{}">{}</a>', url, rating.conversation.public_id)

    @admin.display(description="estimate", ordering="conversation__satisfaction_estimate")
    def estimate(self, rating: Rating) -> object:
        return rating.conversation.satisfaction_estimate

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Rating | None = None) -> bool:
        return False


@admin.register(TaskFailure)
class TaskFailureAdmin(admin.ModelAdmin):
    """Background tasks given up after too many deliveries: what to look into."""

    list_display = ("task_name", "task_id", "deliveries", "created_at")
    list_filter = ("task_name",)
    readonly_fields = ("task_name", "task_id", "deliveries", "arguments", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
