"""Customer identity: a user id the shop signed is believed and shown to agents; anything else is ignored."""

from __future__ import annotations

import logging

import pytest
from channels.db import database_sync_to_async

from conversations.identity import identity_hash
from conversations.models import Conversation, Customer
from tests.conftest import ALLOWED_ORIGIN, frames_until
from tests.conversations.test_console import console_for

SECRET = "a-shop-secret-of-at-least-32-characters!"
# `printf 'user-42' | openssl dgst -sha256 -hmac 'a-shop-secret-of-at-least-32-characters!'`: what any
# shop's server computes with its own HMAC library (docs/integrations.md has the snippets).
USER_42_HASH = "d6c9880d42b9d2031016ac8f35f272da6e955239d04c1a9de11458dcf868d6e3"


pytestmark = pytest.mark.django_db


@pytest.fixture
def identity_secret(settings) -> str:
    settings.SUPPORTBOT_IDENTITY_SECRET = SECRET
    return SECRET


def open_session(client, identity: object = None) -> dict:
    body = {} if identity is None else {"identity": identity}
    response = client.post(
        "/api/widget/session", data=body, content_type="application/json", HTTP_ORIGIN=ALLOWED_ORIGIN
    )
    assert response.status_code == 201
    return response.json()


def shopper(**changes: str) -> dict[str, str]:
    return {"user_id": "user-42", "email": "pat@example.com", "name": "Pat Doe", "user_hash": USER_42_HASH, **changes}


def identity_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "conversations.identity" and r.levelname == "WARNING"]


def test_the_signature_is_hmac_sha256_of_the_user_id_as_any_hmac_library_makes_it():
    assert identity_hash(user_id="user-42", secret=SECRET) == USER_42_HASH
    assert identity_hash(user_id="user-43", secret=SECRET) != USER_42_HASH


def test_a_signed_identity_makes_the_conversation_the_customers(client, identity_secret, caplog):
    session = open_session(client, shopper())
    assert session["identity"] == "verified"
    conversation = Conversation.objects.select_related("customer").get(public_id=session["conversation_id"])
    customer = conversation.customer
    assert customer is not None
    assert (customer.external_id, customer.email, customer.name) == ("user-42", "pat@example.com", "Pat Doe")
    assert identity_warnings(caplog) == []


def test_an_uppercase_signature_is_the_same_signature(client, identity_secret):
    assert open_session(client, shopper(user_hash=USER_42_HASH.upper()))["identity"] == "verified"


@pytest.mark.parametrize(
    ("tampered", "why"),
    [
        (shopper(user_id="user-43"), "does not match"),  # someone else's id with Pat's signature
        (shopper(user_hash=USER_42_HASH[:-1] + "0"), "does not match"),
        (shopper(user_hash=identity_hash(user_id="user-42", secret="another-shop-secret-32-characters-x")), "match"),
        ({k: v for k, v in shopper().items() if k != "user_hash"}, "unsigned"),
        (shopper(user_hash=""), "unsigned"),
        (shopper(user_id=""), "user_id"),
        ("user-42", "must be an object"),
    ],
)
def test_a_tampered_or_unsigned_identity_is_ignored_with_one_log_line(client, identity_secret, caplog, tampered, why):
    caplog.set_level(logging.WARNING, logger="conversations.identity")
    session = open_session(client, tampered)
    assert session["identity"] == "ignored"
    assert Conversation.objects.get(public_id=session["conversation_id"]).customer_id is None
    assert Customer.objects.count() == 0
    warnings = identity_warnings(caplog)
    assert len(warnings) == 1 and why in warnings[0] and ALLOWED_ORIGIN in warnings[0]


def test_without_a_secret_nothing_can_be_verified(client, settings, caplog):
    settings.SUPPORTBOT_IDENTITY_SECRET = ""
    session = open_session(client, shopper())
    assert session["identity"] == "ignored" and Customer.objects.count() == 0
    assert "SUPPORTBOT_IDENTITY_SECRET is not set" in identity_warnings(caplog)[0]


def test_an_anonymous_visitor_logs_nothing(client, identity_secret, caplog):
    assert open_session(client)["identity"] == "none"
    assert identity_warnings(caplog) == []


def test_a_body_that_is_not_json_opens_an_anonymous_session(client, identity_secret):
    response = client.post(
        "/api/widget/session", data="nonsense", content_type="text/plain", HTTP_ORIGIN=ALLOWED_ORIGIN
    )
    assert response.status_code == 201 and response.json()["identity"] == "none"


def test_only_the_id_is_signed_so_a_bad_email_is_dropped_and_a_name_is_cleaned(client, identity_secret):
    session = open_session(client, shopper(email="not an email", name="Pat\u202e\n  Doe\x00"))
    customer = Customer.objects.get()
    assert session["identity"] == "verified"
    assert customer.email == "" and customer.name == "Pat Doe"


def test_conversations_of_one_customer_share_their_row_and_keep_the_latest_details(client, identity_secret):
    first = open_session(client, shopper())
    second = open_session(client, shopper(email="pat.doe@example.com"))
    customer = Customer.objects.get()
    assert customer.email == "pat.doe@example.com"
    assert set(customer.conversations.values_list("public_id", flat=True)) == {
        first["conversation_id"],
        second["conversation_id"],
    }


@pytest.mark.django_db(transaction=True)
async def test_the_agent_sees_the_verified_customer_and_their_other_conversations(client, identity_secret, agent):
    earlier = await database_sync_to_async(open_session)(client, shopper())
    now = await database_sync_to_async(open_session)(client, shopper())
    stranger = await database_sync_to_async(open_session)(client, shopper(user_id="user-43"))
    console, _, _ = await console_for(agent)

    await console.send_json_to({"type": "open", "conversation": now["conversation_id"], "last_seq": 0})
    card = (await frames_until(console, lambda f: f["type"] == "transcript"))[-1]["card"]
    assert card["customer"]["verified"] is True
    assert (card["customer"]["user_id"], card["customer"]["name"], card["customer"]["email"]) == (
        "user-42",
        "Pat Doe",
        "pat@example.com",
    )
    assert [c["conversation"] for c in card["customer"]["other_conversations"]] == [earlier["conversation_id"]]
    assert card["customer"]["other_conversation_count"] == 1

    await console.send_json_to({"type": "open", "conversation": stranger["conversation_id"], "last_seq": 0})
    card = (await frames_until(console, lambda f: f["type"] == "transcript"))[-1]["card"]
    assert card["customer"] is None
    await console.disconnect()
