"""What the agent console reads: the live queue, an agent's own chats, open tickets, one transcript."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch

from conversations import assignment, identity, selectors
from conversations.models import CannedResponse, Conversation, Message, Summary, Ticket

PREVIEW_CHARS = 140


def _summary_view(conversation: Conversation) -> dict[str, Any]:
    summary = next(iter(conversation.handoff_summaries), None)  # type: ignore[attr-defined]
    if summary is None:
        return {"status": "none", "text": ""}
    return {"status": summary.status, "text": summary.text, "engine": summary.engine, "data": summary.data}


def _last_tier(conversation_id: int) -> str:
    return (
        Message.objects.filter(conversation_id=conversation_id, role=Message.Role.ASSISTANT)
        .exclude(tier="")
        .order_by("-seq")
        .values_list("tier", flat=True)
        .first()
        or ""
    )


def _last_customer_text(conversation_id: int) -> str:
    text = (
        Message.objects.filter(conversation_id=conversation_id, role=Message.Role.CUSTOMER)
        .order_by("-seq")
        .values_list("text", flat=True)
        .first()
    )
    return (text or "")[:PREVIEW_CHARS]


def _handoff_reason(conversation_id: int) -> str:
    """Why the latest handoff happened, e.g. "photo attached; no image-capable model is configured"."""
    data = (
        Message.objects.filter(conversation_id=conversation_id, kind="event", data__event="handoff_requested")
        .order_by("-seq")
        .values_list("data", flat=True)
        .first()
    )
    return str((data or {}).get("reason", ""))


def conversation_card(conversation: Conversation, *, position: int | None = None) -> dict[str, Any]:
    """One queue entry: who waits, since when and why, the summary, the tier and the cost so far."""
    agent = conversation.assigned_agent
    return {
        "conversation": conversation.public_id,
        "status": conversation.status,
        "position": position,
        "waiting_since": conversation.waiting_since.isoformat() if conversation.waiting_since else None,
        "assigned_to": selectors.agent_name(agent) if agent else "",
        "assigned_to_id": agent.pk if agent else None,
        "summary": _summary_view(conversation),
        "tier": _last_tier(conversation.pk),
        "cost": format(conversation.total_cost, "f"),
        "last_customer_text": _last_customer_text(conversation.pk),
        "handoff_reason": _handoff_reason(conversation.pk),
        "last_seq": conversation.last_seq,
        # Who this is, when the shop vouched for it (a signed user id), with their other conversations.
        "customer": identity.customer_card(conversation=conversation),
    }


def _with_summaries(queryset: Any) -> Any:
    handoff_summaries = Summary.objects.filter(purpose=Summary.Purpose.HANDOFF).order_by("-upto_seq")
    return queryset.select_related("assigned_agent", "customer").prefetch_related(
        Prefetch("summaries", queryset=handoff_summaries, to_attr="handoff_summaries")
    )


def console_queue(*, agent_id: int) -> dict[str, Any]:
    """The snapshot every console shows; re-read on each queue doorbell."""
    waiting = _with_summaries(
        Conversation.objects.filter(status=Conversation.Status.WAITING).order_by("waiting_since", "pk")
    )
    mine = _with_summaries(
        Conversation.objects.filter(status=Conversation.Status.AGENT, assigned_agent_id=agent_id).order_by("updated_at")
    )
    tickets = Ticket.objects.filter(status=Ticket.Status.OPEN).select_related("conversation").order_by("created_at")
    profile = assignment.agent_profile_for(agent_id=agent_id)
    return {
        "type": "queue",
        "waiting": [conversation_card(c, position=index) for index, c in enumerate(waiting, start=1)],
        "mine": [conversation_card(c) for c in mine],
        "tickets": [
            {
                "ticket": ticket.pk,
                "email": ticket.email,
                "text": ticket.message,
                "created_at": ticket.created_at.isoformat(),
                "conversation": ticket.conversation.public_id,
            }
            for ticket in tickets
        ],
        "agent": {"id": agent_id, "online": profile.online, "max_concurrent_chats": profile.max_concurrent_chats},
    }


def console_transcript(*, public_id: str, after_seq: int) -> dict[str, Any] | None:
    """A conversation's card and its messages after ``after_seq`` (the console's catch-up), or None."""
    conversation = _with_summaries(Conversation.objects.filter(public_id=public_id)).first()
    if conversation is None:
        return None
    return {
        "type": "transcript",
        "conversation": conversation.public_id,
        "card": conversation_card(conversation, position=selectors.queue_position(conversation_id=conversation.pk)),
        "messages": selectors.messages_after(conversation_id=conversation.pk, after_seq=after_seq),
    }


def conversation_id_for(*, public_id: str) -> int | None:
    return Conversation.objects.filter(public_id=public_id).values_list("pk", flat=True).first()


def canned_responses() -> list[dict[str, str]]:
    return [{"title": row.title, "text": row.text} for row in CannedResponse.objects.all()]
