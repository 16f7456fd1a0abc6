"""Token counts made locally: for context windows, spend checks and ledger rows marked as estimated.

Billing always uses the provider's reported usage; these estimates stand in only where no
usage exists (the offline engine, a call cut before its usage arrived) and for choosing a tier.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Rough English average; good enough for a ledger line marked as estimated.
CHARS_PER_TOKEN = 4
# What a vision model bills for one high-detail image, roughly; its base64 text is not prose to count.
IMAGE_TOKENS_ESTIMATE = 1100
# Role markers and separators each message adds on top of its text.
MESSAGE_OVERHEAD_TOKENS = 4


def tokens_estimate(*, chars: int) -> int:
    return -(-chars // CHARS_PER_TOKEN)


def text_tokens_estimate(text: str) -> int:
    return tokens_estimate(chars=len(text))


def input_tokens_estimate(*, messages: Iterable[dict[str, Any]]) -> int:
    """A cheap local count of prompt tokens: text parts by length, images at a flat rate."""
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD_TOKENS
        content = message.get("content")
        if isinstance(content, str):
            total += text_tokens_estimate(content)
        elif isinstance(content, list):
            total += sum(_part_tokens_estimate(part) for part in content)
    return total


def _part_tokens_estimate(part: Any) -> int:
    if not isinstance(part, dict):
        return 0
    if part.get("type") == "text":
        return text_tokens_estimate(str(part.get("text", "")))
    if part.get("type") in ("image_url", "input_image"):
        return IMAGE_TOKENS_ESTIMATE
    return 0
