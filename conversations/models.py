from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

# The staff side (notes, tags, offers, contact reasons, console settings) lives in its own module.
from conversations.console.models import ChatOffer as ChatOffer
from conversations.console.models import ConsoleSettings as ConsoleSettings
from conversations.console.models import ContactReason as ContactReason
from conversations.console.models import ConversationReason as ConversationReason
from conversations.console.models import ConversationTag as ConversationTag
from conversations.console.models import InternalNote as InternalNote
from conversations.console.models import ReasonTagging as ReasonTagging
from conversations.protocol import conversation_group


def new_public_id() -> str:
    # 128 bits from the OS's CSPRNG: unguessable, and safe to show in URLs and logs.
    return secrets.token_urlsafe(16)


class Conversation(models.Model):
    class Status(models.TextChoices):
        BOT = "bot", "With the bot"
        WAITING = "waiting", "Waiting for an agent"
        AGENT = "agent", "With an agent"
        CLOSED = "closed", "Closed"

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOT, db_index=True)
    origin = models.CharField(max_length=200, blank=True, help_text="The shop site the widget was opened on.")
    # Bumped to revoke every visitor token issued for this conversation.
    token_version = models.PositiveIntegerField(default=1)
    # The last seq handed out; every client-visible event takes the next one.
    last_seq = models.PositiveBigIntegerField(default=0)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    # Running totals, kept in the same transaction as the ledger rows they add up.
    total_cost = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal("0"))
    total_input_tokens = models.PositiveBigIntegerField(default=0)
    total_output_tokens = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Estimated satisfaction (1-5) from the conversation's own signals, for the many who never rate.
    satisfaction_estimate = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    # Handoff: when the customer joined the agents' queue (its order), and the bot's consecutive
    # misses (abstentions, "that didn't help", the same question again) that trigger one.
    waiting_since = models.DateTimeField(null=True, blank=True, db_index=True)
    bot_misses = models.PositiveSmallIntegerField(default=0)
    # The shopper the shop vouched for (a signed user id, conversations/identity.py); None: anonymous.
    customer = models.ForeignKey(
        "Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Conversation {self.public_id}"

    @property
    def group_name(self) -> str:
        return conversation_group(self.public_id)


class Message(models.Model):
    class Role(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        ASSISTANT = "assistant", "Assistant"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices)
    text = models.TextField()
    # For a customer's message: the language detected in it (conversations/languages.py), e.g. "es".
    language = models.CharField(max_length=35, blank=True)
    # "text" for what people and models wrote; "event" for state changes shown in the chat (agent joined, ...).
    kind = models.CharField(max_length=16, default="text")
    data = models.JSONField(default=dict, blank=True)
    # The widget's own id for a customer message, so a re-send after a reconnect is not stored twice.
    client_id = models.CharField(max_length=64, blank=True)
    # For an answer: the seq of the customer message it answers (at most one answer each).
    reply_to_seq = models.PositiveBigIntegerField(null=True, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    tier = models.CharField(max_length=16, blank=True)
    model = models.CharField(max_length=100, blank=True)
    route_reason = models.CharField(max_length=300, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    cached_input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal("0"))
    usage_estimated = models.BooleanField(default=False)
    fell_back = models.BooleanField(default=False)
    failed_over_mid_stream = models.BooleanField(default=False)
    time_to_first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    citations = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"], condition=~models.Q(client_id=""), name="message_client_id_unique"
            ),
            models.UniqueConstraint(
                fields=["conversation", "reply_to_seq"],
                condition=models.Q(role="assistant"),
                name="message_one_answer_per_question",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.role}: {self.text[:40]}"


class Rating(models.Model):
    """The customer's own satisfaction rating, at most one per conversation."""

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="rating")
    score = models.PositiveSmallIntegerField(help_text="1 (very unhappy) to 5 (very happy)")
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="rating_score_1_to_5")
        ]

    def __str__(self) -> str:
        return f"{self.score}/5 for {self.conversation_id}"


# --- Human handoff -------------------------------------------------------------------------


class AgentProfile(models.Model):
    """A staff member's availability for automatic assignment."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile")
    online = models.BooleanField(default=False, help_text="Only online agents are assigned new chats.")
    max_concurrent_chats = models.PositiveSmallIntegerField(default=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(max_concurrent_chats__gte=1), name="agent_cap_at_least_one")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({'online' if self.online else 'offline'})"


class Summary(models.Model):
    """A summary of a conversation up to ``upto_seq``, written by a task exactly once.

    ``handoff`` summaries brief the agent; ``context`` summaries stand in for the early part of a
    long conversation so the prompt stays inside the tier's context window.
    """

    class Purpose(models.TextChoices):
        HANDOFF = "handoff", "Briefing for the agent"
        CONTEXT = "context", "Compressed history"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="summaries")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    upto_seq = models.PositiveBigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    # The task delivery holding the claim; a redelivery of that same message may take it over.
    claimed_by = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # When its task was last sent: a summary still pending long after (its message lost with a
    # Redis restart) or whose lease lapsed (its worker killed) is sent again by the recovery job.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    engine = models.CharField(max_length=16, blank=True, help_text="extractive or llm")
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    cost = models.DecimalField(max_digits=14, decimal_places=8, default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["conversation", "-upto_seq"]
        verbose_name_plural = "summaries"
        constraints = [
            models.UniqueConstraint(fields=["conversation", "purpose", "upto_seq"], name="summary_once_per_point"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} summary of {self.conversation_id} up to #{self.upto_seq} ({self.status})"


class Ticket(models.Model):
    """A customer's message left outside business hours, answered by email when the team is back."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="tickets")
    email = models.EmailField()
    message = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The agent's answer, emailed to ``email`` when the ticket is marked done (conversations/emails.py).
    reply = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # A double-submitted form leaves one open ticket per conversation.
            models.UniqueConstraint(
                fields=["conversation"], condition=models.Q(status="open"), name="ticket_one_open_per_conversation"
            ),
        ]

    def __str__(self) -> str:
        return f"Ticket from {self.email} ({self.status})"


class CannedResponse(models.Model):
    """A reply agents insert with one click; edited in the admin."""

    title = models.CharField(max_length=80, unique=True)
    text = models.TextField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title


class Attachment(models.Model):
    """A customer's photo, kept outside the web root and served only to that visitor and to staff.

    Uploaded first (validated, shrunk, metadata stripped), then linked to the customer message
    that sends it; ``message`` stays empty until then.
    """

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="attachments")
    message = models.OneToOneField(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachment")
    content_type = models.CharField(max_length=32)
    # Its name in the attachments storage (settings.STORAGES), never taken from the upload.
    stored_name = models.CharField(max_length=64, unique=True)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.content_type} {self.width}x{self.height} in {self.conversation_id}"


class TaskFailure(models.Model):
    """A task message given up after too many deliveries (it kept killing its worker), shown in the admin."""

    task_name = models.CharField(max_length=100)
    task_id = models.CharField(max_length=255, unique=True)
    deliveries = models.PositiveSmallIntegerField()
    arguments = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.task_name} {self.task_id}"


class AnswerLease(models.Model):
    """Which process is answering a customer message, held in the database so that it outlives a
    Redis restart (a lease only in Redis was forgotten, and a second process answered again).

    Taken with a conditional write, renewed while the answer streams and deleted when it is stored;
    a holder that died frees the question when ``until`` passes.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="answer_leases")
    seq = models.PositiveBigIntegerField()
    holder = models.CharField(max_length=32)
    until = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "seq"], name="answer_lease_once_per_question")]

    def __str__(self) -> str:
        return f"answer lease on {self.conversation_id}#{self.seq} until {self.until:%H:%M:%S}"


# --- Integrations: verified customers, outbound email, API tokens, webhooks ------------------


class Customer(models.Model):
    """A shopper the shop vouched for: the widget passed their user id signed with the identity secret.

    Only ``external_id`` is proven by the signature; ``email`` and ``name`` are what the shop's page
    passed alongside it, the last time this customer opened a chat. Conversations of one customer
    share this row.
    """

    external_id = models.CharField(max_length=128, unique=True, help_text="The shop's own user id.")
    email = models.EmailField(blank=True)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id


class OutboxItem(models.Model):
    """Something to send to the outside world by a task, once: claimed with a conditional update.

    ``pending`` rows are due at ``next_attempt_at``; a task takes one by moving it to ``sending``
    with its own ``claimed_by`` and a lease, so two deliveries of the same task message (or a task
    and the sweeper) never both send. A worker that dies mid-send leaves a lease that runs out, and
    the sweeper tries again (conversations/outbox.py).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class OutboundEmail(OutboxItem):
    """One email to a customer: a ticket's reply or a transcript they asked for; sent at most once per ``key``."""

    class Kind(models.TextChoices):
        TICKET_REPLY = "ticket_reply", "Ticket reply"
        TRANSCRIPT = "transcript", "Transcript"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # What makes a second request the same email: the ticket's id, or the widget's request id.
    key = models.CharField(max_length=64)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["conversation", "kind", "key"], name="email_once_per_key")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="email_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to} ({self.status})"


def api_token_scopes_default() -> list[str]:
    return ["conversations:read", "messages:read"]


class ApiToken(models.Model):
    """A key for the REST API. Only a hash is kept: the token itself is shown once, when it is made.

    A token acts as its ``user`` (a staff account): messages it posts are that agent's, and it may
    close only that agent's conversations, as in the console.
    """

    class Scope(models.TextChoices):
        CONVERSATIONS_READ = "conversations:read", "Read conversations"
        MESSAGES_READ = "messages:read", "Read messages"
        NOTES_READ = "notes:read", "Read internal notes (staff-only messages)"
        RATINGS_READ = "ratings:read", "Read ratings"
        LEDGER_READ = "ledger:read", "Read the cost ledger"
        MESSAGES_WRITE = "messages:write", "Post agent messages"
        CONVERSATIONS_WRITE = "conversations:write", "Close conversations"

    name = models.CharField(max_length=100, help_text="What uses it, e.g. 'CRM sync'.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    # The start of the token, to tell tokens apart in lists; the rest is only in the hash.
    prefix = models.CharField(max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=api_token_scopes_default)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


def webhook_secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A URL of the shop's that hears about conversations, each request signed with ``secret``."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=100, default=webhook_secret_new)
    events = models.JSONField(default=list, help_text="Event types sent to this URL.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(OutboxItem):
    """One event for one endpoint: the delivery log, and the unit a task sends and retries."""

    # Sent as the Supportbot-Delivery header; the receiver can drop a delivery it has already seen.
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The same for every endpoint the event goes to.
    event_id = models.CharField(max_length=40)
    event = models.CharField(max_length=40, db_index=True)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_deliveries"
    )
    payload = models.JSONField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once_per_endpoint")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: what the receiver answered, or why there was no answer."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.response_status or self.error}"
