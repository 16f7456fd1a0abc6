from __future__ import annotations

import pytest
from django.core import signing

from conversations.selectors import conversation_for_token
from conversations.services import conversation_open, conversation_revoke_tokens
from conversations.tokens import VisitorTokenInvalid, visitor_token_read

pytestmark = pytest.mark.django_db


def test_token_opens_its_own_conversation_only():
    first, first_token = conversation_open(origin="http://127.0.0.1:8000")
    second, _ = conversation_open(origin="http://127.0.0.1:8000")
    assert conversation_for_token(token=first_token).pk == first.pk != second.pk


def test_tampered_token_is_refused():
    _, token = conversation_open(origin="")
    value, signature = token.rsplit(":", 1)
    with pytest.raises(VisitorTokenInvalid):
        visitor_token_read(token=value + ":" + signature[::-1])


def test_expired_token_is_refused(settings):
    _, token = conversation_open(origin="")
    settings.SUPPORTBOT_VISITOR_TOKEN_MAX_AGE_S = -1
    with pytest.raises(VisitorTokenInvalid, match="expired"):
        visitor_token_read(token=token)


def test_revoked_token_is_refused():
    conversation, token = conversation_open(origin="")
    conversation_revoke_tokens(conversation_id=conversation.pk)
    with pytest.raises(VisitorTokenInvalid, match="revoked"):
        conversation_for_token(token=token)


def test_token_signed_for_another_purpose_is_refused():
    forged = signing.dumps({"c": "x", "v": 1}, salt="something-else")
    with pytest.raises(VisitorTokenInvalid):
        visitor_token_read(token=forged)
