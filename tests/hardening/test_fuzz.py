"""Both sockets fuzzed through the real ASGI application: every frame gets a documented answer.

Hypothesis draws frames of every kind (random JSON, nesting deeper than Python recurses, numbers
too long to parse, lone UTF-16 surrogates, binary, the wrong type in every field of every frame
type) and sends each to a widget socket that said hello and to an agent's console. Each reply
must be a frame whose error code docs/protocol.md lists, any close must carry a documented code,
the socket must still answer a ping where protocol.md says it stays open, and nothing may be
logged as an unhandled exception.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conversations.protocol import Frame
from tests.conftest import ALLOWED_ORIGIN, replies_to, widget_communicator

pytestmark = pytest.mark.django_db(transaction=True)

PROTOCOL = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
# Every error code and close code the protocol documents (its tables and the console's list).
DOCUMENTED_CODES = set(re.findall(r"`([a-z_]+)`", PROTOCOL.split("## 5. Errors")[1]))
DOCUMENTED_CLOSES = {int(code) for code in re.findall(r"`(4\d{3})`", PROTOCOL)}
EXAMPLES = 120
PONG = {"type": "pong"}

# --- what Hypothesis draws ------------------------------------------------------------------------

LONE_SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
ANY_TEXT = st.text(max_size=20) | st.text(st.characters(codec=None) | LONE_SURROGATES, min_size=1, max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | ANY_TEXT
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3), max_leaves=8
)
WIDGET_TYPES = [
    str(frame)
    for frame in (
        Frame.MESSAGE,
        Frame.PING,
        Frame.RATING,
        Frame.HANDOFF,
        Frame.TICKET,
        Frame.TRANSCRIPT_EMAIL,
        Frame.COMPOSING,
    )
]
CONSOLE_TYPES = [
    str(frame)
    for frame in (
        Frame.OPEN,
        Frame.LEAVE,
        Frame.CLAIM,
        Frame.REPLY,
        Frame.HAND_BACK,
        Frame.CLOSE,
        Frame.ONLINE,
        Frame.TICKET_DONE,
        Frame.PING,
        Frame.TRANSFER,
        Frame.NOTE,
        Frame.TAG,
        Frame.REASONS,
        Frame.SEARCH,
        Frame.COMPOSING,
    )
]
FIELDS = [
    "text",
    "client_id",
    "score",
    "comment",
    "email",
    "attachment",
    "token",
    "last_seq",
    "conversation",
    "online",
    "ticket",
    "reply",
    "request_id",
    "to",
    "tag",
    "on",
    "reasons",
    "query",
]


# Frames found to break a socket before: each runs first, on every run, whatever Hypothesis draws.
KNOWN_HOSTILE = [
    '{"type": "message", "text": "broken \\ud83d emoji", "client_id": "c-surrogate"}',
    '{"type": "reply", "conversation": "x", "text": "\\udc00", "client_id": "r1"}',
    '{"type": "ticket", "email": "pat@example.com", "text": "\\ud800"}',
    '{"type": "rating", "score": 5, "comment": "\\udfff"}',
    '{"type": "message", "text": "hi", "client_id": "\\ud83d"}',
    "[" * 1100 + "]" * 1100,
    '{"type": "ping", "n": ' + "9" * 5000 + "}",
    '{"type": "message", "text": 1e999}',
    '{"type": "message", "text": ["a"], "attachment": {"id": 1}}',
    '{"type": "open", "conversation": [], "last_seq": "7"}',
    '{"type": "ticket_done", "ticket": 1e300}',
    '{"type": "search", "query": "\\"* OR NEAR(", "tag": 1e300}',
    '{"type": "reasons", "conversation": "x", "reasons": [true, 1e300]}',
    '{"type": "transfer", "conversation": "x", "to": 1e300}',
]


def raw_frames(frame_types: list[str]) -> st.SearchStrategy[str | bytes]:
    typed = st.fixed_dictionaries(
        {"type": st.sampled_from([*frame_types, "", "HELLO", "__init__", "token"]) | ANY_TEXT},
        optional={name: VALUES for name in FIELDS},
    )
    depth = st.integers(min_value=1, max_value=5000)
    return st.one_of(
        typed.map(json.dumps),  # ensure_ascii: a lone surrogate arrives as a valid "\udXXX" escape
        VALUES.map(json.dumps),
        depth.map(lambda n: "[" * n + "]" * n),
        depth.map(lambda n: '{"type": "message", "text": ' + "[" * n + "]" * n + "}"),
        st.integers(min_value=4400, max_value=20_000).map(lambda n: '{"type": "ping", "n": ' + "9" * n + "}"),
        st.sampled_from(['{"type": "ping", "n": 1e999}', '{"type": "message", "text": NaN}', "\ufeff{}", "{"]),
        st.text(max_size=80),
        st.binary(min_size=1, max_size=80),
    ).filter(len)  # the test communicator cannot send an empty frame


# --- driving a socket -------------------------------------------------------------------------------


def reply_problems(replies: list[dict], closed: int | None) -> list[str]:
    problems = []
    for reply in replies:
        if not isinstance(reply.get("type"), str):
            problems.append(f"a reply without a type: {reply}")
        elif reply["type"] == "error" and reply.get("code") not in DOCUMENTED_CODES:
            problems.append(f"an error code protocol.md does not list: {reply}")
        elif reply.get("code") == "internal_error":
            problems.append(f"a handler failed on fuzzed input: {reply}")
    if closed is not None and closed not in DOCUMENTED_CLOSES:
        problems.append(f"closed with {closed}, which protocol.md does not list")
    return problems


def run_fuzz(check, strategy) -> None:
    """Hypothesis in a thread of its own, each example run on the test's event loop."""
    loop = asyncio.get_running_loop()

    @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(frame=strategy)
    @_examples(KNOWN_HOSTILE)
    def fuzz(frame: str | bytes) -> None:
        asyncio.run_coroutine_threadsafe(check(frame), loop).result(timeout=60)

    return fuzz


def _examples(frames: list[str]):
    def decorate(test):
        for frame in reversed(frames):
            test = example(frame=frame)(test)
        return test

    return decorate


@pytest.fixture(autouse=True)
def _recursion_limit_left_alone(monkeypatch):
    """Hypothesis sets the interpreter's recursion limit around each example (its depth + 2000);
    from the fuzzing thread that lowered pytest's limit under the event loop's thread while it
    parsed frames nested thousands deep, and the interpreter now and then aborted ("Cannot recover
    from stack overflow"). The limit is left as pytest set it; nothing here recurses deeply."""
    from contextlib import nullcontext

    import hypothesis.core
    import hypothesis.internal.conjecture.engine

    for module in (hypothesis.core, hypothesis.internal.conjecture.engine):
        monkeypatch.setattr(module, "ensure_free_stackframes", nullcontext)


async def fuzz_on_this_loop(fuzz) -> None:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fuzz()
        except BaseException as error:  # noqa: BLE001 - re-raised on the test's thread
            errors.append(error)

    worker = threading.Thread(target=target)
    worker.start()
    while worker.is_alive():
        await asyncio.sleep(0.05)
    if errors:
        raise errors[0]


def unhandled_records(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelname in {"ERROR", "CRITICAL"} or "never retrieved" in record.getMessage()
    ]


# --- the tests --------------------------------------------------------------------------------------


async def test_the_widget_socket_answers_every_fuzzed_frame_as_documented(customer_session, settings, caplog):
    settings.SUPPORTBOT_MESSAGES_PER_MINUTE = 0  # let fuzzed messages through to the answering path
    _, token = customer_session
    widget = widget_communicator()
    await widget.connect()
    await widget.send_json_to({"type": "hello", "token": token, "last_seq": 0})
    assert (await widget.receive_json_from())["type"] == "ready"
    seen = {"frames": 0, "errors": 0}

    async def check(frame: str | bytes) -> None:
        nonlocal widget
        replies, closed = await replies_to(widget, frame, last=PONG)
        assert reply_problems(replies, closed) == []
        seen["frames"] += 1
        seen["errors"] += sum(reply["type"] == "error" for reply in replies)
        if closed is not None:
            # Only a frame too large closes the socket; reconnect with the same token, as a client would.
            assert closed == 4009
            widget = widget_communicator()
            await widget.connect()
            await widget.send_json_to({"type": "hello", "token": token, "last_seq": 0})
            assert (await widget.receive_json_from())["type"] == "ready"

    await fuzz_on_this_loop(run_fuzz(check, raw_frames(WIDGET_TYPES)))
    await widget.disconnect()
    assert seen["frames"] >= EXAMPLES and seen["errors"] > 0
    assert unhandled_records(caplog) == []


async def test_the_console_socket_answers_every_fuzzed_frame_as_documented(agent, customer_session, caplog):
    client = await database_sync_to_async(_signed_in)(agent)
    headers = [
        (b"origin", ALLOWED_ORIGIN.encode()),
        (b"host", b"127.0.0.1:8000"),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
    ]
    from supportbot.asgi import application

    console = WebsocketCommunicator(application, "/ws/console/", headers=headers)
    connected, _ = await console.connect()
    assert connected and (await console.receive_json_from())["type"] == "queue"
    seen = {"frames": 0, "errors": 0}

    async def check(frame: str | bytes) -> None:
        replies, closed = await replies_to(console, frame, last=PONG)
        assert reply_problems(replies, closed) == []
        assert closed is None  # the console's frames are never too large here: 80 bytes at most
        seen["frames"] += 1
        seen["errors"] += sum(reply["type"] == "error" for reply in replies)

    await fuzz_on_this_loop(run_fuzz(check, raw_frames(CONSOLE_TYPES)))
    await console.disconnect()
    assert seen["frames"] >= EXAMPLES and seen["errors"] > 0
    assert unhandled_records(caplog) == []


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_documented_codes_were_read_from_protocol_md():
    assert {"bad_json", "bad_frame", "bad_text", "unknown_type", "not_ready", "rate_limited", "not_found"}.issubset(
        DOCUMENTED_CODES
    )
    assert {4009, 4401, 4403, 4408}.issubset(DOCUMENTED_CLOSES)
