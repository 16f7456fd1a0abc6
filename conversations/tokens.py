"""Signed visitor tokens: each opens exactly one conversation, expires, and can be revoked."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

_SALT = "supportbot.visitor-token.v1"


class VisitorTokenInvalid(Exception):
    """Expired, tampered with, or not a visitor token at all."""


@dataclass(frozen=True)
class VisitorClaims:
    conversation_public_id: str
    token_version: int
    # Unix time after which the token no longer opens anything (an open socket is closed then too).
    expires_at: float


def visitor_token_issue(*, conversation_public_id: str, token_version: int) -> str:
    return signing.dumps({"c": conversation_public_id, "v": token_version}, salt=_SALT, compress=False)


def visitor_token_read(*, token: str) -> VisitorClaims:
    """Check signature and age; revocation (token_version) is checked against the row by the caller."""
    # Signed tokens are ASCII; anything else (a lone surrogate, say) is no token and is never decoded.
    if not isinstance(token, str) or not token or len(token) > 512 or not token.isascii():
        raise VisitorTokenInvalid("missing or malformed token")
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.SUPPORTBOT_VISITOR_TOKEN_MAX_AGE_S)
    except signing.SignatureExpired:
        raise VisitorTokenInvalid("token expired") from None
    except signing.BadSignature:
        raise VisitorTokenInvalid("bad token signature") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("c"), str) or not isinstance(payload.get("v"), int):
        raise VisitorTokenInvalid("malformed token payload")
    return VisitorClaims(
        conversation_public_id=payload["c"],
        token_version=payload["v"],
        expires_at=_issued_at(token) + settings.SUPPORTBOT_VISITOR_TOKEN_MAX_AGE_S,
    )


def _issued_at(token: str) -> float:
    """The signing time Django's TimestampSigner put before the signature (``value:time:signature``)."""
    return float(signing.b62_decode(token.rsplit(":", 2)[-2]))
