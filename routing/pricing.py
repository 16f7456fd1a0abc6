"""What an upstream call costs, and how many tokens it used when the provider did not say."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from routing.providers.base import Usage
from routing.tiers import TierConfig
from routing.tokens import input_tokens_estimate, tokens_estimate

COST_QUANTUM = Decimal("0.00000001")
THOUSAND = Decimal(1000)


def cost_for_usage(*, tier: TierConfig, usage: Usage) -> Decimal:
    """Price of one call: cached input at the cached price, the rest at list price, 8 decimal places."""
    uncached_input = max(usage.input_tokens - usage.cached_input_tokens, 0)
    cost = (
        uncached_input * tier.price_input_per_1k
        + usage.cached_input_tokens * tier.price_cached_input_per_1k
        + usage.output_tokens * tier.price_output_per_1k
    ) / THOUSAND
    return cost.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


def usage_estimate(*, messages: Iterable[dict[str, Any]], output_chars: int) -> Usage:
    return Usage(
        input_tokens=input_tokens_estimate(messages=messages),
        cached_input_tokens=0,
        output_tokens=tokens_estimate(chars=output_chars),
        estimated=True,
    )
