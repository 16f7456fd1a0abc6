"""Choose the tier for one customer message, with a reason a person can read.

Pure Python and fast (no Django, no scikit-learn): the decision runs before every reply.
The steps, in order, each adding to the reason:

1. complexity: high-precision rules (a request for a person, small talk, error codes,
   "already tried"), else the learned classifier when one is given, else coarser rules
   (several problems or questions, a long message, a problem word);
2. an image forces a multimodal tier;
3. conversation signals (same question again, "that didn't help", frustration) move one
   tier up from the tier that answered last;
4. a reached budget cap moves one tier down per cap;
5. disabled tiers are skipped for the nearest enabled one;
6. the conversation must fit the tier's context window, else a larger tier is used, or
   ``needs_summary`` is set when none fits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from routing import signals
from routing.classifier import ComplexityClassifier, label_decide
from routing.tiers import TIER_ORDER, TierConfig, TierName, tier_down, tier_up

COMPLEXITY_TIER: dict[str, TierName] = {
    "mini": TierName.MINI,
    "instant": TierName.INSTANT,
    "thinking": TierName.THINKING,
    # A handoff still gets a short automatic reply ("connecting you") while a person is found.
    "human": TierName.INSTANT,
}
# Below this probability a classifier "human" is not trusted to pull a person in. Not higher: the classifier
# catches the wordings the rules miss, and a missed request for a person costs more than a needless one.
HANDOFF_MIN_PROBABILITY = 0.5


@dataclass(frozen=True)
class HistoryItem:
    role: str  # "user" or "assistant"
    text: str
    tier: str | None = None


@dataclass(frozen=True)
class BudgetState:
    conversation_spent: Decimal = Decimal(0)
    conversation_cap: Decimal | None = None
    daily_spent: Decimal = Decimal(0)
    daily_cap: Decimal | None = None


@dataclass(frozen=True)
class RouteDecision:
    tier: TierName
    reason: str
    handoff: bool = False
    signals: tuple[str, ...] = ()
    needs_summary: bool = False
    complexity: str = ""  # the complexity class before any adjustment


class NoEnabledTierError(Exception):
    """Every tier in the catalogue is disabled, so no reply can be produced."""


def classify_complexity(text: str, *, classifier: ComplexityClassifier | None = None) -> tuple[str, str]:
    """(label, reason) with label in mini / instant / thinking / human."""
    label, reason, _ = _complexity(text, classifier=classifier)
    return label, reason


def text_categories(text: str) -> tuple[str, ...]:
    """The router's categories for one message by its written rules alone, so the same text always
    gets the same answer: its complexity class, the signals behind it, and the mood signals that
    escalate (``not_helped``, ``frustration``), e.g. ``("thinking", "error_code", "already_tried")``."""
    label, _, found = _complexity(text, classifier=None)
    mood = (
        ("not_helped", signals.text_has(signals.NOT_HELPED, text)),
        ("frustration", signals.text_sounds_frustrated(text)),
    )
    return (label, *found, *(name for name, present in mood if present))


def _complexity(text: str, *, classifier: ComplexityClassifier | None) -> tuple[str, str, tuple[str, ...]]:
    ruled = rule_complexity(text)
    if ruled is not None:
        return ruled
    if classifier is not None:
        return _classifier_complexity(text, classifier=classifier)
    return _fallback_complexity(text)


def rule_complexity(text: str) -> tuple[str, str, tuple[str, ...]] | None:
    """(label, reason, signals) when a high-precision rule decides on its own, else None."""
    if signals.text_asks_for_person(text):
        return "human", "asks for a person", ("handoff_request",)
    if signals.text_is_small_talk(text):
        return "mini", "greeting, thanks or acknowledgement", ("small_talk",)
    complex_signals = signals.text_complexity_signals(text)
    if complex_signals:
        names = tuple(name for name, _ in complex_signals)
        return "thinking", "; ".join(reason for _, reason in complex_signals), names
    return None


def _classifier_complexity(text: str, *, classifier: ComplexityClassifier) -> tuple[str, str, tuple[str, ...]]:
    probabilities = classifier.probabilities(text)
    # A weak "human" does not pull a person in; "mini" is for messages with nothing to answer, and a message
    # that thanks and then asks something new ("thanks! also, what's the ATM limit?") has something to answer.
    # Each exclusion is checked again on the label left after another: "is this a bot?" asks something, so it
    # is not "mini", and the "human" left at p=0.02 is no request for a person either.
    excluded: set[str] = set()
    while True:
        remaining = {name: value for name, value in probabilities.items() if name not in excluded}
        label = label_decide(remaining, thinking_threshold=classifier.thinking_threshold)
        if label == "human" and (
            probabilities[label] < HANDOFF_MIN_PROBABILITY
            or signals.text_asks_when_available(text)
            or signals.text_asks_how_calls_work(text)
            or signals.text_asks_about_escalation(text)
            or signals.text_asks_about_staff(text)
            or signals.text_refuses_a_call(text)
            or signals.text_tells_of_a_call(text)
        ):
            excluded.add("human")
        elif label == "mini" and signals.text_asks_something(text):
            excluded.add("mini")
        else:
            break
    if (
        "mini" in excluded
        and label == "thinking"
        and probabilities[label] < classifier.thinking_threshold
        and "instant" not in excluded
    ):
        # What is left once the acknowledgement is set aside is a question of its own; a Thinking vote that won only
        # because the small-talk vote was dropped, under the threshold Thinking needs against Instant, is not enough.
        label = "instant"
    return label, f"classifier: {label} (p={probabilities[label]:.2f})", ("classifier",)


def _fallback_complexity(text: str) -> tuple[str, str, tuple[str, ...]]:
    # Without a classifier, coarse counts stand in for it; with one they are among its features instead,
    # since a long friendly message can ask one simple thing.
    coarse = signals.text_rule_signals(text)
    if coarse:
        return "thinking", "; ".join(reason for _, reason in coarse), tuple(name for name, _ in coarse)
    if signals.text_problem_count(text):
        return "thinking", "describes a problem", ("problem",)
    return "instant", "single question or request", ()


def route_message(
    *,
    text: str,
    history: Sequence[HistoryItem],
    catalogue: Mapping[TierName, TierConfig],
    context_tokens: int,
    budget: BudgetState = BudgetState(),
    has_image: bool = False,
    classifier: ComplexityClassifier | None = None,
) -> RouteDecision:
    """The tier for ``text``; ``classifier=None`` routes on the written rules alone."""
    label, reason, found = _complexity(text, classifier=classifier)
    trail = _Trail(reasons=[reason], signals=list(found))
    tier = COMPLEXITY_TIER[label]
    if has_image:
        tier = _tier_for_image(catalogue=catalogue, trail=trail)
    else:
        # Small talk and handoffs are answered briefly whatever the mood; escalation is for unsolved problems.
        if label != "human" and "small_talk" not in found:
            tier = _tier_escalate(tier=tier, text=text, history=history, trail=trail)
        tier = _tier_within_budget(tier=tier, budget=budget, trail=trail)
    tier = _tier_enabled(tier=tier, catalogue=catalogue, trail=trail)
    tier, needs_summary = _tier_fitting_context(
        tier=tier, catalogue=catalogue, context_tokens=context_tokens, trail=trail
    )
    return RouteDecision(
        tier=tier,
        reason="; ".join(trail.reasons),
        handoff=label == "human",
        signals=tuple(dict.fromkeys(trail.signals)),
        needs_summary=needs_summary,
        complexity=label,
    )


@dataclass
class _Trail:
    reasons: list[str]
    signals: list[str] = field(default_factory=list)

    def add(self, signal: str, reason: str) -> None:
        self.signals.append(signal)
        self.reasons.append(reason)


def _tier_for_image(*, catalogue: Mapping[TierName, TierConfig], trail: _Trail) -> TierName:
    readers = [
        name for name in TIER_ORDER if name in catalogue and catalogue[name].multimodal and catalogue[name].enabled
    ]
    if not readers:
        trail.add("image_unreadable", "image attached but no enabled tier reads images")
        return TierName.PRO
    trail.add("image", f"image attached, needs a multimodal tier ({readers[0]})")
    return readers[0]


def _tier_escalate(*, tier: TierName, text: str, history: Sequence[HistoryItem], trail: _Trail) -> TierName:
    found = []
    earlier_questions = [item.text for item in history if item.role == "user"]
    if signals.text_repeats(text, earlier=earlier_questions):
        found.append(("repeated_question", "same question asked again"))
    if earlier_questions and signals.text_reports_failure(text):
        found.append(("not_helped", "previous answer did not help"))
    if signals.text_sounds_frustrated(text):
        found.append(("frustration", "customer sounds frustrated"))
    if not found:
        return tier
    # Escalate from whichever is higher: this message's own tier or the tier that just failed to help.
    previous = _last_assistant_tier(history)
    base = max(tier, previous, key=TIER_ORDER.index) if previous else tier
    raised = tier_up(base)
    for name, reason in found:
        trail.add(name, reason)
    trail.reasons.append(f"escalated one tier to {raised}")
    return raised


def _last_assistant_tier(history: Sequence[HistoryItem]) -> TierName | None:
    for item in reversed(history):
        if item.role == "assistant" and item.tier in set(TierName):
            return TierName(item.tier)
    return None


def _tier_within_budget(*, tier: TierName, budget: BudgetState, trail: _Trail) -> TierName:
    caps = (
        ("conversation_budget", "conversation", budget.conversation_spent, budget.conversation_cap),
        ("daily_budget", "daily", budget.daily_spent, budget.daily_cap),
    )
    for signal, scope, spent, cap in caps:
        if cap is not None and spent >= cap and tier != TierName.MINI:
            lowered = tier_down(tier)
            trail.add(signal, f"{scope} budget cap {cap} reached ({spent} spent), downgraded {tier} to {lowered}")
            tier = lowered
    return tier


def _tier_enabled(*, tier: TierName, catalogue: Mapping[TierName, TierConfig], trail: _Trail) -> TierName:
    if _enabled(catalogue, tier):
        return tier
    index = TIER_ORDER.index(tier)
    # Nearest enabled tier; on a tie the larger one, so a hard question is not under-served.
    for distance in range(1, len(TIER_ORDER)):
        for candidate_index in (index + distance, index - distance):
            if 0 <= candidate_index < len(TIER_ORDER) and _enabled(catalogue, TIER_ORDER[candidate_index]):
                chosen = TIER_ORDER[candidate_index]
                trail.add("tier_disabled", f"{tier} is disabled, using {chosen}")
                return chosen
    raise NoEnabledTierError("every tier in the catalogue is disabled")


def _enabled(catalogue: Mapping[TierName, TierConfig], tier: TierName) -> bool:
    return tier in catalogue and catalogue[tier].enabled


def _tier_fitting_context(
    *, tier: TierName, catalogue: Mapping[TierName, TierConfig], context_tokens: int, trail: _Trail
) -> tuple[TierName, bool]:
    if context_tokens <= catalogue[tier].context_window:
        return tier, False
    larger = [name for name in TIER_ORDER[TIER_ORDER.index(tier) + 1 :] if _enabled(catalogue, name)]
    for candidate in larger:
        if context_tokens <= catalogue[candidate].context_window:
            window = catalogue[tier].context_window
            trail.add(
                "context_overflow", f"{context_tokens} tokens exceed {tier}'s {window}-token window, using {candidate}"
            )
            return candidate, False
    widest = max(
        (name for name in TIER_ORDER if _enabled(catalogue, name)), key=lambda name: catalogue[name].context_window
    )
    trail.add("needs_summary", f"{context_tokens} tokens exceed every enabled window; summarise the conversation first")
    return (widest if catalogue[widest].context_window > catalogue[tier].context_window else tier), True
