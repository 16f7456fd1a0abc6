from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from routing.classifier import ComplexityClassifier
from routing.router import BudgetState, HistoryItem, NoEnabledTierError, classify_complexity, route_message
from routing.tiers import TierConfig, TierName, default_catalogue


@pytest.fixture
def catalogue() -> dict[TierName, TierConfig]:
    return default_catalogue()


def route(text: str, catalogue: dict[TierName, TierConfig], **overrides: object):  # type: ignore[no-untyped-def]
    arguments: dict[str, object] = {"text": text, "history": (), "catalogue": catalogue, "context_tokens": 500}
    arguments.update(overrides)
    return route_message(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["hi", "Thanks so much!", "ok great", "good morning", "bye"])
def test_small_talk_goes_to_mini(text: str) -> None:
    assert classify_complexity(text)[0] == "mini"


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("The remote shows E04 and the head won't rise", "error code"),
        ("error 0x1F after the firmware update", "error code"),
        ("I already tried resetting it and changing the batteries", "already tried"),
        ("The app is not working and the base is stuck halfway", "problems"),
        ("Is the base quiet? Does it fit a 30 cm mattress?", "questions"),
        (" ".join(["the base tilts when I lie on it"] * 10), "long detailed message"),
    ],
)
def test_complex_messages_go_to_thinking_with_a_reason(text: str, reason_part: str) -> None:
    label, reason = classify_complexity(text)
    assert label == "thinking"
    assert reason_part in reason


def test_single_fact_question_goes_to_instant(catalogue: dict[TierName, TierConfig]) -> None:
    decision = route("How long is the trial period for the mattress?", catalogue)
    assert decision.tier == TierName.INSTANT
    assert decision.complexity == "instant"
    assert not decision.handoff


@pytest.mark.parametrize(
    "text", ["I want to speak to a real person", "get me a human", "Can someone call me back?", "agent please"]
)
def test_request_for_a_person_is_a_handoff(text: str, catalogue: dict[TierName, TierConfig]) -> None:
    decision = route(text, catalogue)
    assert decision.handoff
    assert "handoff_request" in decision.signals


def test_same_question_again_escalates_from_the_tier_that_answered(catalogue: dict[TierName, TierConfig]) -> None:
    history = (
        HistoryItem(role="user", text="How do I pair the remote with the base?"),
        HistoryItem(role="assistant", text="Hold the pair button...", tier="instant"),
    )
    decision = route("how do I pair the remote with my base", catalogue, history=history)
    assert decision.tier == TierName.THINKING
    assert "repeated_question" in decision.signals
    assert "escalated" in decision.reason


def test_that_did_not_help_escalates_one_tier(catalogue: dict[TierName, TierConfig]) -> None:
    history = (
        HistoryItem(role="user", text="My base stopped moving"),
        HistoryItem(role="assistant", text="Try unplugging it.", tier="thinking"),
    )
    decision = route("that didn't help", catalogue, history=history)
    assert decision.tier == TierName.PRO
    assert "not_helped" in decision.signals


def test_frustration_escalates(catalogue: dict[TierName, TierConfig]) -> None:
    calm = route("When will my order arrive?", catalogue)
    angry = route("When will my order arrive??? this is ridiculous", catalogue)
    assert calm.tier == TierName.INSTANT
    assert angry.tier == TierName.THINKING
    assert "frustration" in angry.signals


@pytest.mark.parametrize(
    "text",
    [
        "you don't understand anything I say",
        "you're not helping at all",
        "i've been going round in circles with this bot for 20 minutes",
        "you keep misunderstanding me",
        "this assistant is pointless",
    ],
)
def test_blaming_the_bot_is_frustration_and_escalates_even_from_a_small_talk_vote(
    catalogue: dict[TierName, TierConfig], text: str
) -> None:
    from routing.classifier import classifier_load

    decision = route(text, catalogue, classifier=classifier_load())
    assert "frustration" in decision.signals and decision.tier != TierName.MINI, decision.reason


@pytest.mark.parametrize(
    "text",
    ["sorry, I don't understand the instructions", "are you not helping me?", "can you help me with my order?"],
)
def test_not_understanding_or_asking_for_help_is_no_blame(catalogue: dict[TierName, TierConfig], text: str) -> None:
    assert "frustration" not in route(text, catalogue).signals


def test_image_forces_pro(catalogue: dict[TierName, TierConfig]) -> None:
    decision = route("hi", catalogue, has_image=True)
    assert decision.tier == TierName.PRO
    assert decision.complexity == "mini"


def test_context_too_large_moves_to_a_tier_whose_window_fits(catalogue: dict[TierName, TierConfig]) -> None:
    decision = route("What sizes does the base come in?", catalogue, context_tokens=10_000)
    assert decision.tier == TierName.THINKING
    assert not decision.needs_summary
    assert "context_overflow" in decision.signals


def test_context_larger_than_every_window_needs_a_summary(catalogue: dict[TierName, TierConfig]) -> None:
    decision = route("What sizes does the base come in?", catalogue, context_tokens=100_000)
    assert decision.needs_summary
    assert decision.tier == TierName.PRO


def test_reached_conversation_cap_downgrades_and_says_so(catalogue: dict[TierName, TierConfig]) -> None:
    budget = BudgetState(conversation_spent=Decimal("0.50"), conversation_cap=Decimal("0.50"))
    decision = route("error E04 on the remote", catalogue, budget=budget)
    assert decision.tier == TierName.INSTANT
    assert "budget" in decision.reason


def test_both_caps_reached_downgrade_twice(catalogue: dict[TierName, TierConfig]) -> None:
    budget = BudgetState(
        conversation_spent=Decimal("1"),
        conversation_cap=Decimal("1"),
        daily_spent=Decimal("30"),
        daily_cap=Decimal("20"),
    )
    decision = route("error E04 on the remote", catalogue, budget=budget)
    assert decision.tier == TierName.MINI
    assert {"conversation_budget", "daily_budget"} <= set(decision.signals)


def test_budget_under_cap_changes_nothing(catalogue: dict[TierName, TierConfig]) -> None:
    budget = BudgetState(conversation_spent=Decimal("0.10"), conversation_cap=Decimal("0.50"))
    assert route("error E04 on the remote", catalogue, budget=budget).tier == TierName.THINKING


def test_disabled_tier_is_skipped_for_the_nearest_enabled(catalogue: dict[TierName, TierConfig]) -> None:
    catalogue[TierName.THINKING] = replace(catalogue[TierName.THINKING], enabled=False)
    decision = route("error E04 on the remote", catalogue)
    assert decision.tier == TierName.PRO
    assert "tier_disabled" in decision.signals


def test_no_enabled_tier_is_an_error(catalogue: dict[TierName, TierConfig]) -> None:
    disabled = {name: replace(config, enabled=False) for name, config in catalogue.items()}
    with pytest.raises(NoEnabledTierError):
        route("hi", disabled)


@pytest.mark.parametrize("text", ["Manager. Now.", "your boss. now", "get me someone who can actually help"])
def test_curt_demands_for_a_person_are_handoffs(text: str, catalogue: dict[TierName, TierConfig]) -> None:
    assert route(text, catalogue).handoff


def test_thanks_after_an_answer_stays_mini(catalogue: dict[TierName, TierConfig]) -> None:
    history = (
        HistoryItem(role="user", text="My router has a red light"),
        HistoryItem(role="assistant", text="Unplug it for ten seconds.", tier="thinking"),
    )
    decision = route("that worked, thank you!", catalogue, history=history)
    assert decision.tier == TierName.MINI
    assert "not_helped" not in decision.signals


def test_a_problem_reported_after_an_answer_escalates(catalogue: dict[TierName, TierConfig]) -> None:
    history = (
        HistoryItem(role="user", text="How do I reset the base?"),
        HistoryItem(role="assistant", text="Hold the reset button for five seconds.", tier="instant"),
    )
    decision = route("it beeps three times and does nothing", catalogue, history=history)
    assert decision.tier in (TierName.THINKING, TierName.PRO)
    assert "not_helped" in decision.signals


def test_long_message_is_not_thinking_by_length_alone_when_a_classifier_decides() -> None:
    # With no classifier the coarse rules include "long message"; with one, length is only a feature.
    classifier = ComplexityClassifier(
        labels=("instant", "thinking"), vocabulary={}, idf=(), weights=(), intercepts=(1.0, 0.0)
    )
    text = " ".join(["we love the shop and have bought from you for years"] * 7) + " do you deliver to Cork?"
    assert classify_complexity(text)[0] == "thinking"
    assert classify_complexity(text, classifier=classifier)[0] == "instant"


def test_a_classifier_mini_gives_way_when_the_message_asks_something_new() -> None:
    classifier = ComplexityClassifier(
        labels=("instant", "mini", "thinking"), vocabulary={}, idf=(), weights=(), intercepts=(1.0, 2.0, 0.0)
    )
    assert classify_complexity("thanks so much, you're brilliant", classifier=classifier)[0] == "mini"
    assert classify_complexity("thanks. also, what's the daily ATM limit?", classifier=classifier)[0] == "instant"


def test_a_question_after_an_acknowledgement_is_instant_unless_thinking_clears_its_threshold() -> None:
    # mini likeliest (0.44); with it set aside, Thinking (0.30) leads Instant (0.26) but is under its 0.35 bar.
    classifier = ComplexityClassifier(
        labels=("instant", "mini", "thinking"),
        vocabulary={},
        idf=(),
        weights=(),
        intercepts=(0.0, 0.53, 0.15),
        thinking_threshold=0.35,
    )
    asked = "ok. separate thing - what are your opening hours on bank holidays"
    assert classify_complexity(asked, classifier=classifier)[0] == "instant"
    assert classify_complexity("ok great, cheers", classifier=classifier)[0] == "mini"
    over_the_bar = replace(classifier, thinking_threshold=0.25)
    assert classify_complexity(asked, classifier=over_the_bar)[0] == "thinking"


def test_sarcasm_after_an_answer_escalates(catalogue: dict[TierName, TierConfig]) -> None:
    history = (
        HistoryItem(role="user", text="my order of 3 lamps came with one broken and one missing"),
        HistoryItem(role="assistant", text="Sorry to hear that.", tier=TierName.THINKING),
    )
    decision = route("wow. great. so I'm just supposed to wait?", catalogue, history=history)
    assert decision.tier == TierName.PRO and "frustration" in decision.signals
    plain = route("I'm supposed to get a refund, when will it come?", catalogue)
    assert "frustration" not in plain.signals


def test_a_weak_classifier_human_does_not_pull_a_person_in() -> None:
    classifier = ComplexityClassifier(
        labels=("human", "instant"), vocabulary={}, idf=(), weights=(), intercepts=(0.1, 0.0)
    )  # human at p = 0.52: over the bar, so a handoff
    assert classify_complexity("hmm, not sure about that delivery date", classifier=classifier)[0] == "human"
    weaker = ComplexityClassifier(
        labels=("human", "instant", "mini"), vocabulary={}, idf=(), weights=(), intercepts=(0.5, 0.0, 0.0)
    )  # human at p = 0.45: likeliest, but under the bar
    assert classify_complexity("hmm, not sure about that delivery date", classifier=weaker)[0] == "instant"


def test_a_weak_human_left_when_mini_gives_way_does_not_pull_a_person_in() -> None:
    classifier = ComplexityClassifier(
        labels=("human", "instant", "mini"), vocabulary={}, idf=(), weights=(), intercepts=(0.3, 0.0, 3.0)
    )  # mini likeliest; with mini out for a message that asks something, human at p = 0.06 is next
    assert classify_complexity("is this a bot?", classifier=classifier)[0] == "instant"
    assert classify_complexity("thanks!", classifier=classifier)[0] == "mini"


def test_threshold_pulls_instant_up_to_thinking_but_not_small_talk() -> None:
    classifier = ComplexityClassifier(
        labels=("instant", "mini", "thinking"),
        vocabulary={},
        idf=(),
        weights=(),
        intercepts=(1.0, 0.0, 0.5),  # instant 0.51, thinking 0.31: over a 0.3 threshold
        thinking_threshold=0.3,
    )
    assert classifier.predict("the sofa")[0] == "thinking"
    mini_first = ComplexityClassifier(
        labels=("instant", "mini", "thinking"),
        vocabulary={},
        idf=(),
        weights=(),
        intercepts=(0.0, 1.0, 0.5),  # mini likeliest, thinking over the threshold
        thinking_threshold=0.3,
    )
    assert mini_first.predict("the sofa")[0] == "mini"


# A classifier that votes "human" at p = 0.95 for every message.
HUMAN_AT_95 = ComplexityClassifier(
    labels=("human", "instant"), vocabulary={}, idf=(), weights=(), intercepts=(3.0, 0.0)
)


def test_a_classifier_human_gives_way_to_a_question_about_how_callbacks_work() -> None:
    classifier = HUMAN_AT_95
    assert classify_complexity("if I ask for a callback how soon does someone ring?", classifier=classifier)[0] == (
        "instant"
    )
    assert classify_complexity("please arrange a callback", classifier=classifier)[0] == "human"


def test_a_classifier_human_gives_way_to_a_question_about_escalation() -> None:
    classifier = HUMAN_AT_95
    assert classify_complexity("has my complaint been escalated?", classifier=classifier)[0] == "instant"
    assert classify_complexity("what happens once a claim is escalated?", classifier=classifier)[0] == "instant"
    assert classify_complexity("I want this escalated", classifier=classifier)[0] == "human"
    assert classify_complexity("was it escalated? I want a manager now", classifier=classifier)[0] == "human"


def test_a_classifier_human_gives_way_to_a_call_refused() -> None:
    classifier = HUMAN_AT_95
    assert classify_complexity("stop calling me", classifier=classifier)[0] == "instant"
    assert classify_complexity("stop calling me and put me through to a manager", classifier=classifier)[0] == "human"
