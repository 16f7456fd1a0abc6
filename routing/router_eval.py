"""Measure the router against a labelled file, without Django.

Each row is routed as the first message of a fresh conversation with the default
catalogue; a handoff counts as the prediction ``human``. A row with a ``previous``
message is a two-turn case: ``previous`` is routed first, the tier chosen for it is
recorded as the tier that answered, and the row's text is routed with that history.

Cost is an estimate from text length and tier prices, compared with sending every
message to Thinking; the same ratio for a perfect router (every message on the tier of
its gold class) is the floor it can be compared with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from routing.classifier import COMPLEXITY_LABELS, ComplexityClassifier, LabelledMessage
from routing.router import COMPLEXITY_TIER, HistoryItem, RouteDecision, route_message
from routing.tiers import TierConfig, TierName
from routing.tokens import text_tokens_estimate

# Tokens of system prompt and retrieved help-centre text sent with every message.
PROMPT_OVERHEAD_TOKENS = 400
OUTPUT_TOKENS = 150


@dataclass(frozen=True)
class RouterEvaluation:
    total: int
    accuracy: float
    per_class: dict[str, dict[str, float]]  # label -> {"precision": .., "recall": ..}
    support: dict[str, int]  # label -> gold messages
    confusion: dict[str, dict[str, int]]  # gold label -> predicted label -> count
    tier_share: dict[str, float]  # mini / instant / thinking / pro / human -> fraction of messages
    cost_vs_all_thinking: float
    cost_perfect_vs_all_thinking: float = 0.0  # the same ratio when every message gets its gold class's tier
    per_category: dict[str, dict[str, float]] | None = None  # category -> {"recall": .., "support": ..}

    def as_json(self) -> dict[str, object]:
        result: dict[str, object] = {
            "total": self.total,
            "accuracy": self.accuracy,
            "per_class": self.per_class,
            "confusion": self.confusion,
            "tier_share": self.tier_share,
            "cost_vs_all_thinking": self.cost_vs_all_thinking,
            "cost_perfect_vs_all_thinking": self.cost_perfect_vs_all_thinking,
        }
        if self.per_category is not None:
            result["per_category"] = self.per_category
        return result


def message_cost_estimate(*, text: str, tier: TierConfig) -> Decimal:
    input_tokens = _tokens(text)
    return (
        Decimal(str(input_tokens)) * tier.price_input_per_1k + Decimal(OUTPUT_TOKENS) * tier.price_output_per_1k
    ) / Decimal(1000)


def router_evaluate(
    *,
    rows: Sequence[LabelledMessage | tuple[str, str]],
    catalogue: Mapping[TierName, TierConfig],
    classifier: ComplexityClassifier | None,
) -> RouterEvaluation:
    """Route every row (replaying ``previous`` first for two-turn rows) and compare with the gold label."""
    messages = [row if isinstance(row, LabelledMessage) else LabelledMessage(text=row[0], label=row[1]) for row in rows]
    confusion: dict[str, Counter[str]] = {label: Counter() for label in COMPLEXITY_LABELS}
    category_hits: dict[str, Counter[bool]] = {}
    shares: Counter[str] = Counter()
    routed_cost = perfect_cost = thinking_cost = Decimal(0)
    for message in messages:
        decision = message_route(message=message, catalogue=catalogue, classifier=classifier)
        predicted = "human" if decision.handoff else _complexity_of_tier(decision.tier)
        confusion[message.label][predicted] += 1
        if message.category:
            category_hits.setdefault(message.category, Counter())[predicted == message.label] += 1
        shares["human" if decision.handoff else str(decision.tier)] += 1
        routed_cost += message_cost_estimate(text=message.text, tier=catalogue[decision.tier])
        perfect_cost += message_cost_estimate(text=message.text, tier=catalogue[COMPLEXITY_TIER[message.label]])
        thinking_cost += message_cost_estimate(text=message.text, tier=catalogue[TierName.THINKING])
    total = len(messages)
    correct = sum(confusion[label][label] for label in COMPLEXITY_LABELS)
    return RouterEvaluation(
        total=total,
        accuracy=_ratio(correct, total),
        per_class=_per_class(confusion),
        support={label: sum(confusion[label].values()) for label in COMPLEXITY_LABELS},
        confusion={gold: {label: confusion[gold][label] for label in COMPLEXITY_LABELS} for gold in COMPLEXITY_LABELS},
        tier_share={name: _ratio(shares[name], total) for name in (*(str(tier) for tier in TierName), "human")},
        cost_vs_all_thinking=_cost_ratio(routed_cost, thinking_cost),
        cost_perfect_vs_all_thinking=_cost_ratio(perfect_cost, thinking_cost),
        per_category=_per_category(category_hits) if category_hits else None,
    )


def message_route(
    *, message: LabelledMessage, catalogue: Mapping[TierName, TierConfig], classifier: ComplexityClassifier | None
) -> RouteDecision:
    """The router's decision for one labelled row, in the conversation the row describes."""
    history: tuple[HistoryItem, ...] = ()
    if message.previous:
        first = route_message(
            text=message.previous,
            history=(),
            catalogue=catalogue,
            context_tokens=_tokens(message.previous),
            classifier=classifier,
        )
        # The bot's answer text is not part of the row; only the tier that gave it matters to the router.
        history = (
            HistoryItem(role="user", text=message.previous),
            HistoryItem(role="assistant", text="", tier=str(first.tier)),
        )
    return route_message(
        text=message.text,
        history=history,
        catalogue=catalogue,
        context_tokens=_tokens(message.previous + message.text),
        classifier=classifier,
    )


def _tokens(text: str) -> int:
    return text_tokens_estimate(text) + PROMPT_OVERHEAD_TOKENS


def _complexity_of_tier(tier: TierName) -> str:
    # Pro only comes from escalation or images; as a complexity class it is "thinking or harder".
    return "thinking" if tier == TierName.PRO else str(tier)


def _per_class(confusion: Mapping[str, Counter[str]]) -> dict[str, dict[str, float]]:
    result = {}
    for label in COMPLEXITY_LABELS:
        predicted = sum(confusion[gold][label] for gold in COMPLEXITY_LABELS)
        result[label] = {
            "precision": _ratio(confusion[label][label], predicted),
            "recall": _ratio(confusion[label][label], sum(confusion[label].values())),
        }
    return result


def _per_category(hits: Mapping[str, Counter[bool]]) -> dict[str, dict[str, float]]:
    # Each category holds one kind of case, so its recall is the share of its rows routed to their gold class.
    return {
        category: {"recall": _ratio(counts[True], counts.total()), "support": counts.total()}
        for category, counts in sorted(hits.items())
    }


def _cost_ratio(cost: Decimal, baseline: Decimal) -> float:
    return round(float(cost / baseline), 4) if baseline else 0.0


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def evaluation_format(evaluation: RouterEvaluation) -> str:
    """A plain-text report: per-class and per-category recall, confusion matrix, tier share, cost."""
    lines = [
        f"messages: {evaluation.total}   accuracy: {evaluation.accuracy:.3f}",
        "",
        "class      precision  recall  support",
    ]
    for label, scores in evaluation.per_class.items():
        lines.append(
            f"{label:<10} {scores['precision']:>9.3f}  {scores['recall']:>6.3f}  {evaluation.support[label]:>7}"
        )
    if evaluation.per_category is not None:
        width = max(len("category"), *(len(name) for name in evaluation.per_category))
        lines += ["", f"{'category':<{width}}  recall  support"]
        for category, scores in evaluation.per_category.items():
            lines.append(f"{category:<{width}}  {scores['recall']:>6.3f}  {int(scores['support']):>7}")
    lines += [
        "",
        "confusion (rows: gold, columns: routed)",
        "gold       " + "".join(f"{label:>10}" for label in COMPLEXITY_LABELS),
    ]
    for gold, row in evaluation.confusion.items():
        lines.append(f"{gold:<10} " + "".join(f"{row[label]:>10}" for label in COMPLEXITY_LABELS))
    lines += ["", "share of messages per tier"]
    lines += [f"{name:<10} {share:>6.1%}" for name, share in evaluation.tier_share.items()]
    simple_share = evaluation.tier_share.get("mini", 0.0) + evaluation.tier_share.get("instant", 0.0)
    lines += [
        f"{'mini+inst.':<10} {simple_share:>6.1%}",
        "",
        f"estimated cost vs all-Thinking: {evaluation.cost_vs_all_thinking:.3f}"
        f" (a perfect router: {evaluation.cost_perfect_vs_all_thinking:.3f})",
    ]
    return "\n".join(lines)
