"""What an upstream call costs, and how many tokens it used when the provider did not say."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from routing.providers.base import Usage
from routing.tiers import TierConfig

COST_QUANTUM = Decimal("0.00000001")
THOUSAND = Decimal(1000)
# Rough English average; good enough for a ledger line marked as estimated.
CHARS_PER_TOKEN = 4
# What a vision model typically bills for one image at default detail.
IMAGE_TOKENS_ESTIMATE = 765
# Role markers and separators each message adds on top of its text.
MESSAGE_OVERHEAD_TOKENS = 4


def cost_for_usage(*, tier: TierConfig, usage: Usage) -> Decimal:
    """Price of one call: cached input at the cached price, the rest at list price, 8 decimal places."""
    uncached_input = max(usage.input_tokens - usage.cached_input_tokens, 0)
    cost = (
        uncached_input * tier.price_input_per_1k
        + usage.cached_input_tokens * tier.price_cached_input_per_1k
        + usage.output_tokens * tier.price_output_per_1k
    ) / THOUSAND
    return cost.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


def tokens_estimate(*, chars: int) -> int:
    return -(-chars // CHARS_PER_TOKEN)


def input_tokens_estimate(*, messages: Iterable[dict[str, Any]]) -> int:
    """A cheap local count of prompt tokens: text parts by length, images at a flat rate."""
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD_TOKENS
        content = message.get("content")
        if isinstance(content, str):
            total += tokens_estimate(chars=len(content))
        elif isinstance(content, list):
            total += sum(_part_tokens_estimate(part) for part in content)
    return total


def usage_estimate(*, messages: Iterable[dict[str, Any]], output_chars: int) -> Usage:
    return Usage(
        input_tokens=input_tokens_estimate(messages=messages),
        cached_input_tokens=0,
        output_tokens=tokens_estimate(chars=output_chars),
        estimated=True,
    )


def _part_tokens_estimate(part: Any) -> int:
    if not isinstance(part, dict):
        return 0
    if part.get("type") == "text":
        return tokens_estimate(chars=len(str(part.get("text", ""))))
    if part.get("type") in ("image_url", "input_image"):
        return IMAGE_TOKENS_ESTIMATE
    return 0
