"""Transparent text signals the router reads: each is a named regex or count with a reason.

These are the high-precision rules that override the learned classifier, and the whole
decision when no classifier file is present.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[a-z0-9']+")

HANDOFF = re.compile(
    r"\b(talk|speak|chat|connect|transfer|put)\b[^.?!]{0,40}?\b(human|humans|person|people|agent|agents|"
    r"someone|somebody|representative|rep|operator|manager|supervisor|staff|executive|"
    r"customer (care|service|support))\b"
    r"|\b(real|live|actual) (person|human|agent|people)\b"
    r"|\bhuman (agent|being|please)\b"
    r"|\b(call|ring) me( back)?\b|\bcall ?back\b"
    r"|^\s*(human|agent|operator|representative|person)s?( please| pls| now)?\s*[.!]*\s*$"
    r"|\b(need|want|get me|give me) (an? |the )?(human|agent|operator|representative)\b"
    r"|\bcustomer (care|service|support) (executive|agent|representative)\b",
    re.IGNORECASE,
)

ERROR_CODE = re.compile(
    r"\b(e|err)[ -]?\d{2,4}\b|\b0x[0-9a-f]{1,8}\b|\b(error|fault)( code)?[ :#-]*[a-z]?\d+\b",
    re.IGNORECASE,
)
ALREADY_TRIED = re.compile(
    r"\b(already|i've|i have|i|we've|we have|we) (already )?(tried|checked|reset|restarted|rebooted|replaced|"
    r"reinstalled|unplugged|swapped|followed|re-?paired|cleared|updated)\b",
    re.IGNORECASE,
)
PROBLEM = re.compile(
    r"\b(not working|doesn'?t work|does not work|won'?t|will not|can'?t|cannot|can not|isn'?t|not showing|"
    r"stopped|stuck|broken|error|fault|wrong|missing|never arrived|not arrived|hasn'?t arrived|not received|"
    r"damaged|noise|leak|flicker\w*|beep\w*|charged twice|declined|failed|lost|stolen)\b",
    re.IGNORECASE,
)
NOT_HELPED = re.compile(
    r"\b(didn'?t|did not|doesn'?t|does not|hasn'?t|has not|wasn'?t|not) (help|work|fix|solve)\w*\b"
    r"|\bstill (not|doesn'?t|won'?t|isn'?t|can'?t|the same|broken)\b|\bnot helpful\b|\bsame (problem|issue)\b",
    re.IGNORECASE,
)
FRUSTRATION = re.compile(
    r"\b(useless|ridiculous|terrible|awful|worst|pathetic|frustrat\w*|annoy\w*|fed up|sick of|unacceptable|"
    r"waste of time|fraud|wtf|damn|hell)\b|[!?]{3,}",
    re.IGNORECASE,
)

SMALL_TALK_WORDS = frozenset(
    """hi hello hey hiya heya yo good morning afternoon evening night day gudnt goodnight thanks thank you thx ty tysm
    tnx thanx cheers ok okay k kk alright great perfect cool nice lovely wonderful awesome super fine sure sounds got it
    understood noted yes yeah yep yup ya no nope bye goodbye see later soon appreciate appreciated much so a lot very
    that's that is all for now again sir madam team there anyone anybody you're welcome will do that's it the
    help helped helpful have day too""".split()
)
SMALL_TALK_MAX_WORDS = 10
LONG_MESSAGE_WORDS = 60


def text_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def text_is_small_talk(text: str) -> bool:
    """Greetings, thanks and acknowledgements with nothing else in them."""
    words = text_words(text)
    return 0 < len(words) <= SMALL_TALK_MAX_WORDS and all(word in SMALL_TALK_WORDS for word in words)


def text_problem_count(text: str) -> int:
    """Distinct problem phrases; two or more in one message means several problems or steps."""
    return len({match.group(0).lower() for match in PROBLEM.finditer(text)})


def text_question_count(text: str) -> int:
    return len(re.findall(r"\?+", text))


def text_complexity_signals(text: str) -> list[tuple[str, str]]:
    """(signal, reason) pairs that make a message Thinking on their own."""
    signals = []
    if match := ERROR_CODE.search(text):
        signals.append(("error_code", f"mentions error code {match.group(0)!r}"))
    if ALREADY_TRIED.search(text):
        signals.append(("already_tried", "says what was already tried"))
    if (problems := text_problem_count(text)) >= 2:
        signals.append(("several_problems", f"describes {problems} problems"))
    if (questions := text_question_count(text)) >= 2:
        signals.append(("several_questions", f"asks {questions} questions"))
    if (words := len(text_words(text))) > LONG_MESSAGE_WORDS:
        signals.append(("long_message", f"long detailed message ({words} words)"))
    return signals


def text_overlap(left: str, right: str) -> float:
    """Jaccard overlap of the word sets; a cheap stand-in for 'the same question again'."""
    left_words, right_words = set(text_words(left)), set(text_words(right))
    if not left_words or not right_words:
        return 0.0
    return len(left_words & right_words) / len(left_words | right_words)


def text_repeats(text: str, *, earlier: Iterable[str], threshold: float = 0.6) -> bool:
    # Small talk ("thanks", "ok") repeats all the time without being the same problem.
    if text_is_small_talk(text) or len(text_words(text)) < 3:
        return False
    return any(text_overlap(text, previous) >= threshold for previous in earlier)
