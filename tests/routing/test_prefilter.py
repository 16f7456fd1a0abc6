"""The required-literal prefilter finds exactly what the whole pattern finds, on every router pattern."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from routing import signals
from routing.classifier import labelled_messages_read
from routing.prefilter import Prefiltered, prefiltered, required_literals, top_level_alternatives

DATA = Path(signals.__file__).resolve().parent / "data"
# Messages the router was built on (never the held-out splits), and the fresh measuring sets.
MESSAGE_FILES = ("written_train.csv", "written_dev.csv", "router_dev.csv", "handwritten.csv", "written_fresh.csv")
PREFILTERED = {name: value for name, value in vars(signals).items() if isinstance(value, Prefiltered)}


def _spans(pattern: re.Pattern[str] | Prefiltered, text: str) -> list[tuple[int, int]]:
    return [found.span() for found in pattern.finditer(text)]


def _same(prefiltered_pattern: Prefiltered, text: str) -> None:
    whole = prefiltered_pattern.regex
    searched = prefiltered_pattern.search(text)
    expected = whole.search(text)
    assert (searched and searched.span()) == (expected and expected.span()), text
    assert _spans(prefiltered_pattern, text) == _spans(whole, text), text


def test_required_literals_keep_the_most_selective_requirement():
    found = required_literals(re.compile(r"\b(talk|speak)\w* to (an? )?agent\b", re.IGNORECASE))
    assert found == frozenset({"agent"})


def test_required_literals_of_a_branch_are_the_union_and_case_is_folded():
    assert required_literals(re.compile(r"(Refund|money back)", re.IGNORECASE)) == frozenset({"refund", "money back"})


def test_an_optional_or_classed_part_requires_nothing():
    assert required_literals(re.compile(r"(agent)?\d+")) is None
    assert required_literals(re.compile(r"[a-z]+")) is None


def test_a_literal_run_continues_across_zero_width_checks():
    assert required_literals(re.compile(r"(?<!do i )ne(?=e)ed\b")) == frozenset({"need"})


def test_top_level_alternatives_skip_groups_classes_and_escapes():
    assert top_level_alternatives(r"a(b|c)|[|\]]d|e\|f|g") == ["a(b|c)", r"[|\]]d", r"e\|f", "g"]
    assert top_level_alternatives(r"[]|]x|y") == ["[]|]x", "y"]


def test_an_alternative_absent_from_the_text_is_not_run_and_the_answer_is_unchanged():
    pattern = prefiltered(prefix=r"\b", pattern=r"refund now|talk to (an? )?agent", flags=re.IGNORECASE)
    assert isinstance(pattern, Prefiltered)
    text = "please let me TALK to an Agent about my refund"
    assert pattern.search(text).group(0) == "TALK to an Agent"
    assert pattern.search("nothing to see here") is None
    # The leftmost match wins across alternatives, the earlier alternative on a tie.
    assert [found.group(0) for found in pattern.finditer("refund now, or talk to agent")] == [
        "refund now",
        "talk to agent",
    ]


def test_too_few_gated_alternatives_leave_a_plain_pattern():
    assert isinstance(prefiltered(prefix="", pattern=r"\d+|[a-z]+|agent", flags=0), re.Pattern)


def test_non_ascii_text_runs_the_whole_pattern():
    # "ſ" matches "s" case-insensitively, which str.lower does not know.
    pattern = prefiltered(prefix="", pattern=r"human|supervisor|talk to", flags=re.IGNORECASE)
    assert pattern.search("get me a ſupervisor").group(0) == "ſupervisor"


@pytest.mark.parametrize("name", sorted(PREFILTERED))
def test_every_router_pattern_finds_what_its_whole_pattern_finds_on_the_labelled_messages(name):
    pattern = PREFILTERED[name]
    texts = [row.text for file in MESSAGE_FILES for row in labelled_messages_read(path=DATA / file)]
    for text in texts:
        _same(pattern, text)


# Words the patterns need, mixed with filler, punctuation and case changes, so alternatives half-match.
_WORDS = sorted(
    {
        literal.strip()
        for pattern in PREFILTERED.values()
        for literals in pattern.branch_literals()
        for literal in literals or ()
    }
    | {"i", "a", "to", "the", "me", "my", "please", "not", "can", "you", "order", "it", "?", ".", ",", "!", "2"}
)


@hypothesis_settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    words=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=25),
    upper=st.booleans(),
    name=st.sampled_from(sorted(PREFILTERED)),
)
def test_every_router_pattern_agrees_with_its_whole_pattern_on_generated_text(words, upper, name):
    text = " ".join(words)
    _same(PREFILTERED[name], text.upper() if upper else text)
