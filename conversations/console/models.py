"""The staff side of a conversation: internal notes, tags, offers to agents, contact reasons, settings.

These tables belong to the ``conversations`` app (``conversations.models`` re-exports them, so
other apps and migrations see them there). None of them is a :class:`~conversations.models.Message`:
nothing here takes a ``seq`` or can reach a customer's widget, whatever reads the transcript.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from conversations.models import Conversation

CONVERSATION = "conversations.Conversation"
DEFAULT_REOFFER_AFTER_S = 120


class InternalNote(models.Model):
    """A note agents leave on a conversation for each other; only staff ever see it.

    Deliberately not a message: it takes no ``seq`` (so a widget never sees a gap it cannot
    fill) and every path that carries messages to a customer (the widget's replay and doorbell,
    exports, summaries, the fine-tuning file, the API) reads the message table, where it is not.
    ``after_seq`` places it in the console's transcript: after the message with that seq.
    """

    conversation = models.ForeignKey(CONVERSATION, on_delete=models.CASCADE, related_name="internal_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    text = models.TextField()
    after_seq = models.PositiveBigIntegerField()
    # The console's own id for the note, so a re-send after a reconnect is stored once.
    client_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["conversation", "after_seq", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "client_id"], condition=~models.Q(client_id=""), name="note_client_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"note on {self.conversation_id} after #{self.after_seq}"


class ConversationTag(models.Model):
    """A label from the list staff keep in the admin, put on conversations in the console."""

    name = models.CharField(max_length=40, unique=True)
    conversations: models.ManyToManyField[Conversation, Any] = models.ManyToManyField(
        CONVERSATION, related_name="tags", blank=True
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "tag"

    def __str__(self) -> str:
        return self.name


class ChatOffer(models.Model):
    """A waiting chat reserved for one agent (by automatic assignment, a re-offer or a transfer).

    The re-offer job moves an offer still ``pending`` after the timeout to the next online agent;
    ``declined`` marks an agent who sent the chat back to the queue, so it is not handed straight
    back to them; ``withdrawn``, an offer another agent's claim (or a newer offer) made moot.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Not opened yet"
        OPENED = "opened", "Opened"
        LAPSED = "lapsed", "Not opened in time"
        DECLINED = "declined", "Sent back to the queue"
        WITHDRAWN = "withdrawn", "Taken by someone else, or a new offer"

    conversation = models.ForeignKey(CONVERSATION, on_delete=models.CASCADE, related_name="offers")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_offers")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    offered_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["offered_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"], condition=models.Q(status="pending"), name="chat_offer_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"offer of {self.conversation_id} to {self.agent_id} ({self.status})"


class ConsoleSettings(models.Model):
    """One row, edited in the admin: how the console treats everyone's chats."""

    reoffer_after_s = models.PositiveIntegerField(
        default=DEFAULT_REOFFER_AFTER_S,
        help_text="Seconds before an assigned chat nobody opened goes to the next online agent.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "console settings"
        verbose_name_plural = "console settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(reoffer_after_s__gte=10), name="reoffer_at_least_10_s")
        ]

    def __str__(self) -> str:
        return "Console settings"


class ContactReason(models.Model):
    """Why customers get in touch, from a list staff keep in the admin.

    The batch tags each closed conversation with reasons from this list: with a model, from the
    descriptions; offline, when a cited article carries one of ``article_tags`` or the router put
    a customer message in one of ``router_categories``.
    """

    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=300, blank=True, help_text="What the model is told this reason means.")
    article_tags = models.CharField(
        max_length=300, blank=True, help_text="Comma-separated help-centre tags that mean this reason (offline)."
    )
    router_categories = models.CharField(
        max_length=300,
        blank=True,
        help_text="Comma-separated router categories (offline), e.g. error_code, handoff_request.",
    )
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class ConversationReason(models.Model):
    """One contact reason on one conversation, from the batch or from an agent.

    Corrections are kept: an agent removing a batch reason marks its row ``removed`` (never deletes
    it), and a reason an agent adds is a row of its own, so the dashboard can count both.
    """

    class Source(models.TextChoices):
        BATCH = "batch", "Batch tagging"
        AGENT = "agent", "Agent"

    conversation = models.ForeignKey(CONVERSATION, on_delete=models.CASCADE, related_name="contact_reasons")
    reason = models.ForeignKey(ContactReason, on_delete=models.CASCADE, related_name="conversation_reasons")
    source = models.CharField(max_length=8, choices=Source.choices)
    removed = models.BooleanField(default=False)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["conversation", "reason"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "reason", "source"], name="conversation_reason_once"),
        ]

    def __str__(self) -> str:
        return f"{self.reason_id} on {self.conversation_id} ({self.source}{', removed' if self.removed else ''})"


class ReasonTagging(models.Model):
    """That the batch has tagged (or is tagging) a conversation: claimed once, so a conversation is
    sent to the model once however often the task runs."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    conversation = models.OneToOneField(CONVERSATION, on_delete=models.CASCADE, related_name="reason_tagging")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    engine = models.CharField(max_length=16, blank=True, help_text="offline or model")
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"reason tagging of {self.conversation_id} ({self.status})"
