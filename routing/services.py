"""Routing's public writes and services: the cost ledger, answer planning, the gateway."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from helpcentre.selectors import Passage, passages_for_prompt, passages_in_language
from routing.budgets import budget_state
from routing.cache import answer_cache_write, cache_hit_call, cache_hit_data
from routing.citations import GroundedAnswer, answer_ground
from routing.classifier import classifier_load
from routing.gateway import CallSink, Gateway
from routing.models import DailySpend, LedgerEntry
from routing.pricing import COST_QUANTUM
from routing.prompts import HistoryLike, prompt_messages
from routing.providers.base import HARMONY_END, CallRecord, ChatRequest
from routing.redaction import customer_text_redact
from routing.rewrite import language_name, language_primary, retrieval_question
from routing.router import BudgetState, HistoryItem, RouteDecision, route_message
from routing.runtime import model_client_warm, runtime_get, runtime_reset
from routing.selectors import tier_catalogue_in_force
from routing.spend_limits import answer_cost_bound, spend_refusal
from routing.tiers import TierConfig, TierName
from routing.tokens import input_tokens_estimate

__all__ = [
    "AnswerPlan",
    "LedgerTotals",
    "answer_cache_write",
    "answer_citations",
    "answer_plan_make",
    "cache_hit_call",
    "cache_hit_data",
    "daily_spend_add",
    "daily_spend_rebuild",
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
    # What the write added to each local day's spend, by the day its rows were opened (DailySpend).
    cost_by_day: tuple[tuple[date, Decimal], ...] = ()


def ledger_record(
    *, conversation_id: int | None, message_id: int | None, calls: Sequence[CallRecord], attempt: str = ""
) -> LedgerTotals:
    """One ledger row per upstream call, written or brought up to date; returns what this added.

    Rows are keyed by ``CallRecord.call_id``: the gateway writes a call's row when the call is sent
    and again when it ends (``Gateway.stream(on_call=...)``), and the answer's save writes it once
    more with its message. Only the difference from what the rows held is returned, so a caller
    that adds it to a conversation's totals keeps them equal to the sum of its rows. A row's
    message and attempt, once set, are kept. Callers add what it returns to the totals in the same
    transaction: ``conversations.services.spend_totals_add``, or :func:`daily_spend_add` alone.
    """
    # No savepoint inside a caller's transaction (every caller writes its totals in one): a failure
    # here rolls the caller's whole transaction back anyway, and the answer path saves two statements.
    with transaction.atomic(savepoint=False):
        existing = {
            row.call_id: row
            for row in LedgerEntry.objects.select_for_update().filter(call_id__in=[call.call_id for call in calls])
        }
        before = _rows_totals(existing.values())
        before_costs = {call_id: row.cost for call_id, row in existing.items()}
        created = []
        for call in calls:
            row = existing.get(call.call_id)
            if row is None:
                row = LedgerEntry(call_id=call.call_id, conversation_id=conversation_id)
                created.append(row)
                _ledger_row_fill(row, call=call, message_id=message_id, attempt=attempt or row.attempt)
                continue
            held = {name: getattr(row, name) for name in _LEDGER_FIELDS}
            _ledger_row_fill(row, call=call, message_id=message_id or row.message_id, attempt=attempt or row.attempt)
            # Only what changed: the answer's save usually adds just its message to the row the call's end wrote.
            changed = {name: getattr(row, name) for name in _LEDGER_FIELDS if getattr(row, name) != held[name]}
            if changed:
                LedgerEntry.objects.filter(pk=row.pk).update(**changed)
        LedgerEntry.objects.bulk_create(created)  # sets each new row's created_at
    created_at = {row.call_id: row.created_at for row in created}
    after = ledger_totals(calls=calls)
    by_day: dict[date, Decimal] = {}
    for call in calls:
        row = existing.get(call.call_id)
        day = timezone.localdate(row.created_at if row is not None else created_at[call.call_id])
        by_day[day] = by_day.get(day, Decimal("0")) + _ledger_cost(call.cost) - before_costs.get(call.call_id, 0)
    return LedgerTotals(
        input_tokens=after.input_tokens - before.input_tokens,
        cached_input_tokens=after.cached_input_tokens - before.cached_input_tokens,
        output_tokens=after.output_tokens - before.output_tokens,
        cost=after.cost - before.cost,
        usage_estimated=after.usage_estimated,
        cost_by_day=tuple((day, cost) for day, cost in sorted(by_day.items()) if cost),
    )


def daily_spend_add(*, added: LedgerTotals) -> None:
    """Add what a ledger write added to each day's :class:`DailySpend` (call inside the write's transaction,
    after any other row it updates: every writer takes the day's row last, so two writers never wait on
    each other's rows in opposite orders)."""
    for day, cost in added.cost_by_day:
        if DailySpend.objects.filter(day=day).update(cost=F("cost") + cost):
            continue
        # The day's first call: a concurrent first call may insert the row too, so insert or keep, then add.
        DailySpend.objects.bulk_create([DailySpend(day=day)], ignore_conflicts=True)
        DailySpend.objects.filter(day=day).update(cost=F("cost") + cost)


def daily_spend_rebuild() -> None:
    """Every day's total summed again from the ledger (after rows were written or deleted in bulk, not
    through :func:`ledger_record`: the demo month's generator)."""
    with transaction.atomic():
        DailySpend.objects.all().delete()
        totals = (
            LedgerEntry.objects.annotate(day=TruncDate("created_at"))
            .values("day")
            .annotate(total=Sum("cost"))
            .order_by("day")
        )
        DailySpend.objects.bulk_create([DailySpend(day=row["day"], cost=row["total"]) for row in totals])


_LEDGER_FIELDS = [
    "message_id",
    "attempt",
    "purpose",
    "tier",
    "model",
    "provider",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "cost",
    "usage_estimated",
    "latency_ms",
    "time_to_first_token_ms",
    "outcome",
    "error",
]


def _ledger_row_fill(row: LedgerEntry, *, call: CallRecord, message_id: int | None, attempt: str) -> None:
    row.message_id = message_id
    row.attempt = attempt
    row.purpose = call.purpose
    row.tier = call.tier
    row.model = call.model
    row.provider = call.provider
    row.input_tokens = call.usage.input_tokens
    row.cached_input_tokens = call.usage.cached_input_tokens
    row.output_tokens = call.usage.output_tokens
    row.cost = _ledger_cost(call.cost)
    row.usage_estimated = call.usage.estimated
    row.latency_ms = call.latency_ms
    row.time_to_first_token_ms = call.time_to_first_token_ms
    row.outcome = call.outcome
    row.error = call.error[:300]


def _rows_totals(rows: Iterable[LedgerEntry]) -> LedgerTotals:
    rows = list(rows)
    return LedgerTotals(
        input_tokens=sum(row.input_tokens for row in rows),
        cached_input_tokens=sum(row.cached_input_tokens for row in rows),
        output_tokens=sum(row.output_tokens for row in rows),
        cost=sum((row.cost for row in rows), Decimal("0")),
        usage_estimated=any(row.usage_estimated for row in rows),
    )


def ledger_totals(*, calls: Sequence[CallRecord]) -> LedgerTotals:
    """The sums :func:`ledger_record` writes for ``calls``, known before any row is written."""
    return LedgerTotals(
        input_tokens=sum(call.usage.input_tokens for call in calls),
        cached_input_tokens=sum(call.usage.cached_input_tokens for call in calls),
        output_tokens=sum(call.usage.output_tokens for call in calls),
        cost=sum((_ledger_cost(call.cost) for call in calls), Decimal("0")),
        usage_estimated=any(call.usage.estimated for call in calls),
    )


def _ledger_cost(cost: Decimal) -> Decimal:
    """A cost as the ledger column stores it (8 places), so sums taken here equal sums of the rows."""
    return cost.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


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
    # The help-centre passages in the prompt: the only pages a model's answer may cite.
    passages: tuple[Passage, ...] = ()


def answer_plan_make(
    *,
    question: str,
    history: Sequence[HistoryLike],
    conversation_spent: Decimal,
    has_image: bool = False,
    image_data_url: str | None = None,
    on_call: CallSink | None = None,
    language: str = "",
) -> AnswerPlan:
    """Pick the tier for a customer message and build the request the gateway will send.

    A photo (``image_data_url``, a base64 data URL) rides in the last user message as an
    ``image_url`` content part. Runs in a worker thread (it reads the database); nothing here
    is on the token path. With a model, a follow-up is rewritten by Mini for retrieval first
    (routing/rewrite.py); ``on_call`` records that call in the ledger as it happens.

    A message in another ``language`` than the shop's (the one detected in it) is rewritten into the
    shop's language by that same call; the prompt then holds the passages in the customer's language
    (first, so citations go to them) and in the shop's, and asks for an answer in that language.
    """
    catalogue = tier_catalogue_in_force()
    passages: list[Passage] = []
    if settings.OPENAI_API_KEY:
        query = retrieval_question(
            question=question,
            history=history,
            gateway=gateway_get(),
            catalogue=catalogue,
            on_call=on_call,
            language=language,
        )
        passages = passages_for_prompt(question=query, limit=3, history=history)
        if language:
            own = passages_in_language(question=question, language=language, keys=[p.key for p in passages])
            shown = {p.url for p in own}
            passages = [*own, *(p for p in passages if p.url not in shown)]
    shop = settings.SUPPORTBOT_SHOP_NAME
    messages = prompt_messages(
        question=question, history=history, passages=passages, shop=shop, answer_language=_answer_language(language)
    )
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
        messages=messages,
        purpose="answer",
        max_output_tokens=settings.SUPPORTBOT_ANSWER_MAX_OUTPUT_TOKENS,
        # The offline engine reads the conversation itself, citations included (which article a
        # follow-up is about); a remote model gets it as chat messages above.
        conversation=tuple(_conversation_turn(item) for item in history),
        language=language,
    )
    refusal = (
        _spend_refusal(request=request, tier=decision.tier, catalogue=catalogue, budget=budget)
        if settings.OPENAI_API_KEY
        else ""
    )
    return AnswerPlan(
        decision=decision,
        request=request,
        catalogue=catalogue,
        budget=budget,
        refusal=refusal,
        passages=tuple(passages),
    )


def _answer_language(language: str) -> str:
    """The language the model is told to answer in: named when it is not the shop's."""
    if not language or language_primary(language) == language_primary(settings.LANGUAGE_CODE):
        return ""
    return language_name(language)


def _conversation_turn(item: HistoryLike) -> dict[str, Any]:
    citations = getattr(item, "citations", None) or []
    return {"role": item.role, "text": item.text, "citations": [{"key": c.get("key", "")} for c in citations]}


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


def answer_citations(*, text: str, passages: Sequence[Passage]) -> GroundedAnswer:
    """A model's answer grounded in its prompt's passages: links to them become citations, other
    links leave the text (routing/citations.py). Absolute links may name this deployment's public host."""
    public_host = urlsplit(settings.SUPPORTBOT_PUBLIC_URL).hostname or ""
    if "|>" in text:
        text = HARMONY_END.sub("", text)  # the stream holds a cut one back; any other provider may not
    return answer_ground(text=text, passages=passages, own_hosts=[public_host] if public_host else [])


# --- The gateway ------------------------------------------------------------------------------


def gateway_get() -> Gateway:
    """This process's gateway (built once, from settings, in ``routing.runtime``)."""
    return runtime_get().gateway


def gateway_warm_up() -> None:
    """Build the process's gateway and provider (importing the ``openai`` SDK when a key is set)."""
    runtime_get()


async def gateway_warm_up_on_loop() -> None:
    """Build the running event loop's model client (an ``AsyncOpenAI`` per loop) before the first answer."""
    model_client_warm()


def gateway_reset() -> None:
    """Forget the process's gateway and provider (after settings change, e.g. in tests)."""
    runtime_reset()
