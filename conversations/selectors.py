from __future__ import annotations

from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db.models import Max, Q

from conversations.channel_groups import GroupCounts
from conversations.channel_groups import channel_group_counts as _channel_group_counts
from conversations.languages import language_detector_warm
from conversations.models import AgentProfile, Conversation, Message, Ticket
from conversations.queues import Queue, queue_lengths
from conversations.sockets import open_sockets_by_process
from conversations.tokens import VisitorTokenInvalid, visitor_token_read

__all__ = [
    "GroupCounts",
    "agent_name",
    "channel_group_counts",
    "conversation_and_expiry_for_token",
    "conversation_for_token",
    "language_detector_warm",
    "message_frame",
    "messages_after",
    "open_sockets_by_process",
    "queue_position",
    "task_queue_lengths",
    "task_queue_names",
    "unanswered_question",
    "unanswered_questions",
]


def conversation_for_token(*, token: str) -> Conversation:
    """The one conversation a visitor token opens; raises VisitorTokenInvalid otherwise (incl. revoked)."""
    return conversation_and_expiry_for_token(token=token)[0]


def conversation_and_expiry_for_token(*, token: str) -> tuple[Conversation, float]:
    """The conversation a visitor token opens and the Unix time the token expires."""
    claims = visitor_token_read(token=token)
    conversation = Conversation.objects.filter(public_id=claims.conversation_public_id).first()
    if conversation is None or conversation.token_version != claims.token_version:
        raise VisitorTokenInvalid("token revoked or conversation gone")
    return conversation, claims.expires_at


def message_frame(message: Message) -> dict[str, Any]:
    """A stored message as the client sees it (docs/protocol.md, "message")."""
    frame: dict[str, Any] = {
        "type": "message",
        "seq": message.seq,
        "role": message.role,
        "kind": message.kind,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
    }
    if message.client_id and message.role == Message.Role.CUSTOMER:  # the server's own ids are not the client's
        frame["client_id"] = message.client_id
    if message.language:
        frame["language"] = message.language
    if message.reply_to_seq is not None:
        frame["reply_to"] = message.reply_to_seq
    if message.role == Message.Role.ASSISTANT:
        frame.update(tier=message.tier, model=message.model, citations=message.citations)
        if message.fell_back or message.failed_over_mid_stream:
            frame["fell_back"] = True
        if message.data and message.data.get("outcome"):
            frame["outcome"] = message.data["outcome"]
    if message.role == Message.Role.AGENT and message.author_id:
        frame["author"] = message.data.get("author_name", "")
    if message.data and message.kind == "event":
        frame["data"] = message.data
    if message.data and "attachment" in message.data:
        frame["attachment"] = message.data["attachment"]
    return frame


def messages_after(*, conversation_id: int, after_seq: int, limit: int = 500) -> list[dict[str, Any]]:
    rows = Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq).order_by("seq")[:limit]
    return [message_frame(row) for row in rows]


# Events after which the customer's earlier messages are no longer the bot's to answer: a person took the
# conversation (or was asked for), it was handed back or closed, or a request for a person was answered out
# of hours with the offer of a ticket.
TAKEN_OVER_EVENTS = (
    "handoff_requested",
    "out_of_hours",
    "image_needs_person",
    "agent_joined",
    "transferred",
    "agent_left",
    "reoffered",
    "handed_back",
    "closed",
)


def customer_language(*, conversation_id: int) -> str:
    """The language of the customer's latest message that has one ("" before any): what the lines
    the server writes to the customer are written in."""
    return (
        Message.objects.filter(conversation_id=conversation_id, role=Message.Role.CUSTOMER)
        .exclude(language="")
        .order_by("-seq")
        .values_list("language", flat=True)
        .first()
    ) or ""


def unanswered_question(*, conversation_id: int) -> Message | None:
    """The customer message the bot owes an answer next, if any: see :func:`unanswered_questions`."""
    owed = unanswered_questions(conversation_id=conversation_id, limit=1)
    return owed[0] if owed else None


def unanswered_questions(*, conversation_id: int, limit: int = 2) -> list[Message]:
    """The customer messages the bot still owes an answer, oldest first (at most ``limit``).

    Each is answered in turn, so several sent while an answer streams are each answered, not only the
    last. Owed are the messages after both the last one an answer replied to and the last time the
    conversation was taken over (:data:`TAKEN_OVER_EVENTS`, or a person's message).
    """
    bounds = Message.objects.filter(conversation_id=conversation_id).aggregate(
        replied=Max("reply_to_seq", filter=Q(role=Message.Role.ASSISTANT)),
        taken=Max(
            "seq",
            filter=Q(role=Message.Role.AGENT) | Q(kind="event", data__event__in=TAKEN_OVER_EVENTS),
        ),
    )
    after = max(bounds["replied"] or 0, bounds["taken"] or 0)
    return list(
        Message.objects.filter(conversation_id=conversation_id, role=Message.Role.CUSTOMER, seq__gt=after).order_by(
            "seq"
        )[:limit]
    )


def queue_position(*, conversation_id: int) -> int | None:
    """1 for the longest-waiting customer; None when the conversation is not waiting."""
    waiting = Conversation.Status.WAITING
    conversation = Conversation.objects.filter(pk=conversation_id, status=waiting).first()
    if conversation is None or conversation.waiting_since is None:
        return None
    ahead = Conversation.objects.filter(status=waiting, waiting_since__lt=conversation.waiting_since).count()
    return ahead + 1


def agents_online(*, besides: int | None = None) -> bool:
    """Whether any agent (other than ``besides``) is signed in to take chats now, whatever their load:
    a full agent frees up."""
    online = AgentProfile.objects.filter(online=True, user__is_active=True, user__is_staff=True)
    return online.exclude(user_id=besides).exists() if besides is not None else online.exists()


def ticket_open(*, conversation_id: int) -> bool:
    """Whether the customer's message for the team is still waiting for its answer (one per conversation)."""
    return Ticket.objects.filter(conversation_id=conversation_id, status=Ticket.Status.OPEN).exists()


def agent_name(user: Any) -> str:
    """How customers see an agent: their first name, else their user name."""
    return user.first_name or user.get_username()


def task_queue_names() -> list[str]:
    """The Celery queues the tasks are sent to (the worker consumes all of them)."""
    return [str(queue) for queue in Queue]


def channel_group_counts() -> GroupCounts:
    """Live channel-layer groups and their members per group kind; raises when the layer's Redis is unreadable."""
    return _channel_group_counts(layer=get_channel_layer())


def task_queue_lengths() -> dict[str, int]:
    """Messages waiting per Celery queue, read from the broker; raises when it cannot be reached."""
    return queue_lengths(broker_url=settings.CELERY_BROKER_URL, queues=task_queue_names())
