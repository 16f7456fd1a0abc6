"""The customer's side of ``bench.bench_customer``: widgets that ask, and what each one saw.

Every time is ``time.time_ns()`` on this machine, the clock the local model server stamps its
chunks with (``<index>@<ns> ``), so one answer yields, from outside the server:

- sent → message acknowledged (stored and echoed), → typing, → first token, → stored answer:
  what the customer feels;
- sent → model request: the model stamps its first chunk as soon as the request arrives, so
  this is the server's work before it asks the model;
- model → widget: the first chunk's stamp to the first token frame (``bench_e2e``'s figure);
- gap stretch: the widget's gap between two tokens minus the model's.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from bench import stack

QUESTION = "How long does delivery take to Germany?"
ANSWER_TIMEOUT_S = 60.0
OPENING_AT_ONCE = 50


@dataclass
class Answer:
    """One ask as the widget saw it; times in ns, 0 for a frame that never came."""

    sent_ns: int = 0
    acked_ns: int = 0
    typing_ns: int = 0
    stored_ns: int = 0
    # (model chunk index, model send ns, widget receive ns) per token frame, in arrival order
    tokens: list[tuple[int, int, int]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    stored_text: str | None = None
    error: str = ""

    def token_add(self, text: str, *, received_ns: int) -> None:
        index, _, stamp = text.strip().partition("@")
        self.tokens.append((int(index), int(stamp), received_ns))
        self.texts.append(text)

    def since_sent_ms(self, at_ns: int) -> float | None:
        return (at_ns - self.sent_ns) / 1e6 if at_ns and self.sent_ns else None

    @property
    def first_token_ms(self) -> float | None:
        return self.since_sent_ms(self.tokens[0][2]) if self.tokens else None

    @property
    def model_request_ms(self) -> float | None:
        """Sent → the model stamped its first chunk: the server's work before the model was asked."""
        first = self.first_chunk
        return self.since_sent_ms(first[1]) if first else None

    @property
    def model_to_widget_ms(self) -> float | None:
        first = self.first_chunk
        return (first[2] - first[1]) / 1e6 if first else None

    @property
    def first_chunk(self) -> tuple[int, int, int] | None:
        return next((token for token in self.tokens if token[0] == 0), None)

    @property
    def gap_stretches_ms(self) -> list[float]:
        pairs = zip(self.tokens, self.tokens[1:], strict=False)
        return [((got_b - got_a) - (sent_b - sent_a)) / 1e6 for (_, sent_a, got_a), (_, sent_b, got_b) in pairs]

    def lost(self, chunks: int) -> int:
        return 0 if self.error else chunks - len({token[0] for token in self.tokens})

    @property
    def doubled(self) -> int:
        return len(self.tokens) - len({token[0] for token in self.tokens})

    @property
    def stored_mismatch(self) -> bool:
        return self.stored_text is not None and self.stored_text != "".join(self.texts)


def percentile(values: Sequence[float], percent: int) -> float:
    """Inclusive percentile (``statistics.quantiles``); NaN for no values."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


@dataclass
class Widget:
    """A customer's widget: a visitor token (the relay takes any) and, once open, its socket."""

    token: str
    visitor: str
    socket: ClientConnection | None = None


async def widget_open(widget: Widget, *, port: int) -> None:
    """Connect and say hello; returns at ``ready`` (replayed messages, if any, are read by the ask)."""
    widget.socket = await connect(f"ws://127.0.0.1:{port}/ws/widget/", origin=Origin(stack.ORIGIN), open_timeout=60)
    await widget.socket.send(json.dumps({"type": "hello", "token": widget.token, "last_seq": 0}))
    while json.loads(await widget.socket.recv())["type"] != "ready":
        pass


async def widgets_open(widgets: list[Widget], *, port: int) -> None:
    opening = asyncio.Semaphore(OPENING_AT_ONCE)

    async def open_one(widget: Widget) -> None:
        async with opening:
            await widget_open(widget, port=port)

    await asyncio.gather(*(open_one(widget) for widget in widgets))


async def widgets_close(widgets: list[Widget]) -> None:
    await asyncio.gather(*(widget.socket.close() for widget in widgets if widget.socket is not None))


Mark = Callable[[str, Answer], None]


async def widget_ask(
    widget: Widget, *, at: float, chunks: int, client_id: str = "q1", mark: Mark | None = None
) -> Answer:
    """At loop time ``at``, send one question and read until its stored answer.

    ``mark`` is called at "sent", "first token", "last token" and "stored" (the serial phase
    measurement reads the server's CPU there).
    """
    answer = Answer()
    await asyncio.sleep(max(0.0, at - asyncio.get_running_loop().time()))
    assert widget.socket is not None
    # Each visitor words it a little differently, as real visitors do: an identical question
    # would be answered from the answer cache in one frame instead of streamed.
    question = json.dumps({"type": "message", "text": f"{QUESTION} (visitor {widget.visitor})", "client_id": client_id})
    try:
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            if mark:
                mark("sent", answer)
            answer.sent_ns = time.time_ns()
            await widget.socket.send(question)
            async for raw in widget.socket:
                if _frame_take(answer, json.loads(raw), received_ns=time.time_ns(), chunks=chunks, mark=mark):
                    return answer
            answer.error = "socket closed"
    except TimeoutError:
        answer.error = "timeout"
    except ConnectionClosed as closed:
        answer.error = f"socket closed ({closed.rcvd.code if closed.rcvd else 'no close frame'})"
    return answer


def _frame_take(answer: Answer, frame: dict, *, received_ns: int, chunks: int, mark: Mark | None) -> bool:
    """Record one frame; True when the answer is complete (stored, handed off or refused)."""
    kind = frame["type"]
    if kind == "token":
        answer.token_add(frame["text"], received_ns=received_ns)
        if mark and len(answer.tokens) in (1, chunks):
            mark("first token" if len(answer.tokens) == 1 else "last token", answer)
    elif kind == "typing" and not answer.typing_ns:
        answer.typing_ns = received_ns
    elif kind == "message" and frame["role"] == "customer":
        answer.acked_ns = answer.acked_ns or received_ns
    elif kind == "message" and frame["role"] in ("assistant", "system"):
        answer.stored_ns, answer.stored_text = received_ns, frame["text"]
        if frame["role"] == "system":
            answer.error = f"handed off ({(frame.get('data') or {}).get('event', 'event')})"
        if mark:
            mark("stored", answer)
        return True
    elif kind == "error":
        answer.error = frame["code"]
        return True
    return False


async def asks_spread(widgets: list[Widget], *, spread_s: float, chunks: int, lead_s: float = 0.2) -> list[Answer]:
    """Every widget asks once, the starts spread evenly over ``spread_s`` from ``lead_s`` on."""
    start = asyncio.get_running_loop().time() + lead_s
    return await asyncio.gather(
        *(
            widget_ask(widget, at=start + spread_s * index / len(widgets), chunks=chunks)
            for index, widget in enumerate(widgets)
        )
    )


async def server_quiet_wait(pid: int, *, window_s: float = 0.2, busy_ms: float = 4.0, timeout_s: float = 30.0) -> None:
    """Wait until the server process tree uses less than ``busy_ms`` of CPU in a ``window_s`` window,
    so that work left from before (closing sockets, saving answers) is not billed to what follows."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = stack.process_tree_cpu_ns(pid)
        await asyncio.sleep(window_s)
        if stack.process_tree_cpu_ns(pid) - before < busy_ms * 1e6:
            return
