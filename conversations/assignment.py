"""Which agent gets a waiting conversation: the least-loaded online agent under their cap.

Assignment reserves the conversation for an agent (``assigned_agent``) and rings their console;
the agent still claims it to talk. Runs in Celery tasks, so it never enqueues tasks itself.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count

from conversations.doorbells import consoles_ring
from conversations.models import AgentProfile, Conversation

Status = Conversation.Status


def agent_profile_for(*, agent_id: int) -> AgentProfile:
    """The agent's availability, created online on first use so a new agent gets chats at once."""
    profile, _ = AgentProfile.objects.get_or_create(user_id=agent_id, defaults={"online": True})
    return profile


def _agent_loads() -> dict[int, int]:
    rows = (
        Conversation.objects.filter(status__in=[Status.WAITING, Status.AGENT], assigned_agent__isnull=False)
        .values_list("assigned_agent_id")
        .annotate(load=Count("pk"))
    )
    return dict(rows)


def _least_loaded_agent() -> int | None:
    """An online agent under their cap, least loaded first; the row locks serialise concurrent assigners."""
    profiles = list(
        AgentProfile.objects.select_for_update()
        .filter(online=True, user__is_active=True, user__is_staff=True)
        .order_by("pk")
    )
    loads = _agent_loads()
    available = [profile for profile in profiles if loads.get(profile.user_id, 0) < profile.max_concurrent_chats]
    if not available:
        return None
    return min(available, key=lambda profile: loads.get(profile.user_id, 0)).user_id


def conversation_assign(*, conversation_id: int) -> int | None:
    """Reserve a waiting conversation for the least-loaded online agent and ring their console; their id or None."""
    with transaction.atomic():
        agent_id = _least_loaded_agent()
        if agent_id is None:
            return None
        assigned = Conversation.objects.filter(
            pk=conversation_id, status=Status.WAITING, assigned_agent__isnull=True
        ).update(assigned_agent_id=agent_id)
        if not assigned:
            return None  # claimed, assigned or gone meanwhile: nothing to do
        public_id = Conversation.objects.values_list("public_id", flat=True).get(pk=conversation_id)
        consoles_ring(assigned_to=agent_id, conversation_public_id=public_id)
    return agent_id


def queue_assign() -> int:
    """Assign waiting conversations, oldest first, while agents have room; how many were assigned."""
    assigned = 0
    waiting = Conversation.objects.filter(status=Status.WAITING, assigned_agent__isnull=True).order_by(
        "waiting_since", "pk"
    )
    for conversation_id in waiting.values_list("pk", flat=True):
        if conversation_assign(conversation_id=conversation_id) is None:
            break
        assigned += 1
    return assigned
