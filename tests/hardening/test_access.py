"""Access control and deployment settings (docs/reliability.md, items 5-8; 9: tests/conversations/test_console.py)."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.core import signing

from conversations.models import Conversation, Message
from conversations.services import conversation_open, conversation_revoke_tokens, message_record
from tests.conftest import ALLOWED_ORIGIN, frames_until, widget_communicator

pytestmark = pytest.mark.django_db(transaction=True)

B_SECRET = "B-ONLY: my order 88123 goes to 4 Privet Drive"


# --- 5. deployment settings and framing -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.item(5)
def test_check_deploy_is_clean_with_production_settings(tmp_path, figures):
    env = {name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        SECRET_KEY="x9!kQ2#vL7@pR4$wZ8%nT1^bY6&mC3*fH5(jD0)sG-aE+uI=oP_yU]lK[qW{eR}tS",
        SUPPORTBOT_PUBLIC_URL="https://support.example.com",
        DEBUG="false",
        ALLOWED_HOSTS="support.example.com",
        SUPPORTBOT_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="supportbot.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    figures.update(deploy_check_issues=0, fail_level="DEBUG")


@pytest.mark.item(5)
@pytest.mark.parametrize("path", ["/console/login/", "/admin/login/", "/console/"])
def test_console_and_admin_refuse_to_be_framed(client, path, figures):
    response = client.get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"
    figures.update(path=path, frame_ancestors="'none'", x_frame_options="DENY")


@pytest.mark.item(5)
@pytest.mark.parametrize("path", ["/", "/help/"])
def test_the_pages_shops_show_may_be_framed_only_by_the_configured_sites(client, settings, path, figures):
    settings.SUPPORTBOT_ALLOWED_ORIGINS = ["https://shop.example", "https://www.shop.example"]
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "frame-ancestors 'self' https://shop.example https://www.shop.example"
    assert "X-Frame-Options" not in response  # DENY would override the allow-list in older browsers
    figures.update(path=path, frame_ancestors="'self' + allowed origins")


# --- 6. one visitor cannot reach another's conversation ---------------------------------------------


def _other_visitor() -> tuple[str, str]:
    conversation, token = conversation_open(origin=ALLOWED_ORIGIN)
    message_record(conversation_id=conversation.pk, role="customer", text=B_SECRET, client_id="b1")
    return conversation.public_id, token


def _token_for(*, conversation_public_id: str, version: int = 1) -> str:
    """What an attacker can build without the secret key: the right payload, a guessed signature."""
    payload = signing.b64_encode(f'{{"c":"{conversation_public_id}","v":{version}}}'.encode()).decode()
    return f"{payload}:1tAAAA:{'A' * 43}"


@pytest.mark.item(6)
async def test_a_visitor_cannot_read_subscribe_or_post_into_another_conversation(customer_session, llm, figures):
    a_public_id, a_token = customer_session
    b_public_id, b_token = await database_sync_to_async(_other_visitor)()
    b_messages_before = await database_sync_to_async(
        Message.objects.filter(conversation__public_id=b_public_id).count
    )()

    socket = widget_communicator()
    await socket.connect()
    # The token decides the conversation; ids named in a frame are ignored.
    await socket.send_json_to({"type": "hello", "token": a_token, "last_seq": 0, "conversation_id": b_public_id})
    frames = await frames_until(socket, lambda f: f["type"] == "ready")
    for attempt in (
        {
            "type": "message",
            "text": "post into B",
            "client_id": "b1",
            "conversation": b_public_id,
            "conversation_id": b_public_id,
        },
        {"type": "rating", "score": 1, "conversation": b_public_id},
        {"type": "ticket", "email": "x@example.com", "text": "for B", "conversation": b_public_id},
    ):
        await socket.send_json_to(attempt)
    frames += await frames_until(socket, lambda f: f["type"] == "message" and f["role"] == "assistant")
    while not await socket.receive_nothing(timeout=0.5):
        frames.append(await socket.receive_json_from())
    await socket.disconnect()

    # Tokens built for B's id without the key are refused before any of B is read.
    forged = widget_communicator()
    await forged.connect()
    await forged.send_json_to({"type": "hello", "token": _token_for(conversation_public_id=b_public_id)})
    forged_frames = [await forged.receive_json_from()]
    assert (await forged.receive_output())["code"] == 4401

    received = "".join(str(frame) for frame in frames + forged_frames)
    b_messages_after = await database_sync_to_async(Message.objects.filter(conversation__public_id=b_public_id).count)()
    assert next(frame for frame in frames if frame["type"] == "ready")["conversation_id"] == a_public_id
    assert b_public_id not in received and "B-ONLY" not in received and "Privet" not in received
    assert b_messages_after == b_messages_before == 1
    assert forged_frames[0]["code"] == "unauthorized"
    # The request the model saw holds only A's words.
    upstream = " ".join(str(request.body) for request in llm.requests)
    assert "post into B" in upstream and "Privet" not in upstream
    figures.update(
        bytes_of_b_returned=0, messages_written_into_b=b_messages_after - b_messages_before, forged_token="refused 4401"
    )


@pytest.mark.item(6)
@pytest.mark.parametrize(
    "path",
    [
        "/api/widget/session?conversation={b}",
        "/api/widget/conversations/{b}/",
        "/api/widget/conversations/{b}/messages",
        "/conversations/{b}/",
        "/help/{b}/",
        "/admin/conversations/conversation/?q={b}",
        "/console/?conversation={b}",
    ],
)
def test_guessed_http_urls_return_none_of_another_conversation(client, path, figures):
    b_public_id, b_token = _other_visitor()
    url = path.format(b=b_public_id)
    responses = [
        client.get(url, HTTP_ORIGIN=ALLOWED_ORIGIN, HTTP_AUTHORIZATION=f"Bearer {b_token}"),
        client.post(url, data="{}", content_type="application/json", HTTP_ORIGIN=ALLOWED_ORIGIN),
    ]
    for response in responses:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"Privet" not in body and b"B-ONLY" not in body
        if response.status_code == 200:
            assert b_public_id.encode() not in body
    figures.update(path=path, statuses=[response.status_code for response in responses], bytes_of_b_returned=0)


# --- 7. origins ------------------------------------------------------------------------------------


@pytest.mark.item(7)
@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        None,
        "http://127.0.0.1:8000.evil.example",
        "http://127.0.0.1:8001",
        "https://127.0.0.1:8000",
        "http://127.0.0.1",
        "http://evil.example/http://127.0.0.1:8000",
    ],
)
async def test_a_socket_from_any_origin_off_the_list_is_refused(origin, figures):
    communicator = widget_communicator(origin=origin)
    connected, _ = await communicator.connect()
    assert not connected
    figures.update(origin=str(origin), accepted=connected)


# --- 8. tokens -------------------------------------------------------------------------------------


async def _hello_result(token: str) -> tuple[dict, dict]:
    communicator = widget_communicator()
    await communicator.connect()
    await communicator.send_json_to({"type": "hello", "token": token})
    return await communicator.receive_json_from(), await communicator.receive_output()


@pytest.mark.item(8)
async def test_expired_tampered_and_revoked_tokens_are_refused(customer_session, settings, figures):
    public_id, token = customer_session
    payload, timestamp, signature = token.split(":")
    tampered = [
        f"{payload}:{timestamp}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{payload[:-2]}:{timestamp}:{signature}",
        f"{payload}:{signing.b62_encode(signing.b62_decode(timestamp) + 3600)}:{signature}",
        token + "x",
    ]
    outcomes = {}
    for index, candidate in enumerate(tampered):
        outcomes[f"tampered_{index}"] = await _hello_result(candidate)
    settings.SUPPORTBOT_VISITOR_TOKEN_MAX_AGE_S = -1  # every token is now past its age
    outcomes["expired"] = await _hello_result(token)
    settings.SUPPORTBOT_VISITOR_TOKEN_MAX_AGE_S = 3600
    conversation = await database_sync_to_async(Conversation.objects.get)(public_id=public_id)
    await database_sync_to_async(conversation_revoke_tokens)(conversation_id=conversation.pk)
    outcomes["revoked"] = await _hello_result(token)
    for name, (error, closed) in outcomes.items():
        assert error["code"] == "unauthorized", name
        assert closed == {"type": "websocket.close", "code": 4401}, name
    figures.update(refused=sorted(outcomes), close_code=4401)


@pytest.mark.item(8)
async def test_tokens_never_appear_in_urls_or_logs(client, llm, caplog, figures):
    caplog.set_level(logging.DEBUG)
    response = await database_sync_to_async(client.post)(
        "/api/widget/session", data="{}", content_type="application/json", HTTP_ORIGIN=ALLOWED_ORIGIN
    )
    session = response.json()
    token = session["token"]
    communicator = widget_communicator()
    await communicator.connect()
    await communicator.send_json_to({"type": "hello", "token": token, "last_seq": 0})
    await communicator.receive_json_from()
    await communicator.send_json_to({"type": "message", "text": "Where is my order?", "client_id": "t"})
    await frames_until(communicator, lambda f: f["type"] == "message" and f["role"] == "assistant")
    await communicator.disconnect()
    # A refused token is not echoed either.
    refused = widget_communicator()
    await refused.connect()
    await refused.send_json_to({"type": "hello", "token": token[:-3] + "abc"})
    await refused.receive_json_from()

    logged = "\n".join(record.getMessage() + str(record.args) + str(record.exc_info) for record in caplog.records)
    signature = token.rsplit(":", 1)[-1]
    assert len(caplog.records) > 0
    assert token not in logged and signature not in logged
    assert token not in session["websocket_url"] and "token" not in session["websocket_url"]
    upstream_urls = " ".join(request.path for request in llm.requests)
    assert signature not in upstream_urls and signature not in str([request.headers for request in llm.requests])
    widget_js = (django_settings.BASE_DIR / "static" / "supportbot" / "widget.js").read_text()
    # The widget sends its token in the hello frame only, never in a URL's query string.
    assert not re.search(r"[?&]token=", widget_js)
    figures.update(log_records_checked=len(caplog.records), token_occurrences_in_logs=0, token_occurrences_in_urls=0)
