"""Websockets: the JSON frame handling both consumers share, and open sockets counted for monitoring.

The count is derived from what is open: each process keeps the set of its open sockets per kind
("widget", "console"), added to when a socket is accepted and removed from in one guarded place,
the consumer's outermost call, whatever ends it (a close, a crash when the channel layer's Redis
goes away), so it cannot drift. Each process publishes its counts under its own key with a short
expiry, on every change and every few seconds (from a daemon thread), and puts itself back in the registry of processes
if it is missing (a Redis restart empties both), so a metrics scrape on any process adds up every
live process and a dead one drops out within ``SOCKETS_TTL_S``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.cache import cache

from conversations.protocol import MAX_FRAME_BYTES, Close, frame_error

logger = logging.getLogger(__name__)

# Every live process republishes this often; a process that stops (killed) drops out after the TTL.
SOCKETS_PUBLISH_S = 5.0
SOCKETS_TTL_S = 15
SOCKETS_REGISTRY_KEY = "metrics:sockets:processes"
_SOCKETS_KEY_PREFIX = "metrics:sockets:"

_open: dict[str, set[object]] = {}
_publisher: threading.Thread | None = None
_publish_now = threading.Event()


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def open_sockets_here() -> dict[str, int]:
    """This process's open sockets per kind, counted from the sockets themselves."""
    return {kind: len(sockets) for kind, sockets in list(_open.items())}


def socket_counted(consumer: object, *, kind: str) -> None:
    _open.setdefault(kind, set()).add(consumer)
    _publish_soon()


def socket_uncounted(consumer: object) -> None:
    """Forget ``consumer`` wherever it is counted; safe to call more than once."""
    if any(consumer in sockets for sockets in _open.values()):
        for sockets in _open.values():
            sockets.discard(consumer)
        _publish_soon()


def _publish_soon() -> None:
    """Wake the publisher; it runs in a daemon thread of its own, so a slow or absent cache never
    holds up a socket and no task of an event loop is left behind."""
    global _publisher
    if _publisher is None or not _publisher.is_alive():
        _publisher = threading.Thread(target=_publish_forever, name="open-sockets-publisher", daemon=True)
        _publisher.start()
    _publish_now.set()


def _publish_forever() -> None:
    while True:
        _publish_now.wait(timeout=SOCKETS_PUBLISH_S)
        _publish_now.clear()
        _counts_publish()


def _counts_publish() -> None:
    """Write this process's counts and make sure the registry names it; never raises."""
    name = process_name()
    try:
        cache.set(_SOCKETS_KEY_PREFIX + name, open_sockets_here(), timeout=SOCKETS_TTL_S)
        processes = cache.get(SOCKETS_REGISTRY_KEY) or []
        if name not in processes:
            cache.set(SOCKETS_REGISTRY_KEY, [*processes, name][-256:], timeout=None)
    except Exception:  # noqa: BLE001 - a metrics store outage must never touch a customer's socket
        logger.debug("could not publish the open-socket count", exc_info=True)


def open_sockets_by_process() -> dict[str, dict[str, int]]:
    """Open sockets per process name and kind, as every live process last published them."""
    try:
        processes = cache.get(SOCKETS_REGISTRY_KEY) or []
        published = cache.get_many([_SOCKETS_KEY_PREFIX + process for process in processes])
    except Exception:  # noqa: BLE001 - without the shared cache, this process's own count still stands
        published = {}
    counts = {key.removeprefix(_SOCKETS_KEY_PREFIX): value for key, value in published.items()}
    counts[process_name()] = open_sockets_here()  # this process's own count is always current
    return {process: kinds for process, kinds in counts.items() if kinds}


def _unstorable_text(value: object) -> str | None:
    """Why a string in ``value`` cannot be stored, or None: a lone UTF-16 surrogate (half an emoji,
    which no encoding can write) or a NUL character (which PostgreSQL's text cannot hold)."""
    pending = [value]  # walked without recursion: a frame may nest as deep as the JSON parser allows
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return "The text is not valid Unicode (a broken emoji?)."
            if "\x00" in item:
                return "The text holds a NUL character, which cannot be stored."
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- the JSON socket both consumers are built on ------------------------------------------------

Handler = Callable[[Any, dict[str, Any]], Awaitable[None]]


class JsonSocketConsumer(AsyncWebsocketConsumer):
    """Frames in, one handler per frame type; every framing error is an error frame (protocol.md §5).

    Subclasses set ``socket_kind`` (for the open-socket count) and ``HANDLERS``, and may refuse a
    well-formed frame in :meth:`frame_allowed`. A handler that raises becomes an ``internal_error``
    frame and one log line: the socket stays open and the client can carry on.
    """

    socket_kind = ""
    HANDLERS: dict[str, Handler] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # The one guarded place a socket stops being counted: however the consumer ends (a close,
        # or a crash such as the channel layer losing Redis, after which disconnect never runs).
        try:
            await super().__call__(scope, receive, send)
        finally:
            socket_uncounted(self)

    async def socket_opened(self) -> None:
        self.send_lock = asyncio.Lock()
        socket_counted(self, kind=self.socket_kind)

    async def socket_closed(self) -> None:
        socket_uncounted(self)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = await self._frame_parse(text_data, binary_size=len(bytes_data or b""))
        if frame is None:
            return
        try:
            if await self.frame_allowed(frame):
                await self.HANDLERS[frame["type"]](self, frame)
        except OSError:
            # The client went away while it was being answered (uvicorn's ClientDisconnected), as a closed tab
            # does: what the handler stored stands, and there is nobody left to tell.
            logger.debug("%s socket: gone while its %r frame was handled", self.socket_kind, frame["type"])
        except Exception:
            logger.exception("%s socket: the %r handler failed", self.socket_kind, frame["type"])
            await self.send_error("internal_error", "Something went wrong on our side; please try again.")

    async def _frame_parse(self, text_data: str | None, *, binary_size: int = 0) -> dict[str, Any] | None:
        if text_data is None and binary_size <= MAX_FRAME_BYTES:
            await self.send_error("binary_not_supported", "Frames must be JSON text.")
            return None
        # Characters first (cheap): a frame of more bytes than characters only needs encoding near the limit.
        if (
            text_data is None
            or len(text_data) > MAX_FRAME_BYTES
            or (
                len(text_data) * 4 > MAX_FRAME_BYTES
                and len(text_data.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES
            )
        ):
            await self.refuse("frame_too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes.", Close.TOO_BIG)
            return None
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python recurses
            await self.send_error("bad_json", "The frame is not valid JSON.")
            return None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("bad_frame", "A frame is a JSON object with a string 'type'.")
            return None
        # A hello stores nothing: a token with such a character is only a token that opens nothing.
        unstorable = None if frame["type"] == "hello" else _unstorable_text(frame)
        if unstorable is not None:
            # A lone UTF-16 surrogate (half an emoji) or a NUL is valid JSON but cannot be stored.
            client_id = frame.get("client_id")
            named = {"client_id": client_id} if isinstance(client_id, str) and not _unstorable_text(client_id) else {}
            await self.send_error("bad_text", unstorable, **named)
            return None
        if frame["type"] not in self.HANDLERS:
            await self.send_error("unknown_type", f"Unknown frame type {frame['type'][:40]!r}.")
            return None
        return frame

    async def frame_allowed(self, frame: dict[str, Any]) -> bool:
        """Whether this socket may act on ``frame`` now; refuse (and say why) when not."""
        return True

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame))

    async def send_error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json(frame_error(code, message, **extra))

    async def refuse(self, code: str, message: str, close_code: int) -> None:
        try:
            await self.send_error(code, message)
            await self.close(code=close_code)
        except OSError:
            # The client went away first (uvicorn's ClientDisconnected): nothing left to refuse. Timers
            # refuse from tasks of their own, where this would become "Task exception was never retrieved".
            logger.debug("%s socket: gone before it could be refused (%s)", self.socket_kind, code)
