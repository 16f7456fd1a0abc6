"""The wire protocol in one place: frame types, close codes, limits, channel-layer groups and events.

``docs/protocol.md`` is the contract clients are written from; this module is its only
spelling on the server. Both consumers, answering and the doorbells build their frames here.
"""

from __future__ import annotations

import json
import unicodedata
from enum import StrEnum
from typing import Any

# A frame larger than this is refused (the ASGI server drops frames over 1 MiB by itself).
MAX_FRAME_BYTES = 64 * 1024
# client_ids the server gives its own messages start with this; a customer's may not.
SERVER_ID_PREFIX = "supportbot:"
# Larger than any seq a conversation will reach, and exact in a JavaScript number.
MAX_SEQ = 2**53
HELLO_TIMEOUT_S = 10.0


class Close:
    """Close codes the server sends (docs/protocol.md, section 5)."""

    UNAUTHORIZED = 4401  # widget: token invalid, expired or revoked; console: signed out
    FORBIDDEN = 4403  # console: not staff, or not the console's own origin
    HELLO_TIMEOUT = 4408
    # 1009 is the standard "message too big", but servers only let applications send 1000 or
    # 3000-4999 (daphne raised on 1009 and the client saw 1011): 4009 is its private-range twin.
    TOO_BIG = 4009


class Frame(StrEnum):
    """Frame types, in both directions and on both sockets."""

    # widget -> server
    HELLO = "hello"
    MESSAGE = "message"
    PING = "ping"
    RATING = "rating"
    HANDOFF = "handoff"
    TICKET = "ticket"
    TRANSCRIPT_EMAIL = "transcript_email"
    # console -> server
    OPEN = "open"
    LEAVE = "leave"
    CLAIM = "claim"
    REPLY = "reply"
    HAND_BACK = "hand_back"
    CLOSE = "close"
    ONLINE = "online"
    TICKET_DONE = "ticket_done"
    NOTE = "note"  # also console <- server: an internal note (staff only)
    TRANSFER = "transfer"
    TAG = "tag"
    REASONS = "reasons"
    SEARCH = "search"
    # both sockets, both directions: a person is typing (never stored, never replayed)
    COMPOSING = "composing"
    # server -> client
    READY = "ready"
    TYPING = "typing"
    TOKEN = "token"
    STREAM = "stream"
    NOTICE = "notice"
    QUEUE = "queue"
    ERROR = "error"
    PONG = "pong"
    TRANSCRIPT = "transcript"
    ASSIGNED = "assigned"
    CLAIM_LOST = "claim_lost"
    DONE = "done"
    TRANSCRIPT_EMAIL_QUEUED = "transcript_email_queued"
    LABELS = "labels"  # a conversation's tags and contact reasons
    SEARCH_RESULTS = "search_results"
    SUMMARY = "summary"  # a conversation's newest handoff summary, to the consoles that opened it


class Event(StrEnum):
    """Channel-layer event types; Channels calls the consumer method named after each (dots → underscores)."""

    CONVERSATION = "conversation.event"  # a stored message, as its frame
    QUEUE_POSITION = "conversation.queue"  # the customer's place in the agents' queue
    QUEUE_CHANGED = "queue.changed"  # consoles re-read the queue
    ASSIGNED = "console.assigned"  # a chat was assigned to this agent
    LOGOUT = "console.logout"  # this agent signed out
    COMPOSING = "conversation.composing"  # someone is typing (not stored)
    NOTE = "console.note"  # an internal note, on the staff-only group
    STAFF_CHANGED = "console.staff_changed"  # a conversation's tags or contact reasons changed
    SUMMARY = "console.summary"  # a conversation's handoff summary was written


CONSOLE_QUEUE_GROUP = "console.queue"


def conversation_group(public_id: str) -> str:
    """Every socket watching one conversation: its widgets and the consoles that opened it."""
    return f"conversation.{public_id}"


def console_agent_group(agent_id: int) -> str:
    return f"console.agent.{agent_id}"


def console_conversation_group(public_id: str) -> str:
    """Only the consoles that opened one conversation (never a widget): internal notes ride here."""
    return f"console.conversation.{public_id}"


def frame_error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": Frame.ERROR, "code": code, "message": message, **extra}


def frame_typing(*, reply_to: int, tier: str, reason: str) -> str:
    return json.dumps({"type": Frame.TYPING, "reply_to": reply_to, "tier": tier, "reason": reason})


# Built by %-formatting on the token path: the cheapest way to a frame per token.
TOKEN_FRAME = '{"type":"token","reply_to":%d,"i":%d,"text":%s}'


def frame_token(*, reply_to: int, index: int, text: str) -> str:
    return TOKEN_FRAME % (reply_to, index, json.dumps(text))


def frame_stream(*, reply_to: int, index: int, text: str) -> str:
    """What a socket that attaches mid-answer needs to catch up: the text so far and its index."""
    return json.dumps({"type": Frame.STREAM, "reply_to": reply_to, "i": index, "text": text})


def frame_notice(*, reply_to: int, text: str) -> str:
    return json.dumps({"type": Frame.NOTICE, "reply_to": reply_to, "text": text})


def frame_queue(*, position: int | None) -> dict[str, Any]:
    return {"type": Frame.QUEUE, "position": position}


# Typing indicators: a client sends at most one "composing" every COMPOSING_EVERY_S while its
# person types; the server passes on at most one per socket (and conversation) every
# COMPOSING_MIN_GAP_S and a client shows the indicator for COMPOSING_SHOWN_S after the last one.
COMPOSING_EVERY_S = 2.0
COMPOSING_MIN_GAP_S = 1.0
COMPOSING_SHOWN_S = 5.0


def frame_composing(*, role: str, author: str = "", conversation: str = "") -> dict[str, Any]:
    """ "composing" as the other side sees it: to a widget ``role="agent"`` with the agent's name, to a
    console ``role="customer"`` with the conversation's id."""
    frame: dict[str, Any] = {"type": Frame.COMPOSING, "role": role}
    if author:
        frame["author"] = author
    if conversation:
        frame["conversation"] = conversation
    return frame


# Characters that draw nothing though str.isspace() says they are not space: format and control characters
# (zero-width spaces and joiners, direction marks, the soft hyphen, the BOM), combining marks with nothing to
# combine with, and the letters and symbols that are blank by design (Hangul fillers, the blank braille cell).
INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Mn", "Me"})
BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def text_shows_something(text: str) -> bool:
    """Whether ``text`` shows anything: not only whitespace and characters that draw nothing (an empty message)."""
    return any(
        not (
            character.isspace() or character in BLANK_GLYPHS or unicodedata.category(character) in INVISIBLE_CATEGORIES
        )
        for character in text
    )
