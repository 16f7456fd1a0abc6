"""Measure the router against a labelled ``text,label`` file, without Django.

Each text is routed as the first message of a fresh conversation with the default
catalogue; a handoff counts as the prediction ``human``. Cost is an estimate from text
length and tier prices, compared with sending every message to Thinking.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from routing.classifier import COMPLEXITY_LABELS, ComplexityClassifier
from routing.router import route_message
from routing.tiers import TierConfig, TierName

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

    def as_json(self) -> dict[str, object]:
        return {
            "total": self.total,
            "accuracy": self.accuracy,
            "per_class": self.per_class,
            "confusion": self.confusion,
            "tier_share": self.tier_share,
            "cost_vs_all_thinking": self.cost_vs_all_thinking,
        }


def message_cost_estimate(*, text: str, tier: TierConfig) -> Decimal:
    input_tokens = len(text) / 4 + PROMPT_OVERHEAD_TOKENS
    return (
        Decimal(str(input_tokens)) * tier.price_input_per_1k + Decimal(OUTPUT_TOKENS) * tier.price_output_per_1k
    ) / Decimal(1000)


def router_evaluate(
    *,
    rows: Sequence[tuple[str, str]],
    catalogue: Mapping[TierName, TierConfig],
    classifier: ComplexityClassifier | None,
) -> RouterEvaluation:
    """Route every row and compare the predicted class with the gold label."""
    confusion: dict[str, Counter[str]] = {label: Counter() for label in COMPLEXITY_LABELS}
    shares: Counter[str] = Counter()
    routed_cost = thinking_cost = Decimal(0)
    for text, gold in rows:
        decision = route_message(
            text=text, history=(), catalogue=catalogue, context_tokens=_tokens(text), classifier=classifier
        )
        predicted = "human" if decision.handoff else _complexity_of_tier(decision.tier)
        confusion[gold][predicted] += 1
        shares["human" if decision.handoff else str(decision.tier)] += 1
        routed_cost += message_cost_estimate(text=text, tier=catalogue[decision.tier])
        thinking_cost += message_cost_estimate(text=text, tier=catalogue[TierName.THINKING])
    total = len(rows)
    correct = sum(confusion[label][label] for label in COMPLEXITY_LABELS)
    return RouterEvaluation(
        total=total,
        accuracy=_ratio(correct, total),
        per_class=_per_class(confusion),
        support={label: sum(confusion[label].values()) for label in COMPLEXITY_LABELS},
        confusion={gold: {label: confusion[gold][label] for label in COMPLEXITY_LABELS} for gold in COMPLEXITY_LABELS},
        tier_share={name: _ratio(shares[name], total) for name in (*(str(tier) for tier in TierName), "human")},
        cost_vs_all_thinking=round(float(routed_cost / thinking_cost), 4) if thinking_cost else 0.0,
    )


def _tokens(text: str) -> int:
    return len(text) // 4 + PROMPT_OVERHEAD_TOKENS


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


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def evaluation_format(evaluation: RouterEvaluation) -> str:
    """A plain-text report: per-class precision and recall, confusion matrix, tier share, cost."""
    lines = [
        f"messages: {evaluation.total}   accuracy: {evaluation.accuracy:.3f}",
        "",
        "class      precision  recall  support",
    ]
    for label, scores in evaluation.per_class.items():
        lines.append(
            f"{label:<10} {scores['precision']:>9.3f}  {scores['recall']:>6.3f}  {evaluation.support[label]:>7}"
        )
    lines += [
        "",
        "confusion (rows: gold, columns: routed)",
        "gold       " + "".join(f"{label:>10}" for label in COMPLEXITY_LABELS),
    ]
    for gold, row in evaluation.confusion.items():
        lines.append(f"{gold:<10} " + "".join(f"{row[label]:>10}" for label in COMPLEXITY_LABELS))
    lines += ["", "share of messages per tier"]
    lines += [f"{name:<10} {share:>6.1%}" for name, share in evaluation.tier_share.items()]
    lines += ["", f"estimated cost vs all-Thinking: {evaluation.cost_vs_all_thinking:.3f}"]
    return "\n".join(lines)
