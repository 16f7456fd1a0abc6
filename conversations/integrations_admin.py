"""Admin for what connects the shop's systems: API tokens, webhook endpoints and their delivery log,
customer emails and verified customers. Records are read-only; the actions call the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from conversations import integrations
from conversations.api.tokens import api_token_fill, api_tokens_revoke
from conversations.events import ConversationEvent
from conversations.models import ApiToken, Customer, OutboundEmail, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def _conversation_link(conversation: Any) -> str:
    if conversation is None:
        return ""
    url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
    return format_html('<a href="{}">{}</a>', url, conversation.public_id)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A log: nothing is added or edited here, only read (and acted on through actions)."""

    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- API tokens --------------------------------------------------------------------------------


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ["name", "user", "scopes"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            user_field = self.fields["user"]
            assert isinstance(user_field, forms.ModelChoiceField)
            user_field.queryset = get_user_model().objects.filter(is_staff=True, is_active=True)
            user_field.help_text = "The staff account the token acts as: its messages are this agent's."


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ("name", "prefix", "user", "scope_list", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    list_select_related = ("user",)
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        return ["name", "user", "scopes"] + ([] if obj is None else list(self.readonly_fields))

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> tuple[str, ...]:
        # Who a token acts as is fixed when it is made: make a new token instead.
        return self.readonly_fields + (("user",) if obj is not None else ())

    @admin.display(description="scopes")
    def scope_list(self, token: ApiToken) -> str:
        return ", ".join(token.scopes)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: forms.ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        raw = api_token_fill(obj)
        super().save_model(request, obj, form, change)
        # The only time the token is shown: the database keeps its hash.
        messages.warning(request, f"The new API token (copy it now; it will not be shown again): {raw}")

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = api_tokens_revoke(token_ids=queryset.values_list("pk", flat=True))
        messages.success(request, f"{revoked} token(s) revoked.")


# --- Webhooks ------------------------------------------------------------------------------------


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(event.value, event.value) for event in ConversationEvent], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("https://", "http://")):
            raise forms.ValidationError("A webhook URL starts with https:// (or http:// on a private network).")
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "active", "event_list", "created_at", "deliveries_link")
    list_filter = ("active",)
    readonly_fields = ("secret", "created_at", "deliveries_link")

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> Any:
        fields = ["url", "description", "events", "active"]
        return fields if obj is None else [*fields, *self.readonly_fields]

    @admin.display(description="events")
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events)

    @admin.display(description="delivery log")
    def deliveries_link(self, endpoint: WebhookEndpoint) -> str:
        url = reverse("admin:conversations_webhookdelivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">Deliveries to this URL</a>', url)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "duration_ms", "response_status", "error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "event",
        "endpoint",
        "conversation_link",
        "status",
        "attempts",
        "response_status",
        "next_attempt_at",
        "finished_at",
    )
    list_filter = ("status", "event", "endpoint", "created_at")
    search_fields = ("public_id", "event_id", "conversation__public_id")
    list_select_related = ("endpoint", "conversation")
    date_hierarchy = "created_at"
    inlines = (WebhookAttemptInline,)
    fields = (
        "public_id",
        "event_id",
        "event",
        "endpoint",
        "conversation_link",
        "status",
        "attempts",
        "next_attempt_at",
        "finished_at",
        "response_status",
        "response_excerpt",
        "last_error",
        "payload",
        "created_at",
    )
    readonly_fields = fields
    actions = ("redeliver",)

    @admin.display(description="conversation")
    def conversation_link(self, delivery: WebhookDelivery) -> str:
        return _conversation_link(delivery.conversation)

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("conversations.change_webhookdelivery")

    @admin.action(description="Redeliver the selected deliveries", permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        again = integrations.webhooks_redeliver(delivery_ids=list(queryset.values_list("pk", flat=True)))
        skipped = queryset.count() - again
        note = f" ({skipped} being sent right now left alone)" if skipped else ""
        messages.success(request, f"{again} delivery(ies) queued again{note}.")


# --- Customers and their emails --------------------------------------------------------------------


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "to", "subject", "status", "attempts", "finished_at", "conversation_link")
    list_filter = ("kind", "status", "created_at")
    search_fields = ("to", "conversation__public_id")
    list_select_related = ("conversation",)
    date_hierarchy = "created_at"
    fields = (
        "kind",
        "to",
        "subject",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "finished_at",
        "created_at",
        "conversation_link",
    )
    readonly_fields = fields

    @admin.display(description="conversation")
    def conversation_link(self, email: OutboundEmail) -> str:
        return _conversation_link(email.conversation)


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("external_id", "name", "email", "created_at", "last_seen_at", "conversations_link")
    search_fields = ("external_id", "email", "name")
    fields = ("external_id", "name", "email", "created_at", "last_seen_at", "conversations_link")
    readonly_fields = fields

    @admin.display(description="conversations")
    def conversations_link(self, customer: Customer) -> str:
        url = reverse("admin:conversations_conversation_changelist") + f"?customer__id__exact={customer.pk}"
        return format_html('<a href="{}">Conversations of this customer</a>', url)
