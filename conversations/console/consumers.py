"""The agent console's websocket: the live queue, transcripts caught up by seq, and agent actions.

Staff only (Django session through ``AuthMiddlewareStack``) and same-origin only: a page on another
site cannot drive an agent's socket with the agent's cookies. Every action calls a service in
``conversations.handoff``; the results reach the consoles and the widget as stored messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session

from conversations import handoff, selectors
from conversations.console import selectors as console_selectors

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_LOGGED_OUT = 4401
MAX_FRAME_BYTES = 64 * 1024
MAX_SEQ = 2**53


def _same_origin(scope: dict[str, Any]) -> bool:
    headers = dict(scope.get("headers", ()))
    origin, host = headers.get(b"origin", b"").decode("latin-1"), headers.get(b"host", b"").decode("latin-1")
    return bool(origin and host) and urlparse(origin).netloc == host


def _staff_still_signed_in(*, user_id: int, session_key: str | None) -> bool:
    """Re-checked before each action: a session deleted elsewhere or a revoked staff flag ends the socket."""
    if not session_key or not Session.objects.filter(session_key=session_key).exists():
        return False
    return get_user_model().objects.filter(pk=user_id, is_active=True, is_staff=True).exists()


class ConsoleConsumer(AsyncWebsocketConsumer):
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
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.agent_id = user.pk
        self.send_lock = asyncio.Lock()
        # public_id -> the last seq this console has shown, for dedup and catch-up per conversation.
        self.watching: dict[str, int] = {}
        await self.channel_layer.group_add(handoff.CONSOLE_QUEUE_GROUP, self.channel_name)
        await self.channel_layer.group_add(handoff.console_agent_group(self.agent_id), self.channel_name)
        await self.accept()
        await self._send_queue()

    async def disconnect(self, code: int) -> None:
        if not self.agent_id:
            return
        await self.channel_layer.group_discard(handoff.CONSOLE_QUEUE_GROUP, self.channel_name)
        await self.channel_layer.group_discard(handoff.console_agent_group(self.agent_id), self.channel_name)
        for public_id in self.watching:
            await self.channel_layer.group_discard(f"conversation.{public_id}", self.channel_name)

    # --- inbound ---------------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_FRAME_BYTES:
            await self._error("bad_frame", "Frames are JSON text of at most 64 kB.")
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self._error("bad_json", "The frame is not valid JSON.")
            return
        handler = self.HANDLERS.get(frame.get("type")) if isinstance(frame, dict) else None
        if handler is None:
            await self._error("unknown_type", "Unknown frame type.")
            return
        allowed = await database_sync_to_async(_staff_still_signed_in)(
            user_id=self.agent_id, session_key=self.scope["session"].session_key
        )
        if not allowed:
            await self.close(code=CLOSE_LOGGED_OUT)
            return
        await handler(self, frame)

    async def on_open(self, frame: dict[str, Any]) -> None:
        public_id, last_seq = frame.get("conversation"), frame.get("last_seq", 0)
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or not 0 <= last_seq <= MAX_SEQ:
            last_seq = 0
        if not isinstance(public_id, str):
            await self._error("bad_conversation", "Name a conversation.")
            return
        await self.channel_layer.group_add(f"conversation.{public_id}", self.channel_name)
        transcript = await database_sync_to_async(console_selectors.console_transcript)(
            public_id=public_id, after_seq=last_seq
        )
        if transcript is None:
            await self.channel_layer.group_discard(f"conversation.{public_id}", self.channel_name)
            await self._error("not_found", "No such conversation.")
            return
        # The client says what it already shows (its last seq); it gets the rest, once.
        async with self.send_lock:
            self.watching[public_id] = max([last_seq, *(m["seq"] for m in transcript["messages"])])
            await self._send_json(transcript)

    async def on_leave(self, frame: dict[str, Any]) -> None:
        public_id = frame.get("conversation")
        if isinstance(public_id, str) and self.watching.pop(public_id, None) is not None:
            await self.channel_layer.group_discard(f"conversation.{public_id}", self.channel_name)

    async def _act(self, frame: dict[str, Any], action: Callable[..., Any], **kwargs: Any) -> None:
        public_id = frame.get("conversation")
        conversation_id = await database_sync_to_async(console_selectors.conversation_id_for)(
            public_id=public_id if isinstance(public_id, str) else ""
        )
        if conversation_id is None:
            await self._error("not_found", "No such conversation.")
            return
        try:
            await database_sync_to_async(action)(conversation_id=conversation_id, agent_id=self.agent_id, **kwargs)
        except handoff.ClaimLost:
            await self._send_json(
                {"type": "claim_lost", "conversation": public_id, "message": "Another agent claimed this chat first."}
            )
        except handoff.NotYourConversation:
            await self._error("not_yours", "Another agent owns this chat.", conversation=public_id)
        except handoff.IllegalTransition as refused:
            await self._error(
                "illegal_transition", f"Not possible: the chat is {refused.current}.", conversation=public_id
            )
        else:
            await self._send_json({"type": "done", "action": frame["type"], "conversation": public_id})

    async def on_claim(self, frame: dict[str, Any]) -> None:
        await self._act(frame, handoff.conversation_claim)

    async def on_hand_back(self, frame: dict[str, Any]) -> None:
        await self._act(frame, handoff.conversation_hand_back)

    async def on_close(self, frame: dict[str, Any]) -> None:
        await self._act(frame, handoff.conversation_close)

    async def on_reply(self, frame: dict[str, Any]) -> None:
        text, client_id = frame.get("text"), frame.get("client_id", "")
        if not isinstance(text, str) or not text.strip() or len(text) > settings.SUPPORTBOT_MAX_MESSAGE_CHARS:
            await self._error("bad_reply", "A reply needs text (within the message limit).")
            return
        if not isinstance(client_id, str) or len(client_id) > 64:
            await self._error("bad_client_id", "client_id must be a string of at most 64 characters.")
            return
        await self._act(frame, handoff.agent_reply, text=text.strip(), client_id=client_id)

    async def on_online(self, frame: dict[str, Any]) -> None:
        await database_sync_to_async(handoff.agent_set_online)(agent_id=self.agent_id, online=bool(frame.get("online")))

    async def on_ticket_done(self, frame: dict[str, Any]) -> None:
        ticket_id = frame.get("ticket")
        if isinstance(ticket_id, int):
            await database_sync_to_async(handoff.ticket_resolve)(ticket_id=ticket_id, agent_id=self.agent_id)

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self._send_json({"type": "pong"})

    HANDLERS: dict[str, Callable[[ConsoleConsumer, dict[str, Any]], Awaitable[None]]] = {
        "open": on_open,
        "leave": on_leave,
        "claim": on_claim,
        "reply": on_reply,
        "hand_back": on_hand_back,
        "close": on_close,
        "online": on_online,
        "ticket_done": on_ticket_done,
        "ping": on_ping,
    }

    # --- outbound (channel layer events) ---------------------------------------------------
    async def queue_changed(self, event: dict[str, Any]) -> None:
        await self._send_queue()

    async def console_assigned(self, event: dict[str, Any]) -> None:
        await self._send_json({"type": "assigned", "conversation": event["conversation"]})

    async def console_logout(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_LOGGED_OUT)

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
                await self._send_json({**item, "conversation": public_id})
            self.watching[public_id] = max(item["seq"] for item in frames)

    async def conversation_queue(self, event: dict[str, Any]) -> None:
        """Queue positions are for the customer's widget; the console reads them from the queue."""

    # --- helpers ---------------------------------------------------------------------------
    async def _send_queue(self) -> None:
        snapshot = await database_sync_to_async(console_selectors.console_queue)(agent_id=self.agent_id)
        await self._send_json(snapshot)

    async def _send_json(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame))

    async def _error(self, code: str, message: str, **extra: Any) -> None:
        await self._send_json({"type": "error", "code": code, "message": message, **extra})
