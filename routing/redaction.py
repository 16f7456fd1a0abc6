"""PII redaction before text leaves for an external model provider.

Which kinds are removed is the ``SUPPORTBOT_REDACT`` setting (card numbers by default; emails
and phone numbers on request). Customer messages are redacted as they arrive, so the transcript,
summaries and everything sent upstream hold the redacted text; the provider wrapper below redacts
every message of every upstream request again (agent replies, history), whatever its source.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import replace
from typing import Any

from routing.providers.base import ChatRequest, Provider, Retract, StreamEnd, TextDelta
from routing.tiers import TierConfig

REDACTION_KINDS = ("card", "email", "phone")
REPLACEMENTS = {
    "card": "[card number removed]",
    "email": "[email removed]",
    "phone": "[phone number removed]",
}

# 13 to 19 digits, optionally grouped by single spaces or dashes (how people type card numbers).
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# An optional +country code, then 9 to 14 digits with spaces, dots, dashes or brackets between them.
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[\s.\-()]{0,2}\d){8,13}(?!\w)")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_replace(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    # Order and tracking numbers are long digit runs too; only Luhn-valid ones are card numbers.
    return REPLACEMENTS["card"] if _luhn_valid(digits) else match.group(0)


def text_redact(*, text: str, kinds: Iterable[str]) -> str:
    """``text`` with each PII kind in ``kinds`` replaced by a marker saying what was removed."""
    wanted = set(kinds)
    if "card" in wanted:
        text = _CARD.sub(_card_replace, text)
    if "email" in wanted:
        text = _EMAIL.sub(REPLACEMENTS["email"], text)
    if "phone" in wanted:
        text = _PHONE.sub(REPLACEMENTS["phone"], text)
    return text


def customer_text_redact(text: str) -> str:
    """A customer message as it will be stored, with the configured kinds removed."""
    from django.conf import settings

    return text_redact(text=text, kinds=settings.SUPPORTBOT_REDACT)


def _content_redact(content: Any, kinds: tuple[str, ...]) -> Any:
    if isinstance(content, str):
        return text_redact(text=content, kinds=kinds)
    if isinstance(content, list):
        return [
            {**part, "text": text_redact(text=part["text"], kinds=kinds)}
            if isinstance(part, dict) and isinstance(part.get("text"), str)
            else part
            for part in content
        ]
    return content


def request_redact(*, request: ChatRequest, kinds: Iterable[str]) -> ChatRequest:
    """The request with every message's text redacted (images pass untouched)."""
    wanted = tuple(kinds)
    if not wanted:
        return request
    messages = [{**message, "content": _content_redact(message.get("content"), wanted)} for message in request.messages]
    return replace(request, messages=messages)


class RedactingProvider:
    """Wraps an external provider so nothing it is sent carries the configured PII kinds."""

    def __init__(self, *, inner: Provider, kinds: Callable[[], Iterable[str]]) -> None:
        self.inner = inner
        self.kinds = kinds
        self.name = inner.name
        self.billable = inner.billable

    def stream(self, request: ChatRequest, *, tier: TierConfig) -> AsyncIterator[TextDelta | Retract | StreamEnd]:
        return self.inner.stream(request_redact(request=request, kinds=self.kinds()), tier=tier)
