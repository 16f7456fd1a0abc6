"""Every write to conversations and messages goes through here, then rings the doorbell after commit."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from conversations.doorbells import consoles_queue_ring, conversation_broadcast
from conversations.events import ConversationEvent, conversation_event_send
from conversations.languages import in_language, text_language_detect
from conversations.models import Conversation, Message
from conversations.selectors import customer_language, message_frame
from conversations.tokens import visitor_token_issue
from routing.services import LedgerTotals, daily_spend_add, ledger_record, ledger_totals
from routing.types import CallRecord

# The ledger's writes from the event loop: one thread of their own, beside the process's shared ORM
# thread, so a call's opening row (written before its request goes out) never queues behind other
# conversations' work there.
_ledger_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")

logger = logging.getLogger(__name__)


def conversation_open(*, origin: str, customer_id: int | None = None) -> tuple[Conversation, str]:
    """A new conversation and the visitor token that opens it (and nothing else).

    ``customer_id``: the verified customer it belongs to (conversations/identity.py), else anonymous.
    """
    with transaction.atomic():
        conversation = Conversation.objects.create(origin=origin[:200], customer_id=customer_id)
        conversation_event_send(event=ConversationEvent.CREATED, conversation_id=conversation.pk)
    token = visitor_token_issue(conversation_public_id=conversation.public_id, token_version=conversation.token_version)
    return conversation, token


def conversation_revoke_tokens(*, conversation_id: int) -> None:
    Conversation.objects.filter(pk=conversation_id).update(token_version=F("token_version") + 1)


def _seq_next(*, conversation_id: int, **also: Any) -> tuple[Conversation, int]:
    """Lock the conversation and take its next seq; ``also``: more columns for the same UPDATE."""
    # The row lock serialises seq allocation per conversation (SQLite serialises all writers anyway).
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    conversation.last_seq += 1
    # Every message and event is a change a CRM syncing by updated_at must see (a bulk update skips auto_now).
    Conversation.objects.filter(pk=conversation_id).update(
        last_seq=conversation.last_seq, updated_at=timezone.now(), **also
    )
    return conversation, conversation.last_seq


# The states whose conversations the console lists as cards (waiting, and each agent's own).
_SHOWN_ON_CONSOLE_CARDS = frozenset({Conversation.Status.WAITING, Conversation.Status.AGENT})


def message_record(
    *,
    conversation_id: int,
    role: str,
    text: str,
    client_id: str = "",
    kind: str = "text",
    data: dict[str, Any] | None = None,
    author_id: int | None = None,
) -> tuple[Message, bool]:
    """Store one customer, agent or system message with the next seq; (message, created).

    A customer message re-sent with the same ``client_id`` (after a reconnect) returns the stored one.
    """
    if client_id:
        existing = Message.objects.filter(conversation_id=conversation_id, client_id=client_id).first()
        if existing is not None:
            return existing, False
    language = _customer_language(conversation_id=conversation_id, text=text) if role == Message.Role.CUSTOMER else ""
    try:
        with transaction.atomic():
            conversation, seq = _seq_next(conversation_id=conversation_id)
            message = Message.objects.create(
                conversation=conversation,
                seq=seq,
                role=role,
                text=text,
                language=language,
                kind=kind,
                data=data or {},
                client_id=client_id,
                author_id=author_id,
            )
            conversation_broadcast(conversation=conversation, frame=message_frame(message))
            if role == Message.Role.CUSTOMER and conversation.status in _SHOWN_ON_CONSOLE_CARDS:
                # The waiting and "My chats" cards show the customer's newest words.
                consoles_queue_ring()
    except IntegrityError:
        # Two sockets raced on the same client_id: the other one stored it.
        existing = Message.objects.filter(conversation_id=conversation_id, client_id=client_id).first()
        if existing is None:
            raise
        return existing, False
    return message, True


def _customer_language(*, conversation_id: int, text: str) -> str:
    # Detected outside the transaction: the first message in a script loads its models (up to ~1.5 s).
    return text_language_detect(text=text, fallback=customer_language(conversation_id=conversation_id))


def customer_text(*, conversation_id: int, text: str, **values: str) -> str:
    """A line the server writes to the customer (``text``, an English msgid with ``{name}``
    placeholders for ``values``), in the language the customer writes in."""
    line = in_language(text, language=customer_language(conversation_id=conversation_id))
    return line.format(**values) if values else line


def event_record(
    *, conversation_id: int, text: str, event: str, status: str, author_id: int | None = None, **data: Any
) -> Message:
    """A system event in the transcript (handoff requested, agent joined, ...), with the next seq."""
    message, _ = message_record(
        conversation_id=conversation_id,
        role=Message.Role.SYSTEM,
        kind="event",
        text=text,
        data={"event": event, "status": status, **data},
        author_id=author_id,
    )
    return message


class ClientIdUsed(Exception):
    """A different message under a ``client_id`` the conversation already stored one with."""


def message_resent_check(message: Message, *, created: bool, text: str) -> None:
    """Refuse a different text under a client's ``client_id`` already used: acknowledged as the stored
    message, it would be lost. The same message sent again (a re-send after a reconnect) is fine."""
    if not created and message.text != text:
        raise ClientIdUsed(f"client_id {message.client_id!r} names another message")


class BotSilenced(Exception):
    """The conversation left the bot (an agent took it, or it closed) before its answer was stored."""


def answer_record(
    *,
    conversation_id: int,
    reply_to_seq: int,
    text: str,
    tier: str,
    model: str,
    route_reason: str,
    calls: Sequence[Any],
    citations: Sequence[dict[str, str]] = (),
    time_to_first_token_ms: int | None = None,
    duration_ms: int | None = None,
    fell_back: bool = False,
    failed_over_mid_stream: bool = False,
    data: dict[str, Any] | None = None,
) -> tuple[Message, bool]:
    """Store the bot's answer to one customer message, exactly once, with its ledger rows.

    The message's totals are the sums of its calls' ledger rows; the conversation's totals are
    the sums of all its rows (those of calls whose answer was never stored included), kept so by
    adding, in the same transaction, exactly what each ledger write added.
    """
    existing = Message.objects.filter(
        conversation_id=conversation_id, role=Message.Role.ASSISTANT, reply_to_seq=reply_to_seq
    ).first()
    if existing is not None:
        return existing, False
    totals = ledger_totals(calls=calls)
    try:
        with transaction.atomic():
            conversation, seq = _seq_next(conversation_id=conversation_id)
            # Checked under the row lock, so an agent's claim and the bot's answer cannot interleave
            # (a silenced answer rolls the whole transaction back, totals included).
            if conversation.status != Conversation.Status.BOT:
                raise BotSilenced(f"conversation {conversation.public_id} is {conversation.status}")
            message = Message.objects.create(
                conversation=conversation,
                seq=seq,
                role=Message.Role.ASSISTANT,
                text=text,
                reply_to_seq=reply_to_seq,
                tier=tier,
                model=model,
                route_reason=route_reason[:300],
                citations=list(citations),
                time_to_first_token_ms=time_to_first_token_ms,
                duration_ms=duration_ms,
                fell_back=fell_back,
                failed_over_mid_stream=failed_over_mid_stream,
                data=data or {},
                input_tokens=totals.input_tokens,
                cached_input_tokens=totals.cached_input_tokens,
                output_tokens=totals.output_tokens,
                cost=totals.cost,
                usage_estimated=totals.usage_estimated,
            )
            # Rows the gateway wrote as the calls ended are linked to the message; only what they did
            # not hold yet is added to the conversation (so the calls are never counted twice).
            added = ledger_record(conversation_id=conversation_id, message_id=message.pk, calls=calls)
            spend_totals_add(conversation_id=conversation_id, added=added)
            message.refresh_from_db()  # the cost as the database rounded it
            conversation_broadcast(conversation=conversation, frame=message_frame(message))
    except IntegrityError:
        existing = Message.objects.filter(
            conversation_id=conversation_id, role=Message.Role.ASSISTANT, reply_to_seq=reply_to_seq
        ).first()
        if existing is None:
            raise
        return existing, False
    return message, True


def spend_totals_add(*, conversation_id: int | None, added: LedgerTotals) -> None:
    """Add what a ledger write added to the conversation's totals and to the day's spend (call inside the
    write's transaction; the day's row is taken last, see ``routing.services.daily_spend_add``)."""
    if conversation_id is not None and (added.cost or added.input_tokens or added.output_tokens):
        Conversation.objects.filter(pk=conversation_id).update(
            total_cost=F("total_cost") + added.cost,
            total_input_tokens=F("total_input_tokens") + added.input_tokens,
            total_output_tokens=F("total_output_tokens") + added.output_tokens,
        )
    daily_spend_add(added=added)


def ledger_call_note(*, conversation_id: int, attempt: str, call: CallRecord) -> None:
    """One upstream call's ledger row as the gateway reports it (sent, then ended), with the
    conversation's totals, in one transaction: the row exists whatever happens to the answer."""
    with transaction.atomic():
        added = ledger_record(conversation_id=conversation_id, message_id=None, calls=[call], attempt=attempt)
        spend_totals_add(conversation_id=conversation_id, added=added)


def ledger_sink(
    *, conversation_id: int, attempt: str, in_sync_caller: bool = False
) -> Callable[[CallRecord], Awaitable[None]]:
    """The gateway's ``on_call`` for an answer or summary of this conversation (async, for the stream).

    The gateway awaits the write before it sends the call, so on the event loop it runs on a thread
    of its own: the process's one thread-sensitive ORM thread may be busy with other conversations'
    work for a while, and the model request would wait in that queue.

    ``in_sync_caller``: the stream runs under ``async_to_sync`` inside synchronous code (a Celery
    task), so the write runs on that caller's thread with its connection, which is not closed.
    """
    note = (
        sync_to_async(ledger_call_note)
        if in_sync_caller
        else database_sync_to_async(ledger_call_note, thread_sensitive=False, executor=_ledger_thread)
    )

    async def sink(call: CallRecord) -> None:
        await note(conversation_id=conversation_id, attempt=attempt, call=call)

    return sink
