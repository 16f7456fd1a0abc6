"""One expected outcome per hostile OpenAI-compatible behaviour, and how an outcome is described.

The conformance tests (``tests/routing/test_conformance.py`` through the gateway,
``tests/hardening/test_hostile_provider.py`` through the socket) assert against these, and
``tests.hardening.report`` prints them next to what a run observed. No Django here: the report
imports it without settings.

The set-up is the same in every case: a question routed to Instant, whose model misbehaves as
named; its fallback Mini answers normally (``fine1 ... fine40``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.hostile_server import BEHAVIOURS

REFUSED = "refused"
# What the server side does, per behaviour; "refused" is the one no server can do: nobody listens.
SERVER_DOES = {**BEHAVIOURS, REFUSED: "Nothing listens on the endpoint's port: every connection is refused."}

FAILOVER = "failover"
TRUNCATED = "truncated"


@dataclass(frozen=True)
class Outcome:
    """What the customer saw, what was stored and what the ledger holds, in words the table uses.

    ``answered_by`` is the tier whose text ends the stored answer ("" for the apology, which no
    model wrote); ``stored`` is ``complete`` (one model's whole answer), ``partial + continuation``
    (the cut text, then the backup's continuation) or ``apology``; ``notice`` is the notice frame
    the customer saw (``failover``, ``truncated`` or none); ``ledger`` describes each row in call
    order: its outcome, and whether its usage was estimated or its answer truncated.
    """

    answered_by: str
    stored: str
    notice: str
    ledger: tuple[str, ...]

    def text(self) -> str:
        who = f"answered by {self.answered_by}" if self.answered_by else "no model's answer"
        notice = f"notice: {self.notice}" if self.notice else "no notice"
        return f"{who}; stored: {self.stored}; {notice}; ledger: {', '.join(self.ledger)}"


@dataclass(frozen=True)
class Case:
    rule: str  # the one expected behaviour, as docs/reliability.md states it
    expected: Outcome


# Words the first call's ledger row (its error) holds, where why it failed is the point of the case.
FIRST_CALL_ERRORS = {
    "eof-after-role": "incomplete",
    "eof-first": "incomplete",
    "eof-half": "incomplete",
    "eof-last": "incomplete",
    "eof-half-close": "incomplete",
    "length": "truncated",
    "content-filter": "content_filter",
    "error-event": "backend overloaded",
    "error-event-400": "maximum context length",
    "stall": "no chunk for",
    "json-error-200": "server had an error",
    "http-401": "401",
    "http-403": "403",
    "http-404": "404",
    "refused": "connection failed",
    "trickle": "token cap",
    "error-event-named": "upstream overloaded",
    "content-number": "malformed",
    "length-upper": "truncated",
    "whitespace-only": "without any text",
    "huge-chunk": "token cap",
}


_CUT = Outcome(
    answered_by="mini", stored="partial + continuation", notice=FAILOVER, ledger=("fallback (estimated)", "ok")
)
_CUT_RULE = (
    "Incomplete: never stored as a complete answer. Fails over mid-stream to the next tier with the notice; "
    "the text shown is kept and continued; the cut call's row is `fallback` with estimated usage."
)
_PARSED = Outcome(answered_by="instant", stored="complete", notice="", ledger=("ok",))
_PARSED_RULE = "Parsed: the answer is complete, exactly the text sent, with the provider's usage."
_REFUSAL = Outcome(answered_by="", stored="apology", notice="", ledger=("error",))
_TIER_REFUSAL = Outcome(answered_by="mini", stored="complete", notice="", ledger=("fallback", "ok"))
_TIER_REFUSAL_RULE = (
    "Not retried on that tier: the next tier answers at once (the tier's model name or the key's right to use "
    "it is wrong, another tier's may be fine), and the refusal counts toward the tier's circuit breaker; one "
    "error log line naming the tier and the model, with what to check; the refused call costs nothing."
)
_REFUSAL_RULE = (
    "Not retried, no fallback (the request itself is refused); one error log line naming the tier and "
    "the model, with what to check; the customer gets the apology; the call costs nothing."
)

CASES: dict[str, Case] = {
    "ok": Case("Streamed as sent and stored once.", _PARSED),
    "eof-after-role": Case(
        "Incomplete before any text: falls back to the next tier at once, without a notice (nothing was shown); "
        "the answer is marked `fell_back`.",
        Outcome(answered_by="mini", stored="complete", notice="", ledger=("fallback (estimated)", "ok")),
    ),
    "eof-first": Case(_CUT_RULE, _CUT),
    "eof-half": Case(_CUT_RULE, _CUT),
    "eof-last": Case(
        _CUT_RULE + " (Nothing tells a cut after the last chunk from one before it.)",
        _CUT,
    ),
    "eof-half-close": Case(_CUT_RULE, _CUT),
    "length": Case(
        "Kept, not complete: the customer sees the text and a notice that it reached its length limit; the "
        "row is `ok` and its error says truncated; the gateway reports it as an error, so it is never cached.",
        Outcome(answered_by="instant", stored="complete", notice=TRUNCATED, ledger=("ok (truncated)",)),
    ),
    "content-filter": Case(
        "Not an answer: fails over mid-stream like a cut (the text shown so far is kept and continued); the "
        "call's ledger line has the usage the server sent, not an estimate.",
        replace(_CUT, ledger=("fallback", "ok")),
    ),
    "error-event": Case("ProviderError, retryable by its code (500): fails over mid-stream like a cut.", _CUT),
    "error-event-400": Case(
        "ProviderError, not retryable by its code (400): no retry, no fallback; the customer gets the apology.",
        _REFUSAL,
    ),
    "comments": Case(_PARSED_RULE, _PARSED),
    "crlf-split": Case(_PARSED_RULE, _PARSED),
    "empty-choices": Case(_PARSED_RULE, _PARSED),
    "no-usage": Case(
        "Parsed: complete; usage estimated locally and the row marked estimated.",
        Outcome(answered_by="instant", stored="complete", notice="", ledger=("ok (estimated)",)),
    ),
    "reasoning-tools": Case(
        "Parsed: only `content` is the answer; reasoning and tool-call deltas are not shown or stored.", _PARSED
    ),
    "stall": Case(
        "A silence mid-answer longer than the tier's idle deadline is a stall: fails over mid-stream; "
        "what the server sends later is not used.",
        _CUT,
    ),
    "json-error-200": Case(
        "ProviderError (its `server_error` code is retryable), never an empty answer: tried again after a "
        "backoff, then the next tier.",
        Outcome(answered_by="mini", stored="complete", notice="", ledger=("fallback", "fallback", "ok")),
    ),
    "http-401": Case(_REFUSAL_RULE, _REFUSAL),
    "http-403": Case(_TIER_REFUSAL_RULE, _TIER_REFUSAL),
    "http-404": Case(_TIER_REFUSAL_RULE, _TIER_REFUSAL),
    "think-tags": Case(
        "Parsed: the reasoning block is dropped wherever its tags are cut; the answer after it is complete, "
        "exactly the text sent after the block, with the provider's usage.",
        _PARSED,
    ),
    "surrogate-split": Case(
        "Parsed: the two halves are joined into the one character, so the answer is stored exactly as sent.",
        _PARSED,
    ),
    "json-completion": Case("Read as the one chunk of a stream: " + _PARSED_RULE[len("Parsed: ") :], _PARSED),
    REFUSED: Case(
        "Next tier at once, the last tier once more after a backoff; with the whole endpoint refused, the "
        "apology after three calls that cost nothing.",
        Outcome(
            answered_by="",
            stored="apology",
            notice="",
            ledger=("fallback (estimated)", "fallback (estimated)", "error (estimated)"),
        ),
    ),
    "error-event-named": Case(
        "An SSE `event: error` is an error whatever its data holds, retryable by its code (529): fails over "
        "mid-stream like a cut.",
        _CUT,
    ),
    "content-parts": Case("Parsed: the parts' text is the answer.", _PARSED),
    "content-number": Case("A malformed stream: fails over mid-stream like a cut.", _CUT),
    "choices-reversed": Case("Parsed: the answer is choice 0's text, wherever it stands in the list.", _PARSED),
    "length-upper": Case(
        "Finish reasons are read whatever their case: kept, with the length notice, as `length` is.",
        Outcome(answered_by="instant", stored="complete", notice=TRUNCATED, ledger=("ok (truncated)",)),
    ),
    "whitespace-only": Case(
        "No visible text is no answer: nothing is shown, and it falls back to the next tier at once, without a "
        "notice; the call's ledger line has the usage the server sent.",
        Outcome(answered_by="mini", stored="complete", notice="", ledger=("fallback", "ok")),
    ),
    "huge-chunk": Case(
        "A chunk that takes the answer past its output token cap is cut before it is shown: fails over "
        "mid-stream like a cut.",
        _CUT,
    ),
    "usage-negative": Case(
        "A usage that is no count (negative, or past ten million tokens) is replaced by a local estimate: "
        "complete, the row marked estimated.",
        Outcome(answered_by="instant", stored="complete", notice="", ledger=("ok (estimated)",)),
    ),
    "trickle": Case(
        "Bounded: cut once it has sent more than the answer's output token cap allows (a stream under its "
        "cap is never cut by a total deadline; no chunk gap is long enough to be a stall), then fails over "
        "mid-stream.",
        _CUT,
    ),
}


def stored_kind(text: str) -> str:
    """How an answer's text came about, from the words the hostile server writes (``hostileN``, ``fineN``)."""
    hostile, fine = "hostile" in text, "fine" in text
    if hostile and fine:
        return "partial + continuation"
    return "complete" if hostile or fine else "apology"


def ledger_row_text(*, outcome: str, usage_estimated: bool, error: str) -> str:
    flags = [flag for flag, on in (("estimated", usage_estimated), ("truncated", "truncated" in error)) if on]
    return f"{outcome} ({', '.join(flags)})" if flags else outcome
