"""Routing's public writes and services: the cost ledger, answer planning, the gateway."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings

from helpcentre.selectors import passages_for_prompt
from routing.budgets import budget_state
from routing.cache import answer_cache_write, cache_hit_call, cache_hit_data
from routing.classifier import classifier_load
from routing.gateway import Gateway
from routing.models import LedgerEntry
from routing.prompts import HistoryLike, prompt_messages
from routing.providers.base import CallRecord, ChatRequest
from routing.redaction import customer_text_redact
from routing.router import BudgetState, HistoryItem, RouteDecision, route_message
from routing.runtime import runtime_get, runtime_reset
from routing.selectors import tier_catalogue_in_force
from routing.spend_limits import answer_cost_bound, spend_refusal
from routing.tiers import TierConfig, TierName
from routing.tokens import input_tokens_estimate

__all__ = [
    "AnswerPlan",
    "LedgerTotals",
    "answer_cache_write",
    "answer_plan_make",
    "cache_hit_call",
    "cache_hit_data",
    "customer_text_redact",
    "gateway_get",
    "gateway_reset",
    "ledger_record",
    "ledger_totals",
]


@dataclass(frozen=True)
class LedgerTotals:
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    cost: Decimal
    usage_estimated: bool


def ledger_record(*, conversation_id: int | None, message_id: int | None, calls: Sequence[CallRecord]) -> LedgerTotals:
    """One ledger row per upstream call; returns their sums for the message and conversation totals."""
    rows = [
        LedgerEntry(
            conversation_id=conversation_id,
            message_id=message_id,
            purpose=call.purpose,
            tier=call.tier,
            model=call.model,
            provider=call.provider,
            input_tokens=call.usage.input_tokens,
            cached_input_tokens=call.usage.cached_input_tokens,
            output_tokens=call.usage.output_tokens,
            cost=call.cost,
            usage_estimated=call.usage.estimated,
            latency_ms=call.latency_ms,
            time_to_first_token_ms=call.time_to_first_token_ms,
            outcome=call.outcome,
            error=call.error[:300],
        )
        for call in calls
    ]
    LedgerEntry.objects.bulk_create(rows)
    return ledger_totals(calls=calls)


def ledger_totals(*, calls: Sequence[CallRecord]) -> LedgerTotals:
    """The sums :func:`ledger_record` writes for ``calls``, known before any row is written."""
    return LedgerTotals(
        input_tokens=sum(call.usage.input_tokens for call in calls),
        cached_input_tokens=sum(call.usage.cached_input_tokens for call in calls),
        output_tokens=sum(call.usage.output_tokens for call in calls),
        cost=sum((call.cost for call in calls), Decimal("0")),
        usage_estimated=any(call.usage.estimated for call in calls),
    )


# --- Answer planning ---------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerPlan:
    """Routing's part of a bot turn: the tier and why, the request to send, and the spend check."""

    decision: RouteDecision
    request: ChatRequest
    # The tier table this plan was made with; the gateway serves the request from the same one.
    catalogue: dict[TierName, TierConfig]
    budget: BudgetState
    # Non-empty when a hard spend limit refuses the answer (routing/spend_limits.py): no upstream call.
    refusal: str = ""


def answer_plan_make(
    *,
    question: str,
    history: Sequence[HistoryLike],
    conversation_spent: Decimal,
    has_image: bool = False,
    image_data_url: str | None = None,
) -> AnswerPlan:
    """Pick the tier for a customer message and build the request the gateway will send.

    A photo (``image_data_url``, a base64 data URL) rides in the last user message as an
    ``image_url`` content part. Runs in a worker thread (it reads the database); nothing here
    is on the token path.
    """
    catalogue = tier_catalogue_in_force()
    passages = passages_for_prompt(question=question, limit=3) if settings.OPENAI_API_KEY else []
    shop = settings.SUPPORTBOT_SHOP_NAME
    messages = prompt_messages(question=question, history=history, passages=passages, shop=shop)
    if image_data_url:
        messages[-1] = _message_with_image(messages[-1], image_data_url=image_data_url)
    context_tokens = input_tokens_estimate(messages=messages)
    budget = budget_state(conversation_id=None, conversation_spent=conversation_spent)
    decision = route_message(
        text=question,
        history=[
            HistoryItem(
                role=_ROUTER_ROLES.get(item.role, item.role), text=item.text, tier=getattr(item, "tier", None) or None
            )
            for item in history
        ],
        catalogue=catalogue,
        context_tokens=context_tokens,
        budget=budget,
        has_image=has_image,
        classifier=classifier_load(),
    )
    request = ChatRequest(
        messages=messages, purpose="answer", max_output_tokens=settings.SUPPORTBOT_ANSWER_MAX_OUTPUT_TOKENS
    )
    refusal = (
        _spend_refusal(request=request, tier=decision.tier, catalogue=catalogue, budget=budget)
        if settings.OPENAI_API_KEY
        else ""
    )
    return AnswerPlan(decision=decision, request=request, catalogue=catalogue, budget=budget, refusal=refusal)


def _spend_refusal(
    *, request: ChatRequest, tier: TierName, catalogue: dict[TierName, TierConfig], budget: BudgetState
) -> str:
    """Reserve the answer's worst case against the hard limits (the offline engine costs nothing)."""
    worst_case = answer_cost_bound(
        messages=request.messages,
        max_output_tokens=request.max_output_tokens or settings.SUPPORTBOT_ANSWER_MAX_OUTPUT_TOKENS,
        tier=tier,
        catalogue=catalogue,
        max_upstream_calls=gateway_get().max_upstream_calls,
    )
    return spend_refusal(
        conversation_spent=budget.conversation_spent,
        daily_spent=budget.daily_spent,
        worst_case=worst_case,
        visitor_budget=settings.SUPPORTBOT_VISITOR_BUDGET_USD,
        daily_budget=settings.SUPPORTBOT_DAILY_BUDGET_USD,
    )


def _message_with_image(message: dict[str, Any], *, image_data_url: str) -> dict[str, Any]:
    parts = [{"type": "text", "text": message["content"]}, {"type": "image_url", "image_url": {"url": image_data_url}}]
    return {**message, "content": parts}


# The router speaks Chat Completions roles; an agent's reply counts as the assistant side.
_ROUTER_ROLES = {"customer": "user", "agent": "assistant"}


# --- The gateway ------------------------------------------------------------------------------


def gateway_get() -> Gateway:
    """This process's gateway (built once, from settings, in ``routing.runtime``)."""
    return runtime_get().gateway


def gateway_reset() -> None:
    """Forget the process's gateway and provider (after settings change, e.g. in tests)."""
    runtime_reset()
