"""The bot's turn: whether it answers a customer message, and how, decided in one place.

:func:`turn_plan_make` reads everything the decision needs (routing's tier and spend check,
the photo, the conversation's misses, the answer cache) and returns a :class:`TurnPlan`;
:func:`turn_take` carries out every action that is not a streamed answer, and
:func:`turn_after_answer` does the bookkeeping once an answer is stored. ``answering`` streams.

Misses are answers that did not help: the engine unsure, the same question again, "that didn't
help", frustration. Two in a row bring in a person (``MISSES_BEFORE_HANDOFF``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db.models import F

from conversations import attachments, handoff, services, summaries, tasks
from conversations.languages import in_language
from conversations.models import Conversation, Message, Summary
from conversations.selectors import customer_language
from helpcentre.selectors import Passage, help_centre_pinned, help_centre_version
from routing import selectors as routing_selectors
from routing.services import answer_plan_make
from routing.types import REFUSAL_TEXT, BudgetState, CachedAnswer, ChatRequest, RouteDecision, TierConfig, TierName

logger = logging.getLogger(__name__)

# Router signals that mean the bot is not helping; with abstentions they count as misses.
MISS_SIGNALS = frozenset({"repeated_question", "not_helped", "frustration"})
MISSES_BEFORE_HANDOFF = 2


class TurnAction(StrEnum):
    ANSWER = "answer"  # stream an answer from the gateway (or repeat a cached one)
    REFUSE = "refuse"  # a hard spend limit: a fixed reply, nothing goes upstream
    HAND_OFF = "hand_off"  # a person takes over: the customer asked, or the bot kept missing
    PHOTO_TO_PERSON = "photo_to_person"  # a photo that no tier here can read goes to a person


@dataclass(frozen=True)
class TurnPlan:
    conversation_id: int
    question: Message
    action: TurnAction
    # Why: the route's reason for ANSWER, the limit for REFUSE, the handoff's or photo's reason otherwise.
    reason: str
    tier: TierName
    signals: tuple[str, ...]
    budget: BudgetState
    request: ChatRequest
    catalogue: dict[TierName, TierConfig]
    handoff_trigger: str = ""  # HAND_OFF: "asked" or "misses"
    # The answer cache (routing.cache): this question's key (None: not cacheable) and a stored answer.
    cache_key: str | None = None
    cached: CachedAnswer | None = None
    # The help-centre passages in a model's prompt: what its answer may cite (none for the offline engine).
    passages: tuple[Passage, ...] = ()


def turn_action(
    *, decision: RouteDecision, bot_misses: int, has_image: bool, model_configured: bool, refusal: str
) -> tuple[TurnAction, str, str]:
    """(action, reason, handoff trigger) for one customer message, in order of precedence."""
    if has_image and not model_configured:
        return TurnAction.PHOTO_TO_PERSON, attachments.NO_MODEL_REASON, ""
    if has_image and "image_unreadable" in decision.signals:
        return TurnAction.PHOTO_TO_PERSON, attachments.PRO_DISABLED_REASON, ""
    if decision.handoff:
        return TurnAction.HAND_OFF, decision.reason, "asked"
    if MISS_SIGNALS.intersection(decision.signals) and bot_misses + 1 >= MISSES_BEFORE_HANDOFF:
        return TurnAction.HAND_OFF, decision.reason, "misses"
    if refusal:
        return TurnAction.REFUSE, f"refused by the {refusal}", ""
    return TurnAction.ANSWER, decision.reason, ""


@help_centre_pinned()
def turn_plan_make(*, conversation: Conversation, question: Message) -> TurnPlan:
    """Everything the bot will do about ``question`` (runs in a worker thread). It only reads, but for
    one thing: with a model configured, a follow-up is rewritten by Mini for retrieval, and that
    call's ledger row is written as it happens."""
    history = summaries.history_compact(conversation_id=conversation.pk, before_seq=question.seq)
    # Asked from an article's page: the article comes last, as the turn the question follows up.
    from_article = summaries.message_with_context(message=question)[:-1]
    history += from_article
    has_image = attachments.message_has_image(message=question)
    model_configured = bool(settings.OPENAI_API_KEY)
    route = answer_plan_make(
        question=question.text,
        history=history,
        conversation_spent=conversation.total_cost,
        has_image=has_image,
        image_data_url=attachments.message_image_data_url(message=question) if model_configured else None,
        on_call=services.ledger_sink(conversation_id=conversation.pk, attempt="", in_sync_caller=True),
        language=question.language,
    )
    action, reason, trigger = turn_action(
        decision=route.decision,
        bot_misses=conversation.bot_misses,
        has_image=has_image,
        model_configured=model_configured,
        refusal=route.refusal,
    )
    cache_key = None
    # An answer read against an article's page fits only that page: never from or to the cache.
    if action == TurnAction.ANSWER and not from_article:
        cache_key = routing_selectors.answer_cache_key(
            question=question.text,
            tier=str(route.decision.tier),
            help_centre_version=help_centre_version(),
            history=history,
            has_image=has_image,
            conversation_status=conversation.status,
        )
    return TurnPlan(
        conversation_id=conversation.pk,
        question=question,
        action=action,
        reason=reason,
        tier=route.decision.tier,
        signals=route.decision.signals,
        budget=route.budget,
        request=route.request,
        catalogue=route.catalogue,
        handoff_trigger=trigger,
        cache_key=cache_key,
        cached=routing_selectors.answer_cache_read(key=cache_key),
        passages=route.passages,
    )


def turn_take(plan: TurnPlan) -> bool:
    """Carry out what the plan decided; True when the bot should now stream its answer."""
    if plan.action == TurnAction.PHOTO_TO_PERSON:
        _photo_to_person(conversation_id=plan.conversation_id, reason=plan.reason)
        return False
    if plan.action == TurnAction.HAND_OFF:
        # Someone else may have moved the conversation already; then the bot answers as usual
        # (and its answer is dropped at save if an agent has it).
        handed_off = _handoff_quietly(
            conversation_id=plan.conversation_id, reason=plan.reason, trigger=plan.handoff_trigger
        )
        return not handed_off
    if MISS_SIGNALS.intersection(plan.signals):
        _miss_count(conversation_id=plan.conversation_id)
    if plan.action == TurnAction.REFUSE:
        _refusal_save(plan=plan)
        return False
    return True


def after_answer_step(name: str, step: Callable[..., object], /, **kwargs: Any) -> None:
    """Run one step of the work after an answer is stored; its failure is logged, never passed on.

    The steps (offering the answer to the cache, counting misses, asking for a context summary)
    do not depend on each other: one failing, say the cache write while Redis restarts, must not
    skip the others.
    """
    try:
        step(**kwargs)
    except Exception:
        logger.exception("after the answer in conversation %s: %s failed", kwargs.get("conversation_id", "?"), name)


def turn_after_answer(
    *,
    conversation_id: int,
    abstained: bool,
    signals: Iterable[str],
    tier: str,
    catalogue: Mapping[TierName, TierConfig] | None = None,
) -> bool:
    """Count an answer the engine was unsure of; two misses in a row bring in a person. True if handed off.

    A long conversation also gets its early part summarised in the background, so the next
    prompt still fits the window of the tier that just answered. ``catalogue``: the tier table
    the turn was planned with (read again when not given).
    """
    after_answer_step(
        "context summary", _context_summary_maybe, conversation_id=conversation_id, tier=tier, catalogue=catalogue
    )
    if abstained:
        if _miss_count(conversation_id=conversation_id) >= MISSES_BEFORE_HANDOFF:
            return _handoff_quietly(
                conversation_id=conversation_id, reason="the assistant was unsure twice", trigger="unsure"
            )
    elif not MISS_SIGNALS.intersection(signals):
        Conversation.objects.filter(pk=conversation_id, bot_misses__gt=0).update(bot_misses=0)
    return False


def _miss_count(*, conversation_id: int) -> int:
    Conversation.objects.filter(pk=conversation_id, status=Conversation.Status.BOT).update(
        bot_misses=F("bot_misses") + 1
    )
    return Conversation.objects.values_list("bot_misses", flat=True).get(pk=conversation_id)


def _handoff_quietly(*, conversation_id: int, reason: str, trigger: str) -> bool:
    try:
        handoff.handoff_request(conversation_id=conversation_id, reason=reason, trigger=trigger)
    except handoff.IllegalTransition:
        return False  # someone else moved it already (the button, an agent): nothing to do
    return True


def _photo_to_person(*, conversation_id: int, reason: str) -> None:
    """A photo no model here can look at goes to a person, with a note saying why (in the customer's language)."""
    language = customer_language(conversation_id=conversation_id)
    services.event_record(
        conversation_id=conversation_id,
        text=in_language(attachments.IMAGE_NOTE_TEXT, language=language).format(
            reason=in_language(reason, language=language)
        ),
        event="image_needs_person",
        status=Conversation.Status.BOT,
        reason=reason,
    )
    _handoff_quietly(conversation_id=conversation_id, reason=f"photo attached; {reason}", trigger="image")


def _refusal_save(*, plan: TurnPlan) -> None:
    try:
        services.answer_record(
            conversation_id=plan.conversation_id,
            reply_to_seq=plan.question.seq,
            text=REFUSAL_TEXT,
            tier="",
            model="",
            route_reason=plan.reason,
            calls=[],
        )
    except services.BotSilenced:
        return


# --- long conversations ------------------------------------------------------------------------


def _context_summary_maybe(
    *, conversation_id: int, tier: str, catalogue: Mapping[TierName, TierConfig] | None = None
) -> None:
    if catalogue is None:
        catalogue = routing_selectors.tier_catalogue()
    config = catalogue.get(TierName(tier)) if tier in set(TierName) else None
    window = config.context_window if config else min(c.context_window for c in catalogue.values())
    context_summary_request(conversation_id=conversation_id, window_tokens=window)


def context_summary_request(*, conversation_id: int, window_tokens: int) -> Summary | None:
    """Create (once) and enqueue the summary of a long conversation's early part."""
    upto_seq = summaries.context_summary_due(conversation_id=conversation_id, window_tokens=window_tokens)
    if upto_seq is None:
        return None
    summary, created = Summary.objects.get_or_create(
        conversation_id=conversation_id, purpose=Summary.Purpose.CONTEXT, upto_seq=upto_seq
    )
    if created:
        tasks.task_enqueue_after_commit(tasks.summary_make, summary_id=summary.pk)
    return summary
