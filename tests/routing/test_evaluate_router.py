from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

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
