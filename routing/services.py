"""Routing's public writes and process-wide services: the ledger, the gateway, answer planning."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from routing.models import LedgerEntry
from routing.providers.base import CallRecord

if TYPE_CHECKING:
    from routing.gateway import Gateway
    from routing.prompts import HistoryLike
    from routing.providers.base import ChatRequest, Provider
    from routing.router import BudgetState, RouteDecision
    from routing.tiers import TierConfig, TierName


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
    decision: RouteDecision
    request: ChatRequest
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
    from django.conf import settings

    from routing.budgets import budget_state
    from routing.prompts import messages_token_estimate, prompt_messages
    from routing.providers.base import ChatRequest
    from routing.router import HistoryItem, route_message
    from routing.selectors import tier_catalogue

    global _catalogue
    catalogue = _catalogue = catalogue_in_force(tier_catalogue())
    passages = _passages_for(question) if settings.OPENAI_API_KEY else []
    messages = prompt_messages(
        question=question, history=history, passages=passages, shop=settings.SUPPORTBOT_SHOP_NAME
    )
    context_tokens = messages_token_estimate(messages)
    if image_data_url:
        messages[-1] = _message_with_image(messages[-1], image_data_url=image_data_url)
        context_tokens += IMAGE_PROMPT_TOKENS
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
        classifier=_router_classifier(),
    )
    request = ChatRequest(
        messages=messages, purpose="answer", max_output_tokens=settings.SUPPORTBOT_ANSWER_MAX_OUTPUT_TOKENS
    )
    refusal = (
        _spend_refusal(request=request, tier=decision.tier, catalogue=catalogue, budget=budget)
        if settings.OPENAI_API_KEY
        else ""
    )
    return AnswerPlan(decision=decision, request=request, refusal=refusal)


def _spend_refusal(*, request: ChatRequest, tier: TierName, catalogue: dict, budget: BudgetState) -> str:
    """Reserve the answer's worst case against the hard limits (the offline engine costs nothing)."""
    from django.conf import settings

    from routing.spend_limits import answer_cost_bound, spend_refusal

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


# What a high-detail image costs in prompt tokens, roughly; its base64 text is not prose to count.
IMAGE_PROMPT_TOKENS = 1100


def _message_with_image(message: dict, *, image_data_url: str) -> dict:
    parts = [{"type": "text", "text": message["content"]}, {"type": "image_url", "image_url": {"url": image_data_url}}]
    return {**message, "content": parts}


# The router speaks Chat Completions roles; an agent's reply counts as the assistant side.
_ROUTER_ROLES = {"customer": "user", "agent": "assistant"}


def _passages_for(question: str) -> list:
    from helpcentre.selectors import passages_for_prompt

    return passages_for_prompt(question=question, limit=3)


def _router_classifier():
    from routing.classifier import classifier_load

    return classifier_load()


# --- The gateway, one per process ----------------------------------------------------------

_gateway: Gateway | None = None
_offline_provider = None
# One provider per (base URL, key) for the process, like the offline one: built once, not per call.
_remote_providers: dict[tuple[str, str], Provider] = {}


def provider_for(tier: TierConfig) -> Provider:
    """The OpenAI-compatible endpoint when a key is configured, otherwise the offline engine."""
    from django.conf import settings

    global _offline_provider
    if settings.OPENAI_API_KEY:
        from routing.providers.openai_compat import OpenAICompatProvider
        from routing.redaction import RedactingProvider

        endpoint = (settings.OPENAI_BASE_URL or "https://api.openai.com/v1", settings.OPENAI_API_KEY)
        if endpoint not in _remote_providers:
            remote = OpenAICompatProvider(base_url=endpoint[0], api_key=endpoint[1])
            # Nothing leaves for an external provider with the configured PII kinds in it.
            _remote_providers[endpoint] = RedactingProvider(inner=remote, kinds=lambda: settings.SUPPORTBOT_REDACT)
        return _remote_providers[endpoint]
    if _offline_provider is None:
        from routing.providers.offline import OfflineProvider

        _offline_provider = OfflineProvider(word_delay_s=settings.SUPPORTBOT_OFFLINE_WORD_DELAY_MS / 1000)
    return _offline_provider


def gateway_get() -> Gateway:
    """This process's gateway. Its catalogue is the snapshot the last answer plan read."""
    from django.conf import settings

    from routing.breaker import breaker_from_url
    from routing.gateway import Gateway

    global _gateway
    if _gateway is None:
        _gateway = Gateway(
            providers=provider_for, catalogue=catalogue_snapshot, breaker=breaker_from_url(redis_url=settings.REDIS_URL)
        )
    return _gateway


def gateway_reset() -> None:
    """Forget the process's gateway and providers (after settings change, e.g. in tests)."""
    global _gateway, _offline_provider
    _gateway = None
    _offline_provider = None
    _remote_providers.clear()


_catalogue: dict | None = None
OFFLINE_MODEL = "offline-helpcentre"


def catalogue_in_force(catalogue: dict) -> dict:
    """Without an API key every tier is served by the offline engine, and the ledger should say so."""
    from dataclasses import replace

    from django.conf import settings

    if settings.OPENAI_API_KEY:
        return catalogue
    return {name: replace(config, model=OFFLINE_MODEL) for name, config in catalogue.items()}


def catalogue_snapshot() -> dict:
    if _catalogue is None:
        from routing.tiers import default_catalogue

        return default_catalogue()
    return _catalogue
