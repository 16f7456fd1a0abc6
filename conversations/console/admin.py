"""Admin for the console's lists and settings: tags, contact reasons, the re-offer timeout; notes and
offers read-only. ``conversations.admin`` imports this module (so Django registers it) and uses its
filters on the conversation list."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from conversations.models import (
    ChatOffer,
    ConsoleSettings,
    ContactReason,
    ConversationReason,
    ConversationTag,
    InternalNote,
)
from conversations.offers import console_settings_get


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in ConversationTag.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        tag = _row_id(self.value())
        return queryset if tag is None else queryset.filter(tags=tag)


def _row_id(value: str | None) -> int | None:
    """A filter's value as a row's id, or None when it cannot be one (not digits, past a 64-bit integer)."""
    return int(value) if value and value.isdigit() and len(value) <= 18 else None


class ContactReasonFilter(admin.SimpleListFilter):
    title = "contact reason"
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in ContactReason.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        reason = _row_id(self.value())
        if reason is None:
            return queryset
        standing = ConversationReason.objects.filter(conversation=OuterRef("pk"), reason_id=reason, removed=False)
        return queryset.filter(Exists(standing))


@admin.register(ConversationTag)
class ConversationTagAdmin(admin.ModelAdmin):
    """The tags agents may put on conversations in the console."""

    list_display = ("name", "conversation_count")
    search_fields = ("name",)
    fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(conversation_count=Count("conversations"))

    @admin.display(description="conversations", ordering="conversation_count")
    def conversation_count(self, tag: ConversationTag) -> int:
        return int(getattr(tag, "conversation_count", 0))


@admin.register(ContactReason)
class ContactReasonAdmin(admin.ModelAdmin):
    """The list the batch tags closed conversations with; corrections are counted per reason."""

    list_display = ("name", "active", "position", "conversations", "corrections")
    list_editable = ("active", "position")
    search_fields = ("name", "description", "article_tags", "router_categories")
    fields = ("name", "description", "article_tags", "router_categories", "active", "position")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        removed_batch = Q(conversation_reasons__source="batch", conversation_reasons__removed=True)
        added_by_agent = Q(conversation_reasons__source="agent", conversation_reasons__removed=False)
        return (
            super()
            .get_queryset(request)
            .annotate(
                standing=Count(
                    "conversation_reasons__conversation",
                    filter=Q(conversation_reasons__removed=False),
                    distinct=True,
                ),
                corrected=Count("conversation_reasons", filter=removed_batch | added_by_agent),
            )
        )

    @admin.display(description="conversations", ordering="standing")
    def conversations(self, reason: ContactReason) -> int:
        return int(getattr(reason, "standing", 0))

    @admin.display(description="agent corrections", ordering="corrected")
    def corrections(self, reason: ContactReason) -> int:
        return int(getattr(reason, "corrected", 0))


@admin.register(ConsoleSettings)
class ConsoleSettingsAdmin(admin.ModelAdmin):
    """One row: the list page goes straight to it."""

    fields = ("reoffer_after_s", "updated_at")
    readonly_fields = ("updated_at",)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        row = console_settings_get()
        return HttpResponseRedirect(reverse("admin:conversations_consolesettings_change", args=[row.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InternalNote)
class InternalNoteAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "conversation", "author", "text")
    search_fields = ("text", "conversation__public_id")
    list_select_related = ("conversation", "author")
    raw_id_fields = ("conversation", "author")
    show_full_result_count = False


@admin.register(ChatOffer)
class ChatOfferAdmin(ReadOnlyAdmin):
    """Who was offered which waiting chat, and whether they opened it in time."""

    list_display = ("offered_at", "conversation", "agent", "status")
    list_filter = ("status", "agent")
    list_select_related = ("conversation", "agent")
    raw_id_fields = ("conversation", "agent")
    show_full_result_count = False
