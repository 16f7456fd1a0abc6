"""Multi-turn dialogue sets and how a played turn is judged (``manage.py evaluate_dialogues``).

A dialogue file is JSON: a list of ``{"name", "turns": [{"say", "expect", "facts"}]}``.
``expect`` is an article key (several allowed, ``A|B``), ``abstain``, ``human`` or ``any``;
``facts`` are regular expressions the answer's text must match, case-insensitive. Playing the
turns is the caller's business (the conversations app drives its real websocket consumer);
this module reads the file, judges each outcome and adds up the figures.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ABSTAIN, HUMAN, ANY, ARTICLE = "abstain", "human", "any", "article"
KINDS = (ARTICLE, ABSTAIN, HUMAN, ANY)


class DialogueFileError(ValueError):
    pass


@dataclass(frozen=True)
class Turn:
    say: str
    expect: str
    facts: tuple[re.Pattern[str], ...] = ()

    @property
    def kind(self) -> str:
        return self.expect if self.expect in (ABSTAIN, HUMAN, ANY) else ARTICLE

    @property
    def expected_keys(self) -> frozenset[str]:
        return frozenset(self.expect.split("|")) if self.kind == ARTICLE else frozenset()


@dataclass(frozen=True)
class Dialogue:
    name: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class TurnOutcome:
    """What the customer got for one message: the stored answer, a handoff, or both."""

    text: str = ""
    cited_keys: tuple[str, ...] = ()
    handed_off: bool = False  # the conversation went to a person on (or before) this turn


@dataclass(frozen=True)
class TurnVerdict:
    turn: Turn
    outcome: TurnOutcome
    article_ok: bool
    facts_ok: bool
    ok: bool


def dialogues_read(*, path: Path, known_keys: Collection[str]) -> list[Dialogue]:
    """The dialogues in ``path``; raises DialogueFileError naming the first bad dialogue or turn."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DialogueFileError(f"{path.name}: {error}") from error
    if not isinstance(raw, list):
        raise DialogueFileError(f"{path.name}: expected a JSON list of dialogues")
    return [_dialogue(item, number=n, known_keys=known_keys, name=path.name) for n, item in enumerate(raw, 1)]


def _dialogue(item: Any, *, number: int, known_keys: Collection[str], name: str) -> Dialogue:
    where = f"{name}: dialogue {number}"
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(item.get("turns"), list):
        raise DialogueFileError(f"{where}: expected {{'name': str, 'turns': [...]}}")
    if not item["turns"]:
        raise DialogueFileError(f"{where} ({item['name']}): no turns")
    turns = tuple(
        _turn(turn, where=f"{where} ({item['name']}), turn {n}", known_keys=known_keys)
        for n, turn in enumerate(item["turns"], 1)
    )
    return Dialogue(name=item["name"], turns=turns)


def _turn(raw: Any, *, where: str, known_keys: Collection[str]) -> Turn:
    if not isinstance(raw, dict) or not isinstance(raw.get("say"), str) or not raw["say"].strip():
        raise DialogueFileError(f"{where}: expected a non-empty 'say'")
    expect = raw.get("expect")
    if not isinstance(expect, str) or not expect:
        raise DialogueFileError(f"{where}: expected 'expect': an article key, abstain, human or any")
    if expect not in (ABSTAIN, HUMAN, ANY):
        unknown = [key for key in expect.split("|") if key not in known_keys]
        if unknown:
            raise DialogueFileError(f"{where}: {', '.join(unknown)} is not an article key")
    facts = raw.get("facts", [])
    if not isinstance(facts, list) or not all(isinstance(fact, str) for fact in facts):
        raise DialogueFileError(f"{where}: 'facts' must be a list of regular expressions")
    try:
        patterns = tuple(re.compile(fact, re.IGNORECASE) for fact in facts)
    except re.error as error:
        raise DialogueFileError(f"{where}: bad regular expression: {error}") from error
    return Turn(say=raw["say"], expect=expect, facts=patterns)


def turn_judge(*, turn: Turn, outcome: TurnOutcome) -> TurnVerdict:
    """Right article: one of the expected keys is cited. ``abstain``: nothing cited (a "not sure",
    a small-talk reply or a handoff). ``human``: handed to a person. Facts apply to every kind."""
    facts_ok = all(pattern.search(outcome.text) for pattern in turn.facts)
    article_ok = bool(turn.expected_keys.intersection(outcome.cited_keys))
    if turn.kind == ARTICLE:
        expectation_met = article_ok
    elif turn.kind == ABSTAIN:
        expectation_met = not outcome.cited_keys
    elif turn.kind == HUMAN:
        expectation_met = outcome.handed_off
    else:
        expectation_met = True
    return TurnVerdict(
        turn=turn, outcome=outcome, article_ok=article_ok, facts_ok=facts_ok, ok=expectation_met and facts_ok
    )


@dataclass
class DialogueReport:
    verdicts: list[tuple[str, TurnVerdict]] = field(default_factory=list)

    def add(self, *, dialogue: str, verdict: TurnVerdict) -> None:
        self.verdicts.append((dialogue, verdict))

    def _of(self, kind: str) -> list[TurnVerdict]:
        return [verdict for _, verdict in self.verdicts if verdict.turn.kind == kind]

    def as_dict(self) -> dict[str, float | int | None]:
        everything = [verdict for _, verdict in self.verdicts]
        articles = self._of(ARTICLE)
        return {
            "all_ok": _share(sum(v.ok for v in everything), len(everything)),
            "article_ok": _share(sum(v.article_ok for v in articles), len(articles)),
            "article_and_facts_ok": _share(sum(v.ok for v in articles), len(articles)),
            "abstain_ok": _share(sum(v.ok for v in self._of(ABSTAIN)), len(self._of(ABSTAIN))),
            "human_ok": _share(sum(v.ok for v in self._of(HUMAN)), len(self._of(HUMAN))),
            "any_ok": _share(sum(v.ok for v in self._of(ANY)), len(self._of(ANY))),
            "dialogues": len({name for name, _ in self.verdicts}),
            "turns": len(everything),
            **{f"{kind}_turns": len(self._of(kind)) for kind in KINDS},
        }

    def failures(self) -> list[tuple[str, TurnVerdict]]:
        return [(name, verdict) for name, verdict in self.verdicts if not verdict.ok]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def dialogues_summary_lines(
    *, report: DialogueReport, show_failures: bool = True, show_answers: bool = False
) -> Sequence[str]:
    """The report as text: the shares, then each failed turn with what was expected and what came
    (``show_answers``: every turn with the answer's text)."""
    lines = [f"{name:22} {value}" for name, value in report.as_dict().items()]
    if show_answers:
        lines += ["", "Every turn (dialogue: message -> expected; got):"]
        for name, verdict in report.verdicts:
            lines.append(f"{'  ' if verdict.ok else '✗ '}{name}: {verdict.turn.say!r} -> {verdict.turn.expect}")
            lines.append(f"    {_got(verdict.outcome)}: " + verdict.outcome.text.replace("\n", "\n    "))
    failures = report.failures() if show_failures else []
    if failures:
        lines += ["", "Turns not right (dialogue: message -> expected; got):"]
    for name, verdict in failures:
        missing = [p.pattern for p in verdict.turn.facts if not p.search(verdict.outcome.text)]
        lines.append(
            f"  {name}: {verdict.turn.say!r} -> {verdict.turn.expect}; got {_got(verdict.outcome)}"
            + (f"; facts missing: {missing}" if missing else "")
        )
    return lines


def _got(outcome: TurnOutcome) -> str:
    if outcome.handed_off and not outcome.text:
        return "handed to a person"
    cited = ", ".join(outcome.cited_keys) or "no citation"
    return f"{cited}, then handed to a person" if outcome.handed_off else cited
