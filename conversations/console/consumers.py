"""The agent console's websocket: the live queue, transcripts caught up by seq, and agent actions.

Staff only (Django session through ``AuthMiddlewareStack``) and same-origin only: a page on another
site cannot drive an agent's socket with the agent's cookies. Every action calls a service in
``conversations.handoff``; the results reach the consoles and the widget as stored messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session

from conversations import handoff, offers, selectors, services, tickets
from conversations.console import search
from conversations.console import selectors as console_selectors
from conversations.console import services as console_services
from conversations.models import Conversation
from conversations.protocol import (
    COMPOSING_MIN_GAP_S,
    CONSOLE_QUEUE_GROUP,
    MAX_SEQ,
    Close,
    Event,
    Frame,
    console_agent_group,
    console_conversation_group,
    conversation_group,
    frame_composing,
    text_shows_something,
)
from conversations.sockets import JsonSocketConsumer

logger = logging.getLogger(__name__)


def _same_origin(scope: dict[str, Any]) -> bool:
    headers = dict(scope.get("headers", ()))
    origin, host = headers.get(b"origin", b"").decode("latin-1"), headers.get(b"host", b"").decode("latin-1")
    return bool(origin and host) and urlparse(origin).netloc == host


# Absence watches in flight (a task nobody holds may be collected before it runs).
_absence_watches: set[asyncio.Task[None]] = set()


def _absence_watch_start(*, agent_id: int) -> None:
    """A console closed: if no console of this agent shows a sign of life for a while, the agent has left."""
    watch = asyncio.get_running_loop().create_task(_absence_watch(agent_id=agent_id, since=time.time()))
    _absence_watches.add(watch)
    watch.add_done_callback(_absence_watches.discard)


async def _absence_watch(*, agent_id: int, since: float) -> None:
    await asyncio.sleep(settings.SUPPORTBOT_AGENT_GONE_AFTER_S)
    try:
        if not await database_sync_to_async(handoff.agent_seen_since)(agent_id=agent_id, since=since):
            moved = await database_sync_to_async(handoff.agent_gone)(agent_id=agent_id)
            logger.info("agent %s left the console: %d chats back in the queue", agent_id, moved)
    except Exception:
        logger.exception("could not check whether agent %s left the console", agent_id)


MAX_SEARCH_CHARS = 200
MAX_ID = 2**63 - 1  # the largest row id a database holds: a bigger number names nothing


def _is_id(value: object) -> bool:
    return type(value) is int and 0 < value <= MAX_ID


def _opened(*, public_id: str, after_seq: int, agent_id: int) -> dict[str, Any] | None:
    """The transcript the agent opened; a chat offered to them counts as seen, and is not offered on."""
    transcript = console_selectors.console_transcript(public_id=public_id, after_seq=after_seq)
    conversation_id = console_selectors.conversation_id_for(public_id=public_id)
    if transcript is not None and conversation_id is not None:
        offers.offer_opened(conversation_id=conversation_id, agent_id=agent_id)
    return transcript


def _owns(*, public_id: str, agent_id: int) -> bool:
    return Conversation.objects.filter(
        public_id=public_id, status=Conversation.Status.AGENT, assigned_agent_id=agent_id
    ).exists()


def _staff_still_signed_in(*, user_id: int, session_key: str | None) -> bool:
    """Re-checked before each action: a session deleted elsewhere or a revoked staff flag ends the socket."""
    if not session_key or not Session.objects.filter(session_key=session_key).exists():
        return False
    return get_user_model().objects.filter(pk=user_id, is_active=True, is_staff=True).exists()


class ConsoleConsumer(JsonSocketConsumer):
    socket_kind = "console"
    agent_id: int = 0

    async def connect(self) -> None:
        user = self.scope.get("user")
        if (
            user is None
            or not user.is_authenticated
            or not user.is_staff
            or not user.is_active
            or not _same_origin(self.scope)
        ):
            await self.close(code=Close.FORBIDDEN)
            return
        self.agent_id = user.pk
        self.agent_name = selectors.agent_name(user)
        # public_id -> when this console last passed on the agent typing there.
        self.composing_sent_at: dict[str, float] = {}
        # public_id -> the last seq this console has shown, for dedup and catch-up per conversation.
        self.watching: dict[str, int] = {}
        await self.channel_layer.group_add(CONSOLE_QUEUE_GROUP, self.channel_name)
        await self.channel_layer.group_add(console_agent_group(self.agent_id), self.channel_name)
        await self.accept()
        await self.socket_opened()
        await database_sync_to_async(handoff.agent_seen)(agent_id=self.agent_id)
        await self._send_queue()

    async def disconnect(self, code: int) -> None:
        if not self.agent_id:
            return
        _absence_watch_start(agent_id=self.agent_id)
        await self.socket_closed()
        await self.channel_layer.group_discard(CONSOLE_QUEUE_GROUP, self.channel_name)
        await self.channel_layer.group_discard(console_agent_group(self.agent_id), self.channel_name)
        for public_id in self.watching:
            await self._unwatch(public_id)

    # --- inbound ---------------------------------------------------------------------------
    async def frame_allowed(self, frame: dict[str, Any]) -> bool:
        allowed = await database_sync_to_async(_staff_still_signed_in)(
            user_id=self.agent_id, session_key=self.scope["session"].session_key
        )
        if not allowed:
            await self.close(code=Close.UNAUTHORIZED)
        return allowed

    async def on_open(self, frame: dict[str, Any]) -> None:
        public_id, last_seq = frame.get("conversation"), frame.get("last_seq", 0)
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or not 0 <= last_seq <= MAX_SEQ:
            # As the widget does: say so, and send the whole transcript.
            await self.send_error("bad_seq", "last_seq must be a whole number from 0; sending the whole transcript.")
            last_seq = 0
        if not isinstance(public_id, str):
            await self.send_error("bad_conversation", "Name a conversation.")
            return
        await self.channel_layer.group_add(conversation_group(public_id), self.channel_name)
        await self.channel_layer.group_add(console_conversation_group(public_id), self.channel_name)
        transcript = await database_sync_to_async(_opened)(
            public_id=public_id, after_seq=last_seq, agent_id=self.agent_id
        )
        if transcript is None:
            await self._unwatch(public_id)
            await self.send_error("not_found", "No such conversation.")
            return
        # The client says what it already shows (its last seq); it gets the rest, once.
        async with self.send_lock:
            self.watching[public_id] = max([last_seq, *(m["seq"] for m in transcript["messages"])])
            await self.send_json(transcript)

    async def on_leave(self, frame: dict[str, Any]) -> None:
        public_id = frame.get("conversation")
        if isinstance(public_id, str) and self.watching.pop(public_id, None) is not None:
            await self._unwatch(public_id)

    async def _unwatch(self, public_id: str) -> None:
        await self.channel_layer.group_discard(conversation_group(public_id), self.channel_name)
        await self.channel_layer.group_discard(console_conversation_group(public_id), self.channel_name)

    async def _act(self, frame: dict[str, Any], action: Callable[..., Any], **kwargs: Any) -> None:
        public_id = frame.get("conversation")
        conversation_id = await database_sync_to_async(console_selectors.conversation_id_for)(
            public_id=public_id if isinstance(public_id, str) else ""
        )
        if conversation_id is None:
            await self.send_error("not_found", "No such conversation.")
            return
        try:
            await database_sync_to_async(action)(conversation_id=conversation_id, agent_id=self.agent_id, **kwargs)
        except handoff.ClaimLost:
            await self.send_json(
                {
                    "type": Frame.CLAIM_LOST,
                    "conversation": public_id,
                    "message": "Another agent claimed this chat first.",
                }
            )
        except handoff.NotYourConversation:
            await self.send_error("not_yours", "Another agent owns this chat.", conversation=public_id)
        except handoff.IllegalTransition as refused:
            await self.send_error(
                "illegal_transition", f"Not possible: the chat is {refused.current}.", conversation=public_id
            )
        except handoff.TransferRefused as refused:
            await self.send_error("transfer_refused", f"Not transferred: {refused}.", conversation=public_id)
        except services.ClientIdUsed:
            used = "Another reply was already sent with this client_id; send this one with a new client_id."
            await self.send_error("client_id_used", used, conversation=public_id)
        else:
            await self.send_json({"type": Frame.DONE, "action": frame["type"], "conversation": public_id})

    async def on_claim(self, frame: dict[str, Any]) -> None:
        await self._act(frame, handoff.conversation_claim)

    async def on_hand_back(self, frame: dict[str, Any]) -> None:
        await self._act(frame, handoff.conversation_hand_back)

    async def on_close(self, frame: dict[str, Any]) -> None:
        await self._act(frame, handoff.conversation_close)

    async def on_reply(self, frame: dict[str, Any]) -> None:
        text, client_id = frame.get("text"), frame.get("client_id", "")
        if (
            not isinstance(text, str)
            or not text_shows_something(text)
            or len(text) > settings.SUPPORTBOT_MAX_MESSAGE_CHARS
        ):
            await self.send_error("bad_reply", "A reply needs text (within the message limit).")
            return
        if not isinstance(client_id, str) or len(client_id) > 64:
            await self.send_error("bad_client_id", "client_id must be a string of at most 64 characters.")
            return
        await self._act(frame, handoff.agent_reply, text=text.strip(), client_id=client_id)

    async def on_transfer(self, frame: dict[str, Any]) -> None:
        to = frame.get("to")
        if to is not None and not _is_id(to):
            await self.send_error("bad_transfer", "'to' is an agent's id, or null for the queue.")
            return
        await self._act(frame, handoff.conversation_transfer, to_agent_id=to)

    async def on_note(self, frame: dict[str, Any]) -> None:
        """An internal note: any staff member may write one; consoles get it, widgets never do."""
        text, client_id = frame.get("text"), frame.get("client_id", "")
        if (
            not isinstance(text, str)
            or not text_shows_something(text)
            or len(text) > settings.SUPPORTBOT_MAX_MESSAGE_CHARS
        ):
            await self.send_error("bad_note", "A note needs text (within the message limit).")
            return
        if not isinstance(client_id, str) or len(client_id) > 64:
            await self.send_error("bad_client_id", "client_id must be a string of at most 64 characters.")
            return
        conversation_id = await self._conversation_id(frame)
        if conversation_id is not None:
            await database_sync_to_async(console_services.note_add)(
                conversation_id=conversation_id, author_id=self.agent_id, text=text.strip(), client_id=client_id
            )

    async def on_tag(self, frame: dict[str, Any]) -> None:
        tag_id = frame.get("tag")
        if not _is_id(tag_id):
            await self.send_error("unknown_tag", "Name a tag from the list by its id.")
            return
        conversation_id = await self._conversation_id(frame)
        if conversation_id is None:
            return
        try:
            await database_sync_to_async(console_services.conversation_tag_set)(
                conversation_id=conversation_id, tag_id=tag_id, on=frame.get("on") is not False
            )
        except console_services.UnknownLabel:
            await self.send_error("unknown_tag", "That tag is not on the list (any more).")

    async def on_reasons(self, frame: dict[str, Any]) -> None:
        reasons = frame.get("reasons")
        if not isinstance(reasons, list) or not all(_is_id(r) for r in reasons) or len(reasons) > 50:
            await self.send_error("bad_reasons", "'reasons' is a list of contact reason ids.")
            return
        conversation_id = await self._conversation_id(frame)
        if conversation_id is None:
            return
        try:
            await database_sync_to_async(console_services.contact_reasons_correct)(
                conversation_id=conversation_id, reason_ids=reasons, agent_id=self.agent_id
            )
        except console_services.UnknownLabel:
            await self.send_error("bad_reasons", "A contact reason is not on the list (any more).")

    async def on_search(self, frame: dict[str, Any]) -> None:
        query, tag_id = frame.get("query", ""), frame.get("tag")
        if not isinstance(query, str) or len(query) > MAX_SEARCH_CHARS:
            await self.send_error("bad_search", f"A search is text of at most {MAX_SEARCH_CHARS} characters.")
            return
        if tag_id is not None and not _is_id(tag_id):
            await self.send_error("bad_search", "'tag' is a tag's id, or null.")
            return
        results = await database_sync_to_async(search.conversation_search)(query=query, tag_id=tag_id)
        await self.send_json(results)

    async def on_composing(self, frame: dict[str, Any]) -> None:
        """The agent is typing a reply: the customer sees it (at most once a second, never stored)."""
        public_id = frame.get("conversation")
        if not isinstance(public_id, str):
            return
        now = time.monotonic()
        if now - self.composing_sent_at.get(public_id, 0.0) < COMPOSING_MIN_GAP_S:
            return
        self.composing_sent_at[public_id] = now
        if await database_sync_to_async(_owns)(public_id=public_id, agent_id=self.agent_id):
            await self.channel_layer.group_send(
                conversation_group(public_id),
                {"type": Event.COMPOSING, "role": "agent", "author": self.agent_name, "conversation": public_id},
            )

    async def _conversation_id(self, frame: dict[str, Any]) -> int | None:
        """The named conversation's id, or None after telling the console there is no such conversation."""
        public_id = frame.get("conversation")
        conversation_id = await database_sync_to_async(console_selectors.conversation_id_for)(
            public_id=public_id if isinstance(public_id, str) else ""
        )
        if conversation_id is None:
            await self.send_error("not_found", "No such conversation.")
        return conversation_id

    async def on_online(self, frame: dict[str, Any]) -> None:
        online = frame.get("online")
        if not isinstance(online, bool):
            await self.send_error("bad_online", "'online' must be true or false.")
            return
        await database_sync_to_async(handoff.agent_set_online)(agent_id=self.agent_id, online=online)

    async def on_ticket_done(self, frame: dict[str, Any]) -> None:
        # With a "reply", the customer gets it by email (conversations/emails.py).
        ticket_id, reply = frame.get("ticket"), frame.get("reply") or ""
        if not isinstance(reply, str) or len(reply) > settings.SUPPORTBOT_MAX_MESSAGE_CHARS:
            await self.send_error("bad_reply", "A reply must be text within the message limit.")
            return
        if not _is_id(ticket_id):
            await self.send_error("bad_ticket", "Name a ticket by its id.")
            return
        resolved = await database_sync_to_async(tickets.ticket_resolve)(
            ticket_id=ticket_id, agent_id=self.agent_id, reply=reply.strip()
        )
        if not resolved:
            await self.send_error("ticket_not_open", "This ticket was already answered.", ticket=ticket_id)

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await database_sync_to_async(handoff.agent_seen)(agent_id=self.agent_id)
        await self.send_json({"type": Frame.PONG})

    HANDLERS = {
        Frame.OPEN: on_open,
        Frame.LEAVE: on_leave,
        Frame.CLAIM: on_claim,
        Frame.REPLY: on_reply,
        Frame.HAND_BACK: on_hand_back,
        Frame.CLOSE: on_close,
        Frame.ONLINE: on_online,
        Frame.TICKET_DONE: on_ticket_done,
        Frame.PING: on_ping,
        Frame.TRANSFER: on_transfer,
        Frame.NOTE: on_note,
        Frame.TAG: on_tag,
        Frame.REASONS: on_reasons,
        Frame.SEARCH: on_search,
        Frame.COMPOSING: on_composing,
    }

    # --- outbound (channel layer events) ---------------------------------------------------
    async def queue_changed(self, event: dict[str, Any]) -> None:
        await self._send_queue()

    async def console_assigned(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": Frame.ASSIGNED, "conversation": event["conversation"]})

    async def console_logout(self, event: dict[str, Any]) -> None:
        await self.close(code=Close.UNAUTHORIZED)

    async def conversation_event(self, event: dict[str, Any]) -> None:
        public_id, frame = event.get("conversation"), event["frame"]
        if public_id not in self.watching:
            return
        async with self.send_lock:
            shown = self.watching[public_id]
            if frame["seq"] <= shown:
                return
            frames = [frame]
            if frame["seq"] > shown + 1:
                # A doorbell went missing: the database has the full story.
                conversation_id = await database_sync_to_async(console_selectors.conversation_id_for)(
                    public_id=public_id
                )
                frames = await database_sync_to_async(selectors.messages_after)(
                    conversation_id=conversation_id, after_seq=shown
                )
            for item in frames:
                await self.send_json({**item, "conversation": public_id})
            self.watching[public_id] = max(item["seq"] for item in frames)

    async def conversation_queue(self, event: dict[str, Any]) -> None:
        """Queue positions are for the customer's widget; the console reads them from the queue."""

    async def conversation_composing(self, event: dict[str, Any]) -> None:
        public_id = event.get("conversation")
        if event.get("role") == "customer" and public_id in self.watching:
            await self.send_json(frame_composing(role="customer", conversation=str(public_id)))

    async def console_note(self, event: dict[str, Any]) -> None:
        if event.get("conversation") in self.watching:
            await self.send_json(event["frame"])

    async def console_summary(self, event: dict[str, Any]) -> None:
        public_id = event.get("conversation")
        if public_id in self.watching:
            await self.send_json(
                await database_sync_to_async(console_selectors.summary_frame)(public_id=str(public_id))
            )

    async def console_staff_changed(self, event: dict[str, Any]) -> None:
        public_id = event.get("conversation")
        if public_id in self.watching:
            labels = await database_sync_to_async(console_selectors.labels_frame)(public_id=str(public_id))
            if labels is not None:
                await self.send_json(labels)

    # --- helpers ---------------------------------------------------------------------------
    async def _send_queue(self) -> None:
        snapshot = await database_sync_to_async(console_selectors.console_queue)(agent_id=self.agent_id)
        await self.send_json(snapshot)
