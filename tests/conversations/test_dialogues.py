from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conversations.dialogues import (
    DialogueFileError,
    DialogueReport,
    Turn,
    TurnOutcome,
    dialogues_read,
    dialogues_summary_lines,
    turn_judge,
)

KEYS = {"WARRANTY", "MATTRESS_COST"}


def _file(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "dialogues.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def _turn(expect: str, facts: list[str] | None = None) -> Turn:
    return Turn(say="x", expect=expect, facts=tuple(re.compile(fact, re.IGNORECASE) for fact in facts or ()))


def test_an_article_turn_needs_the_article_cited_and_every_fact() -> None:
    turn = _turn("WARRANTY|MATTRESS_COST", [r"10.year", "sagging"])
    right = turn_judge(
        turn=turn, outcome=TurnOutcome(text="A 10-year warranty covers sagging.", cited_keys=("WARRANTY",))
    )
    assert right.ok and right.article_ok and right.facts_ok
    no_fact = turn_judge(turn=turn, outcome=TurnOutcome(text="A 10-year warranty.", cited_keys=("WARRANTY",)))
    assert no_fact.article_ok and not no_fact.ok
    wrong = turn_judge(turn=turn, outcome=TurnOutcome(text="A 10-year warranty covers sagging.", cited_keys=("COD",)))
    assert not wrong.article_ok and not wrong.ok


def test_abstaining_means_citing_nothing_and_a_handoff_counts() -> None:
    turn = _turn("abstain")
    assert turn_judge(turn=turn, outcome=TurnOutcome(text="I'm not sure…")).ok
    assert turn_judge(turn=turn, outcome=TurnOutcome(handed_off=True)).ok
    assert not turn_judge(turn=turn, outcome=TurnOutcome(text="Prices…", cited_keys=("MATTRESS_COST",))).ok


def test_a_human_turn_needs_a_handoff() -> None:
    turn = _turn("human")
    assert turn_judge(turn=turn, outcome=TurnOutcome(handed_off=True)).ok
    assert not turn_judge(turn=turn, outcome=TurnOutcome(text="Ask for a person…", cited_keys=("WARRANTY",))).ok


def test_the_report_gives_shares_overall_and_per_kind() -> None:
    report = DialogueReport()
    article, abstain, human = _turn("WARRANTY"), _turn("abstain"), _turn("human")
    report.add(dialogue="a", verdict=turn_judge(turn=article, outcome=TurnOutcome(text="x", cited_keys=("WARRANTY",))))
    report.add(dialogue="a", verdict=turn_judge(turn=article, outcome=TurnOutcome(text="x")))
    report.add(dialogue="b", verdict=turn_judge(turn=abstain, outcome=TurnOutcome(text="not sure")))
    report.add(dialogue="b", verdict=turn_judge(turn=human, outcome=TurnOutcome(text="x")))
    figures = report.as_dict()
    assert (figures["all_ok"], figures["article_ok"], figures["article_and_facts_ok"]) == (0.5, 0.5, 0.5)
    assert (figures["abstain_ok"], figures["human_ok"], figures["dialogues"], figures["turns"]) == (1.0, 0.0, 2, 4)
    lines = dialogues_summary_lines(report=report)
    assert any("got no citation" in line for line in lines)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"name": "x"}, "expected a JSON list"),
        ([{"name": "d", "turns": []}], "no turns"),
        ([{"name": "d", "turns": [{"say": "hi", "expect": "NOPE"}]}], "NOPE is not an article key"),
        ([{"name": "d", "turns": [{"say": "hi", "expect": "abstain", "facts": ["("]}]}], "bad regular expression"),
        ([{"name": "d", "turns": [{"say": "", "expect": "abstain"}]}], "non-empty 'say'"),
    ],
)
def test_a_bad_file_is_refused_naming_the_dialogue_and_turn(tmp_path: Path, content: object, message: str) -> None:
    with pytest.raises(DialogueFileError, match=message):
        dialogues_read(path=_file(tmp_path, content), known_keys=KEYS)


@pytest.mark.parametrize("name", ["tune.json", "holdout.json"])
def test_the_shipped_dialogue_sets_are_valid(name: str) -> None:
    from helpcentre.crossvalidate import demo_articles_load

    path = Path(__file__).resolve().parents[2] / "helpcentre" / "data" / "dialogues" / name
    dialogues = dialogues_read(path=path, known_keys={article.key for article in demo_articles_load()})
    assert len(dialogues) >= 30 and len({d.name for d in dialogues}) == len(dialogues)
