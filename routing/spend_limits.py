"""Hard spend limits: no upstream call that could take a visitor or the day past its budget.

The budget caps in ``routing.budgets`` are soft: a reached cap makes the router pick a smaller
tier. These limits are hard: before an answer is sent upstream, its worst case cost is reserved
against what is already spent, and the answer is refused when it might not fit. The worst case
is bounded because every answer request carries ``max_output_tokens`` and tokens never outnumber
the UTF-8 bytes they encode, and the gateway makes at most ``max_upstream_calls`` calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from routing.gateway import tier_chain
from routing.pricing import COST_QUANTUM
from routing.tiers import TierConfig, TierName
from routing.tokens import MESSAGE_OVERHEAD_TOKENS

REFUSAL_TEXT = (
    "I can't answer any more questions in this chat right now. Please ask to talk to a person, or come back later."
)


def input_tokens_bound(*, messages: Sequence[dict[str, Any]]) -> int:
    """An upper bound on the prompt's tokens: byte-level tokenisers never emit more tokens than bytes."""
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD_TOKENS
        content = message.get("content")
        if isinstance(content, str):
            total += len(content.encode())
        elif isinstance(content, list):
            # Images are priced by the provider per tile; 2,000 tokens covers a high-detail image.
            total += sum(
                len(str(part.get("text", "")).encode()) if part.get("type") == "text" else 2000 for part in content
            )
    return total


def answer_cost_bound(
    *,
    messages: Sequence[dict[str, Any]],
    max_output_tokens: int,
    tier: TierName,
    catalogue: Mapping[TierName, TierConfig],
    max_upstream_calls: int,
) -> Decimal:
    """The most one answer can cost: every allowed call at the dearest tier of its fallback chain."""
    input_tokens = input_tokens_bound(messages=messages)
    # A failover call also carries the partial answer, at most max_output_tokens more.
    per_call = max(
        (input_tokens + max_output_tokens) * catalogue[name].price_input_per_1k
        + max_output_tokens * catalogue[name].price_output_per_1k
        for name in tier_chain(catalogue=catalogue, tier=tier)
        if name in catalogue
    ) / Decimal(1000)
    return (per_call * max_upstream_calls).quantize(COST_QUANTUM)


def spend_refusal(
    *,
    conversation_spent: Decimal,
    daily_spent: Decimal,
    worst_case: Decimal,
    visitor_budget: Decimal | None,
    daily_budget: Decimal | None,
) -> str:
    """Why the answer may not be sent upstream ("" when it may): a budget it could overrun."""
    if visitor_budget is not None and conversation_spent + worst_case > visitor_budget:
        return f"visitor budget ${visitor_budget} (spent ${conversation_spent}, answer up to ${worst_case})"
    if daily_budget is not None and daily_spent + worst_case > daily_budget:
        return f"daily budget ${daily_budget} (spent ${daily_spent}, answer up to ${worst_case})"
    return ""
