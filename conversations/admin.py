"""Admin for conversations and everything staff edit or need to see about them, fast on big tables.

Records (conversations, messages, ratings, summaries, photos, task failures) are read-only: a
conversation's page shows its transcript with what each answer cost and how it was made, and
status changes belong to the services (handoff, close). Staff edit canned responses, agents'
availability (through ``handoff.agent_availability_set``) and mark tickets done (``tickets``).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from conversations import handoff, tickets
from conversations.console.admin import ContactReasonFilter, TagFilter
from conversations.models import (
    AgentProfile,
    Attachment,
    CannedResponse,
    Conversation,
    Message,
    Rating,
    Summary,
    TaskFailure,
    Ticket,
)
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
        "language",
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
    list_filter = (
        "status",
        AnswerTierFilter,
        HandoffFilter,
        "created_at",
        RatingFilter,
        TagFilter,
        ContactReasonFilter,
    )
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
        "language",
        "short_text",
        "tier",
        "model",
        "input_tokens",
        "output_tokens",
        "cost",
        "time_to_first_token_ms",
    )
    list_filter = ("role", "kind", "language", TierNameFilter, "created_at", "fell_back")
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


# --- what staff edit ----------------------------------------------------------------------------


def _conversation_link(conversation: Conversation) -> str:
    url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
    return format_html('<a href="{}">{}</a>', url, conversation.public_id)


def _shortened(text: str, *, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    """Replies agents insert with one click; a console shows the list as it was when its page loaded."""

    list_display = ("title", "position", "short_text")
    list_editable = ("position",)
    search_fields = ("title", "text")
    fields = ("title", "text", "position")

    @admin.display(description="text")
    def short_text(self, canned: CannedResponse) -> str:
        return _shortened(canned.text)


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    """Who receives handoffs and how many at once. A staff user gets a profile on their first console
    visit; add one here to set a cap first. Saved through the service, so consoles show it at once."""

    list_display = ("user", "staff", "online", "max_concurrent_chats", "open_chats", "updated_at")
    list_editable = ("online", "max_concurrent_chats")
    list_filter = ("online",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "user__email")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    fields = ("user", "online", "max_concurrent_chats", "open_chats", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        open_statuses = [Conversation.Status.WAITING, Conversation.Status.AGENT]
        assigned = Count(
            "user__assigned_conversations", filter=Q(user__assigned_conversations__status__in=open_statuses)
        )
        return super().get_queryset(request).annotate(open_chats=assigned)

    def get_readonly_fields(self, request: HttpRequest, obj: AgentProfile | None = None) -> tuple[str, ...]:
        return ("open_chats", "updated_at") if obj is None else ("user", "open_chats", "updated_at")

    @admin.display(description="staff", boolean=True, ordering="user__is_staff")
    def staff(self, profile: AgentProfile) -> bool:
        return profile.user.is_staff  # only active staff users are assigned chats

    @admin.display(description="open chats (waiting or talking)", ordering="open_chats")
    def open_chats(self, profile: AgentProfile) -> int:
        return getattr(profile, "open_chats", 0)

    def save_model(self, request: HttpRequest, obj: AgentProfile, form: Any, change: bool) -> None:
        saved = handoff.agent_availability_set(
            agent_id=obj.user_id, online=obj.online, max_concurrent_chats=obj.max_concurrent_chats
        )
        obj.pk = saved.pk  # the admin's messages and redirect after an addition need it

    def has_delete_permission(self, request: HttpRequest, obj: AgentProfile | None = None) -> bool:
        return False  # set them offline instead: a deleted profile comes back online on the next console visit


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Out-of-hours messages: read here, marked done with the action (or from the console)."""

    list_display = ("created_at", "email", "short_message", "status", "conversation_link", "resolved_by", "resolved_at")
    list_filter = ("status", "created_at")
    search_fields = ("email", "message", "=conversation__public_id")
    list_select_related = ("conversation", "resolved_by")
    list_per_page = 100
    show_full_result_count = False
    date_hierarchy = "created_at"
    actions = ("mark_done",)
    fields = ("conversation_link", "email", "message", "status", "created_at", "resolved_by", "resolved_at")
    readonly_fields = fields

    @admin.display(description="conversation", ordering="conversation")
    def conversation_link(self, ticket: Ticket) -> str:
        return _conversation_link(ticket.conversation)

    @admin.display(description="message")
    def short_message(self, ticket: Ticket) -> str:
        return _shortened(ticket.message)

    @admin.action(description="Mark the selected tickets done", permissions=["change"])
    def mark_done(self, request: HttpRequest, queryset: QuerySet) -> None:
        agent_id = cast(int, request.user.pk)  # the admin serves signed-in staff only
        done = sum(
            tickets.ticket_resolve(ticket_id=ticket_id, agent_id=agent_id)
            for ticket_id in queryset.filter(status=Ticket.Status.OPEN).values_list("pk", flat=True)
        )
        self.message_user(request, f"{done} ticket(s) marked done.", messages.SUCCESS)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Every field is read-only: no save buttons that would save nothing.
        context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        return super().change_view(request, object_id, form_url, extra_context=context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        return False


# --- what staff need to see -------------------------------------------------------------------


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin):
    """Briefings for agents and compressed histories, as the summary tasks wrote them."""

    list_display = ("created_at", "conversation_link", "purpose", "upto_seq", "status", "engine", "attempts", "cost")
    list_filter = ("purpose", "status", "created_at")
    search_fields = ("=conversation__public_id",)
    list_select_related = ("conversation",)
    list_per_page = 100
    show_full_result_count = False
    date_hierarchy = "created_at"
    fields = (
        "conversation_link",
        "purpose",
        "upto_seq",
        "status",
        "engine",
        "attempts",
        "cost",
        "created_at",
        "finished_at",
        "text",
        "data",
    )
    readonly_fields = fields

    @admin.display(description="conversation", ordering="conversation")
    def conversation_link(self, summary: Summary) -> str:
        return _conversation_link(summary.conversation)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Summary | None = None) -> bool:
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Customers' photos. The link opens the download view, which serves staff sessions and the
    conversation's own visitor only, from whichever storage keeps the photos; nothing is edited here."""

    list_display = ("created_at", "conversation_link", "content_type", "dimensions", "size", "sent", "download")
    list_filter = ("content_type", "created_at")
    search_fields = ("=public_id", "=conversation__public_id")
    list_select_related = ("conversation",)
    list_per_page = 100
    show_full_result_count = False
    date_hierarchy = "created_at"
    fields = (
        "public_id",
        "conversation_link",
        "message_link",
        "content_type",
        "dimensions",
        "size",
        "created_at",
        "download",
        "preview",
    )
    readonly_fields = fields

    @admin.display(description="conversation", ordering="conversation")
    def conversation_link(self, attachment: Attachment) -> str:
        return _conversation_link(attachment.conversation)

    @admin.display(description="message")
    def message_link(self, attachment: Attachment) -> str:
        if attachment.message_id is None:
            return "not sent (uploaded only)"
        url = reverse("admin:conversations_message_change", args=[attachment.message_id])
        return format_html('<a href="{}">the customer message</a>', url)

    @admin.display(description="size (px)")
    def dimensions(self, attachment: Attachment) -> str:
        return f"{attachment.width} \u00d7 {attachment.height}"

    @admin.display(description="sent", boolean=True)
    def sent(self, attachment: Attachment) -> bool:
        return attachment.message_id is not None

    @admin.display(description="photo")
    def download(self, attachment: Attachment) -> str:
        return format_html('<a href="{}">Open</a>', _download_url(attachment))

    @admin.display(description="preview")
    def preview(self, attachment: Attachment) -> str:
        return format_html(
            '<img src="{}" alt="Photo from the customer" style="max-width: 480px; max-height: 480px">',
            _download_url(attachment),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Attachment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Attachment | None = None) -> bool:
        return False  # the stored photo and the message that shows it would be left behind


def _download_url(attachment: Attachment) -> str:
    return reverse("attachment-download", args=[attachment.public_id])
