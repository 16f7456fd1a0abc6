"""What the agent console reads: the live queue, an agent's own chats, open tickets, one transcript."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch

from conversations import assignment, identity, selectors
from conversations.models import (
    AgentProfile,
    CannedResponse,
    ContactReason,
    Conversation,
    ConversationReason,
    ConversationTag,
    InternalNote,
    Message,
    Summary,
    Ticket,
)
from conversations.protocol import Frame

PREVIEW_CHARS = 140


def _summary_view(conversation: Conversation) -> dict[str, Any]:
    return _summary_fields(next(iter(conversation.handoff_summaries), None))  # type: ignore[attr-defined]


def _summary_fields(summary: Summary | None) -> dict[str, Any]:
    if summary is None:
        return {"status": "none", "text": ""}
    return {"status": summary.status, "text": summary.text, "engine": summary.engine, "data": summary.data}


def summary_frame(*, public_id: str) -> dict[str, Any]:
    """The conversation's newest handoff summary, as a card shows it (the one with the latest ``upto_seq``)."""
    newest = (
        Summary.objects.filter(conversation__public_id=public_id, purpose=Summary.Purpose.HANDOFF)
        .order_by("-upto_seq")
        .first()
    )
    return {"type": Frame.SUMMARY, "conversation": public_id, "summary": _summary_fields(newest)}


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
        "tags": [tag.pk for tag in conversation.tags.all()],  # type: ignore[attr-defined]
    }


def _with_summaries(queryset: Any) -> Any:
    handoff_summaries = Summary.objects.filter(purpose=Summary.Purpose.HANDOFF).order_by("-upto_seq")
    return queryset.select_related("assigned_agent", "customer").prefetch_related(
        Prefetch("summaries", queryset=handoff_summaries, to_attr="handoff_summaries"), "tags"
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
        "agents": transfer_targets(agent_id=agent_id),
    }


def transfer_targets(*, agent_id: int) -> list[dict[str, Any]]:
    """The other online agents with room for one more chat: who a chat can be transferred to."""
    loads = assignment.agent_loads()
    profiles = (
        AgentProfile.objects.filter(online=True, user__is_active=True, user__is_staff=True)
        .exclude(user_id=agent_id)
        .select_related("user")
        .order_by("user__first_name", "user__username")
    )
    return [
        {"id": profile.user_id, "name": selectors.agent_name(profile.user), "load": loads.get(profile.user_id, 0)}
        for profile in profiles
        if loads.get(profile.user_id, 0) < profile.max_concurrent_chats
    ]


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
        # Every note, whatever the catch-up point: they take no seq, and the console keeps them by id.
        "notes": [note_frame(note) for note in notes_of(conversation_id=conversation.pk)],
        **conversation_labels(conversation_id=conversation.pk),
    }


def conversation_id_for(*, public_id: str) -> int | None:
    return Conversation.objects.filter(public_id=public_id).values_list("pk", flat=True).first()


def canned_responses() -> list[dict[str, str]]:
    return [{"title": row.title, "text": row.text} for row in CannedResponse.objects.all()]


# --- internal notes, tags and contact reasons (staff only) -----------------------------------


def notes_of(*, conversation_id: int) -> list[InternalNote]:
    return list(
        InternalNote.objects.filter(conversation_id=conversation_id)
        .select_related("author", "conversation")
        .order_by("after_seq", "pk")
    )


def note_frame(note: InternalNote) -> dict[str, Any]:
    """A note as consoles show it: after the message with ``after_seq``, marked as staff only."""
    frame: dict[str, Any] = {
        "type": "note",
        "conversation": note.conversation.public_id,
        "id": note.pk,
        "after_seq": note.after_seq,
        "text": note.text,
        "author": selectors.agent_name(note.author) if note.author else "",
        "created_at": note.created_at.isoformat(),
    }
    if note.client_id:
        frame["client_id"] = note.client_id
    return frame


def contact_reasons_in_force(*, conversation_id: int) -> list[int]:
    """The conversation's contact reasons as they stand: the batch's and the agents', less those removed."""
    rows = ConversationReason.objects.filter(conversation_id=conversation_id, removed=False)
    return sorted(set(rows.values_list("reason_id", flat=True)))


def conversation_labels(*, conversation_id: int) -> dict[str, Any]:
    """Tags (ids) and contact reasons (ids, and which the batch suggested) of one conversation."""
    batch = ConversationReason.objects.filter(
        conversation_id=conversation_id, source=ConversationReason.Source.BATCH
    ).values_list("reason_id", flat=True)
    return {
        "tags": sorted(ConversationTag.objects.filter(conversations=conversation_id).values_list("pk", flat=True)),
        "reasons": contact_reasons_in_force(conversation_id=conversation_id),
        "batch_reasons": sorted(batch),
    }


def labels_frame(*, public_id: str) -> dict[str, Any] | None:
    conversation_id = conversation_id_for(public_id=public_id)
    if conversation_id is None:
        return None
    return {"type": "labels", "conversation": public_id, **conversation_labels(conversation_id=conversation_id)}


def tag_choices() -> list[dict[str, Any]]:
    return [{"id": tag.pk, "name": tag.name} for tag in ConversationTag.objects.order_by("name")]


def contact_reason_choices() -> list[dict[str, Any]]:
    return [{"id": reason.pk, "name": reason.name} for reason in ContactReason.objects.filter(active=True)]
