from __future__ import annotations

import pytest

from conversations.models import Conversation
from conversations.selectors import conversation_for_token
from tests.conftest import ALLOWED_ORIGIN

pytestmark = pytest.mark.django_db


def test_session_from_an_allowed_origin_opens_one_conversation_with_cors(client):
    response = client.post(
        "/api/widget/session", content_type="application/json", data="{}", HTTP_ORIGIN=ALLOWED_ORIGIN
    )
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    body = response.json()
    conversation = conversation_for_token(token=body["token"])
    assert conversation.public_id == body["conversation_id"]
    assert body["websocket_url"].startswith("ws://") and body["websocket_url"].endswith("/ws/widget/")
    assert Conversation.objects.count() == 1


@pytest.mark.parametrize("origin", ["https://evil.example", "null", None])
def test_session_from_another_origin_is_refused_and_creates_nothing(client, origin):
    extra = {"HTTP_ORIGIN": origin} if origin else {}
    response = client.post("/api/widget/session", content_type="application/json", data="{}", **extra)
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert Conversation.objects.count() == 0


def test_preflight_from_an_allowed_origin_is_answered(client):
    response = client.options("/api/widget/session", HTTP_ORIGIN=ALLOWED_ORIGIN)
    assert response.status_code == 204
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_demo_shop_embeds_the_widget_with_one_script_tag(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.content.count(b"supportbot/widget.js") == 1


def test_a_session_body_nested_deeper_than_the_parser_recurses_is_taken_as_empty(client):
    nested = "[" * 100_000 + "]" * 100_000
    response = client.post(
        "/api/widget/session", content_type="application/json", data=nested, HTTP_ORIGIN=ALLOWED_ORIGIN
    )
    assert response.status_code == 201 and response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert Conversation.objects.count() == 1


def test_a_session_body_over_the_upload_limit_is_refused_in_json_and_creates_nothing(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(
        "/api/widget/session",
        content_type="application/json",
        data='{"identity": "' + "x" * 2000 + '"}',
        HTTP_ORIGIN=ALLOWED_ORIGIN,
    )
    assert response.status_code == 413 and response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert response.json()["error"] == "request_too_large"
    assert Conversation.objects.count() == 0
