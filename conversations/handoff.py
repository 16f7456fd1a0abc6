"""Human handoff as a strict state machine: bot -> waiting -> agent -> (bot | closed), and transfers:
agent -> agent (to another online agent) or agent -> waiting (back to the queue).

Every transition is one conditional UPDATE (``filter(pk=..., status=<from>).update(...) == 1``):
of two agents clicking "claim" at the same moment exactly one moves the row, the other is told.
Each transition records a system event message (with a seq) in the same transaction, so the
customer's widget and every console see it, and rings the consoles' doorbell after commit.
Tasks that follow a transition (summary, assignment, satisfaction) are enqueued after commit.

Who gets a waiting chat is ``conversations.assignment``; out-of-hours tickets are
``conversations.tickets``; the bot's own turn (when it hands over by itself) is ``conversations.turns``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_noop

from conversations import business_hours, offers, services, tasks
from conversations.assignment import agent_loads, agent_profile_for
from conversations.doorbells import consoles_ring
from conversations.events import ConversationEvent, conversation_event_send
from conversations.languages import in_language
from conversations.models import AgentProfile, ChatOffer, Conversation, Message, Summary
from conversations.selectors import agent_name, agents_online, customer_language, queue_position, ticket_open

Status = Conversation.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.BOT: frozenset({Status.WAITING}),
    Status.WAITING: frozenset({Status.AGENT}),
    # agent -> agent and agent -> waiting are transfers: to another agent, or back to the queue.
    Status.AGENT: frozenset({Status.BOT, Status.CLOSED, Status.AGENT, Status.WAITING}),
    Status.CLOSED: frozenset(),
}


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


class TransferRefused(Exception):
    """The chosen agent cannot take the chat: not an online agent, at their cap, or the sender."""


def transition_allowed(*, current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def _transition(*, conversation_id: int, target: str, sources: Iterable[str], **updates: Any) -> None:
    """Move the row from one of ``sources`` to ``target`` or raise IllegalTransition; call in a transaction."""
    sources = [source for source in sources if transition_allowed(current=source, target=target)]
    moved = Conversation.objects.filter(pk=conversation_id, status__in=sources).update(
        status=target, updated_at=timezone.now(), **updates
    )
    if moved != 1:
        current = Conversation.objects.values_list("status", flat=True).get(pk=conversation_id)
        raise IllegalTransition(current=current, target=target)


# --- the customer's side ------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffResult:
    outcome: str  # "queued" | "out_of_hours"
    message: Message
    position: int | None = None


# The lines below are written to the customer, in the language they write in (services.customer_text).
QUEUED_TEXT = gettext_noop(
    "I'm connecting you with a person from our support team. They'll see everything you've written."
)
# Said when nobody is signed in to take the chat: the customer stays in line and may also leave an email.
NOBODY_ONLINE_TEXT = gettext_noop(
    " Nobody from the team is online at the moment, so this may take a while: you'll keep your place, "
    "and you can also leave your email and a message below, and we'll reply by email."
)
# Translators: {opening} is empty or " (we open Monday at 09:00)", from the line after these.
OUT_OF_HOURS_TEXT = gettext_noop(
    "Our support team is offline right now{opening}. Leave your email and a message, "
    "and we'll get back to you when we open."
)
# The same moments once the customer's message for the team is waiting: no second form to fill in.
NOBODY_ONLINE_TICKET_OPEN_TEXT = gettext_noop(
    " Nobody from the team is online at the moment, so this may take a while: you'll keep your place, "
    "and we already have your message, so we'll reply by email either way."
)
OUT_OF_HOURS_TICKET_OPEN_TEXT = gettext_noop(
    "Our support team is offline right now{opening}. We already have your message and will reply by email."
)
# Translators: {day} is a day of the week, {time} a time such as 09:00.
OPENING_TEXT = gettext_noop(" (we open {day} at {time})")
AGENT_JOINED_TEXT = gettext_noop("{agent} joined the chat")
HANDED_BACK_TEXT = gettext_noop("{agent} handed the chat back to our assistant; ask for a person again any time.")
CLOSED_TEXT = gettext_noop("{agent} closed the chat. Thanks for contacting us!")
TRANSFERRED_TEXT = gettext_noop("{agent} transferred the chat to {receiver}.")
PASSED_ON_TEXT = gettext_noop("{agent} passed the chat to the next person available on our team.")


def _in_customer_language(conversation_id: int, *lines: str) -> str:
    """``lines`` joined, each in the customer's language (read once for all of them)."""
    language = customer_language(conversation_id=conversation_id)
    return "".join(in_language(line, language=language) for line in lines)


def _nobody_online_text(*, nobody_online: bool, has_ticket: bool) -> str:
    if not nobody_online:
        return ""
    return NOBODY_ONLINE_TICKET_OPEN_TEXT if has_ticket else NOBODY_ONLINE_TEXT


def handoff_request(*, conversation_id: int, reason: str, trigger: str) -> HandoffResult:
    """Queue a bot conversation for an agent (or, out of hours, offer a ticket). With nobody online to take
    it, the customer keeps their place and is also offered a ticket (``nobody_online`` in the event).

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
        nobody_online = not agents_online()
        has_ticket = ticket_open(conversation_id=conversation_id)
        message = services.event_record(
            conversation_id=conversation_id,
            text=_in_customer_language(
                conversation_id, QUEUED_TEXT, _nobody_online_text(nobody_online=nobody_online, has_ticket=has_ticket)
            ),
            event="handoff_requested",
            status=Status.WAITING,
            reason=reason[:200],
            trigger=trigger,
            position=position,
            nobody_online=nobody_online,
            ticket_open=has_ticket,
        )
        summary = Summary.objects.create(
            conversation_id=conversation_id, purpose=Summary.Purpose.HANDOFF, upto_seq=message.seq
        )
        conversation_event_send(
            event=ConversationEvent.HANDED_OFF, conversation_id=conversation_id, trigger=trigger, reason=reason[:200]
        )
        tasks.task_enqueue_after_commit(tasks.summary_make, summary_id=summary.pk)
        tasks.task_enqueue_after_commit(tasks.conversation_assign, conversation_id=conversation_id)
        consoles_ring()
    return HandoffResult(outcome="queued", message=message, position=position)


def _out_of_hours(*, conversation_id: int, now: Any, hours: business_hours.BusinessHours) -> HandoffResult:
    status = Conversation.objects.values_list("status", flat=True).get(pk=conversation_id)
    if status != Status.BOT:
        raise IllegalTransition(current=status, target=Status.WAITING)
    opening = business_hours.business_hours_next_opening(at=now, hours=hours)
    language = customer_language(conversation_id=conversation_id)
    opening_text = (
        in_language(OPENING_TEXT, language=language).format(
            day=in_language(WEEKDAYS[opening.weekday()], language=language), time=f"{opening:%H:%M}"
        )
        if opening
        else ""
    )
    # Asked again after leaving a message: the form is not offered twice (one open ticket per conversation).
    has_ticket = ticket_open(conversation_id=conversation_id)
    message = services.event_record(
        conversation_id=conversation_id,
        text=in_language(OUT_OF_HOURS_TICKET_OPEN_TEXT if has_ticket else OUT_OF_HOURS_TEXT, language=language).format(
            opening=opening_text
        ),
        event="out_of_hours",
        status=Status.BOT,
        opens_at=opening.isoformat() if opening else None,
        ticket_open=has_ticket,
    )
    return HandoffResult(outcome="out_of_hours", message=message)


# --- the agent's side ------------------------------------------------------------------------


def agent_set_online(*, agent_id: int, online: bool) -> AgentProfile:
    profile = agent_profile_for(agent_id=agent_id)
    AgentProfile.objects.filter(pk=profile.pk).update(online=online)
    profile.refresh_from_db()
    if online:
        tasks.task_enqueue_after_commit(tasks.queue_assign)
    else:
        offers.offers_withdraw(agent_id=agent_id)
    consoles_ring()
    return profile


def agent_availability_set(*, agent_id: int, online: bool, max_concurrent_chats: int) -> AgentProfile:
    """An agent's availability as an admin sets it: consoles show it at once, and room offers waiting chats."""
    profile = agent_profile_for(agent_id=agent_id)
    AgentProfile.objects.filter(pk=profile.pk).update(
        online=online, max_concurrent_chats=max_concurrent_chats, updated_at=timezone.now()
    )
    profile.refresh_from_db()
    if online:
        tasks.task_enqueue_after_commit(tasks.queue_assign)
    else:
        offers.offers_withdraw(agent_id=agent_id)
    consoles_ring()
    return profile


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
        offers.offers_settle(conversation_id=conversation_id, agent_id=agent.pk)
        name = agent_name(agent)
        message = services.event_record(
            conversation_id=conversation_id,
            text=services.customer_text(conversation_id=conversation_id, text=AGENT_JOINED_TEXT, agent=name),
            event="agent_joined",
            status=Status.AGENT,
            author_id=agent.pk,
            agent=name,
        )
        conversation_event_send(
            event=ConversationEvent.ASSIGNED, conversation_id=conversation_id, agent={"id": agent.pk, "name": name}
        )
        consoles_ring()
    return message


def _owned_transition(*, conversation_id: int, agent_id: int, target: str, **updates: Any) -> None:
    owned = Conversation.objects.filter(pk=conversation_id, status=Status.AGENT, assigned_agent_id=agent_id).update(
        status=target, updated_at=timezone.now(), **updates
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
        message = services.event_record(
            conversation_id=conversation_id,
            text=services.customer_text(
                conversation_id=conversation_id, text=HANDED_BACK_TEXT, agent=agent_name(agent)
            ),
            event="handed_back",
            status=Status.BOT,
            author_id=agent.pk,
        )
        tasks.task_enqueue_after_commit(tasks.queue_assign)
        consoles_ring()
    return message


def conversation_close(*, conversation_id: int, agent_id: int) -> Message:
    """agent -> closed; a closed conversation never re-enters the queue by itself."""
    agent = _agent(agent_id)
    with transaction.atomic():
        _owned_transition(
            conversation_id=conversation_id, agent_id=agent_id, target=Status.CLOSED, closed_at=timezone.now()
        )
        message = services.event_record(
            conversation_id=conversation_id,
            text=services.customer_text(conversation_id=conversation_id, text=CLOSED_TEXT, agent=agent_name(agent)),
            event="closed",
            status=Status.CLOSED,
            author_id=agent.pk,
        )
        conversation_event_send(
            event=ConversationEvent.CLOSED,
            conversation_id=conversation_id,
            agent={"id": agent.pk, "name": agent_name(agent)},
        )
        tasks.task_enqueue_after_commit(tasks.satisfaction_request, conversation_id=conversation_id)
        tasks.task_enqueue_after_commit(tasks.queue_assign)
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
        message, created = services.message_record(
            conversation_id=conversation_id,
            role=Message.Role.AGENT,
            text=text,
            client_id=client_id,
            author_id=agent_id,
            data={"author_name": agent_name(agent)},
        )
        services.message_resent_check(message, created=created, text=text)
        return message, created


# --- transfers -----------------------------------------------------------------------------


def _transfer_target(*, to_agent_id: int, from_agent_id: int) -> Any:
    """The agent a chat may go to: another active staff member, online, under their cap."""
    if to_agent_id == from_agent_id:
        raise TransferRefused("the chat is already yours")
    profile = (
        AgentProfile.objects.select_for_update()
        .filter(user_id=to_agent_id, online=True, user__is_active=True, user__is_staff=True)
        .select_related("user")
        .first()
    )
    if profile is None:
        raise TransferRefused("that agent is not online")
    if agent_loads().get(to_agent_id, 0) >= profile.max_concurrent_chats:
        raise TransferRefused("that agent has no room for another chat")
    return profile.user


def conversation_transfer(*, conversation_id: int, agent_id: int, to_agent_id: int | None) -> Message:
    """agent -> agent (``to_agent_id``) or agent -> waiting (None): only the owning agent may do it.

    To an agent: the chat is theirs at once (it moves to their console's "My chats"). To the queue:
    it waits again, for anyone but the sender, and automatic assignment looks for someone.
    """
    sender = _agent(agent_id)
    with transaction.atomic():
        # Whose chat it is decides first: a stranger is told so, whoever they name.
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.status != Status.AGENT:
            raise IllegalTransition(
                current=conversation.status, target=Status.WAITING if to_agent_id is None else Status.AGENT
            )
        if conversation.assigned_agent_id != agent_id:
            raise NotYourConversation(f"conversation {conversation.public_id} belongs to another agent")
        if to_agent_id is None:
            return _transfer_to_queue(conversation_id=conversation_id, sender=sender)
        receiver = _transfer_target(to_agent_id=to_agent_id, from_agent_id=agent_id)
        _owned_transition(
            conversation_id=conversation_id, agent_id=agent_id, target=Status.AGENT, assigned_agent=receiver
        )
        message = services.event_record(
            conversation_id=conversation_id,
            text=services.customer_text(
                conversation_id=conversation_id,
                text=TRANSFERRED_TEXT,
                agent=agent_name(sender),
                receiver=agent_name(receiver),
            ),
            event="transferred",
            status=Status.AGENT,
            author_id=sender.pk,
            agent=agent_name(receiver),
            previous_agent=agent_name(sender),
        )
        consoles_ring(assigned_to=receiver.pk, conversation_public_id=conversation.public_id)
    return message


AGENT_LEFT_TEXT = gettext_noop("{agent} had to leave. You're back in line for the next person available on our team.")
# When each agent's console last showed a sign of life (a socket opened, a ping), shared by every process.
_SEEN_KEY = "console-seen:{agent_id}"
# Set when the agent was taken offline for leaving, not by their own choice: their return brings them back.
_LEFT_KEY = "console-left:{agent_id}"
_PRESENCE_TTL_S = 24 * 3600
# The console page pings this often (static/console/console.js); a ping refreshes the agent's sign of life.
CONSOLE_PING_EVERY_S = 25


def agent_seen(*, agent_id: int) -> None:
    """The agent's console is open (it connected or pinged). One who left is back online."""
    cache.set(_SEEN_KEY.format(agent_id=agent_id), time.time(), _PRESENCE_TTL_S)
    if cache.get(_LEFT_KEY.format(agent_id=agent_id)):
        cache.delete(_LEFT_KEY.format(agent_id=agent_id))
        agent_set_online(agent_id=agent_id, online=True)


def agent_seen_since(*, agent_id: int, since: float) -> bool:
    seen = cache.get(_SEEN_KEY.format(agent_id=agent_id))
    return seen is not None and seen > since


def agent_gone(*, agent_id: int) -> int:
    """The agent signed out, or left the console for good: they go offline, each chat they held goes
    back to the queue (for anyone, them too once they are back) and each chat offered to them moves on to
    someone else (or, with nobody, back to the queue), so no customer waits on a person who is not there.
    How many chats went back to the queue."""
    if not AgentProfile.objects.filter(user_id=agent_id).exists():
        return 0  # not an agent (an admin signing out of the admin)
    if AgentProfile.objects.filter(user_id=agent_id, online=True).exists():
        # Offline for leaving, not by their own choice: they are back online when they return.
        cache.set(_LEFT_KEY.format(agent_id=agent_id), True, _PRESENCE_TTL_S)
        agent_set_online(agent_id=agent_id, online=False)
    held = Conversation.objects.filter(status=Status.AGENT, assigned_agent_id=agent_id).values_list("pk", flat=True)
    sender = _agent(agent_id)
    moved = 0
    for conversation_id in list(held):
        with transaction.atomic():
            try:
                _transfer_to_queue(
                    conversation_id=conversation_id,
                    sender=sender,
                    text=services.customer_text(
                        conversation_id=conversation_id, text=AGENT_LEFT_TEXT, agent=agent_name(sender)
                    ),
                    event="agent_left",
                )
            except (IllegalTransition, NotYourConversation):
                continue  # closed, handed back or passed on meanwhile
        moved += 1
    # Done when they went offline (above, or earlier by their own choice); again here, a no-op unless a
    # chat was reserved for them in between.
    offers.offers_withdraw(agent_id=agent_id)
    return moved


def agents_absent_return(*, now: float | None = None) -> int:
    """Chats held by an agent whose consoles have shown no sign of life for a while go back to the queue
    (:func:`agent_gone`); how many went back.

    The web process that saw the agent's last console close watches for their return in memory; a restart
    or crash of that process ends the watch, and a customer would wait on nobody. This sweep, run by beat,
    covers that: silent for the absence limit plus two missed pings means gone. An agent never seen since
    the cache was emptied (an embedded Redis restarted with the product) counts as seen now, so one whose
    console reconnects after the restart keeps their chats.
    """
    now = time.time() if now is None else now
    silent_after = settings.SUPPORTBOT_AGENT_GONE_AFTER_S + 2 * CONSOLE_PING_EVERY_S
    holders = set(
        Conversation.objects.filter(status=Status.AGENT, assigned_agent__isnull=False).values_list(
            "assigned_agent_id", flat=True
        )
    )
    moved = 0
    for agent_id in sorted(holders):
        key = _SEEN_KEY.format(agent_id=agent_id)
        if cache.add(key, now, _PRESENCE_TTL_S):
            continue
        seen = cache.get(key)
        if seen is not None and now - seen > silent_after:
            moved += agent_gone(agent_id=agent_id)
    return moved


def _transfer_to_queue(*, conversation_id: int, sender: Any, text: str = "", event: str = "transferred") -> Message:
    """Back to the queue. An agent who sent it there is passed over while it waits; one who had to leave is
    not, so on their return they may have it again when nobody else has taken it."""
    now = timezone.now()
    _owned_transition(
        conversation_id=conversation_id,
        agent_id=sender.pk,
        target=Status.WAITING,
        assigned_agent=None,
        waiting_since=now,
    )
    if event != "agent_left":
        # The sender is passed over when the chat is assigned again during this wait.
        ChatOffer.objects.create(
            conversation_id=conversation_id, agent=sender, status=ChatOffer.Status.DECLINED, offered_at=now
        )
    # The sender is passed over for this chat, so they do not count as someone to take it.
    nobody_online = not agents_online(besides=sender.pk)
    has_ticket = ticket_open(conversation_id=conversation_id)
    message = services.event_record(
        conversation_id=conversation_id,
        text=(
            text
            or services.customer_text(conversation_id=conversation_id, text=PASSED_ON_TEXT, agent=agent_name(sender))
        )
        + _in_customer_language(
            conversation_id, _nobody_online_text(nobody_online=nobody_online, has_ticket=has_ticket)
        ),
        event=event,
        status=Status.WAITING,
        author_id=sender.pk,
        previous_agent=agent_name(sender),
        position=queue_position(conversation_id=conversation_id),
        nobody_online=nobody_online,
        ticket_open=has_ticket,
    )
    tasks.task_enqueue_after_commit(tasks.conversation_assign, conversation_id=conversation_id)
    consoles_ring()
    return message
