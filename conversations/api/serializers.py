"""How conversations, messages, ratings and ledger rows look in the API and in webhook payloads.

One representation for both, so a CRM that stores a webhook's ``conversation`` can refresh it from
``GET /api/v1/conversations/{id}/`` and get the same shape. Internal ids never leave: a
conversation is its ``public_id``, a message its ``seq`` within the conversation.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversations.models import Conversation, Customer, Message, Rating
from conversations.protocol import SERVER_ID_PREFIX
from conversations.selectors import agent_name
from routing.models import LedgerEntry


class CustomerSerializer(serializers.ModelSerializer):
    """A verified customer: the shop's own user id, with the email and name its page passed."""

    user_id = serializers.CharField(source="external_id")

    class Meta:
        model = Customer
        fields = ["user_id", "email", "name"]


class AgentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.SerializerMethodField()

    def get_name(self, user: Any) -> str:
        return agent_name(user)


class ConversationSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id")
    customer = CustomerSerializer(allow_null=True)
    assigned_agent = AgentSerializer(allow_null=True)
    last_seq = serializers.IntegerField(help_text="The seq of the latest message: how many messages it has.")

    class Meta:
        model = Conversation
        fields = [
            "id",
            "status",
            "origin",
            "customer",
            "assigned_agent",
            "created_at",
            "updated_at",
            "waiting_since",
            "closed_at",
            "last_seq",
            "total_cost",
            "total_input_tokens",
            "total_output_tokens",
            "satisfaction_estimate",
        ]
        read_only_fields = fields


class AttachmentSerializer(serializers.Serializer):
    id = serializers.CharField()
    content_type = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class MessageSerializer(serializers.ModelSerializer):
    """One message as staff see it: who wrote it, how the bot made it and what it cost."""

    reply_to = serializers.IntegerField(source="reply_to_seq", allow_null=True)
    author = serializers.SerializerMethodField()
    attachment = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()
    event = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "seq",
            "role",
            "kind",
            "text",
            "created_at",
            "client_id",
            "reply_to",
            "author",
            "event",
            "attachment",
            "tier",
            "model",
            "citations",
            "outcome",
            "input_tokens",
            "output_tokens",
            "cost",
        ]
        read_only_fields = fields

    @extend_schema_field(AgentSerializer(allow_null=True))
    def get_author(self, message: Message) -> dict[str, Any] | None:
        if message.role != Message.Role.AGENT or message.author_id is None:
            return None
        return {"id": message.author_id, "name": message.data.get("author_name", "")}

    @extend_schema_field(AttachmentSerializer(allow_null=True))
    def get_attachment(self, message: Message) -> dict[str, Any] | None:
        attachment = (message.data or {}).get("attachment")
        if not isinstance(attachment, dict):
            return None
        return {key: attachment.get(key) for key in ("id", "content_type", "width", "height")}

    def get_outcome(self, message: Message) -> str | None:
        """For answers that are not whole: truncated, incomplete or unavailable (docs/protocol.md)."""
        return (message.data or {}).get("outcome") or None

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_event(self, message: Message) -> dict[str, Any] | None:
        """For ``kind == "event"``: its machine-readable details, e.g. ``{"event": "closed", "status": "closed"}``."""
        return message.data if message.kind == "event" else None


class _StringField(serializers.CharField):
    """A JSON string: a number or a boolean is refused, not turned into one."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AgentMessageSerializer(serializers.Serializer):
    """An agent's message to the customer, posted as the token's agent."""

    text = _StringField(trim_whitespace=True)
    client_id = _StringField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="Your id for this message: posting the same client_id again stores it once.",
    )

    def validate_client_id(self, client_id: str) -> str:
        # The server's own ids (a rating request's, say) start so; a client's must never collide with them.
        if client_id.startswith(SERVER_ID_PREFIX):
            raise serializers.ValidationError(f"client_id must not start with {SERVER_ID_PREFIX!r}.")
        return client_id

    def validate_text(self, text: str) -> str:
        limit = settings.SUPPORTBOT_MAX_MESSAGE_CHARS
        if len(text) > limit:
            raise serializers.ValidationError(f"Messages are limited to {limit} characters.")
        return text


class RatingSerializer(serializers.ModelSerializer):
    conversation = serializers.CharField(source="conversation.public_id")

    class Meta:
        model = Rating
        fields = ["conversation", "score", "comment", "created_at"]
        read_only_fields = fields


class LedgerEntrySerializer(serializers.ModelSerializer):
    """One upstream model call and its price (the ledger belongs to routing; the API only reads it)."""

    conversation = serializers.CharField(source="conversation.public_id", allow_null=True)
    message_seq = serializers.IntegerField(source="message.seq", allow_null=True)

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "call_id",
            "conversation",
            "message_seq",
            "purpose",
            "tier",
            "model",
            "provider",
            "input_tokens",
            "cached_input_tokens",
            "output_tokens",
            "cost",
            "usage_estimated",
            "latency_ms",
            "time_to_first_token_ms",
            "outcome",
            "error",
            "created_at",
        ]
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer):
    """A refused request: ``code`` for programs, ``detail`` for people."""

    code = serializers.CharField()
    detail = serializers.CharField()


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    """The conversation as JSON-ready data (webhook payloads use the API's shape)."""
    return dict(ConversationSerializer(conversation).data)
