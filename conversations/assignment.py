"""Which agent gets a waiting conversation: the least-loaded online agent under their cap.

Assignment reserves the conversation for an agent (``assigned_agent``), records the offer (which
``conversations.offers`` moves on when the agent does not open it in time) and rings their console;
the agent still claims it to talk. Runs in Celery tasks, so it never enqueues tasks itself.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from conversations.doorbells import consoles_ring
from conversations.models import AgentProfile, ChatOffer, Conversation

Status = Conversation.Status


def agent_profile_for(*, agent_id: int) -> AgentProfile:
    """The agent's availability, created online on first use so a new agent gets chats at once."""
    profile, _ = AgentProfile.objects.get_or_create(user_id=agent_id, defaults={"online": True})
    return profile


def agent_loads() -> dict[int, int]:
    """Chats reserved for or owned by each agent (waiting and assigned, or with them)."""
    rows = (
        Conversation.objects.filter(status__in=[Status.WAITING, Status.AGENT], assigned_agent__isnull=False)
        .values_list("assigned_agent_id")
        .annotate(load=Count("pk"))
    )
    return dict(rows)


def agent_next_available(*, exclude: Collection[int] = (), last: Collection[int] = ()) -> int | None:
    """An online agent under their cap, least loaded first, none of ``exclude`` and ``last`` only
    when nobody else has room; the row locks serialise concurrent assigners (call in a transaction)."""
    profiles = list(
        AgentProfile.objects.select_for_update()
        .filter(online=True, user__is_active=True, user__is_staff=True)
        .exclude(user_id__in=list(exclude))
        .order_by("pk")
    )
    loads = agent_loads()
    available = [profile for profile in profiles if loads.get(profile.user_id, 0) < profile.max_concurrent_chats]
    if not available:
        return None
    return min(available, key=lambda p: (p.user_id in last, loads.get(p.user_id, 0))).user_id


def agents_declined(*, conversation_id: int) -> set[int]:
    """Agents who sent this chat back to the queue since it last started waiting: not given it again."""
    since = Conversation.objects.values_list("waiting_since", flat=True).get(pk=conversation_id)
    declined = ChatOffer.objects.filter(conversation_id=conversation_id, status=ChatOffer.Status.DECLINED)
    if since is not None:
        declined = declined.filter(offered_at__gte=since)
    return set(declined.values_list("agent_id", flat=True))


def conversation_assign(*, conversation_id: int) -> int | None:
    """Reserve a waiting conversation for the least-loaded online agent and ring their console; their id or None."""
    with transaction.atomic():
        agent_id = agent_next_available(exclude=agents_declined(conversation_id=conversation_id))
        if agent_id is None:
            return None
        assigned = Conversation.objects.filter(
            pk=conversation_id, status=Status.WAITING, assigned_agent__isnull=True
        ).update(assigned_agent_id=agent_id)
        if not assigned:
            return None  # claimed, assigned or gone meanwhile: nothing to do
        offer_make(conversation_id=conversation_id, agent_id=agent_id)
        public_id = Conversation.objects.values_list("public_id", flat=True).get(pk=conversation_id)
        consoles_ring(assigned_to=agent_id, conversation_public_id=public_id)
    return agent_id


def offer_make(*, conversation_id: int, agent_id: int) -> ChatOffer:
    """The offer the re-offer job watches: pending until the agent opens the chat (call in a transaction).

    A pending offer left from an earlier spell in the queue is withdrawn first (one pending per chat).
    """
    ChatOffer.objects.filter(conversation_id=conversation_id, status=ChatOffer.Status.PENDING).update(
        status=ChatOffer.Status.WITHDRAWN
    )
    return ChatOffer.objects.create(conversation_id=conversation_id, agent_id=agent_id, offered_at=timezone.now())


def queue_assign() -> int:
    """Assign waiting conversations, oldest first, while agents have room; how many were assigned.

    A chat nobody with room may take (every one of them passed it back) waits on, and the ones behind it
    are still given out: it must not hold up the line.
    """
    assigned = 0
    waiting = Conversation.objects.filter(status=Status.WAITING, assigned_agent__isnull=True).order_by(
        "waiting_since", "pk"
    )
    for conversation_id in waiting.values_list("pk", flat=True):
        if conversation_assign(conversation_id=conversation_id) is not None:
            assigned += 1
            continue
        with transaction.atomic():
            if agent_next_available() is None:
                break  # nobody has room: the rest wait too
    return assigned
