"""The REST API: every endpoint with a token, and what a token without the scope, or without a token, gets."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from conversations import handoff
from conversations.api.tokens import api_tokens_revoke
from conversations.models import ApiToken, Conversation, Message
from conversations.services import conversation_open
from tests.conversations.api.conftest import api

pytestmark = pytest.mark.django_db

ALL_SCOPES = ApiToken.Scope.values
# (method, path under /api/v1/ with {c} for the conversation, the scope it needs, the status it answers)
ENDPOINTS = [
    ("GET", "conversations/", "conversations:read", 200),
    ("GET", "conversations/{c}/", "conversations:read", 200),
    ("GET", "conversations/{c}/messages/", "messages:read", 200),
    ("POST", "conversations/{c}/messages/", "messages:write", 201),
    ("POST", "conversations/{c}/close/", "conversations:write", 200),
    ("GET", "conversations/{c}/rating/", "ratings:read", 200),
    ("GET", "conversations/{c}/ledger/", "ledger:read", 200),
    ("GET", "ratings/", "ratings:read", 200),
    ("GET", "ledger/", "ledger:read", 200),
]
WRITE_BODY = {"text": "Your order ships today.", "client_id": "crm-1"}


def call(client: Client, world, method: str, path: str, token: str | None) -> object:
    body = WRITE_BODY if path.endswith("messages/") and method == "POST" else {}
    return api(client, method, "/api/v1/" + path.format(c=world.public_id), token, **body)


@pytest.mark.parametrize(("method", "path", "scope", "ok"), ENDPOINTS)
def test_each_endpoint_answers_a_token_with_its_scope(client, world, token_for, method, path, scope, ok):
    response = call(client, world, method, path, token_for(scope))
    assert response.status_code == ok, response.content


@pytest.mark.parametrize(("method", "path", "scope", "ok"), ENDPOINTS)
def test_each_endpoint_refuses_a_token_without_its_scope(client, world, token_for, method, path, scope, ok):
    response = call(client, world, method, path, token_for(*(s for s in ALL_SCOPES if s != scope)))
    assert response.status_code == 403
    assert scope in response.json()["detail"]
    assert Message.objects.filter(role="agent").count() == 0
    assert Conversation.objects.get().status == "agent"


@pytest.mark.parametrize(("method", "path", "scope", "ok"), ENDPOINTS)
def test_each_endpoint_refuses_a_missing_wrong_or_revoked_token(client, world, token_for, method, path, scope, ok):
    revoked = token_for(*ALL_SCOPES)
    api_tokens_revoke(token_ids=ApiToken.objects.values_list("pk", flat=True))
    for token in (None, "sbk_not-a-token", revoked, token_for(*ALL_SCOPES)[:-1]):
        response = call(client, world, method, path, token)
        assert response.status_code == 401, token
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_agents_browser_session_is_no_key_to_the_api(client, world, agent):
    client.force_login(agent)
    assert client.get("/api/v1/conversations/").status_code == 401


def test_a_token_stops_working_when_its_user_is_no_longer_staff(client, world, token_for, agent):
    token = token_for("conversations:read")
    assert api(client, "GET", "/api/v1/conversations/", token).status_code == 200
    agent.is_staff = False
    agent.save()
    assert api(client, "GET", "/api/v1/conversations/", token).status_code == 401


def test_a_used_token_says_when_it_was_last_used(client, world, token_for):
    token = token_for("conversations:read")
    assert ApiToken.objects.get().last_used_at is None
    api(client, "GET", "/api/v1/conversations/", token)
    assert timezone.now() - ApiToken.objects.get().last_used_at < timedelta(seconds=10)


# --- reading -----------------------------------------------------------------------------------


def test_a_conversation_is_its_public_id_status_agent_and_totals(client, world, token_for, agent):
    body = api(client, "GET", f"/api/v1/conversations/{world.public_id}/", token_for("conversations:read")).json()
    assert body["id"] == world.public_id and "pk" not in body
    assert body["status"] == "agent" and body["assigned_agent"] == {"id": agent.pk, "name": "Sam"}
    assert body["customer"] is None and body["last_seq"] == world.conversation.last_seq


def test_conversations_filter_by_status_customer_and_time(client, world, token_for):
    other, _ = conversation_open(origin="http://127.0.0.1:8000")
    token = token_for("conversations:read")
    listed = api(client, "GET", "/api/v1/conversations/", token).json()
    assert [c["id"] for c in listed["results"]] == [other.public_id, world.public_id]  # newest first
    waiting = api(client, "GET", "/api/v1/conversations/", token, status="bot").json()
    assert [c["id"] for c in waiting["results"]] == [other.public_id]
    unknown = api(client, "GET", "/api/v1/conversations/", token, status="open")  # not a status: said so
    assert unknown.status_code == 400 and "closed" in unknown.json()["status"]
    assert api(client, "GET", "/api/v1/conversations/", token, customer="user-42").json()["results"] == []
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert api(client, "GET", "/api/v1/conversations/", token, created_after=later).json()["results"] == []
    refused = api(client, "GET", "/api/v1/conversations/", token, created_after="yesterday")
    assert refused.status_code == 400 and "created_after" in refused.json()
    # Well formed but no such time: the same 400, never a 500.
    for impossible in ("2026-02-31T00:00:00Z", "2026-11-30T25:00:00Z", "2026-11-30T00:00:00+99:00"):
        for name in ("created_after", "updated_after"):
            refused = api(client, "GET", "/api/v1/conversations/", token, **{name: impossible})
            assert refused.status_code == 400 and name in refused.json(), (name, impossible)


def test_messages_come_in_seq_order_page_by_page(client, world, token_for):
    token = token_for("messages:read")
    path = f"/api/v1/conversations/{world.public_id}/messages/"
    everything = api(client, "GET", path, token).json()["results"]
    stored = list(Message.objects.filter(conversation=world.conversation).order_by("seq"))
    assert [m["seq"] for m in everything] == [m.seq for m in stored]
    assert [m["text"] for m in everything][:2] == ["Where is my order 1042?", "Let me find a person."]
    joined = [m for m in everything if m["kind"] == "event" and m["event"]["event"] == "agent_joined"]
    assert joined and joined[0]["role"] == "system"

    first_page = api(client, "GET", path, token, limit=2).json()
    assert [m["seq"] for m in first_page["results"]] == [1, 2]
    rest = Client().get(first_page["next"], HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert rest["results"][0]["seq"] == 3
    after = api(client, "GET", path, token, after_seq=2).json()["results"]
    assert [m["seq"] for m in after] == [m.seq for m in stored[2:]]


def test_staff_only_messages_are_read_only_with_the_notes_scope(client, world, token_for, monkeypatch):
    # Nothing is staff-only yet; internal notes will be matched where this test points the filter.
    monkeypatch.setattr("conversations.api.views.staff_only_messages", lambda: Q(role="system"))
    path = f"/api/v1/conversations/{world.public_id}/messages/"
    without = api(client, "GET", path, token_for("messages:read")).json()["results"]
    with_notes = api(client, "GET", path, token_for("messages:read", "notes:read")).json()["results"]
    assert without and all(m["role"] != "system" for m in without)
    assert any(m["role"] == "system" for m in with_notes)
    assert len(with_notes) == Message.objects.filter(conversation=world.conversation).count()


def test_the_rating_and_the_ledger_of_a_conversation(client, world, token_for):
    rating = api(client, "GET", f"/api/v1/conversations/{world.public_id}/rating/", token_for("ratings:read"))
    assert rating.json() == {
        "conversation": world.public_id,
        "score": 4,
        "comment": "Quick",
        "created_at": rating.json()["created_at"],
    }
    ledger = api(client, "GET", f"/api/v1/conversations/{world.public_id}/ledger/", token_for("ledger:read")).json()
    rows = ledger["results"]
    assert sorted((r["tier"], r["cost"]) for r in rows) == [("instant", "0.00120000"), ("thinking", "0.00340000")]
    assert {r["message_seq"] for r in rows} == {world.answer.seq}
    assert {r["conversation"] for r in rows} == {world.public_id}
    # The id each request carried as X-Supportbot-Call-Id, to match a provider's log.
    assert sorted(r["call_id"] for r in rows) == [f"{'instant':0<32}", f"{'thinking':0<32}"]


def test_an_unrated_or_unknown_conversation_is_a_404(client, world, token_for):
    fresh, _ = conversation_open(origin="http://127.0.0.1:8000")
    token = token_for(*ALL_SCOPES)
    assert api(client, "GET", f"/api/v1/conversations/{fresh.public_id}/rating/", token).status_code == 404
    for path in ("", "messages/", "ledger/", "rating/"):
        assert api(client, "GET", f"/api/v1/conversations/nope/{path}", token).status_code == 404


def test_ratings_and_ledger_list_newest_first_and_filter_by_time(client, world, token_for):
    ratings = api(client, "GET", "/api/v1/ratings/", token_for("ratings:read")).json()["results"]
    assert [(r["conversation"], r["score"]) for r in ratings] == [(world.public_id, 4)]
    token = token_for("ledger:read")
    assert len(api(client, "GET", "/api/v1/ledger/", token).json()["results"]) == 2
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert api(client, "GET", "/api/v1/ledger/", token, created_after=later).json()["results"] == []


# --- writing -----------------------------------------------------------------------------------


def test_an_agent_message_is_stored_once_per_client_id_as_the_tokens_agent(client, world, token_for, agent):
    token = token_for("messages:write")
    path = f"/api/v1/conversations/{world.public_id}/messages/"
    first = api(client, "POST", path, token, **WRITE_BODY)
    again = api(client, "POST", path, token, **WRITE_BODY)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["seq"] == again.json()["seq"]
    stored = Message.objects.get(role="agent")
    assert stored.text == "Your order ships today." and stored.author_id == agent.pk
    assert first.json()["author"] == {"id": agent.pk, "name": "Sam"}
    other = api(client, "POST", path, token, text="Actually it ships tomorrow.", client_id=WRITE_BODY["client_id"])
    assert other.status_code == 409 and other.json()["code"] == "client_id_used"
    assert list(Message.objects.filter(role="agent").values_list("text", flat=True)) == ["Your order ships today."]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "hi", "client_id": "supportbot:rating-request"}, "client_id"),  # the server's own ids
        ({"text": "hi", "client_id": 123}, "client_id"),
        ({"text": 5, "client_id": "crm-2"}, "text"),
        ({"text": True}, "text"),
    ],
)
def test_an_agent_message_with_a_reserved_client_id_or_no_string_is_refused(client, world, token_for, body, field):
    path = f"/api/v1/conversations/{world.public_id}/messages/"
    refused = api(client, "POST", path, token_for("messages:write"), **body)
    assert refused.status_code == 400 and field in refused.json(), refused.content
    assert not Message.objects.filter(role="agent").exists()


def test_writing_follows_the_consoles_rules(client, world, token_for, django_user_model, settings):
    alex = django_user_model.objects.create_user(username="alex", password="x-pass-123", is_staff=True)
    other_agent = token_for("messages:write", "conversations:write", user=alex)
    path = f"/api/v1/conversations/{world.public_id}/"
    for endpoint, body in (("messages/", WRITE_BODY), ("close/", {})):
        refused = api(client, "POST", path + endpoint, other_agent, **body)
        assert refused.status_code == 409 and refused.json()["code"] == "not_yours"

    with_the_bot, _ = conversation_open(origin="http://127.0.0.1:8000")
    mine = token_for("messages:write")
    refused = api(client, "POST", f"/api/v1/conversations/{with_the_bot.public_id}/messages/", mine, **WRITE_BODY)
    assert refused.status_code == 409 and refused.json()["code"] == "illegal_transition"

    assert api(client, "POST", path + "messages/", mine, text="   ").status_code == 400
    settings.SUPPORTBOT_MAX_MESSAGE_CHARS = 100
    assert api(client, "POST", path + "messages/", mine, text="x" * 101).status_code == 400
    assert Message.objects.filter(role="agent").count() == 0


def test_closing_asks_the_customer_for_a_rating_and_happens_once(
    client, world, token_for, django_capture_on_commit_callbacks
):
    token = token_for("conversations:write")
    path = f"/api/v1/conversations/{world.public_id}/close/"
    with django_capture_on_commit_callbacks(execute=True):
        closed = api(client, "POST", path, token)
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["closed_at"]
    assert Message.objects.filter(conversation=world.conversation, data__event="rating_requested").exists()
    again = api(client, "POST", path, token)
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"


def test_a_conversation_closed_after_a_sync_is_found_by_updated_after(client, world, token_for):
    """The CRM sync of docs/integrations.md: conversations changed since the last sync, closing included."""
    token = token_for("conversations:read", "conversations:write")
    Conversation.objects.filter(pk=world.conversation.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    synced = timezone.now() - timedelta(seconds=1)

    api(client, "POST", f"/api/v1/conversations/{world.public_id}/close/", token)

    changed = api(client, "GET", "/api/v1/conversations/", token, status="closed", updated_after=synced.isoformat())
    assert [c["id"] for c in changed.json()["results"]] == [world.public_id]
    row = changed.json()["results"][0]
    assert datetime.fromisoformat(row["updated_at"]) >= datetime.fromisoformat(row["closed_at"])


def test_requests_per_token_are_throttled(client, world, token_for, settings):
    settings.SUPPORTBOT_API_REQUESTS_PER_MINUTE = 2
    busy, other = token_for("conversations:read"), token_for("conversations:read")
    statuses = [api(client, "GET", "/api/v1/conversations/", busy).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = api(client, "GET", "/api/v1/conversations/", busy)
    assert int(refused["Retry-After"]) > 0
    assert api(client, "GET", "/api/v1/conversations/", other).status_code == 200


def test_the_api_acts_through_the_handoff_services(client, world, token_for, agent):
    """A message posted through the API is the same stored message a console reply makes."""
    api(client, "POST", f"/api/v1/conversations/{world.public_id}/messages/", token_for("messages:write"), text="Hi")
    via_api = Message.objects.get(role="agent")
    via_console, _ = handoff.agent_reply(conversation_id=world.conversation.pk, agent_id=agent.pk, text="Hi again")
    assert via_api.data == via_console.data == {"author_name": "Sam"}
    assert via_console.seq == via_api.seq + 1


def test_a_body_over_the_upload_limit_is_a_json_413_and_stores_nothing(client, world, token_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    path = f"/api/v1/conversations/{world.public_id}/messages/"
    refused = api(client, "POST", path, token_for("messages:write"), text="x" * 2000, client_id="crm-big")
    assert refused.status_code == 413, refused.content
    assert refused["Content-Type"] == "application/json" and "too large" in refused.json()["detail"]
    assert not Message.objects.filter(role="agent").exists()
