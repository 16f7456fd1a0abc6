"""The admin for integrations: a token shown once, endpoints with their secret, the delivery log and redelivery."""

from __future__ import annotations

import hashlib
import re

import pytest

from conversations.models import ApiToken, Customer, OutboundEmail, WebhookDelivery, WebhookEndpoint
from conversations.services import conversation_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_a_token_made_in_the_admin_is_shown_once_and_stored_as_a_hash(admin_client, agent):
    response = admin_client.post(
        "/admin/conversations/apitoken/add/",
        {"name": "CRM sync", "user": agent.pk, "scopes": ["conversations:read", "messages:read"]},
        follow=True,
    )
    assert response.status_code == 200
    shown = re.findall(r"sbk_[\w-]{40,}", response.content.decode())
    assert len(shown) == 1
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(shown[0].encode()).hexdigest()
    assert token.scopes == ["conversations:read", "messages:read"] and token.user == agent
    page = admin_client.get(f"/admin/conversations/apitoken/{token.pk}/change/").content.decode()
    assert shown[0] not in page and token.prefix in page


def test_revoking_in_the_admin_stops_the_token(admin_client, agent):
    admin_client.post(
        "/admin/conversations/apitoken/add/", {"name": "x", "user": agent.pk, "scopes": ["ledger:read"]}, follow=True
    )
    token = ApiToken.objects.get()
    admin_client.post(
        "/admin/conversations/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_endpoint_gets_a_secret_and_only_web_urls(admin_client):
    refused = admin_client.post(
        "/admin/conversations/webhookendpoint/add/",
        {"url": "ftp://crm.example/hook", "events": ["conversation.closed"], "active": "on"},
    )
    assert refused.status_code == 200 and WebhookEndpoint.objects.count() == 0
    admin_client.post(
        "/admin/conversations/webhookendpoint/add/",
        {"url": "https://crm.example/hook", "events": ["conversation.closed", "conversation.rated"], "active": "on"},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["conversation.closed", "conversation.rated"]
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    page = admin_client.get(f"/admin/conversations/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret in page


def test_the_delivery_log_redelivers_and_the_other_logs_show(admin_client, django_capture_on_commit_callbacks):
    endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/", events=["conversation.created"])
    conversation, _ = conversation_open(origin="http://127.0.0.1:8000")
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.update(status="failed", attempts=12)
    Customer.objects.create(external_id="user-42", name="Pat")
    OutboundEmail.objects.create(conversation=conversation, kind="transcript", key="r1", to="p@example.com", body="b")
    for page in ("webhookdelivery", "outboundemail", "customer", "apitoken", "webhookendpoint"):
        assert admin_client.get(f"/admin/conversations/{page}/").status_code == 200, page
    detail = admin_client.get(f"/admin/conversations/webhookdelivery/{delivery.pk}/change/")
    assert detail.status_code == 200 and delivery.public_id in detail.content.decode()

    with django_capture_on_commit_callbacks() as queued:
        admin_client.post(
            "/admin/conversations/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [delivery.pk]},
            follow=True,
        )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0) and len(queued) == 1
    assert delivery.endpoint == endpoint
