"""Who the customer is, when the shop vouches for it: identity verification as Intercom does it.

The shop's server signs its signed-in user's id with ``SUPPORTBOT_IDENTITY_SECRET`` (HMAC-SHA256,
hex) and puts the id, the signature, and the user's email and name on the widget's script tag. The
widget sends them with its session request. A signature that matches makes the conversation the
customer's: agents see who they talk to, and the customer's conversations share one ``Customer``
row. Anything else (no signature, a wrong one, no secret configured) is ignored with one log line
and the visitor stays anonymous: the page is the visitor's to edit, so an unsigned claim proves
nothing. Only the id is signed; the email and name are shown as the shop's page passed them.
docs/integrations.md has the server-side snippets.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from conversations.models import Conversation, Customer

logger = logging.getLogger(__name__)

USER_ID_MAX_CHARS = 128
NAME_MAX_CHARS = 200
EMAIL_MAX_CHARS = 254
LINKED_CONVERSATIONS_SHOWN = 5


@dataclass(frozen=True)
class VerifiedIdentity:
    user_id: str
    email: str = ""
    name: str = ""


class IdentityIgnored(Exception):
    """A claimed identity that proves nothing; the message says why (for the log, never the visitor)."""


def identity_hash(*, user_id: str, secret: str) -> str:
    """The signature the shop's server makes: HMAC-SHA256 of the user id, lowercase hex."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def identity_check(*, claimed: dict[str, Any], secret: str) -> VerifiedIdentity:
    """The identity ``claimed`` proves, or IdentityIgnored saying why not."""
    user_id, user_hash = claimed.get("user_id"), claimed.get("user_hash")
    if not isinstance(user_id, str) or not user_id or len(user_id) > USER_ID_MAX_CHARS:
        raise IdentityIgnored(f"user_id must be a string of 1 to {USER_ID_MAX_CHARS} characters")
    if not secret:
        raise IdentityIgnored("SUPPORTBOT_IDENTITY_SECRET is not set, so no identity can be verified")
    if not isinstance(user_hash, str) or not user_hash:
        raise IdentityIgnored("unsigned: no user_hash")
    # Compared in constant time: how much of a guess matched must not show in the response time.
    if not hmac.compare_digest(identity_hash(user_id=user_id, secret=secret), user_hash.strip().lower()):
        raise IdentityIgnored("user_hash does not match user_id (tampered, or signed with another secret)")
    return VerifiedIdentity(user_id=user_id, email=_email(claimed.get("email")), name=_name(claimed.get("name")))


def identity_verify(*, claimed: object, secret: str, origin: str) -> VerifiedIdentity | None:
    """The verified identity from a session request's ``identity`` object; None (logged once) otherwise.

    ``claimed`` None means the page passed no identity: an anonymous visitor, nothing to log.
    """
    if claimed is None:
        return None
    try:
        if not isinstance(claimed, dict):
            raise IdentityIgnored("identity must be an object")
        return identity_check(claimed=claimed, secret=secret)
    except IdentityIgnored as ignored:
        logger.warning("widget identity ignored from %s: %s", origin or "unknown origin", ignored)
        return None


def _email(value: object) -> str:
    if not isinstance(value, str) or len(value) > EMAIL_MAX_CHARS:
        return ""
    try:
        validate_email(value.strip())
    except ValidationError:
        return ""
    return value.strip()


def _name(value: object) -> str:
    if not isinstance(value, str):
        return ""
    # Control and format characters (newlines, bidi overrides) have no place in a name on a card.
    printable = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C")
    return " ".join(printable.split())[:NAME_MAX_CHARS]


def customer_identify(*, identity: VerifiedIdentity) -> Customer:
    """The customer row for a verified identity, created on first sight; email and name kept current."""
    details = {"email": identity.email, "name": identity.name}
    try:
        with transaction.atomic():
            customer, created = Customer.objects.get_or_create(external_id=identity.user_id, defaults=details)
    except IntegrityError:  # two first chats of one customer at the same moment: the other made the row
        customer, created = Customer.objects.get(external_id=identity.user_id), False
    changed = {key: value for key, value in details.items() if value and getattr(customer, key) != value}
    if not created:
        # Saved even when nothing changed: last_seen_at says when the customer last opened a chat.
        for key, value in changed.items():
            setattr(customer, key, value)
        customer.save()
    return customer


def customer_card(*, conversation: Conversation) -> dict[str, Any] | None:
    """Who the agent is talking to, for the console: the verified customer and their other conversations.

    None for an anonymous visitor. Read with ``select_related("customer")`` to save a query per card.
    """
    customer = conversation.customer
    if customer is None:
        return None
    others = (
        Conversation.objects.filter(customer_id=customer.pk)
        .exclude(pk=conversation.pk)
        .order_by("-created_at")
        .values_list("public_id", "status", "created_at")
    )
    return {
        "user_id": customer.external_id,
        "email": customer.email,
        "name": customer.name,
        "verified": True,
        "other_conversations": [
            {"conversation": public_id, "status": status, "created_at": created_at.isoformat()}
            for public_id, status, created_at in others[:LINKED_CONVERSATIONS_SHOWN]
        ],
        "other_conversation_count": others.count(),
    }
