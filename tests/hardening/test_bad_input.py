"""Bad input: oversized frames, over-long messages, fuzzed frames, floods (docs/reliability.md, items 1-4)."""

from __future__ import annotations

import asyncio
import json
import threading
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conversations.models import Conversation, Message
from conversations.protocol import MAX_FRAME_BYTES, Close
from conversations.services import conversation_open
from tests.conftest import ALLOWED_ORIGIN, frames_until, replies_to, widget_communicator

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024


async def hello(communicator, token: str) -> dict:
    await communicator.send_json_to({"type": "hello", "token": token, "last_seq": 0})
    return await communicator.receive_json_from()


async def still_usable(communicator) -> bool:
    await communicator.send_json_to({"type": "ping"})
    frames = await frames_until(communicator, lambda f: f["type"] == "pong")
    return frames[-1] == {"type": "pong"}


def close_code(closed: ConnectionClosed) -> int:
    # autobahn fails a connection "by drop" (its failByDrop default): no close frame, the TCP
    # connection just ends, which a client reports as 1006.
    return closed.rcvd.code if closed.rcvd else 1006


# --- 1. frame size ---------------------------------------------------------------------------


@pytest.mark.item(1)
async def test_a_frame_over_our_limit_is_refused_with_an_error_frame_and_4009_and_other_sockets_carry_on(
    customer_session, figures
):
    _, token = customer_session
    other_conversation, other_token = await database_sync_to_async(conversation_open)(origin=ALLOWED_ORIGIN)
    bystander = widget_communicator()
    await bystander.connect()
    assert (await hello(bystander, other_token))["type"] == "ready"

    sender = widget_communicator()
    await sender.connect()
    await hello(sender, token)
    await sender.send_to(text_data="x" * (MAX_FRAME_BYTES + 1))
    error = await sender.receive_json_from()
    closed = await sender.receive_output()
    assert error["code"] == "frame_too_large"
    assert closed == {"type": "websocket.close", "code": Close.TOO_BIG}
    assert await still_usable(bystander)
    figures.update(frame_bytes=MAX_FRAME_BYTES + 1, close_code=closed["code"], bystander_usable=True)
    await bystander.disconnect()


@pytest.mark.slow
@pytest.mark.item(1)
async def test_daphne_drops_a_frame_of_one_mib_plus_one_byte_memory_bounded(daphne_factory, customer_session, figures):
    _, token = customer_session
    server = await asyncio.to_thread(daphne_factory().start)
    async with connect(server.ws_url, origin=ALLOWED_ORIGIN, compression=None, max_size=None) as bystander:
        await bystander.send(json.dumps({"type": "hello", "token": token, "last_seq": 0}))
        assert json.loads(await bystander.recv())["type"] == "ready"
        rss_before = server.rss_kib()
        close_codes = []
        for _ in range(20):
            async with connect(server.ws_url, origin=ALLOWED_ORIGIN, compression=None, max_size=None) as attacker:
                # daphne closes on reading the frame's length, sometimes before the client has
                # finished writing it: the close then surfaces in send rather than in recv.
                with pytest.raises(ConnectionClosed) as closed:
                    await attacker.send("x" * (MIB + 1))
                    await asyncio.wait_for(attacker.recv(), 10)
                close_codes.append(close_code(closed.value))
        # Exactly 1 MiB passes daphne and reaches the consumer, which refuses anything over 64 KiB.
        async with connect(server.ws_url, origin=ALLOWED_ORIGIN, compression=None, max_size=None) as at_limit:
            await at_limit.send("x" * MIB)
            refused = json.loads(await asyncio.wait_for(at_limit.recv(), 10))
            with pytest.raises(ConnectionClosed) as closed_at_limit:
                await asyncio.wait_for(at_limit.recv(), 10)
        # Text frames must be UTF-8: daphne ends the connection before the application sees them.
        async with connect(server.ws_url, origin=ALLOWED_ORIGIN, compression=None) as broken:
            await broken.send(b"\xff\xfe{", text=True)
            with pytest.raises(ConnectionClosed) as invalid_utf8:
                await asyncio.wait_for(broken.recv(), 10)
        await bystander.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(bystander.recv(), 10)) == {"type": "pong"}
        rss_after = server.rss_kib()

    assert len(close_codes) == 20 and set(close_codes) <= {1009, 1006}
    assert refused["code"] == "frame_too_large" and closed_at_limit.value.rcvd.code == Close.TOO_BIG
    assert close_code(invalid_utf8.value) in {1007, 1006}
    # 21 MiB were sent at it; a server that buffered them would have grown by at least that much.
    memory_delta_kib = rss_after - rss_before
    assert memory_delta_kib < 8 * 1024
    figures.update(
        oversize_frames=20,
        frame_bytes=MIB + 1,
        close_codes=sorted(set(close_codes)),
        one_mib_frame_close=closed_at_limit.value.rcvd.code,
        invalid_utf8_close=close_code(invalid_utf8.value),
        memory_delta_kib=memory_delta_kib,
        bystander_usable=True,
    )


# --- 2. message length -------------------------------------------------------------------------


@pytest.mark.item(2)
async def test_a_message_over_the_cap_costs_nothing_and_one_at_the_cap_is_answered(widget, llm, settings, figures):
    cap = settings.SUPPORTBOT_MAX_MESSAGE_CHARS
    await widget.send_json_to({"type": "message", "text": "y" * (cap + 1), "client_id": "long"})
    error = await widget.receive_json_from()
    assert error["code"] == "message_too_long" and str(cap) in error["message"]
    calls_for_refused = len(llm.requests)
    stored_for_refused = await database_sync_to_async(Message.objects.count)()

    await widget.send_json_to({"type": "message", "text": "y" * cap, "client_id": "at-cap"})
    await frames_until(widget, lambda f: f["type"] == "message" and f["role"] == "assistant")
    assert (calls_for_refused, stored_for_refused) == (0, 0)
    assert len(llm.requests) == 1
    figures.update(cap_chars=cap, upstream_calls_for_refused=calls_for_refused, dollars_for_refused=0)


# --- 3. fuzzing --------------------------------------------------------------------------------

JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FRAME_TYPES = st.sampled_from(
    ["hello", "message", "ping", "rating", "handoff", "ticket", "token", "stream", "", "HELLO", "__init__"]
)
FIELDS = st.sampled_from(
    ["type", "token", "last_seq", "text", "client_id", "score", "comment", "email", "attachment", "seq"]
)
FRAMES = st.one_of(
    st.fixed_dictionaries(
        {"type": FRAME_TYPES},
        optional={
            name: JSON_VALUES for name in ["text", "client_id", "score", "comment", "email", "attachment", "token"]
        },
    ).map(json.dumps),
    st.fixed_dictionaries(
        {
            "type": st.just("hello"),
            "last_seq": st.integers(min_value=-(2**80), max_value=2**80) | JSON_VALUES,
            "token": JSON_VALUES,
        }
    ).map(json.dumps),
    st.dictionaries(FIELDS, JSON_VALUES, max_size=5).map(json.dumps),
    JSON_VALUES.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
).filter(len)  # the test communicator cannot send an empty frame


NOT_READY = {"type": "error", "code": "not_ready", "message": "Send a hello frame with your token first."}


@pytest.mark.item(3)
async def test_fuzzed_frames_get_error_frames_and_never_break_the_socket(customer_session, settings, caplog, figures):
    """Hypothesis draws the frames (shrinking any failure); each runs on this test's event loop.

    Each frame goes to a socket that said hello (it must stay usable) and to a fresh one that did
    not (the only close allowed there is 4401, for a hello whose token is not a token).
    """
    settings.SUPPORTBOT_MESSAGES_PER_MINUTE = 0  # let fuzzed messages through to the answering path
    _, token = customer_session
    loop = asyncio.get_running_loop()
    authed = widget_communicator()
    await authed.connect()
    assert (await hello(authed, token))["type"] == "ready"
    seen = {"frames": 0, "error_frames": 0, "refused_hellos": 0}

    async def check(frame: str | bytes) -> None:
        replies, closed = await replies_to(authed, frame, last={"type": "pong"})
        assert closed is None and replies[-1] == {"type": "pong"}
        anonymous = widget_communicator()
        await anonymous.connect()
        # Before a hello even a ping is refused, so that refusal marks the end of the replies.
        anonymous_replies, anonymous_closed = await replies_to(anonymous, frame, last=NOT_READY)
        if anonymous_closed is not None:
            assert anonymous_closed == 4401 and json.loads(frame)["type"] == "hello"
            seen["refused_hellos"] += 1
        await anonymous.disconnect()
        for reply in replies + anonymous_replies:
            assert isinstance(reply.get("type"), str)
            seen["error_frames"] += reply["type"] == "error"
        seen["frames"] += 2

    @hypothesis_settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(frame=FRAMES)
    def fuzz(frame: str | bytes) -> None:
        asyncio.run_coroutine_threadsafe(check(frame), loop).result(timeout=60)

    error: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(fuzz, error))
    worker.start()
    while worker.is_alive():
        await asyncio.sleep(0.05)
    if error:
        raise error[0]
    unhandled = [record for record in caplog.records if record.levelname in {"ERROR", "CRITICAL"}]
    assert unhandled == []
    assert seen["error_frames"] > 0
    figures.update(
        frames_sent=seen["frames"],
        error_frames=seen["error_frames"],
        refused_hellos=seen["refused_hellos"],
        unhandled_exceptions=len(unhandled),
    )
    await authed.disconnect()


def _capture(function, errors: list[BaseException]) -> None:
    try:
        function()
    except BaseException as error:  # noqa: BLE001 - re-raised on the test's thread
        errors.append(error)


@pytest.mark.item(3)
@pytest.mark.parametrize("last_seq", [2**53 + 1, 2**64, -1, 1.5, "7", True, None, [1]])
async def test_a_hello_with_an_impossible_seq_replays_from_the_start(customer_session, last_seq, figures):
    _, token = customer_session
    communicator = widget_communicator()
    await communicator.connect()
    await communicator.send_json_to({"type": "hello", "token": token, "last_seq": last_seq})
    frames = await frames_until(communicator, lambda f: f["type"] == "ready")
    assert frames[-1]["last_seq"] == 0
    assert [f.get("code") for f in frames[:-1]] == ["bad_seq"]
    assert await still_usable(communicator)
    figures.update(last_seq=repr(last_seq), socket_usable=True)
    await communicator.disconnect()


# --- 4. floods ----------------------------------------------------------------------------------


@pytest.mark.item(4)
async def test_a_hundred_messages_in_a_second_are_rate_limited_and_spend_stays_under_the_cap(
    widget, llm, settings, figures
):
    limit = settings.SUPPORTBOT_MESSAGES_PER_MINUTE
    for index in range(100):
        await widget.send_json_to({"type": "message", "text": f"flood {index}", "client_id": f"f{index}"})
        await asyncio.sleep(0.01)
    frames = []
    while not await widget.receive_nothing(timeout=1.5):
        frames.append(await widget.receive_json_from())
    limited = [f for f in frames if f.get("code") == "rate_limited"]
    stored = await database_sync_to_async(Message.objects.filter(role="customer").count)()
    conversation = await database_sync_to_async(Conversation.objects.get)()
    spent = conversation.total_cost
    # Fixed one-minute windows: a flood that straddles a minute boundary meets two of them.
    assert limit <= stored <= 2 * limit and stored + len(limited) == 100
    assert "too fast" in limited[0]["message"]
    # The wait, as a number for clients that word it themselves (the widget does, in the customer's language).
    assert 1 <= limited[0]["retry_after"] <= 60 and f"{limited[0]['retry_after']} s" in limited[0]["message"]
    assert spent <= settings.SUPPORTBOT_VISITOR_BUDGET_USD
    figures.update(
        sent=100, accepted=stored, rate_limited=len(limited), upstream_calls=len(llm.requests), dollars_spent=str(spent)
    )


@pytest.mark.item(4)
def test_one_ip_opening_hundreds_of_sessions_is_limited_and_others_are_not(client, settings, figures):
    limit = settings.SUPPORTBOT_SESSIONS_PER_IP_PER_HOUR
    statuses = [
        client.post(
            "/api/widget/session",
            data="{}",
            content_type="application/json",
            HTTP_ORIGIN=ALLOWED_ORIGIN,
            REMOTE_ADDR="203.0.113.9",
        )
        for _ in range(300)
    ]
    refused = [response for response in statuses if response.status_code == 429]
    other_ip = client.post(
        "/api/widget/session",
        data="{}",
        content_type="application/json",
        HTTP_ORIGIN=ALLOWED_ORIGIN,
        REMOTE_ADDR="198.51.100.7",
    )
    assert sum(response.status_code == 201 for response in statuses) == limit
    assert len(refused) == 300 - limit and int(refused[0]["Retry-After"]) > 0
    assert refused[0].json()["error"] == "rate_limited"
    assert Conversation.objects.count() == limit + 1 and other_ip.status_code == 201
    figures.update(sessions_requested=300, sessions_opened=limit, refused=len(refused), dollars_spent=str(Decimal(0)))


@pytest.mark.item(4)
def test_behind_a_proxy_the_limit_counts_the_forwarded_client(client, settings):
    settings.SUPPORTBOT_CLIENT_IP_HEADER = "X-Forwarded-For"
    settings.SUPPORTBOT_SESSIONS_PER_IP_PER_HOUR = 2

    def open_from(forwarded: str) -> int:
        return client.post(
            "/api/widget/session",
            data="{}",
            content_type="application/json",
            HTTP_ORIGIN=ALLOWED_ORIGIN,
            HTTP_X_FORWARDED_FOR=forwarded,
        ).status_code

    # The client can prepend anything; only the address the proxy appended counts.
    assert [open_from(f"10.0.0.{n}, 192.0.2.1") for n in range(3)] == [201, 201, 429]
    assert open_from("192.0.2.2") == 201
