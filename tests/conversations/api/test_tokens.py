"""API tokens: shown once, stored only as a hash, refused with unknown scopes, revocable."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command

from conversations.api.tokens import UnknownScope, api_token_authenticate, api_token_create, api_tokens_revoke
from conversations.models import ApiToken

pytestmark = pytest.mark.django_db


def test_the_command_prints_the_token_once_and_keeps_only_its_hash(agent):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "api_token_create", "--user=sam", "--name=CRM sync", "--scope=conversations:read", stdout=out, stderr=err
    )
    raw = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert raw.startswith("sbk_") and len(raw) > 40
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest() and token.prefix == raw[:12]
    assert raw not in {token.name, token.prefix, token.digest} and "not be shown again" in err.getvalue()
    assert token.user == agent and token.scopes == ["conversations:read"]
    assert api_token_authenticate(raw=raw) == token


def test_the_command_refuses_unknown_scopes_and_users_who_are_not_staff(agent, django_user_model):
    with pytest.raises(CommandError, match="unknown scope"):
        call_command("api_token_create", "--user=sam", "--name=x", "--scope=everything", stdout=io.StringIO())
    django_user_model.objects.create_user(username="pat", password="customer-pass-1")
    with pytest.raises(CommandError, match="no active staff user"):
        call_command("api_token_create", "--user=pat", "--name=x", "--scope=ledger:read", stdout=io.StringIO())
    assert ApiToken.objects.count() == 0


def test_unknown_scopes_are_refused_by_the_service_too(agent):
    with pytest.raises(UnknownScope):
        api_token_create(user_id=agent.pk, name="x", scopes=["conversations:read", "admin"])


def test_a_revoked_token_opens_nothing(agent):
    token, raw = api_token_create(user_id=agent.pk, name="x", scopes=["conversations:read"])
    assert api_token_authenticate(raw=raw) == token
    assert api_tokens_revoke(token_ids=[token.pk]) == 1
    assert api_token_authenticate(raw=raw) is None
    assert api_tokens_revoke(token_ids=[token.pk]) == 0
