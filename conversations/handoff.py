"""Human handoff as a strict state machine: bot -> waiting -> agent -> (bot | closed).

Every transition is one conditional UPDATE (``filter(pk=..., status=<from>).update(...) == 1``):
of two agents clicking "claim" at the same moment exactly one moves the row, the other is told.
Each transition records a system event message (with a seq) in the same transaction, so the
customer's widget and every console see it, and rings the consoles' doorbell after commit.
Tasks that follow a transition (summary, assignment, satisfaction) are enqueued after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone

from conversations import business_hours, services, summaries
from conversations.models import AgentProfile, Conversation, Message, Summary, Ticket

logger = logging.getLogger(__name__)

Status = Conversation.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.BOT: frozenset({Status.WAITING}),
    Status.WAITING: frozenset({Status.AGENT}),
    Status.AGENT: frozenset({Status.BOT, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
# Router signals that mean the bot is not helping; with abstentions they count as misses.
MISS_SIGNALS = frozenset({"repeated_question", "not_helped", "frustration"})
MISSES_BEFORE_HANDOFF = 2
CONSOLE_QUEUE_GROUP = "console.queue"


class IllegalTransition(Exception):
    """The conversation is not in a state this change may start from."""

    def __init__(self, *, current: str, target: str) -> None:
        super().__init__(f"a conversation {current!r} cannot move to {target!r}")
        self.current = current
        self.target = target


class ClaimLost(IllegalTransition):
    """Another agent claimed the conversation first."""


class NotYourConversation(Exception):
    """The agent acted on a conversation another agent owns."""


def console_agent_group(agent_id: int) -> str:
    return f"console.agent.{agent_id}"


def transition_allowed(*, current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def _transition(*, conversation_id: int, target: str, sources: Iterable[str], **updates: Any) -> None:
    """Move the row from one of ``sources`` to ``target`` or raise IllegalTransition; call in a transaction."""
    sources = [source for source in sources if transition_allowed(current=source, target=target)]
    moved = Conversation.objects.filter(pk=conversation_id, status__in=sources).update(status=target, **updates)
    if moved != 1:
        current = Conversation.objects.values_list("status", flat=True).get(pk=conversation_id)
        raise IllegalTransition(current=current, target=target)


def _event(
    *, conversation_id: int, text: str, event: str, status: str, author_id: int | None = None, **data: Any
) -> Message:
    message, _ = services.message_record(
        conversation_id=conversation_id,
        role=Message.Role.SYSTEM,
        kind="event",
        text=text,
        data={"event": event, "status": status, **data},
        author_id=author_id,
    )
    return message


def agent_name(user: Any) -> str:
    return user.first_name or user.get_username()


# --- doorbells and tasks, all after commit ------------------------------------------------


def _after_commit(action: Callable[[], None]) -> None:
    def run() -> None:
        try:
            action()
        except Exception:  # the rows are committed; consoles re-read on the next doorbell
            logger.warning("after-commit action failed", exc_info=True)

    transaction.on_commit(run)


def _group_send(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, event)


def consoles_ring(*, assigned_to: int | None = None, conversation_public_id: str = "") -> None:
    """After commit: every console re-reads the queue; an assigned agent's console is told at once."""

    def ring() -> None:
        _group_send(CONSOLE_QUEUE_GROUP, {"type": "queue.changed"})
        if assigned_to is not None:
            _group_send(
                console_agent_group(assigned_to), {"type": "console.assigned", "conversation": conversation_public_id}
            )
        queue_positions_broadcast()

    _after_commit(ring)


def queue_positions_broadcast() -> None:
    """Tell each waiting customer their place in the queue (not stored: it changes all the time)."""
    waiting = (
        Conversation.objects.filter(status=Status.WAITING)
        .order_by("waiting_since", "pk")
        .values_list("public_id", flat=True)
    )
    for position, public_id in enumerate(waiting, start=1):
        _group_send(f"conversation.{public_id}", {"type": "conversation.queue", "position": position})


def _enqueue(task_name: str, **kwargs: Any) -> None:
    from conversations import tasks

    task = getattr(tasks, task_name)
    _after_commit(lambda: tasks.task_enqueue(task, **kwargs))


def queue_position(*, conversation_id: int) -> int | None:
    """1 for the longest-waiting customer; None when the conversation is not waiting."""
    conversation = Conversation.objects.filter(pk=conversation_id, status=Status.WAITING).first()
    if conversation is None or conversation.waiting_since is None:
        return None
    ahead = Conversation.objects.filter(status=Status.WAITING, waiting_since__lt=conversation.waiting_since).count()
    return ahead + 1


# --- the customer's side ------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffResult:
    outcome: str  # "queued" | "out_of_hours"
    message: Message
    position: int | None = None


QUEUED_TEXT = "I'm connecting you with a person from our support team. They'll see everything you've written."
OUT_OF_HOURS_TEXT = (
    "Our support team is offline right now{opening}. Leave your email and a message, "
    "and we'll get back to you when we open."
)


def handoff_request(*, conversation_id: int, reason: str, trigger: str) -> HandoffResult:
    """Queue a bot conversation for an agent (or, out of hours, offer a ticket).

    ``trigger`` says why: "button", "asked", "misses" or "unsure". Raises IllegalTransition
    when the conversation is not with the bot (already queued, with an agent, or closed).
    """
    now = timezone.now()
    hours = business_hours.business_hours()
    if not business_hours.business_hours_open(at=now, hours=hours):
        return _out_of_hours(conversation_id=conversation_id, now=now, hours=hours)
    with transaction.atomic():
        _transition(
            conversation_id=conversation_id,
            target=Status.WAITING,
            sources=[Status.BOT],
            waiting_since=now,
            bot_misses=0,
        )
        position = queue_position(conversation_id=conversation_id)
        message = _event(
            conversation_id=conversation_id,
            text=QUEUED_TEXT,
            event="handoff_requested",
            status=Status.WAITING,
            reason=reason[:200],
            trigger=trigger,
            position=position,
        )
        summary = Summary.objects.create(
            conversation_id=conversation_id, purpose=Summary.Purpose.HANDOFF, upto_seq=message.seq
        )
        _enqueue("summary_make", summary_id=summary.pk)
        _enqueue("conversation_assign", conversation_id=conversation_id)
        consoles_ring()
    return HandoffResult(outcome="queued", message=message, position=position)


def _out_of_hours(*, conversation_id: int, now: Any, hours: business_hours.BusinessHours) -> HandoffResult:
    status = Conversation.objects.values_list("status", flat=True).get(pk=conversation_id)
    if status != Status.BOT:
        raise IllegalTransition(current=status, target=Status.WAITING)
    opening = business_hours.business_hours_next_opening(at=now, hours=hours)
    opening_text = f" (we open {opening:%A at %H:%M})" if opening else ""
    message = _event(
        conversation_id=conversation_id,
        text=OUT_OF_HOURS_TEXT.format(opening=opening_text),
        event="out_of_hours",
        status=Status.BOT,
        opens_at=opening.isoformat() if opening else None,
    )
    return HandoffResult(outcome="out_of_hours", message=message)


def ticket_create(*, conversation_id: int, email: str, text: str) -> Ticket:
    """Keep an out-of-hours message for the morning; a second submit returns the open ticket."""
    try:
        with transaction.atomic():
            ticket = Ticket.objects.create(conversation_id=conversation_id, email=email, message=text)
            _event(
                conversation_id=conversation_id,
                text=f"Thanks! We'll reply to {email} as soon as we open.",
                event="ticket_created",
                status=Conversation.objects.values_list("status", flat=True).get(pk=conversation_id),
            )
            consoles_ring()
    except IntegrityError:
        return Ticket.objects.get(conversation_id=conversation_id, status=Ticket.Status.OPEN)
    return ticket


def ticket_resolve(*, ticket_id: int, agent_id: int) -> bool:
    resolved = Ticket.objects.filter(pk=ticket_id, status=Ticket.Status.OPEN).update(
        status=Ticket.Status.DONE, resolved_by_id=agent_id, resolved_at=timezone.now()
    )
    if resolved:
        consoles_ring()
    return bool(resolved)


# --- the bot's turns -----------------------------------------------------------------------


def _miss_count(*, conversation_id: int) -> int:
    Conversation.objects.filter(pk=conversation_id, status=Status.BOT).update(bot_misses=F("bot_misses") + 1)
    return Conversation.objects.values_list("bot_misses", flat=True).get(pk=conversation_id)


def _handoff_quietly(*, conversation_id: int, reason: str, trigger: str) -> bool:
    try:
        handoff_request(conversation_id=conversation_id, reason=reason, trigger=trigger)
    except IllegalTransition:
        return False  # someone else moved it already (the button, an agent): nothing to do
    return True


def bot_turn_before_answer(*, conversation_id: int, handoff: bool, signals: Iterable[str], reason: str) -> bool:
    """Apply the router's decision; True when the conversation went to a person and the bot must not answer."""
    if handoff:
        return _handoff_quietly(conversation_id=conversation_id, reason=reason, trigger="asked")
    if MISS_SIGNALS.intersection(signals) and _miss_count(conversation_id=conversation_id) >= MISSES_BEFORE_HANDOFF:
        return _handoff_quietly(conversation_id=conversation_id, reason=reason, trigger="misses")
    return False


def bot_turn_after_answer(*, conversation_id: int, abstained: bool, signals: Iterable[str], tier: str) -> bool:
    """Count an answer the engine was unsure of; two misses in a row bring in a person. True if handed off.

    A long conversation also gets its early part summarised in the background, so the next
    prompt still fits the window of the tier that just answered.
    """
    _context_summary_maybe(conversation_id=conversation_id, tier=tier)
    if abstained:
        if _miss_count(conversation_id=conversation_id) >= MISSES_BEFORE_HANDOFF:
            return _handoff_quietly(
                conversation_id=conversation_id, reason="the assistant was unsure twice", trigger="unsure"
            )
    elif not MISS_SIGNALS.intersection(signals):
        Conversation.objects.filter(pk=conversation_id, bot_misses__gt=0).update(bot_misses=0)
    return False


def _context_summary_maybe(*, conversation_id: int, tier: str) -> None:
    from routing.selectors import tier_catalogue
    from routing.tiers import TierName

    catalogue = tier_catalogue()
    config = catalogue.get(TierName(tier)) if tier in set(TierName) else None
    window = config.context_window if config else min(c.context_window for c in catalogue.values())
    summaries.context_summary_request(conversation_id=conversation_id, window_tokens=window)


# --- the agent's side ------------------------------------------------------------------------


def agent_profile_for(*, agent_id: int) -> AgentProfile:
    """The agent's availability, created online on first use so a new agent gets chats at once."""
    profile, _ = AgentProfile.objects.get_or_create(user_id=agent_id, defaults={"online": True})
    return profile


def agent_set_online(*, agent_id: int, online: bool) -> AgentProfile:
    profile = agent_profile_for(agent_id=agent_id)
    AgentProfile.objects.filter(pk=profile.pk).update(online=online)
    profile.refresh_from_db()
    if online:
        _enqueue("queue_assign")
    consoles_ring()
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


def _agent(agent_id: int) -> Any:
    return get_user_model().objects.get(pk=agent_id)


def conversation_claim(*, conversation_id: int, agent_id: int) -> Message:
    """waiting -> agent. Raises ClaimLost when another agent was first, IllegalTransition otherwise."""
    agent = _agent(agent_id)
    with transaction.atomic():
        try:
            _transition(
                conversation_id=conversation_id, target=Status.AGENT, sources=[Status.WAITING], assigned_agent=agent
            )
        except IllegalTransition as refused:
            if refused.current == Status.AGENT:
                raise ClaimLost(current=refused.current, target=Status.AGENT) from None
            raise
        name = agent_name(agent)
        message = _event(
            conversation_id=conversation_id,
            text=f"{name} joined the chat",
            event="agent_joined",
            status=Status.AGENT,
            author_id=agent.pk,
            agent=name,
        )
        consoles_ring()
    return message


def _owned_transition(*, conversation_id: int, agent_id: int, target: str, **updates: Any) -> None:
    owned = Conversation.objects.filter(pk=conversation_id, status=Status.AGENT, assigned_agent_id=agent_id).update(
        status=target, **updates
    )
    if owned == 1:
        return
    conversation = Conversation.objects.get(pk=conversation_id)
    if conversation.status == Status.AGENT:
        raise NotYourConversation(f"conversation {conversation.public_id} belongs to another agent")
    raise IllegalTransition(current=conversation.status, target=target)


def conversation_hand_back(*, conversation_id: int, agent_id: int) -> Message:
    """agent -> bot: the assistant answers again; only the owning agent may do it."""
    agent = _agent(agent_id)
    with transaction.atomic():
        _owned_transition(
            conversation_id=conversation_id,
            agent_id=agent_id,
            target=Status.BOT,
            assigned_agent=None,
            waiting_since=None,
            bot_misses=0,
        )
        message = _event(
            conversation_id=conversation_id,
            text=f"{agent_name(agent)} handed the chat back to our assistant; ask for a person again any time.",
            event="handed_back",
            status=Status.BOT,
            author_id=agent.pk,
        )
        _enqueue("queue_assign")
        consoles_ring()
    return message


def conversation_close(*, conversation_id: int, agent_id: int) -> Message:
    """agent -> closed; a closed conversation never re-enters the queue by itself."""
    agent = _agent(agent_id)
    with transaction.atomic():
        _owned_transition(
            conversation_id=conversation_id, agent_id=agent_id, target=Status.CLOSED, closed_at=timezone.now()
        )
        message = _event(
            conversation_id=conversation_id,
            text=f"{agent_name(agent)} closed the chat. Thanks for contacting us!",
            event="closed",
            status=Status.CLOSED,
            author_id=agent.pk,
        )
        _enqueue("satisfaction_request", conversation_id=conversation_id)
        _enqueue("queue_assign")
        consoles_ring()
    return message


def agent_reply(*, conversation_id: int, agent_id: int, text: str, client_id: str = "") -> tuple[Message, bool]:
    """Store the owning agent's reply; the customer's widget gets it through the conversation's group."""
    agent = _agent(agent_id)
    with transaction.atomic():
        # The row lock orders this reply against a concurrent hand-back or close.
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.status != Status.AGENT:
            raise IllegalTransition(current=conversation.status, target=Status.AGENT)
        if conversation.assigned_agent_id != agent_id:
            raise NotYourConversation(f"conversation {conversation.public_id} belongs to another agent")
        return services.message_record(
            conversation_id=conversation_id,
            role=Message.Role.AGENT,
            text=text,
            client_id=client_id,
            author_id=agent_id,
            data={"author_name": agent_name(agent)},
        )
