"""What every model provider speaks: the OpenAI-compatible client and the offline engine alike."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from helpcentre.selectors import Citation
from routing.tiers import TierConfig

__all__ = ["CallRecord", "ChatRequest", "Citation", "Provider", "ProviderError", "StreamEnd", "TextDelta", "Usage"]


@dataclass(frozen=True)
class ChatRequest:
    """One upstream call. ``messages`` are Chat Completions messages (role/content dicts)."""

    messages: list[dict[str, Any]]
    purpose: str = "answer"  # "answer" | "summary" | "rewrite" | "tagging"
    max_output_tokens: int | None = None
    temperature: float | None = None
    # The conversation before the question as turns ({"role", "text", "citations"}), for an engine
    # that reads it itself (the offline one); never sent to a remote model, which gets ``messages``.
    conversation: tuple[dict[str, Any], ...] = ()
    # The language detected in the question (``es``), for an engine that answers in it itself (the
    # offline one); a remote model is told in ``messages``.
    language: str = ""
    # The gateway's id of this upstream call, the ``call_id`` of its ledger row; the OpenAI-compatible
    # provider sends it as the ``X-Supportbot-Call-Id`` header, so a provider's request log can be
    # matched with the ledger row by row. Empty outside the gateway.
    call_id: str = ""
    # The call continues an answer already shown (the gateway's failover): a reply that adds nothing
    # and finishes properly says the answer was already whole, not that the model failed.
    continues: bool = False


@dataclass(frozen=True)
class TextDelta:
    text: str


# gpt-oss's harmony end-of-message tokens, from a server that does not parse that format: never part of an answer.
HARMONY_END_TOKENS = ("<|return|>", "<|end|>", "<|call|>")
HARMONY_END = re.compile("|".join(re.escape(token) for token in HARMONY_END_TOKENS))


def harmony_end_split(text: str) -> tuple[str, str]:
    """(``text``, "") or, when ``text`` ends with what may be the start of an end token ("<|ret"), the text
    before it and that start, to hold until the next piece says whether the token comes."""
    start = text.rfind("<", max(0, len(text) - max(map(len, HARMONY_END_TOKENS)) + 1))
    if start >= 0 and any(token.startswith(text[start:]) for token in HARMONY_END_TOKENS):
        return text[:start], text[start:]
    return text, ""


@dataclass(frozen=True)
class Retract:
    """The text streamed so far was reasoning, not the answer: drop it; the answer follows.

    A model served with ``<think>`` already in its prompt (DeepSeek-R1 templates) writes its reasoning
    first and only the closing tag: nothing tells it from an answer until that tag. ``kept`` is what
    the answer keeps (the gateway's: text earlier calls wrote; a provider sends it empty).
    """

    kept: str = ""


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    estimated: bool  # True when counted locally because the provider sent no usage


@dataclass(frozen=True)
class StreamEnd:
    """The upstream said the answer is finished. A stream that merely stops is a ProviderError instead."""

    usage: Usage
    finish_reason: str | None = None  # "length": cut at the output token cap (kept, marked truncated)
    citations: tuple[Citation, ...] = ()
    # The offline engine says when it is not confident enough to answer.
    abstained: bool = False


class ProviderError(Exception):
    """A failed upstream call. ``retryable`` says whether another try (or tier) may succeed.

    ``tier_fault`` is False when the call was ended by a limit of ours rather than by the model
    failing (a total deadline on a stream that was still sending): it does not count toward the
    tier's circuit breaker.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after_s: float | None = None,
        status_code: int | None = None,
        tier_fault: bool = True,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.status_code = status_code
        self.tier_fault = tier_fault
        # What the server said the failed call used, when it said (a stream that finished without an answer).
        self.usage: Usage | None = None
        # The server refused the request as longer than the model's context: a tier with a larger one may take it.
        self.context_exceeded = False


class Provider(Protocol):
    name: str
    # False for engines that cost nothing (the offline help-centre engine): their calls are priced at zero.
    billable: bool

    def stream(self, request: ChatRequest, *, tier: TierConfig) -> AsyncIterator[TextDelta | Retract | StreamEnd]:
        """Yield text deltas as they arrive, then exactly one StreamEnd. Raise ProviderError on failure,
        including a stream that ends without saying it is finished."""
        ...


@dataclass
class CallRecord:
    """One upstream call as the cost ledger stores it."""

    tier: str
    model: str
    provider: str
    purpose: str
    usage: Usage
    latency_ms: int
    time_to_first_token_ms: int | None
    outcome: str  # "ok" | "fallback" | "error" | "stopped" (and "running" while it is in flight)
    error: str = ""
    # Priced by the gateway with the tier's prices at call time; zero for providers that cost nothing.
    cost: Decimal = Decimal("0")
    extra: dict[str, Any] = field(default_factory=dict)
    # One id per upstream call: its ledger row is opened when the call is sent and closed under the
    # same id when it ends, so writing it again (when the answer is stored) never doubles it.
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)
