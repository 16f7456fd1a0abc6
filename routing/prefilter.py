"""Run only the alternatives of a long regex whose words a text contains.

Python's ``re`` tries each alternative of a pattern at each position of a text, so a request-for-a-person
pattern of fifty-six alternatives costs most of a millisecond on a long message even when nothing in it could
match. Nearly every alternative needs some literal ("talk", "agent", "call back"): the literals at least one
of which any of its matches must contain are read off the parsed alternative once (the "required literals"
of RE2's and Hyperscan's prefilters). Each alternative is compiled alone, and a text is searched only with
those whose literals it holds.

The answer is the one the whole pattern gives: an alternative that cannot match anywhere in a text would
fail at each position of the alternation, and of the rest the leftmost match wins, the earliest alternative
on a tie, as in the alternation. Texts are only checked this way when they are ASCII, where ``str.lower`` is
exactly the case-insensitive comparison; others run the whole pattern. Only the whole match is the same,
since each alternative numbers its own groups: callers use ``group(0)`` and spans.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

# Zero-width items a literal run continues across: "\bto\b" needs "to", "(?<!do i )need" needs "need".
_ZERO_WIDTH = (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT)
_REPEATS = tuple(
    getattr(sre_constants, name)
    for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(sre_constants, name)
)
# Literals this short are in nearly every text: such an alternative is always run.
MIN_LITERAL = 3
MIN_GATED_SHARE = 0.75


def required_literals(regex: re.Pattern[str]) -> frozenset[str] | None:
    """Lower-case strings at least one of which every match of ``regex`` contains, or None if none is known."""
    return _sequence(sre_parse.parse(regex.pattern, regex.flags))


def _sequence(items: Any) -> frozenset[str] | None:
    """Of the requirements of the items in order, the most selective (longest shortest literal, then fewest)."""
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            candidates.append(frozenset(["".join(run)]))
            run.clear()

    for op, value in items:
        if op is sre_constants.LITERAL:
            run.append(chr(value).lower())
            continue
        if op in _ZERO_WIDTH:
            continue
        close_run()
        found: frozenset[str] | None = None
        if op is sre_constants.SUBPATTERN:
            found = _sequence(value[-1])
        elif op is sre_constants.BRANCH:
            alternatives = [_sequence(branch) for branch in value[1]]
            if all(alternatives):
                found = frozenset().union(*alternatives)  # type: ignore[arg-type]
        elif op in _REPEATS and value[0] >= 1:
            found = _sequence(value[2])
        # Anything else (classes, any, back-references, conditionals) requires no literal relied on here.
        if found:
            candidates.append(found)
    close_run()
    if not candidates:
        return None
    return min(candidates, key=lambda literals: (-min(map(len, literals)), len(literals)))


def top_level_alternatives(source: str) -> list[str]:
    """``source`` split at its top-level ``|``: outside groups, character classes and escapes."""
    parts, depth, start, index, in_class = [], 0, 0, 0, False
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A "]" straight after "[" or "[^" is a member, not the end.
            if source[index + 1 : index + 3].startswith("^]"):
                index += 2
            elif source[index + 1 : index + 2] == "]":
                index += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(source[start:index])
            start = index + 1
        index += 1
    parts.append(source[start:])
    return parts


class Prefiltered:
    """``prefix(?:alternatives)|others``, searching each text with only the alternatives it could match.

    Each alternative is compiled on its own; a search runs those whose literals the text holds and keeps the
    leftmost match, the earliest alternative on a tie, as the alternation would. ``regex`` is the whole pattern.
    """

    __slots__ = ("regex", "pattern", "flags", "_branches")

    def __init__(self, *, prefix: str, grouped: Sequence[str], others: Sequence[str], flags: int) -> None:
        whole = [f"{prefix}(?:{'|'.join(grouped)})"] if grouped else []
        self.regex = re.compile("|".join([*whole, *others]), flags)
        self.pattern = self.regex.pattern
        self.flags = flags
        # Per alternative, in order: it compiled alone, the literals one of which it needs (None: always run),
        # and those literals as one plain pattern, which finds whether any occurs in a single pass.
        branches = [re.compile(f"{prefix}(?:{branch})", flags) for branch in grouped]
        branches += [re.compile(branch, flags) for branch in others]
        self._branches = tuple(
            (branch, literals, _literals_pattern(literals))
            for branch, literals in ((branch, _selective(required_literals(branch))) for branch in branches)
        )

    def gated_share(self) -> float:
        """The share of alternatives that only run on texts holding one of their literals."""
        return sum(literals is not None for _, literals, _ in self._branches) / len(self._branches)

    def branch_literals(self) -> list[frozenset[str] | None]:
        return [literals for _, literals, _ in self._branches]

    def _candidates(self, text: str) -> list[re.Pattern[str]]:
        if not text.isascii():
            return [self.regex]
        lowered = text.lower()
        return [branch for branch, _, gate in self._branches if gate is None or gate.search(lowered) is not None]

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self._search(self._candidates(text), text, pos)

    @staticmethod
    def _search(candidates: Sequence[re.Pattern[str]], text: str, pos: int) -> re.Match[str] | None:
        best = None
        for branch in candidates:
            found = branch.search(text, pos)
            if found is not None and (best is None or found.start() < best.start()):
                best = found
                if best.start() == pos:
                    break
        return best

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        candidates = self._candidates(text)
        pos = 0
        while pos <= len(text):
            found = self._search(candidates, text, pos)
            if found is None:
                return
            yield found
            pos = found.end() if found.end() > found.start() else found.end() + 1

    def __repr__(self) -> str:
        return f"Prefiltered({self.regex!r})"


Pattern = re.Pattern[str] | Prefiltered


def _literals_pattern(literals: frozenset[str] | None) -> re.Pattern[str] | None:
    return re.compile("|".join(map(re.escape, sorted(literals)))) if literals else None


def _selective(literals: frozenset[str] | None) -> frozenset[str] | None:
    return literals if literals and min(map(len, literals)) >= MIN_LITERAL else None


def prefiltered(*, prefix: str, pattern: str, elsewhere: str = "", flags: int) -> Pattern:
    """``prefix(?:pattern)|elsewhere``, each top-level alternative of ``pattern`` and ``elsewhere`` run only on
    texts holding one of its required literals; a plain pattern when too few alternatives have any, since
    running the rest one by one costs more than the one alternation."""
    split = Prefiltered(
        prefix=prefix,
        grouped=top_level_alternatives(pattern),
        others=top_level_alternatives(elsewhere) if elsewhere else (),
        flags=flags,
    )
    return split if split.gated_share() >= MIN_GATED_SHARE else split.regex
