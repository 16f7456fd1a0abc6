"""What agents write in the console besides replies: internal notes, tags and contact-reason corrections.

Each write rings the consoles after commit; none of it is a message, so none of it reaches a widget.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from conversations.console.selectors import note_frame
from conversations.doorbells import console_labels_ring, console_note_broadcast
from conversations.models import ContactReason, Conversation, ConversationReason, ConversationTag, InternalNote

Source = ConversationReason.Source


class UnknownLabel(Exception):
    """A tag or contact reason that is not (or no longer) on the staff-managed list."""


def note_add(*, conversation_id: int, author_id: int, text: str, client_id: str = "") -> tuple[InternalNote, bool]:
    """Store an internal note after the conversation's latest message; (note, created).

    Idempotent by ``client_id`` (a console re-sending after a reconnect stores it once).
    """
    if client_id:
        existing = InternalNote.objects.filter(conversation_id=conversation_id, client_id=client_id).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.get(pk=conversation_id)
            note = InternalNote.objects.create(
                conversation=conversation,
                author_id=author_id,
                text=text,
                after_seq=conversation.last_seq,
                client_id=client_id,
            )
            console_note_broadcast(public_id=conversation.public_id, frame=note_frame(note))
    except IntegrityError:
        existing = InternalNote.objects.filter(conversation_id=conversation_id, client_id=client_id).first()
        if existing is None:
            raise
        return existing, False
    return note, True


def conversation_tag_set(*, conversation_id: int, tag_id: int, on: bool) -> None:
    """Put a tag from the staff-managed list on a conversation, or take it off (idempotent)."""
    tag = ConversationTag.objects.filter(pk=tag_id).first()
    if tag is None:
        raise UnknownLabel(f"no tag {tag_id}")
    with transaction.atomic():
        conversation = Conversation.objects.get(pk=conversation_id)
        if on:
            tag.conversations.add(conversation)
        else:
            tag.conversations.remove(conversation)
        console_labels_ring(public_id=conversation.public_id)


def contact_reasons_correct(*, conversation_id: int, reason_ids: Iterable[int], agent_id: int) -> None:
    """Make the conversation's contact reasons exactly ``reason_ids``, as an agent says they are.

    Corrections are kept: a batch reason the agent removes is marked removed (not deleted), a reason
    the agent adds is a row of its own, and putting either back clears the mark.
    """
    wanted = set(reason_ids)
    known = set(ContactReason.objects.filter(pk__in=wanted, active=True).values_list("pk", flat=True))
    if wanted - known:
        raise UnknownLabel(f"no contact reasons {sorted(wanted - known)}")
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        rows = list(ConversationReason.objects.filter(conversation_id=conversation_id))
        for row in rows:
            keep = row.reason_id in wanted
            if row.removed == keep:  # shown but not wanted, or wanted and marked removed
                ConversationReason.objects.filter(pk=row.pk).update(removed=not keep, changed_by_id=agent_id)
        present = {row.reason_id for row in rows}
        ConversationReason.objects.bulk_create(
            ConversationReason(
                conversation_id=conversation_id, reason_id=reason_id, source=Source.AGENT, changed_by_id=agent_id
            )
            for reason_id in sorted(wanted - present)
        )
        console_labels_ring(public_id=conversation.public_id)
