"""Websockets: the JSON frame handling both consumers share, and open sockets counted for monitoring.

Each web process keeps its own count per kind ("widget", "console") and writes it under its
own key whenever it changes, so a metrics scrape on any process can add up every process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.cache import cache

from conversations.protocol import MAX_FRAME_BYTES, Close, frame_error

logger = logging.getLogger(__name__)

# A process that stops publishing (it crashed) drops out of the socket count after this long.
SOCKETS_TTL_S = 3600
SOCKETS_REGISTRY_KEY = "metrics:sockets:processes"
_SOCKETS_KEY_PREFIX = "metrics:sockets:"

_open_sockets: dict[str, int] = {}
_registered: set[str] = set()  # per process name: a forked worker has a new pid and registers again


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def sockets_changed(*, kind: str, delta: int) -> None:
    """Count a socket opened (+1) or closed (-1) in this process and publish the count to the shared cache."""
    _open_sockets[kind] = max(0, _open_sockets.get(kind, 0) + delta)
    try:
        await cache.aset(_SOCKETS_KEY_PREFIX + process_name(), dict(_open_sockets), timeout=SOCKETS_TTL_S)
        if process_name() not in _registered:
            processes = await cache.aget(SOCKETS_REGISTRY_KEY) or []
            if process_name() not in processes:
                await cache.aset(SOCKETS_REGISTRY_KEY, [*processes, process_name()][-256:], timeout=None)
            _registered.add(process_name())
    except Exception:  # noqa: BLE001 - a metrics store outage must never close a customer's socket
        return


def open_sockets_by_process() -> dict[str, dict[str, int]]:
    """Open sockets per process name and kind, as every process last published them."""
    processes = cache.get(SOCKETS_REGISTRY_KEY) or []
    published = cache.get_many([_SOCKETS_KEY_PREFIX + process for process in processes])
    counts = {key.removeprefix(_SOCKETS_KEY_PREFIX): value for key, value in published.items()}
    if _open_sockets:
        counts[process_name()] = dict(_open_sockets)  # this process's own count is always current
    return counts


def _valid_unicode(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
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

    async def socket_opened(self) -> None:
        self.send_lock = asyncio.Lock()
        await sockets_changed(kind=self.socket_kind, delta=1)

    async def socket_closed(self) -> None:
        await sockets_changed(kind=self.socket_kind, delta=-1)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = await self._frame_parse(text_data)
        if frame is None:
            return
        try:
            if await self.frame_allowed(frame):
                await self.HANDLERS[frame["type"]](self, frame)
        except Exception:
            logger.exception("%s socket: the %r handler failed", self.socket_kind, frame["type"])
            await self.send_error("internal_error", "Something went wrong on our side; please try again.")

    async def _frame_parse(self, text_data: str | None) -> dict[str, Any] | None:
        if text_data is None:
            await self.send_error("binary_not_supported", "Frames must be JSON text.")
            return None
        if len(text_data) > MAX_FRAME_BYTES:
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
        if not _valid_unicode(frame):
            # A lone UTF-16 surrogate (half an emoji) is valid JSON but no database can store it.
            client_id = frame.get("client_id")
            named = {"client_id": client_id} if isinstance(client_id, str) and _valid_unicode(client_id) else {}
            await self.send_error("bad_text", "The text is not valid Unicode (a broken emoji?).", **named)
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
        await self.send_error(code, message)
        await self.close(code=close_code)
