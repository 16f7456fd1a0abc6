"""The widget's websocket: authenticate, replay by seq, take customer messages, pass events along.

The consumer only moves frames; answering lives in ``conversations.answering`` and every
write in ``conversations.services`` (docs/protocol.md describes every frame).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from conversations import (
    answering,
    attachments,
    feedback,
    handoff,
    integrations,
    ratelimit,
    selectors,
    services,
    tickets,
)
from conversations.models import Conversation, Message
from conversations.protocol import (
    COMPOSING_MIN_GAP_S,
    HELLO_TIMEOUT_S,
    MAX_SEQ,
    SERVER_ID_PREFIX,
    Close,
    Event,
    Frame,
    conversation_group,
    frame_composing,
    frame_queue,
    text_shows_something,
)
from conversations.sockets import JsonSocketConsumer
from conversations.tokens import VisitorTokenInvalid
from helpcentre.selectors import article_context_get
from routing.services import customer_text_redact

logger = logging.getLogger(__name__)

# The longest key an article can have (helpcentre's Article.key).
ARTICLE_KEY_MAX_CHARS = 100


def _customer_message_take(
    *, conversation_id: int, text: str, client_id: str, attachment: str = "", article: str = ""
) -> tuple[dict[str, Any], bool, str]:
    ratelimit.visitor_message_hit(conversation_id=conversation_id)
    text = customer_text_redact(text)  # the transcript, summaries and the model never see a card number
    if attachment:
        message, created = attachments.attachment_message_take(
            conversation_id=conversation_id, attachment_public_id=attachment, text=text, client_id=client_id
        )
        services.message_resent_check(message, created=created, text=text or attachments.PHOTO_TEXT)
    else:
        # An article that is not (or no longer) published is no context: the message stands alone.
        context = article_context_get(key=article) if article else None
        message, created = services.message_record(
            conversation_id=conversation_id,
            role=Message.Role.CUSTOMER,
            text=text,
            client_id=client_id,
            data={"article": context.key} if context else None,
        )
        services.message_resent_check(message, created=created, text=text)
    # Read with the conversation's row when the message took its seq: no query more.
    status = message.conversation.status
    return selectors.message_frame(message), created, status


def _message_refusal(*, text: object, attachment: object, article: object = "") -> tuple[str, str] | None:
    """(code, message) when a customer message frame cannot be stored as it is, else None."""
    if not isinstance(article, str) or len(article) > ARTICLE_KEY_MAX_CHARS:
        return "bad_article", f"article must be an article's key of at most {ARTICLE_KEY_MAX_CHARS} characters."
    # A photo (uploaded first, named here by its id) may come without a caption.
    if not isinstance(attachment, str) or len(attachment) > 32:
        return "bad_attachment", "attachment must be the id the upload returned."
    if not isinstance(text, str) or not (text_shows_something(text) or attachment):
        return "empty_message", "A message needs non-empty 'text'."
    if len(text) > settings.SUPPORTBOT_MAX_MESSAGE_CHARS:
        return "message_too_long", f"Messages are limited to {settings.SUPPORTBOT_MAX_MESSAGE_CHARS} characters."
    return None


def _resume_state(*, conversation_id: int, after_seq: int) -> tuple[list[dict[str, Any]], bool, str, int]:
    conversation = Conversation.objects.get(pk=conversation_id)
    frames = selectors.messages_after(conversation_id=conversation_id, after_seq=after_seq)
    owed = (
        conversation.status == Conversation.Status.BOT
        and selectors.unanswered_question(conversation_id=conversation_id) is not None
    )
    return frames, owed, conversation.status, conversation.last_seq


class WidgetConsumer(JsonSocketConsumer):
    socket_kind = "widget"
    conversation_id: int | None = None
    public_id: str = ""
    last_sent_seq: int = 0
    queue_position_sent: int | None = None
    expiry_timer: asyncio.TimerHandle | None = None
    # The conversation's state as this socket last told the client (typing only matters with a person).
    status: str = ""
    composing_sent_at: float = 0.0
    live_ready: bool = False  # ready and the replay are sent: the live answer's frames may follow
    live_caught_up_to: int = 0  # the question whose draft last sent this socket to the database first

    async def connect(self) -> None:
        await self.accept()
        await self.socket_opened()
        self.hello_timer = asyncio.get_running_loop().call_later(HELLO_TIMEOUT_S, self._hello_timeout)

    def _hello_timeout(self) -> None:
        if self.conversation_id is None:
            asyncio.ensure_future(
                self.refuse("hello_timeout", "Send a hello frame with your token first.", Close.HELLO_TIMEOUT)
            )

    def _token_expired(self) -> None:
        asyncio.ensure_future(
            self.refuse("token_expired", "The visitor token expired; open a new session.", Close.UNAUTHORIZED)
        )

    async def disconnect(self, code: int) -> None:
        self.hello_timer.cancel()
        if self.expiry_timer is not None:
            self.expiry_timer.cancel()
        await self.socket_closed()
        if self.conversation_id is not None:
            answering.live_unwatch(conversation_id=self.conversation_id, send=self._send_raw)
            await self.channel_layer.group_discard(conversation_group(self.public_id), self.channel_name)

    # --- inbound ---------------------------------------------------------------------
    async def frame_allowed(self, frame: dict[str, Any]) -> bool:
        if frame["type"] != Frame.HELLO and self.conversation_id is None:
            await self.send_error("not_ready", "Send a hello frame with your token first.")
            return False
        return True

    async def on_hello(self, frame: dict[str, Any]) -> None:
        if self.conversation_id is not None:
            await self.send_error("already_ready", "This socket is already open on a conversation.")
            return
        token = frame.get("token")
        try:
            conversation, expires_at = await database_sync_to_async(selectors.conversation_and_expiry_for_token)(
                token=token if isinstance(token, str) else ""
            )
        except VisitorTokenInvalid:
            await self.refuse("unauthorized", "The visitor token is invalid, expired or revoked.", Close.UNAUTHORIZED)
            return
        last_seq = frame.get("last_seq", 0)
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or not 0 <= last_seq <= MAX_SEQ:
            await self.send_error("bad_seq", "last_seq must be a non-negative integer; replaying from the start.")
            last_seq = 0
        self.hello_timer.cancel()
        # The token's lifetime bounds the socket's too: it is closed when the token expires.
        self.expiry_timer = asyncio.get_running_loop().call_later(
            max(0.0, expires_at - time.time()), self._token_expired
        )
        self.conversation_id, self.public_id = conversation.pk, conversation.public_id
        await self.channel_layer.group_add(conversation.group_name, self.channel_name)
        answering.live_watch(conversation_id=conversation.pk, send=self._send_raw)
        frames, owed, status, server_seq = await database_sync_to_async(_resume_state)(
            conversation_id=conversation.pk, after_seq=min(last_seq, conversation.last_seq)
        )
        async with self.send_lock:
            self.status = status
            self.last_sent_seq = min(last_seq, server_seq)
            await self.send_json(
                {
                    "type": Frame.READY,
                    "conversation_id": conversation.public_id,
                    "status": status,
                    "last_seq": server_seq,
                }
            )
            await self._send_frames(frames)
        if status == Conversation.Status.WAITING:
            position = await database_sync_to_async(handoff.queue_position)(conversation_id=conversation.pk)
            await self._queue_position_send(position)
        self.live_ready = True
        # Read again: an answer that started meanwhile sent its first frames before this socket was ready.
        live = answering.live_watch(conversation_id=conversation.pk, send=self._send_raw)
        if live is not None and live.head_frame:
            for raw in live.catch_up_frames():
                await self._send_raw(raw)
        elif owed:
            # The question was never answered (its process died mid-answer): answer it here.
            answering.answer_start(conversation_id=conversation.pk, public_id=conversation.public_id)

    async def on_message(self, frame: dict[str, Any]) -> None:
        text, client_id = frame.get("text", ""), frame.get("client_id")
        if client_id is None:
            client_id = ""  # left out (or null): the message is stored without idempotency
        elif not isinstance(client_id, str) or not 1 <= len(client_id) <= 64 or client_id.startswith(SERVER_ID_PREFIX):
            await self.send_error(
                "bad_client_id",
                f"client_id must be a string of 1 to 64 characters, not starting with {SERVER_ID_PREFIX!r}.",
            )
            return
        # An optional field sent as null is the same as one left out.
        attachment, article = ("" if frame.get(name) is None else frame[name] for name in ("attachment", "article"))
        refusal = _message_refusal(text=text, attachment=attachment, article=article)
        if refusal is None and self.status == Conversation.Status.CLOSED:
            # Nobody would read it: the bot and the team have left a closed chat.
            refusal = ("conversation_closed", "This chat has ended. Start a new chat to write to us again.")
        if refusal is not None:
            await self._refuse_message(*refusal, client_id=client_id)
            return
        try:
            message, created, status = await database_sync_to_async(_customer_message_take)(
                conversation_id=self.conversation_id,
                text=text.strip(),
                client_id=client_id,
                attachment=attachment,
                article=article,
            )
        except attachments.AttachmentRefused as refused:
            await self._refuse_message(refused.code, refused.message, client_id=client_id)
            return
        except ratelimit.RateLimited as limited:
            wait = f"You are sending messages too fast; please wait {limited.retry_after_s} s."
            await self._refuse_message("rate_limited", wait, client_id=client_id, retry_after=limited.retry_after_s)
            return
        except services.ClientIdUsed:
            used = "Another message was already sent with this client_id; send this one with a new client_id."
            await self._refuse_message("client_id_used", used, client_id=client_id)
            return
        if not created:
            await self._acknowledge(message)  # a re-send after a reconnect: acknowledge, never answer twice
            return
        # The sender sees its message before anything about the answer (the broadcast of it comes later,
        # through the channel layer, and is then skipped as already sent). The message is stored: it is
        # answered even when this socket is gone before it could be told (a tab closed right after
        # sending), for the customer's other tabs and for the replay when they come back.
        try:
            await self._deliver(message)
        finally:
            if status == Conversation.Status.BOT and self.conversation_id is not None:
                answering.answer_start(conversation_id=self.conversation_id, public_id=self.public_id)

    async def _refuse_message(self, code: str, message: str, *, client_id: str, **extra: Any) -> None:
        """The message was not stored: the error names it by ``client_id`` so the client shows it as not
        sent and does not send it again."""
        await self.send_error(code, message, **extra, **({"client_id": client_id} if client_id else {}))

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.send_json({"type": Frame.PONG})

    async def on_rating(self, frame: dict[str, Any]) -> None:
        # Stored once; the "rated" event that follows reaches every open widget of the conversation.
        try:
            await database_sync_to_async(feedback.rating_record)(
                conversation_id=self.conversation_id, score=frame.get("score"), comment=frame.get("comment", "")
            )
        except feedback.RatingRefused as refused:
            await self.send_error(refused.code, refused.message)

    async def on_handoff(self, frame: dict[str, Any]) -> None:
        # The outcome (queued, or out of hours) reaches every open widget as an event message.
        try:
            await database_sync_to_async(handoff.handoff_request)(
                conversation_id=self.conversation_id, reason="pressed 'talk to a person'", trigger="button"
            )
        except handoff.IllegalTransition as refused:
            await self.send_error("handoff_refused", f"The conversation is {refused.current}: no handoff from there.")

    async def on_ticket(self, frame: dict[str, Any]) -> None:
        email, text = frame.get("email"), frame.get("text")
        try:
            validate_email(email if isinstance(email, str) else "")
        except ValidationError:
            await self.send_error("bad_email", "Please give a valid email address.")
            return
        if not isinstance(text, str) or not text_shows_something(text):
            await self.send_error("bad_ticket", "Please write a message for our team.")
            return
        if len(text) > settings.SUPPORTBOT_MAX_MESSAGE_CHARS:
            limit = settings.SUPPORTBOT_MAX_MESSAGE_CHARS
            await self.send_error("bad_ticket", f"Messages for our team are limited to {limit} characters.")
            return
        ticket = await database_sync_to_async(tickets.ticket_create)(
            conversation_id=self.conversation_id, email=email, text=text.strip()
        )
        if ticket.message != text.strip() or ticket.email != email:
            # One open ticket per conversation: this one was not stored, and the client must know.
            await self.send_error(
                "ticket_open", f"Your message for our team is already waiting; we'll reply to {ticket.email}."
            )

    async def on_transcript_email(self, frame: dict[str, Any]) -> None:
        # Idempotent by request_id: a request sent again after a reconnect is acknowledged, not sent twice.
        email, request_id = frame.get("email"), frame.get("request_id")
        if not isinstance(request_id, str) or not 0 < len(request_id) <= 64:
            await self.send_error("bad_request_id", "request_id must be a string of 1 to 64 characters.")
            return
        try:
            validate_email(email if isinstance(email, str) else "")
        except ValidationError:
            await self.send_error("bad_email", "Please give a valid email address.", request_id=request_id)
            return
        try:
            queued = await database_sync_to_async(integrations.transcript_email_request)(
                conversation_id=self.conversation_id, to=email, request_id=request_id
            )
        except ratelimit.RateLimited as limited:
            wait = f"Too many transcript emails; please try again in {limited.retry_after_s} s."
            await self.send_error("rate_limited", wait, request_id=request_id, retry_after=limited.retry_after_s)
            return
        await self.send_json({"type": Frame.TRANSCRIPT_EMAIL_QUEUED, "request_id": request_id, "email": queued.to})

    async def on_composing(self, frame: dict[str, Any]) -> None:
        """The customer is typing: passed on to the consoles watching, at most once a second, never
        stored; while the bot has the conversation nobody is told (no agent is looking)."""
        now = time.monotonic()
        if self.status not in (Conversation.Status.WAITING, Conversation.Status.AGENT):
            return
        if now - self.composing_sent_at < COMPOSING_MIN_GAP_S:
            return
        self.composing_sent_at = now
        await self.channel_layer.group_send(
            conversation_group(self.public_id),
            {"type": Event.COMPOSING, "role": "customer", "conversation": self.public_id},
        )

    HANDLERS = {
        Frame.HELLO: on_hello,
        Frame.MESSAGE: on_message,
        Frame.PING: on_ping,
        Frame.RATING: on_rating,
        Frame.HANDOFF: on_handoff,
        Frame.TICKET: on_ticket,
        Frame.TRANSCRIPT_EMAIL: on_transcript_email,
        Frame.COMPOSING: on_composing,
    }

    # --- outbound ----------------------------------------------------------------------
    async def conversation_event(self, event: dict[str, Any]) -> None:
        await self._deliver(event["frame"])

    async def conversation_queue(self, event: dict[str, Any]) -> None:
        await self._queue_position_send(event["position"])

    async def conversation_composing(self, event: dict[str, Any]) -> None:
        # Only a person on the team typing is news to the customer (not their own other tab).
        if event.get("role") == "agent":
            await self.send_json(frame_composing(role="agent", author=str(event.get("author", ""))))

    async def _queue_position_send(self, position: int | None) -> None:
        # Every change to the queue rings every waiting customer: say only what changed for this one.
        if position != self.queue_position_sent:
            self.queue_position_sent = position
            await self.send_json(frame_queue(position=position))

    async def _acknowledge(self, frame: dict[str, Any]) -> None:
        """A stored message sent again by the client gets its stored frame again, as protocol.md promises."""
        async with self.send_lock:
            if frame["seq"] <= self.last_sent_seq:
                await self.send_json(frame)
                return
        await self._deliver(frame)

    async def _deliver(self, frame: dict[str, Any]) -> None:
        async with self.send_lock:
            seq = frame["seq"]
            if seq <= self.last_sent_seq:
                return
            if seq > self.last_sent_seq + 1:
                # A doorbell went missing (or raced): the database has the full story.
                missed = await database_sync_to_async(selectors.messages_after)(
                    conversation_id=self.conversation_id, after_seq=self.last_sent_seq
                )
                await self._send_frames(missed)
                return
            await self._send_frames([frame])

    async def _send_frames(self, frames: list[dict[str, Any]]) -> None:
        status_changed = False
        for frame in frames:
            if frame["seq"] > self.last_sent_seq:
                await self.send_json(frame)
                self.last_sent_seq = frame["seq"]
                status = (frame.get("data") or {}).get("status")
                if isinstance(status, str):
                    self.status, status_changed = status, True
        if status_changed and self.status != Conversation.Status.BOT and self.conversation_id is not None:
            # The latest state this socket knows: a draft streaming here is void, so its model call stops.
            answering.answer_void(conversation_id=self.conversation_id)

    async def _send_raw(self, text: str) -> None:
        # The live answer's frames wait for ready and the replay: until then the snapshot sent after them
        # (the text so far, and its index) covers every token this socket did not get.
        if not self.live_ready:
            return
        live = answering.live_answer(conversation_id=self.conversation_id) if self.conversation_id else None
        if live is not None and live.reply_to_seq > max(self.last_sent_seq, self.live_caught_up_to):
            # The message this draft answers has not reached this socket yet: its doorbell waits behind
            # this socket's own work (another tab sent a message as this one sent something). The
            # message comes first, from the database, then the draft so far, as to a socket that attaches.
            self.live_ready, self.live_caught_up_to = False, live.reply_to_seq  # once per question
            asyncio.ensure_future(self._live_catch_up())
            return
        await self.send(text_data=text)

    async def _live_catch_up(self) -> None:
        conversation_id = self.conversation_id
        if conversation_id is None:
            return
        async with self.send_lock:
            missed = await database_sync_to_async(selectors.messages_after)(
                conversation_id=conversation_id, after_seq=self.last_sent_seq
            )
            await self._send_frames(missed)
            self.live_ready = True
            live = answering.live_answer(conversation_id=conversation_id)
            if live is not None and live.head_frame and live.reply_to_seq <= self.last_sent_seq:
                for raw in live.catch_up_frames():
                    await self.send(text_data=raw)
