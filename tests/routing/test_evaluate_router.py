from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from routing.classifier import LabelledMessage
from routing.router_eval import message_cost_estimate, router_evaluate
from routing.tiers import TierName, default_catalogue

ROWS = [
    ("hi", "mini"),
    ("thanks a lot", "mini"),
    ("What sizes does the base come in?", "instant"),
    ("Do you deliver on Saturdays?", "instant"),
    ("The remote shows E04 and I already tried new batteries", "thinking"),
    ("I want to speak to a real person", "human"),
]


def rows_file(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text("text,label\n" + "".join(f'"{text}",{label}\n' for text, label in rows), encoding="utf-8")
    return path


def test_rules_route_the_clear_cases_correctly() -> None:
    evaluation = router_evaluate(rows=ROWS, catalogue=default_catalogue(), classifier=None)
    assert evaluation.accuracy == 1.0
    assert evaluation.per_class["human"] == {"precision": 1.0, "recall": 1.0}
    assert evaluation.confusion["thinking"]["thinking"] == 1
    assert evaluation.tier_share["mini"] == pytest.approx(2 / 6, abs=1e-3)


def test_cost_ratio_is_below_one_when_messages_avoid_thinking() -> None:
    cheap = router_evaluate(rows=ROWS[:4], catalogue=default_catalogue(), classifier=None)
    all_hard = router_evaluate(rows=[ROWS[4]], catalogue=default_catalogue(), classifier=None)
    assert 0 < cheap.cost_vs_all_thinking < 1
    assert all_hard.cost_vs_all_thinking == 1.0


def test_cost_grows_with_text_length() -> None:
    tier = default_catalogue()[TierName.THINKING]
    assert message_cost_estimate(text="x" * 4000, tier=tier) > message_cost_estimate(text="x", tier=tier)


def test_command_prints_json_with_the_agreed_keys(tmp_path: Path) -> None:
    out = StringIO()
    call_command("evaluate_router", str(rows_file(tmp_path, ROWS)), "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert {"accuracy", "per_class", "tier_share", "cost_vs_all_thinking"} <= result.keys()
    assert set(result["per_class"]) == {"mini", "instant", "thinking", "human"}
    assert result["per_class"]["human"]["recall"] == 1.0


def test_command_prints_tables(tmp_path: Path) -> None:
    out = StringIO()
    call_command("evaluate_router", str(rows_file(tmp_path, ROWS)), stdout=out)
    text = out.getvalue()
    assert "confusion" in text
    assert "cost vs all-Thinking" in text


def test_command_names_the_line_with_an_unknown_label(tmp_path: Path) -> None:
    path = rows_file(tmp_path, [("hi", "mini"), ("hello", "tiny")])
    with pytest.raises(CommandError, match="line 3"):
        call_command("evaluate_router", str(path))


def test_command_rejects_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        call_command("evaluate_router", str(tmp_path / "absent.csv"))


def test_command_rejects_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("sentence,intent\nhi,greet\n", encoding="utf-8")
    with pytest.raises(CommandError, match="missing column"):
        call_command("evaluate_router", str(path))


def test_per_category_recall_counts_rows_routed_to_their_gold_class() -> None:
    rows = [
        LabelledMessage(text="hi", label="mini", category="small_talk"),
        LabelledMessage(text="thanks a lot", label="mini", category="small_talk"),
        LabelledMessage(
            text="The remote shows E04 and I already tried new batteries", label="thinking", category="fix"
        ),
        # A deliberately wrong gold label: a plain question is never routed to Thinking, so this row is a miss.
        LabelledMessage(text="Do you deliver on Saturdays?", label="thinking", category="simple_fact"),
    ]
    evaluation = router_evaluate(rows=rows, catalogue=default_catalogue(), classifier=None)
    assert evaluation.per_category == {
        "fix": {"recall": 1.0, "support": 1},
        "simple_fact": {"recall": 0.0, "support": 1},
        "small_talk": {"recall": 1.0, "support": 2},
    }


def test_rows_without_categories_report_none() -> None:
    evaluation = router_evaluate(rows=ROWS, catalogue=default_catalogue(), classifier=None)
    assert evaluation.per_category is None
    assert "per_category" not in evaluation.as_json()


def test_two_turn_row_is_routed_after_the_previous_message() -> None:
    alone = LabelledMessage(text="that didn't help", label="thinking")
    after_a_question = LabelledMessage(text="that didn't help", label="thinking", previous="How do I pair the remote?")
    catalogue = default_catalogue()
    assert router_evaluate(rows=[alone], catalogue=catalogue, classifier=None).accuracy == 0.0
    assert router_evaluate(rows=[after_a_question], catalogue=catalogue, classifier=None).accuracy == 1.0


def test_perfect_router_cost_follows_the_gold_classes() -> None:
    everything_thinking = [(text, "thinking") for text, _ in ROWS]
    nothing_thinking = [(text, "instant") for text, _ in ROWS]
    catalogue = default_catalogue()
    assert (
        router_evaluate(rows=everything_thinking, catalogue=catalogue, classifier=None).cost_perfect_vs_all_thinking
        == 1.0
    )
    cheap = router_evaluate(rows=nothing_thinking, catalogue=catalogue, classifier=None).cost_perfect_vs_all_thinking
    assert 0 < cheap < 1


def test_command_json_adds_per_category_when_the_file_has_categories(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "text,label,category,previous\n"
        "hi,mini,small_talk,\n"
        "I want to speak to a real person,human,person,\n"
        "that didn't help,thinking,followup,How do I pair the remote?\n",
        encoding="utf-8",
    )
    out = StringIO()
    call_command("evaluate_router", str(path), "--json", "--rules-only", stdout=out)
    result = json.loads(out.getvalue())
    assert result["per_category"] == {
        "followup": {"recall": 1.0, "support": 1},
        "person": {"recall": 1.0, "support": 1},
        "small_talk": {"recall": 1.0, "support": 1},
    }
    assert "cost_perfect_vs_all_thinking" in result


def test_command_tables_name_each_category(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("text,label,category\nhi,mini,small_talk\nbye,mini,small_talk\n", encoding="utf-8")
    out = StringIO()
    call_command("evaluate_router", str(path), stdout=out)
    assert "small_talk" in out.getvalue()
    assert "a perfect router" in out.getvalue()
